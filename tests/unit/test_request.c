/*
 * Requests: CGI parameters, request ids, headers, body reading with its limits, body
 * decoding by content type, the query string.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "http/request.h"
#include "util/json.h"
#include "util/timeutil.h"
#include "unit.h"

/* A body source: the bytes of data, then either EOF or, with endless, 'x' forever. */
struct source {
	const char *data;
	size_t len, pos;
	size_t chunk;		/* most bytes handed out per call; 0 for no limit */
	int endless;
	int fail;		/* return -1 instead of data */
	size_t calls, served, first_ask;
};

static ssize_t
source_read(void *ctx, char *p, size_t n)
{
	struct source *s = ctx;
	size_t k;

	if (s->calls++ == 0)
		s->first_ask = n;
	if (s->fail)
		return -1;
	if (s->chunk > 0 && n > s->chunk)
		n = s->chunk;
	if (s->pos < s->len) {
		k = s->len - s->pos < n ? s->len - s->pos : n;
		memcpy(p, s->data + s->pos, k);
		s->pos += k;
	} else if (s->endless) {
		k = n;
		memset(p, 'x', k);
	} else {
		return 0;
	}
	s->served += k;
	return (ssize_t)k;
}

/*
 * Ready without an init call, so that declarations may call envv(); each test ends with
 * teardown(), which empties it and keeps its ceiling.
 */
static struct arena arena = { .max = 16 * 1024 * 1024 };

static void
teardown(void)
{
	arena_cleanup(&arena);
}

/* Returns a NULL-terminated copy of the arguments (up to NULL), in the arena. */
static char **
envv(const char *first, ...)
{
	char **env = arena_calloc(&arena, 16, sizeof(*env));
	const char *s = first;
	va_list ap;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	va_start(ap, first);
	for (; s != NULL && n < 15; s = va_arg(ap, const char *)) {
		env[n] = arena_strdup(&arena, s);
		CU_ASSERT_PTR_NOT_NULL_FATAL(env[n]);
		n++;
	}
	va_end(ap);
	return env;
}

static bool
all_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static void
test_init_basic(void)
{
	char **env = envv("REQUEST_METHOD=POST", "REQUEST_URI=/v1/users?x=1&y=%20",
		"QUERY_STRING=ignored=1", "CONTENT_TYPE=application/json",
		"REMOTE_ADDR=192.0.2.7", "HTTP_X_REQUEST_ID=abc-123_X.y", NULL);
	struct request req;
	int64_t before = time_mono_us();

	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, env, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(req.method, HTTP_POST);
	CU_ASSERT_STRING_EQUAL(req.method_name, "POST");
	CU_ASSERT_STRING_EQUAL(req.path, "/v1/users");
	CU_ASSERT_STRING_EQUAL(req.query, "x=1&y=%20");
	CU_ASSERT_STRING_EQUAL(req.content_type, "application/json");
	CU_ASSERT_STRING_EQUAL(req.remote_addr, "192.0.2.7");
	CU_ASSERT_STRING_EQUAL(req.request_id, "abc-123_X.y");
	CU_ASSERT(req.start_us >= before && req.start_us <= time_mono_us());
	CU_ASSERT_PTR_NULL(req.body);
	CU_ASSERT_PTR_NULL(req.json);
	CU_ASSERT_EQUAL(req.nparams, 0);
	CU_ASSERT_EQUAL(req.user_id, 0);
	teardown();
}

static void
test_init_query_fallback(void)
{
	char **with_qs = envv("REQUEST_METHOD=GET", "REQUEST_URI=/a", "QUERY_STRING=b=2", NULL);
	char **none = envv("REQUEST_METHOD=GET", "REQUEST_URI=/a", NULL);
	char **empty = envv("REQUEST_METHOD=GET", "REQUEST_URI=/a?", "QUERY_STRING=c=3", NULL);
	struct request req;

	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, with_qs, NULL, NULL), PB_OK);
	CU_ASSERT_STRING_EQUAL(req.path, "/a");
	CU_ASSERT_STRING_EQUAL(req.query, "b=2");
	CU_ASSERT_STRING_EQUAL(req.content_type, "");
	CU_ASSERT_STRING_EQUAL(req.remote_addr, "");
	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, none, NULL, NULL), PB_OK);
	CU_ASSERT_STRING_EQUAL(req.query, "");
	/* The URI has a '?': its (empty) query wins. */
	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, empty, NULL, NULL), PB_OK);
	CU_ASSERT_STRING_EQUAL(req.path, "/a");
	CU_ASSERT_STRING_EQUAL(req.query, "");
	teardown();
}

