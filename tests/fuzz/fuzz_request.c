/*
 * libFuzzer target for request decoding. The input is cut into a request:
 *   byte 0  method        byte 1  content type (one of a list, or none)
 *   byte 2  flags: 1 send CONTENT_LENGTH, 2 make it lie, 4 send QUERY_STRING,
 *           8 send X-Request-Id, 16 send Idempotency-Key
 *   byte 3  the reader's chunk size
 *   then up to four '\n'-terminated lines (REQUEST_URI, QUERY_STRING, X-Request-Id,
 *   Idempotency-Key) and the body.
 * It runs request_init, request_query, request_header, router_match against a small
 * table and request_decode_body, and checks what each promises.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "http/router.h"

#define FUZZ_BODY_MAX 4096
#define FUZZ_DEPTH 8

struct source {
	const uint8_t *p;
	size_t len, pos, chunk;
};

static ssize_t
source_read(void *ctx, char *p, size_t n)
{
	struct source *s = ctx;
	size_t k = s->len - s->pos;

	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	memcpy(p, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static enum pb_err
handler(struct app *app, struct request *req, struct response *resp)
{
	(void)app;
	(void)req;
	(void)resp;
	return PB_OK;
}

static const struct route table[] = {
	{ HTTP_POST, "/v1/users", handler, ROUTE_BODY, "users_create" },
	{ HTTP_GET, "/v1/users/{id}", handler, ROUTE_AUTH, "users_get" },
	{ HTTP_GET, "/v1/users/me", handler, ROUTE_AUTH, "users_me" },
	{ HTTP_POST, "/v1/payments/intents/{id}/confirm", handler, 0, "confirm" },
	{ HTTP_DELETE, "/v1/a/{x}/b/{y}", handler, 0, "two" },
	{ HTTP_GET, "/", handler, 0, "root" },
};

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW",
};

static const char *const types[] = {
	NULL, "", "application/json", "application/json; charset=utf-8",
	"application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED;charset=\"UTF-8\"",
	"text/plain", "application/json; charset=latin1",
};

/* Takes the next '\n'-terminated line of data; NULL when there is none. */
static char *
take_line(const uint8_t **p, size_t *len, const char *prefix)
{
	const uint8_t *nl = memchr(*p, '\n', *len);
	size_t n, plen = strlen(prefix);
	char *s;

	if (nl == NULL)
		return NULL;
	n = (size_t)(nl - *p);
	s = malloc(plen + n + 1);
	if (s == NULL)
		abort();
	memcpy(s, prefix, plen);
	memcpy(s + plen, *p, n);
	s[plen + n] = '\0';	/* a NUL inside simply ends the value, as in FastCGI */
	*p += n + 1;
	*len -= n + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env[16] = { NULL }, *owned[16] = { NULL }, method[64], ctype[96], cl[64];
	char allow[ROUTE_ALLOW_MAX];
	const struct route *r;
	struct source src;
	struct request req;
	struct arena a;
	struct form q;
	unsigned flags;
	size_t n = 0, nowned = 0;
	char *uri;

	if (size < 4)
		return 0;
	flags = data[2];
	src.chunk = (size_t)data[3] + 1;
	(void)snprintf(method, sizeof(method), "REQUEST_METHOD=%s", methods[data[0] % 8]);
	env[n++] = method;
	if (types[data[1] % 8] != NULL) {
		(void)snprintf(ctype, sizeof(ctype), "CONTENT_TYPE=%s", types[data[1] % 8]);
		env[n++] = ctype;
	}
	data += 4;
	size -= 4;
	uri = take_line(&data, &size, "REQUEST_URI=");
	if (uri == NULL)
		return 0;
	env[n++] = owned[nowned++] = uri;
	if (flags & 4) {
		char *qs = take_line(&data, &size, "QUERY_STRING=");

		if (qs != NULL)
			env[n++] = owned[nowned++] = qs;
	}
	if (flags & 8) {
		char *id = take_line(&data, &size, "HTTP_X_REQUEST_ID=");

		if (id != NULL)
			env[n++] = owned[nowned++] = id;
	}
	if (flags & 16) {
		char *key = take_line(&data, &size, "HTTP_IDEMPOTENCY_KEY=");

		if (key != NULL)
			env[n++] = owned[nowned++] = key;
	}
	if (flags & 1) {
		(void)snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu",
		    (flags & 2) ? size / 2 : size);
		env[n++] = cl;
	}
	src.p = data;
	src.len = size;
	src.pos = 0;

	arena_init(&a, 4 * 1024 * 1024);
	if (request_init(&req, &a, env, source_read, &src) != PB_OK)
		goto out;
	if (req.path[0] != '/' || strlen(req.request_id) == 0 ||
	    strlen(req.request_id) > REQUEST_ID_MAX)
		abort();
	(void)request_query(&req, &q);
	(void)request_header(&req, "Idempotency-Key");
	switch (router_match(table, sizeof(table) / sizeof(table[0]), &req, &r, allow,
	    sizeof(allow))) {
	case ROUTE_FOUND:
		if (r == NULL)
			abort();
		for (size_t i = 0; i < req.nparams; i++) {
			if (req.params[i].value[0] == '\0' || strchr(req.params[i].value, '/'))
				abort();
		}
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		if (r != NULL || allow[0] == '\0')
			abort();
		break;
	case ROUTE_NOT_FOUND:
		if (r != NULL || req.nparams != 0)
			abort();
		break;
	}
	if (request_decode_body(&req, FUZZ_BODY_MAX, FUZZ_DEPTH) == PB_OK) {
		if (!json_object_is_type(req.json, json_type_object) || req.body == NULL ||
		    req.body_len > FUZZ_BODY_MAX || src.pos > FUZZ_BODY_MAX + 1)
			abort();
	} else if (req.json != NULL) {
		abort();
	}
out:
	arena_cleanup(&a);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return 0;
}
