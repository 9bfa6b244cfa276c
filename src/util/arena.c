#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

#define ARENA_BLOCK_SIZE 8192
#define ARENA_ALIGN alignof(max_align_t)

struct arena_block {
	struct arena_block *next;
	size_t size;	/* usable bytes in data */
	size_t off;	/* bytes handed out */
	alignas(max_align_t) unsigned char data[];
};

struct arena_defer {
	struct arena_defer *next;
	void (*fn)(void *);
	void *p;
};

void
arena_init(struct arena *a, size_t max)
{
	a->head = NULL;
	a->defers = NULL;
	a->used = 0;
	a->max = max;
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b, *next;

	/* Defers live in blocks, so run them all before freeing any block. */
	for (struct arena_defer *d = a->defers; d != NULL; d = d->next)
		d->fn(d->p);
	a->defers = NULL;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used = 0;
}

void
arena_cleanup(struct arena *a)
{
	arena_reset(a);
}

static size_t
align_up(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t size;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN - ARENA_BLOCK_SIZE)
		return NULL;
	n = align_up(n);
	if (b == NULL || b->size - b->off < n) {
		size = n > ARENA_BLOCK_SIZE ? n : ARENA_BLOCK_SIZE;
		if (size + sizeof(*b) > a->max || a->used > a->max - size - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->off = 0;
		b->next = a->head;
		a->head = b;
		a->used += sizeof(*b) + size;
	}
	p = b->data + b->off;
	b->off += n;
	memset(p, 0, n);
	return p;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	if (vsnprintf(p, (size_t)n + 1, fmt, ap) != n)
		p = NULL;
	va_end(ap);
	return p;
}

enum pb_err
arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct arena_defer *d = arena_alloc(a, sizeof(*d));

	if (d == NULL) {
		fn(p);
		return PB_ENOMEM;
	}
	d->fn = fn;
	d->p = p;
	d->next = a->defers;
	a->defers = d;
	return PB_OK;
}