static void
test_init_invalid(void)
{
	char **no_method = envv("REQUEST_URI=/a", NULL);
	char **empty_method = envv("REQUEST_METHOD=", "REQUEST_URI=/a", NULL);
	char **no_uri = envv("REQUEST_METHOD=GET", NULL);
	char **relative = envv("REQUEST_METHOD=GET", "REQUEST_URI=v1/users", NULL);
	char **star = envv("REQUEST_METHOD=OPTIONS", "REQUEST_URI=*", NULL);
	char **absolute = envv("REQUEST_METHOD=GET", "REQUEST_URI=http://h/a", NULL);
	char **cases[] = { no_method, empty_method, no_uri, relative, star, absolute };
	char *const nothing[] = { NULL };
	struct request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(request_init(&req, &arena, cases[i], NULL, NULL), PB_EINVAL);
		/* Still answerable: an id, and strings that are never NULL. */
		CU_ASSERT(all_hex(req.request_id, 32));
		CU_ASSERT_PTR_NOT_NULL(req.path);
		CU_ASSERT_PTR_NOT_NULL(req.query);
	}
	CU_ASSERT_EQUAL(request_init(&req, &arena, nothing, NULL, NULL), PB_EINVAL);
	teardown();
}

static void
check_id(const char *sent, const char *want)
{
	char var[256];
	char **env;
	struct request req;

	(void)snprintf(var, sizeof(var), "HTTP_X_REQUEST_ID=%s", sent);
	env = envv("REQUEST_METHOD=GET", "REQUEST_URI=/", var, NULL);
	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, env, NULL, NULL), PB_OK);
	if (want != NULL) {
		CU_ASSERT_STRING_EQUAL(req.request_id, want);
	} else {
		CU_ASSERT(all_hex(req.request_id, 32));
	}
}

static void
test_request_id(void)
{
	char **env = envv("REQUEST_METHOD=GET", "REQUEST_URI=/", NULL);
	char max[REQUEST_ID_MAX + 2];
	struct request r1, r2;

	memset(max, 'a', REQUEST_ID_MAX);
	max[REQUEST_ID_MAX] = '\0';
	check_id(max, max);
	check_id("Z", "Z");
	check_id("0123456789abcdef-._ABC", "0123456789abcdef-._ABC");
	max[REQUEST_ID_MAX] = 'a';
	max[REQUEST_ID_MAX + 1] = '\0';
	check_id(max, NULL);	/* 65 characters */
	check_id("", NULL);
	check_id("bad id", NULL);
	check_id("a\"b", NULL);
	check_id("a/b", NULL);
	check_id("\xc3\xa9", NULL);
	check_id("a\r\nX-Evil: 1", NULL);
	/* Generated ids differ. */
	CU_ASSERT_EQUAL_FATAL(request_init(&r1, &arena, env, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL_FATAL(request_init(&r2, &arena, env, NULL, NULL), PB_OK);
	CU_ASSERT(all_hex(r1.request_id, 32));
	CU_ASSERT(all_hex(r2.request_id, 32));
	CU_ASSERT_STRING_NOT_EQUAL(r1.request_id, r2.request_id);
	teardown();
}

static void
test_methods(void)
{
	static const char *const names[] = {
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
	};

	for (int m = 0; m < HTTP_OTHER; m++) {
		CU_ASSERT_EQUAL(http_method_parse(names[m]), (enum http_method)m);
		CU_ASSERT_STRING_EQUAL(http_method_name((enum http_method)m), names[m]);
	}
	CU_ASSERT_EQUAL(http_method_parse("get"), HTTP_OTHER);
	CU_ASSERT_EQUAL(http_method_parse("PROPFIND"), HTTP_OTHER);
	CU_ASSERT_EQUAL(http_method_parse("GETX"), HTTP_OTHER);
	CU_ASSERT_EQUAL(http_method_parse(""), HTTP_OTHER);
	CU_ASSERT_EQUAL(http_method_parse(NULL), HTTP_OTHER);
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_OTHER), "OTHER");
	CU_ASSERT_STRING_EQUAL(http_method_name(HTTP_METHOD__MAX), "OTHER");
}

