/*
 * Routing: a linear scan of a small static table, segment by segment.
 *
 * Paths are compared as sent (not decoded), so "/v1/%75sers" is not "/v1/users"; only
 * {param} values are decoded, and a value that decodes to something a path could not
 * hold as one segment ('/', NUL, "." or "..", invalid UTF-8) does not match. Paths with
 * empty inner segments or dot segments are never routed: the web server normalises
 * paths, so one that arrives like that was crafted.
 *
 * When several routes match (a literal "/v1/users/me" and "/v1/users/{id}"), the one
 * with a literal segment where the other has a parameter, leftmost first, wins; ties go
 * to the earlier route. Table order therefore does not matter for correctness.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "http/router.h"
#include "util/json.h"
#include "util/pct.h"

#define ROUTE_PATH_MAX 2048

struct capture {
	const char *name;	/* in the pattern, without braces */
	size_t name_len;
	const char *value;	/* raw, in the path */
	size_t value_len;
};

/* Returns true for a path made only of segments we route: no "//", ".", "..". */
static bool
path_routable(const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len > ROUTE_PATH_MAX || path[0] != '/')
		return false;
	for (const char *s = path + 1;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

		if ((n == 0 && slash != NULL) || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		if (slash == NULL)
			return true;
		s = slash + 1;
	}
}

static size_t
seg_len(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash != NULL ? (size_t)(slash - s) : strlen(s);
}

static bool
is_param(const char *seg, size_t n)
{
	return n >= 3 && seg[0] == '{' && seg[n - 1] == '}';
}

/* Decodes a {param} value into out (room for n bytes); false when it cannot match. */
static bool
param_decode(const char *s, size_t n, char *out, size_t *outlen)
{
	if (n == 0 || !pct_decode(s, n, false, out, outlen))
		return false;
	if (memchr(out, '/', *outlen) != NULL || memchr(out, '\0', *outlen) != NULL ||
	    !utf8_valid(out, *outlen))
		return false;
	return !((*outlen == 1 && out[0] == '.') ||
	    (*outlen == 2 && out[0] == '.' && out[1] == '.'));
}

/*
 * Matches pattern against path; on success stores the raw {param} values in caps.
 * scratch has room for the path, to check that each value decodes.
 */
static bool
match(const char *pattern, const char *path, struct capture *caps, size_t *ncaps,
    char *scratch)
{
	const char *p = pattern, *s = path;
	size_t dlen;

	*ncaps = 0;
	if (*p != '/' || *s != '/')
		return false;
	for (;;) {
		size_t pn, sn;

		p++;
		s++;
		pn = seg_len(p);
		sn = seg_len(s);
		if (is_param(p, pn)) {
			if (*ncaps == ROUTE_PARAMS_MAX || !param_decode(s, sn, scratch, &dlen))
				return false;
			caps[*ncaps].name = p + 1;
			caps[*ncaps].name_len = pn - 2;
			caps[*ncaps].value = s;
			caps[*ncaps].value_len = sn;
			(*ncaps)++;
		} else if (pn != sn || memcmp(p, s, pn) != 0) {
			return false;
		}
		p += pn;
		s += sn;
		if (*p == '\0' || *s == '\0')
			return *p == *s;
	}
}

/* Returns true when route a is more specific than b: a literal where b has a param. */
static bool
more_specific(const struct route *a, const struct route *b)
{
	const char *p = a->pattern, *q = b->pattern;

	/* Both matched the same path, so their segments line up. */
	while (*p == '/' && *q == '/') {
		size_t pn = seg_len(p + 1), qn = seg_len(q + 1);
		bool pp = is_param(p + 1, pn), qp = is_param(q + 1, qn);

		if (pp != qp)
			return qp;
		p += pn + 1;
		q += qn + 1;
	}
	return false;
}

/*
 * Stores the decoded values of caps in req->params; false when the arena is full, which
 * router_match can only report as not found (a request that exhausted its arena).
 */
static bool
store_params(struct request *req, const struct capture *caps, size_t ncaps, char *scratch)
{
	size_t dlen;

	for (size_t i = 0; i < ncaps; i++) {
		if (!pct_decode(caps[i].value, caps[i].value_len, false, scratch, &dlen))
			return false;
		req->params[i].name = arena_strndup(req->arena, caps[i].name, caps[i].name_len);
		req->params[i].value = arena_strndup(req->arena, scratch, dlen);
		if (req->params[i].name == NULL || req->params[i].value == NULL)
			return false;
	}
	req->nparams = ncaps;
	return true;
}

/* Appends s at allow[*off], keeping room for the NUL; false when it does not fit. */
static bool
append(char *allow, size_t allowlen, size_t *off, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*off + 1 >= allowlen)
			return false;
		allow[(*off)++] = *s;
	}
	allow[*off] = '\0';
	return true;
}

static void
write_allow(unsigned methods, char *allow, size_t allowlen)
{
	/* A fixed order, so the header is the same whatever the table's order. */
	static const enum http_method order[] = {
		HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS,
	};
	size_t off = 0;

	if (allow == NULL || allowlen == 0)
		return;
	allow[0] = '\0';
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((methods & (1u << order[i])) == 0)
			continue;
		if ((off > 0 && !append(allow, allowlen, &off, ", ")) ||
		    !append(allow, allowlen, &off, http_method_name(order[i]))) {
			allow[0] = '\0';	/* better none than a wrong list */
			return;
		}
	}
}

enum route_match
router_match(const struct route *table, size_t n, struct request *req,
    const struct route **out, char *allow, size_t allowlen)
{
	struct capture caps[ROUTE_PARAMS_MAX];
	char scratch[ROUTE_PATH_MAX + 1];
	const struct route *best = NULL, *best_get = NULL;
	unsigned methods = 0;
	size_t ncaps;

	*out = NULL;
	req->nparams = 0;
	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	if (req->path == NULL || !path_routable(req->path))
		return ROUTE_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		const struct route *r = &table[i];

		if ((unsigned)r->method >= HTTP_OTHER || r->pattern == NULL ||
		    !match(r->pattern, req->path, caps, &ncaps, scratch))
			continue;
		methods |= 1u << r->method;
		if (r->method == HTTP_GET)
			methods |= 1u << HTTP_HEAD;
		if (r->method == req->method) {
			if (best == NULL || more_specific(r, best))
				best = r;
		} else if (req->method == HTTP_HEAD && r->method == HTTP_GET) {
			if (best_get == NULL || more_specific(r, best_get))
				best_get = r;
		}
	}
	/* A HEAD route of its own, if any, wins over serving HEAD from GET. */
	if (best == NULL)
		best = best_get;
	if (best != NULL) {
		if (!match(best->pattern, req->path, caps, &ncaps, scratch) ||
		    !store_params(req, caps, ncaps, scratch)) {
			req->nparams = 0;
			return ROUTE_NOT_FOUND;
		}
		*out = best;
		return ROUTE_FOUND;
	}
	if (methods == 0)
		return ROUTE_NOT_FOUND;
	write_allow(methods, allow, allowlen);
	return ROUTE_METHOD_NOT_ALLOWED;
}

size_t
router_index(const struct route *table, const struct route *r)
{
	return (size_t)(r - table);
}
