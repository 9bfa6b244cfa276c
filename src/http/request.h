/*
 * An HTTP request as the web server handed it over FastCGI: CGI-style parameters
 * (REQUEST_METHOD, REQUEST_URI, QUERY_STRING, CONTENT_TYPE, HTTP_*), and a body read on
 * demand through a reader callback, so tests and fuzzers can build requests without
 * FastCGI. All strings live in the request's arena.
 */
#ifndef PB_HTTP_REQUEST_H
#define PB_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "http/form.h"
#include "util/arena.h"
#include "util/err.h"

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_OTHER,
	HTTP_METHOD__MAX
};

#define REQUEST_ID_MAX 64	/* longest request id accepted from the web server */
#define ROUTE_PARAMS_MAX 4

/* Reads up to n bytes of body into p; returns bytes read, 0 at the end, -1 on error. */
typedef ssize_t (*request_reader)(void *ctx, char *p, size_t n);

struct request {
	struct arena *arena;		/* borrowed; owns everything below */
	char *const *envp;		/* borrowed "NAME=value" parameters, NULL-terminated */
	enum http_method method;
	const char *method_name;	/* as sent, e.g. "GET" */
	const char *path;		/* REQUEST_URI up to '?', not decoded */
	const char *query;		/* after '?', "" when none */
	const char *content_type;	/* "" when none */
	const char *remote_addr;	/* "" when unknown */
	char request_id[REQUEST_ID_MAX + 1];	/* from X-Request-Id when well-formed, else generated */
	int64_t start_us;		/* monotonic time the request was accepted */
	int64_t queued_us;		/* how long it waited before that (X-Request-Start), 0 unknown */

	/* Filled by the router: {name} segments of the matched pattern, percent-decoded. */
	struct {
		const char *name;
		const char *value;
	} params[ROUTE_PARAMS_MAX];
	size_t nparams;

	/* Filled by request_read_body. */
	const char *body;		/* NUL-terminated copy, in the arena; NULL before reading */
	size_t body_len;

	/* Filled by request_decode_body: the body as one JSON object (forms are converted). */
	struct json_object *json;	/* owned by the arena (a deferred put) */
	/* Why the body was refused, for the client, when more can be said than "malformed". */
	const char *body_problem;	/* in the arena; NULL when there is nothing more */

	/* Opaque to http/: the authenticated caller, set by http/auth once verified. */
	int64_t user_id;		/* 0 when anonymous */
	const char *user_role;

	request_reader reader;
	void *reader_ctx;
};

/*
 * Fills req from envp. Requires REQUEST_METHOD and REQUEST_URI (PB_EINVAL when missing or
 * when the URI does not start with '/'). Takes the request id from HTTP_X_REQUEST_ID when it
 * is 1..REQUEST_ID_MAX of [A-Za-z0-9._-], otherwise generates one. On PB_EINVAL the
 * request id and every string field are still set (path "" for a refused URI), so the
 * caller can answer 400. queued_us comes from HTTP_X_REQUEST_START, which the shipped web
 * server configs set (replacing any client's): "t=" then seconds with a fraction (nginx's
 * $msec), or whole microseconds (Apache's %t) or milliseconds since the epoch.
 */
enum pb_err request_init(struct request *req, struct arena *a, char *const *envp,
    request_reader reader, void *reader_ctx);

/* Returns the value of parameter name (e.g. "HTTP_STRIPE_SIGNATURE"), or NULL. Borrowed. */
const char *request_param(const struct request *req, const char *name);

/* Returns the value of header name as sent by the client ("Idempotency-Key"), or NULL. */
const char *request_header(const struct request *req, const char *name);

/* Returns the router parameter name ("id" for "/v1/users/{id}"), or NULL. */
const char *request_route_param(const struct request *req, const char *name);

/*
 * Reads the whole body into the arena, at most max bytes: PB_ETOOBIG beyond (whatever
 * CONTENT_LENGTH claims; it is never trusted to size an allocation), PB_EINVAL when the
 * body is shorter than CONTENT_LENGTH. Idempotent.
 */
enum pb_err request_read_body(struct request *req, size_t max);

/*
 * Reads the body (as above) and decodes it into req->json by content type:
 * application/json (an object at the top, depth at most max_depth) or
 * application/x-www-form-urlencoded (converted by form_to_json). An empty body with no
 * content type decodes as {}. Other types, or a charset other than UTF-8: PB_EMEDIA.
 * Malformed, or a JSON string holding \u0000: PB_EINVAL. A JSON object that repeats a
 * key: PB_EINVAL with req->body_problem saying which (`duplicate key "email" in the JSON
 * body`).
 */
enum pb_err request_decode_body(struct request *req, size_t max, int max_depth);

/* Parses the query string into a form (see form.h). */
enum pb_err request_query(struct request *req, struct form *out);

/* Returns the enum for a method name; HTTP_OTHER when unknown. */
enum http_method http_method_parse(const char *name);

/* Returns "GET", "POST", ... for m. */
const char *http_method_name(enum http_method m);

#endif