static void
test_params_headers(void)
{
	char **env = envv("REQUEST_METHOD=PROPFIND", "REQUEST_URI=/", "HTTP_X_LONG=long",
		"HTTP_X=short", "HTTP_IDEMPOTENCY_KEY=key-1", "CONTENT_TYPE=text/plain",
		"CONTENT_LENGTH=0", "HTTP_EMPTY=", "NOEQUALS", NULL);
	struct request req;

	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, env, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(req.method, HTTP_OTHER);
	CU_ASSERT_STRING_EQUAL(req.method_name, "PROPFIND");
	CU_ASSERT_STRING_EQUAL(request_param(&req, "HTTP_X"), "short");
	CU_ASSERT_STRING_EQUAL(request_param(&req, "HTTP_X_LONG"), "long");
	CU_ASSERT_PTR_NULL(request_param(&req, "HTTP_X_LON"));
	CU_ASSERT_PTR_NULL(request_param(&req, "NOEQUALS"));
	CU_ASSERT_STRING_EQUAL(request_param(&req, "HTTP_EMPTY"), "");
	CU_ASSERT_STRING_EQUAL(request_header(&req, "Idempotency-Key"), "key-1");
	CU_ASSERT_STRING_EQUAL(request_header(&req, "idempotency-key"), "key-1");
	CU_ASSERT_STRING_EQUAL(request_header(&req, "X-Long"), "long");
	CU_ASSERT_STRING_EQUAL(request_header(&req, "Content-Type"), "text/plain");
	CU_ASSERT_STRING_EQUAL(request_header(&req, "content-length"), "0");
	CU_ASSERT_PTR_NULL(request_header(&req, "X-Missing"));
	CU_ASSERT_PTR_NULL(request_header(&req, "Idempotency Key"));
	CU_ASSERT_PTR_NULL(request_header(&req, "X_Long"));
	CU_ASSERT_PTR_NULL(request_header(&req, ""));
	teardown();
}

static void
test_route_param(void)
{
	char **env = envv("REQUEST_METHOD=GET", "REQUEST_URI=/", NULL);
	struct request req;

	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, env, NULL, NULL), PB_OK);
	CU_ASSERT_PTR_NULL(request_route_param(&req, "id"));
	req.params[0].name = "id";
	req.params[0].value = "42";
	req.params[1].name = "pm";
	req.params[1].value = "pm_1";
	req.nparams = 2;
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "id"), "42");
	CU_ASSERT_STRING_EQUAL(request_route_param(&req, "pm"), "pm_1");
	CU_ASSERT_PTR_NULL(request_route_param(&req, "i"));
	teardown();
}

/* Makes a POST request with the given CONTENT_LENGTH and CONTENT_TYPE (NULL: none). */
static void
make_post(struct request *req, const char *cl, const char *ct, struct source *src)
{
	char **env = envv("REQUEST_METHOD=POST", "REQUEST_URI=/v1/x", NULL);
	size_t n = 2;

	if (cl != NULL)
		env[n++] = arena_strdup(&arena, cl);
	if (ct != NULL)
		env[n++] = arena_strdup(&arena, ct);
	CU_ASSERT_EQUAL_FATAL(request_init(req, &arena, env, source_read, src), PB_OK);
}

