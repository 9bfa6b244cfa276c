#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/secure.h"

#define BUF_MIN_CAP 64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		secure_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. */
static enum pb_err
reserve(struct buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n) {
		buf_free(b);
		return PB_ETOOBIG;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return PB_OK;
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	/* Not realloc: the old block is wiped before it is freed, like buf_free does. */
	p = malloc(cap);
	if (p == NULL) {
		buf_free(b);
		return PB_ENOMEM;
	}
	if (b->data != NULL) {
		memcpy(p, b->data, b->len + 1);
		secure_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
	return PB_OK;
}

enum pb_err
buf_append(struct buf *b, const void *p, size_t n)
{
	enum pb_err err;

	err = reserve(b, n);
	if (err != PB_OK)
		return err;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PB_OK;
}

enum pb_err
buf_appends(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum pb_err
buf_appendc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

/*
 * Formats into the spare capacity first, so that only text that does not fit there is
 * formatted twice (once to measure, once into the grown buffer): the printf family was a
 * third of a healthz request's instructions (docs/BENCHMARKS.md).
 */
enum pb_err
buf_vappendf(struct buf *b, const char *fmt, va_list ap)
{
	size_t spare;
	va_list ap2;
	enum pb_err err;
	int n;

	/* A new buffer gets its first block now: most first appends (headers) fit in it. */
	if (b->data == NULL && (err = reserve(b, 0)) != PB_OK)
		return err;
	spare = b->cap - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, spare, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		buf_free(b);
		return PB_EINVAL;
	}
	if ((size_t)n < spare) {
		b->len += (size_t)n;
		return PB_OK;
	}
	/* The part that did fit, past b->len, is written again below. */
	err = reserve(b, (size_t)n);
	if (err != PB_OK)
		return err;
	if (vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap) != n) {
		buf_free(b);
		return PB_EINVAL;
	}
	b->len += (size_t)n;
	return PB_OK;
}

enum pb_err
buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum pb_err err;

	va_start(ap, fmt);
	err = buf_vappendf(b, fmt, ap);
	va_end(ap);
	return err;
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

enum pb_err
buf_detach(struct buf *b, char **out, size_t *len)
{
	/* An empty buffer still hands over a string, so callers never see NULL. */
	if (b->data == NULL) {
		*out = calloc(1, 1);
		if (*out == NULL)
			return PB_ENOMEM;
	} else {
		*out = b->data;
	}
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return PB_OK;
}
