/*
 * Per-request arena: many small allocations, one release. A worker resets its arena at
 * the end of each request; anything that must be released in another way (json-c
 * objects, statements) registers a deferred cleanup that runs at reset, newest first.
 * An arena has a ceiling on its total size, so a hostile request cannot grow a worker
 * without bound.
 */
#ifndef PB_UTIL_ARENA_H
#define PB_UTIL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

struct arena_block;
struct arena_defer;

struct arena {
	struct arena_block *head;	/* newest block first */
	struct arena_defer *defers;	/* newest first */
	size_t used;			/* bytes taken from the system */
	size_t max;			/* ceiling on used */
};

/* Makes an empty arena that will take at most max bytes from the system. */
void arena_init(struct arena *a, size_t max);

/* Runs the deferred cleanups and frees every block; the arena stays usable. */
void arena_reset(struct arena *a);

/* Same as arena_reset; for symmetry with arena_init at the end of a life. */
void arena_cleanup(struct arena *a);

/* Returns n zeroed bytes aligned for any type, or NULL past the ceiling or on ENOMEM. */
void *arena_alloc(struct arena *a, size_t n);

/* Returns n*size zeroed bytes, or NULL on overflow, the ceiling or ENOMEM. */
void *arena_calloc(struct arena *a, size_t n, size_t size);

/* Copies n bytes of s into the arena and NUL-terminates them. NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);

/* Formats into the arena. NULL on failure. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Registers fn(p) to run at the next reset. Returns PB_ENOMEM when it cannot, in which
 * case it has already run fn(p), so the caller never leaks.
 */
enum pb_err arena_defer(struct arena *a, void (*fn)(void *), void *p);

#endif