static void
test_body_read(void)
{
	struct source src = { .data = "hello, world", .len = 12, .chunk = 3 };
	struct request req;

	make_post(&req, "CONTENT_LENGTH=12", NULL, &src);
	CU_ASSERT_EQUAL_FATAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 12);
	CU_ASSERT_STRING_EQUAL(req.body, "hello, world");
	/* Idempotent: the reader is not asked again. */
	src.calls = 0;
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_EQUAL(src.calls, 0);
	CU_ASSERT_STRING_EQUAL(req.body, "hello, world");

	/* No CONTENT_LENGTH, or nginx's empty one: read to the end. */
	src = (struct source){ .data = "abc", .len = 3 };
	make_post(&req, NULL, NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 3);
	CU_ASSERT_STRING_EQUAL(req.body, "abc");
	src = (struct source){ .data = "abc", .len = 3 };
	make_post(&req, "CONTENT_LENGTH=", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 3);

	/* An empty body. */
	src = (struct source){ .data = "", .len = 0 };
	make_post(&req, "CONTENT_LENGTH=0", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(req.body);
	CU_ASSERT_EQUAL(req.body_len, 0);

	/* No reader at all: an empty body, unless one was announced. */
	make_post(&req, NULL, NULL, NULL);
	req.reader = NULL;
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 0);
	make_post(&req, "CONTENT_LENGTH=4", NULL, NULL);
	req.reader = NULL;
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_EINVAL);
	teardown();
}

static void
test_body_exact_max(void)
{
	static char data[5000];
	struct source src = { .data = data, .len = sizeof(data), .chunk = 700 };
	struct request req;

	memset(data, 'q', sizeof(data));
	make_post(&req, "CONTENT_LENGTH=5000", NULL, &src);
	CU_ASSERT_EQUAL_FATAL(request_read_body(&req, 5000), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 5000);
	CU_ASSERT_EQUAL(req.body[4999], 'q');
	CU_ASSERT_EQUAL(req.body[5000], '\0');
	/* The same without CONTENT_LENGTH: the buffer grows from its default size. */
	src = (struct source){ .data = data, .len = sizeof(data), .chunk = 700 };
	make_post(&req, NULL, NULL, &src);
	CU_ASSERT_EQUAL_FATAL(request_read_body(&req, 5000), PB_OK);
	CU_ASSERT_EQUAL(req.body_len, 5000);
	/* One byte more than max. */
	src = (struct source){ .data = data, .len = sizeof(data) };
	make_post(&req, NULL, NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 4999), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(req.body);
	teardown();
}

static void
test_body_content_length(void)
{
	static const char *const bad[] = {
		"CONTENT_LENGTH=abc", "CONTENT_LENGTH=-1", "CONTENT_LENGTH=+5",
		"CONTENT_LENGTH= 5", "CONTENT_LENGTH=5x", "CONTENT_LENGTH=0x10",
		"CONTENT_LENGTH=99999999999999999999999",
	};
	struct source src;
	struct request req;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		src = (struct source){ .data = "12345", .len = 5 };
		make_post(&req, bad[i], NULL, &src);
		CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_EINVAL);
		CU_ASSERT_EQUAL(src.calls, 0);
	}
	/* Shorter than announced, and longer (but under max). */
	src = (struct source){ .data = "12345", .len = 5, .chunk = 2 };
	make_post(&req, "CONTENT_LENGTH=10", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_EINVAL);
	CU_ASSERT_PTR_NULL(req.body);
	src = (struct source){ .data = "12345", .len = 5 };
	make_post(&req, "CONTENT_LENGTH=3", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1024), PB_EINVAL);
	/* An honest CONTENT_LENGTH over max is refused before reading anything. */
	src = (struct source){ .data = "12345", .len = 5 };
	make_post(&req, "CONTENT_LENGTH=2000", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1000), PB_ETOOBIG);
	CU_ASSERT_EQUAL(src.calls, 0);
	/* A read error. */
	src = (struct source){ .data = "12345", .len = 5, .fail = 1 };
	make_post(&req, "CONTENT_LENGTH=5", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 1000), PB_EINVAL);
	teardown();
}

