/*
 * Bounded growable byte buffer, always NUL-terminated once anything was appended.
 * Every buffer has a hard maximum; an append that fails (allocation or maximum) frees
 * the contents and leaves an empty buffer, so callers have one failure path.
 */
#ifndef PB_UTIL_BUF_H
#define PB_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

struct buf {
	char *data;	/* owned; NULL until the first append */
	size_t len;	/* bytes used, not counting the terminating NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* largest len allowed */
};

/* Makes an empty buffer that may grow to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Frees the contents and wipes them first (buffers may hold secrets). */
void buf_free(struct buf *b);

/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);

/* Appends n bytes. Returns PB_OK, PB_ENOMEM, or PB_ETOOBIG past max (buffer freed). */
enum pb_err buf_append(struct buf *b, const void *p, size_t n);
enum pb_err buf_appends(struct buf *b, const char *s);
enum pb_err buf_appendc(struct buf *b, char c);
enum pb_err buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum pb_err buf_vappendf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Returns the contents as a C string; "" when empty. Borrowed from b. */
const char *buf_cstr(const struct buf *b);

/* Hands the contents to the caller (free() them) and leaves b empty. Never NULL on PB_OK. */
enum pb_err buf_detach(struct buf *b, char **out, size_t *len);

#endif