static void
test_body_lying_length(void)
{
	struct source src = { .endless = 1 };
	struct request req;
	const size_t max = 100000;

	/* CONTENT_LENGTH says 10, the stream never ends: stop after max+1 bytes at most. */
	make_post(&req, "CONTENT_LENGTH=10", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, max), PB_ETOOBIG);
	CU_ASSERT(src.served > max);
	CU_ASSERT(src.served <= max + 1);
	CU_ASSERT_PTR_NULL(req.body);
	/* The same without CONTENT_LENGTH, in small chunks. */
	src = (struct source){ .endless = 1, .chunk = 1000 };
	make_post(&req, NULL, NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, max), PB_ETOOBIG);
	CU_ASSERT(src.served > max && src.served <= max + 1);
	/* A huge claim sizes nothing: the first read asks for at most 64 KiB. */
	src = (struct source){ .data = "abc", .len = 3 };
	make_post(&req, "CONTENT_LENGTH=1000000000", NULL, &src);
	CU_ASSERT_EQUAL(request_read_body(&req, 2000000000), PB_EINVAL);
	CU_ASSERT(src.first_ask > 0 && src.first_ask <= 64 * 1024);
	teardown();
}

/* Decodes body (of type ct, NULL for none) and returns the error; the object in *out. */
static enum pb_err
decode(const char *ct, const char *body, size_t len, int depth, struct request *req,
    struct source *src)
{
	char cl[64];

	(void)snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", len);
	*src = (struct source){ .data = body, .len = len };
	make_post(req, cl, ct, src);
	return request_decode_body(req, 4096, depth);
}

static void
check_type(const char *ct, const char *body, enum pb_err want)
{
	struct request req;
	struct source src;

	CU_ASSERT_EQUAL(decode(ct, body, strlen(body), 32, &req, &src), want);
	if (want == PB_OK) {
		CU_ASSERT(json_object_is_type(req.json, json_type_object));
	} else {
		CU_ASSERT_PTR_NULL(req.json);
	}
	if (want == PB_EMEDIA && ct != NULL && strlen(body) > 0)
		CU_ASSERT_EQUAL(src.calls, 0);	/* refused before reading */
}

static void
test_content_types(void)
{
	static const char json[] = "{\"a\":1}";

	check_type("CONTENT_TYPE=application/json", json, PB_OK);
	check_type("CONTENT_TYPE=Application/JSON; charset=UTF-8", json, PB_OK);
	check_type("CONTENT_TYPE=application/json;charset=\"utf-8\"", json, PB_OK);
	check_type("CONTENT_TYPE= application/json ; Charset = utf-8 ", json, PB_OK);
	check_type("CONTENT_TYPE=application/json; foo=bar; baz", json, PB_OK);
	check_type("CONTENT_TYPE=application/json; charset=iso-8859-1", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=application/json; charset=utf-16", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=application/json; charset=", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=text/plain", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=application/jsonx", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=application/merge-patch+json", json, PB_EMEDIA);
	check_type("CONTENT_TYPE=multipart/form-data; boundary=x", "a=1", PB_EMEDIA);
	check_type("CONTENT_TYPE=application/x-www-form-urlencoded", "a=1", PB_OK);
	check_type("CONTENT_TYPE=application/x-www-form-urlencoded; charset=UTF-8", "a=1",
	    PB_OK);
	check_type("CONTENT_TYPE=application/x-www-form-urlencoded; charset=latin1", "a=1",
	    PB_EMEDIA);
	/* No type: only an empty body is acceptable. */
	check_type(NULL, "", PB_OK);
	check_type("CONTENT_TYPE=", "", PB_OK);
	check_type(NULL, json, PB_EMEDIA);
	check_type("CONTENT_TYPE=; charset=utf-8", "", PB_EMEDIA);
	/* Empty bodies with a type: JSON needs a value, a form may be empty. */
	check_type("CONTENT_TYPE=application/json", "", PB_EINVAL);
	check_type("CONTENT_TYPE=application/x-www-form-urlencoded", "", PB_OK);
	teardown();
}

static void
test_decode_json(void)
{
	struct request req;
	struct source src;
	int64_t v = 0;

	CU_ASSERT_EQUAL_FATAL(decode("CONTENT_TYPE=application/json",
	    "{\"name\":\"Ada\",\"n\":7}", 20, 32, &req, &src), PB_OK);
	CU_ASSERT_STRING_EQUAL(json_get_str(req.json, "name"), "Ada");
	CU_ASSERT(json_get_int64(req.json, "n", &v) && v == 7);
	/* Idempotent: the same object, no new read. */
	{
		struct json_object *first = req.json;

		src.calls = 0;
		CU_ASSERT_EQUAL(request_decode_body(&req, 4096, 32), PB_OK);
		CU_ASSERT_PTR_EQUAL(req.json, first);
		CU_ASSERT_EQUAL(src.calls, 0);
	}
	CU_ASSERT_PTR_NULL(req.body_problem);
	/* An escaped backslash before "u0000" is not a NUL. */
	CU_ASSERT_EQUAL_FATAL(decode("CONTENT_TYPE=application/json",
	    "{\"a\":\"\\\\u0000\"}", 15, 32, &req, &src), PB_OK);
	CU_ASSERT_STRING_EQUAL(json_get_str(req.json, "a"), "\\u0000");
	teardown();
}

static void
check_json_invalid(const char *body, size_t len, int depth)
{
	struct request req;
	struct source src;

	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", body, len, depth, &req, &src),
	    PB_EINVAL);
	CU_ASSERT_PTR_NULL(req.json);
}

static void
test_decode_json_invalid(void)
{
	check_json_invalid("[1,2]", 5, 32);			/* not an object */
	check_json_invalid("\"str\"", 5, 32);
	check_json_invalid("null", 4, 32);
	check_json_invalid("{\"a\":1} x", 9, 32);		/* trailing garbage */
	check_json_invalid("{\"a\":1}{}", 9, 32);
	check_json_invalid("{\"a\":1,}", 8, 32);
	check_json_invalid("{\"a\":\"x\0y\"}", 11, 32);	/* raw NUL */
	check_json_invalid("{\"a\":1}\0", 8, 32);
	check_json_invalid("{\"a\":\"\\u0000\"}", 14, 32);	/* escaped NUL */
	check_json_invalid("{\"a\":\"\\u0000b\"}", 15, 32);
	check_json_invalid("{\"a\":\"\xff\"}", 8, 32);		/* invalid UTF-8 */
	check_json_invalid("{\"a\":\"\xc0\xaf\"}", 9, 32);	/* overlong */
	check_json_invalid("{\"a\":\"\xed\xa0\x80\"}", 10, 32);	/* surrogate */
	/* Depth: {"a":{"b":1}} has three levels in json-c's count (values included). */
	check_json_invalid("{\"a\":{\"b\":1}}", 13, 2);
	{
		struct request req;
		struct source src;

		CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", "{\"a\":{\"b\":1}}", 13,
		    3, &req, &src), PB_OK);
	}
	teardown();
}

/* Decodes a JSON body that repeats a key and checks the refusal and its message. */
static void
check_dup(const char *body, const char *problem)
{
	struct request req;
	struct source src;

	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", body, strlen(body), 32, &req,
	    &src), PB_EINVAL);
	CU_ASSERT_PTR_NULL(req.json);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req.body_problem);
	CU_ASSERT_STRING_EQUAL(req.body_problem, problem);
	CU_ASSERT_EQUAL(pb_err_status(PB_EINVAL), 400);
	CU_ASSERT_STRING_EQUAL(pb_err_code(PB_EINVAL), "bad_request");
}

static void
test_decode_json_duplicates(void)
{
	struct request req;
	struct source src;

	check_dup("{\"email\":\"a@x.co\",\"email\":\"b@x.co\"}",
	    "duplicate key \"email\" in the JSON body");
	check_dup("{\"email\":\"a@x.co\",\"\\u0065mail\":\"b@x.co\"}",
	    "duplicate key \"email\" in the JSON body");
	check_dup("{\"user\":{\"name\":\"a\",\"name\":\"b\"}}",
	    "duplicate key \"name\" in the JSON body");
	check_dup("{\"items\":[{\"id\":1},{\"id\":2,\"id\":3}]}",
	    "duplicate key \"id\" in the JSON body");
	/* The same key in two objects is not a repeat. */
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json",
	    "{\"items\":[{\"id\":1},{\"id\":2}],\"id\":0}", 36, 32, &req, &src), PB_OK);
	CU_ASSERT_PTR_NULL(req.body_problem);
	/* Other refusals leave the generic message to the caller. */
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", "{\"a\":1,}", 8, 32, &req,
	    &src), PB_EINVAL);
	CU_ASSERT_PTR_NULL(req.body_problem);
	/* A repeated form field is an array (form.h), not a refusal. */
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "a=1&a=2", 7,
	    32, &req, &src), PB_OK);
	CU_ASSERT_PTR_NULL(req.body_problem);
	teardown();
}

static void
test_decode_form(void)
{
	struct request req;
	struct source src;
	static const char body[] = "name=Ada+L&email=a%40b.example&tags[]=x&tags[]=y";

	CU_ASSERT_EQUAL_FATAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", body,
	    sizeof(body) - 1, 32, &req, &src), PB_OK);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(req.json, JSON_C_TO_STRING_PLAIN),
	    "{\"name\":\"Ada L\",\"email\":\"a@b.example\",\"tags\":[\"x\",\"y\"]}");
	/* Invalid UTF-8, a bad escape, a bracket conflict, too deep. */
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "n=%FF", 5, 32,
	    &req, &src), PB_EINVAL);
	CU_ASSERT_PTR_NULL(req.json);
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "n=\xc3", 3, 32,
	    &req, &src), PB_EINVAL);
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "n=%4", 4, 32,
	    &req, &src), PB_EINVAL);
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "a=1&a[b]=2",
	    10, 32, &req, &src), PB_EINVAL);
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/x-www-form-urlencoded", "a[b]=1", 6, 2,
	    &req, &src), PB_EINVAL);
	teardown();
}

static void
test_decode_too_big(void)
{
	static char big[5000];
	struct request req;
	struct source src;

	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	/* decode() allows 4096 bytes. */
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", big, sizeof(big), 32, &req,
	    &src), PB_ETOOBIG);
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", big + 904, 4096, 32, &req, &src),
	    PB_EINVAL);	/* starts with spaces, ends with '}': not JSON */
	big[904] = '{';
	CU_ASSERT_EQUAL(decode("CONTENT_TYPE=application/json", big + 904, 4096, 32, &req, &src),
	    PB_OK);
	teardown();
}

static void
test_query(void)
{
	char **ok = envv("REQUEST_METHOD=GET", "REQUEST_URI=/x?a=1&a=2&b=%20", NULL);
	char **bad = envv("REQUEST_METHOD=GET", "REQUEST_URI=/x?a=%zz", NULL);
	struct request req;
	struct form f;

	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, ok, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL_FATAL(request_query(&req, &f), PB_OK);
	CU_ASSERT_EQUAL(form_count(&f, "a"), 2);
	CU_ASSERT_STRING_EQUAL(form_get(&f, "b"), " ");
	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, bad, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(request_query(&req, &f), PB_EINVAL);
	teardown();
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_init_basic),
	UNIT_TEST(test_init_query_fallback),
	UNIT_TEST(test_init_invalid),
	UNIT_TEST(test_request_id),
	UNIT_TEST(test_methods),
	UNIT_TEST(test_params_headers),
	UNIT_TEST(test_route_param),
	UNIT_TEST(test_body_read),
	UNIT_TEST(test_body_exact_max),
	UNIT_TEST(test_body_content_length),
	UNIT_TEST(test_body_lying_length),
	UNIT_TEST(test_content_types),
	UNIT_TEST(test_decode_json),
	UNIT_TEST(test_decode_json_invalid),
	UNIT_TEST(test_decode_json_duplicates),
	UNIT_TEST(test_decode_form),
	UNIT_TEST(test_decode_too_big),
	UNIT_TEST(test_query),
};

UNIT_MAIN("request", tests)
