/*
 * Responses: the exact bytes of the CGI header block and the envelopes, HEAD, extra
 * headers and the refusal of header injection.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/response.h"
#include "unit.h"

/* Checks "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" and copies it out of the body into ts. */
static void
extract_timestamp(const char *body, char *ts, size_t tslen)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	const char *p = strstr(body, "\"timestamp\":\"");
	size_t n = sizeof(pattern) - 1;

	ts[0] = '\0';
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p += strlen("\"timestamp\":\"");
	CU_ASSERT_FATAL(strlen(p) > n && p[n] == '"' && n < tslen);
	for (size_t i = 0; i < n; i++) {
		if (pattern[i] == 'd') {
			CU_ASSERT(p[i] >= '0' && p[i] <= '9');
		} else {
			CU_ASSERT_EQUAL(p[i], pattern[i]);
		}
	}
	/* This century, at least: a time and not garbage in the right shape. */
	CU_ASSERT(strncmp(p, "20", 2) == 0);
	memcpy(ts, p, n);
	ts[n] = '\0';
}

static void
serialize(const struct response *r, const char *id, bool head, char *out, size_t outlen)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	CU_ASSERT_EQUAL_FATAL(response_serialize(r, id, head, &b), PB_OK);
	(void)snprintf(out, outlen, "%s", buf_cstr(&b));
	CU_ASSERT_EQUAL(strlen(out), b.len);
	buf_free(&b);
}

static void
test_ok_exact(void)
{
	struct response r;
	struct json_object *data = json_object_new_object();
	char ts[40], body[256], want[1024], got[1024];

	json_object_object_add(data, "id", json_object_new_int(1));
	json_object_object_add(data, "url", json_object_new_string("https://x/y"));
	response_init(&r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL_FATAL(response_data(&r, 200, data), PB_OK);
	json_object_put(data);	/* borrowed: the body is already text */
	CU_ASSERT_EQUAL(r.status, 200);
	extract_timestamp(buf_cstr(&r.body), ts, sizeof(ts));
	(void)snprintf(body, sizeof(body),
	    "{\"success\":true,\"timestamp\":\"%s\",\"data\":{\"id\":1,\"url\":\"https://x/y\"}}",
	    ts);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&r.body), body);
	(void)snprintf(want, sizeof(want),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: req-1\r\n"
	    "\r\n%s", strlen(body), body);
	serialize(&r, "req-1", false, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);

	/* HEAD: the same headers, Content-Length included, and no body. */
	(void)snprintf(want, sizeof(want),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: req-1\r\n"
	    "\r\n", strlen(body));
	serialize(&r, "req-1", true, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);
	response_free(&r);
}

static void
test_error_exact(void)
{
	struct response r;
	char ts[40], body[256], want[1024], got[1024];

	response_init(&r);
	CU_ASSERT_EQUAL_FATAL(response_error(&r, PB_ENOTFOUND, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(r.status, 404);
	extract_timestamp(buf_cstr(&r.body), ts, sizeof(ts));
	(void)snprintf(body, sizeof(body),
	    "{\"success\":false,\"timestamp\":\"%s\",\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no such resource\"}}", ts);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&r.body), body);
	CU_ASSERT_PTR_NULL(strstr(buf_cstr(&r.body), "fields"));
	(void)snprintf(want, sizeof(want),
	    "Status: 404 Not Found\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: 0123abcd\r\n"
	    "\r\n%s", strlen(body), body);
	serialize(&r, "0123abcd", false, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);
	response_free(&r);
}

static void
test_error_fields_and_escaping(void)
{
	struct response r;
	struct json_object *fields = json_object_new_object();
	const char *body;

	json_object_object_add(fields, "email", json_object_new_string("is taken"));
	response_init(&r);
	CU_ASSERT_EQUAL_FATAL(response_error(&r, PB_EFIELDS, NULL, NULL, fields), PB_OK);
	json_object_put(fields);
	body = buf_cstr(&r.body);
	CU_ASSERT_EQUAL(r.status, 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"error\":{\"code\":\"invalid_fields\","
	    "\"message\":\"some fields are invalid\",\"fields\":{\"email\":\"is taken\"}}}"));
	/* Given code and message, escaped; control characters never raw. */
	CU_ASSERT_EQUAL_FATAL(response_error(&r, PB_EINVAL, "bad_\"code", "say \"hi\"\n\x01",
	    NULL), PB_OK);
	body = buf_cstr(&r.body);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"error\":{\"code\":\"bad_\\\"code\","
	    "\"message\":\"say \\\"hi\\\"\\n\\u0001\"}}"));
	/* Other errors and their statuses. */
	CU_ASSERT_EQUAL(response_error(&r, PB_EDB, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body), "\"database_unavailable\""));
	CU_ASSERT_EQUAL(response_error(&r, PB_ENOMEM, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(r.status, 500);
	response_free(&r);
}

static void
test_error_status(void)
{
	struct response r;

	response_init(&r);
	CU_ASSERT_EQUAL(response_error_status(&r, 429, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_EQUAL(r.status, 429);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body),
	    "{\"code\":\"too_many_requests\",\"message\":\"Too Many Requests\"}"));
	CU_ASSERT_EQUAL(response_error_status(&r, 303, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body),
	    "{\"code\":\"error\",\"message\":\"See Other\"}"));
	CU_ASSERT_EQUAL(response_error_status(&r, 599, NULL, NULL, NULL), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body),
	    "{\"code\":\"internal_error\",\"message\":\"Unknown\"}"));
	CU_ASSERT_EQUAL(response_error_status(&r, 600, "x", "y", NULL), PB_EINVAL);
	CU_ASSERT_EQUAL(response_error_status(&r, 99, "x", "y", NULL), PB_EINVAL);
	CU_ASSERT_EQUAL(r.status, 599);
	response_free(&r);
}

static void
test_extra_headers(void)
{
	struct response r;
	char want[1024], got[1024];

	response_init(&r);
	CU_ASSERT_EQUAL(response_header(&r, "Allow", "GET, HEAD"), PB_OK);
	CU_ASSERT_EQUAL(response_header(&r, "Retry-After", "2"), PB_OK);
	CU_ASSERT_EQUAL(response_error(&r, PB_EMETHOD, NULL, NULL, NULL), PB_OK);
	(void)snprintf(want, sizeof(want),
	    "Status: 405 Method Not Allowed\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: r\r\n"
	    "Allow: GET, HEAD\r\n"
	    "Retry-After: 2\r\n"
	    "\r\n%s", r.body.len, buf_cstr(&r.body));
	serialize(&r, "r", false, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);
	response_free(&r);
}

static void
test_header_injection(void)
{
	static const char *const bad_values[] = {
		"x\r\nSet-Cookie: a=b", "x\nY: z", "x\rY", "a\x01", "a\x7f",
	};
	static const char *const bad_names[] = {
		"X-A\r\n", "Bad Name", "", "X:Y", "X\tY", "Content-Length", "content-type",
		"STATUS", "Cache-Control", "x-request-id", "\xc3\xa9",
	};
	struct response r;

	response_init(&r);
	CU_ASSERT_EQUAL(response_header(&r, "X-Ok", "tab\tand \xc3\xa9 are fine"), PB_OK);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++)
		CU_ASSERT_EQUAL(response_header(&r, "X-Test", bad_values[i]), PB_EINVAL);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		CU_ASSERT_EQUAL(response_header(&r, bad_names[i], "v"), PB_EINVAL);
	/* Refusals added nothing. */
	CU_ASSERT_STRING_EQUAL(buf_cstr(&r.headers), "X-Ok: tab\tand \xc3\xa9 are fine\r\n");
	response_free(&r);
}

static void
test_serialize_refusals(void)
{
	struct response r;
	struct buf b;

	response_init(&r);
	buf_init(&b, 4096);
	/* Nothing set: a bug in the caller, not a response. */
	CU_ASSERT_EQUAL(response_serialize(&r, "id", false, &b), PB_EINVAL);
	CU_ASSERT_EQUAL(response_data(&r, 200, NULL), PB_OK);
	CU_ASSERT_EQUAL(response_serialize(&r, "id\r\nX-Evil: 1", false, &b), PB_EINVAL);
	CU_ASSERT_EQUAL(response_serialize(&r, NULL, false, &b), PB_EINVAL);
	CU_ASSERT_EQUAL(b.len, 0);
	/* An output buffer too small for the response. */
	buf_free(&b);
	buf_init(&b, 32);
	CU_ASSERT_EQUAL(response_serialize(&r, "id", false, &b), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	buf_free(&b);
	response_free(&r);
}

static void
test_data_null_and_statuses(void)
{
	struct response r;

	response_init(&r);
	CU_ASSERT_EQUAL(response_data(&r, 201, NULL), PB_OK);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body), ",\"data\":null}"));
	CU_ASSERT_EQUAL(response_data(&r, 99, NULL), PB_EINVAL);
	CU_ASSERT_EQUAL(response_data(&r, 600, NULL), PB_EINVAL);
	CU_ASSERT_EQUAL(r.status, 201);
	response_free(&r);
}

static void
test_no_content(void)
{
	struct response r;
	char got[512];

	response_init(&r);
	CU_ASSERT_EQUAL(response_data(&r, 204, NULL), PB_OK);
	serialize(&r, "id", false, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got,
	    "Status: 204 No Content\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: id\r\n"
	    "\r\n");
	response_free(&r);
}

static void
test_raw(void)
{
	static const char metrics[] = "# TYPE x counter\nx 1\n";
	struct response r;
	char want[512], got[512];

	response_init(&r);
	CU_ASSERT_EQUAL(response_raw(&r, 200, "text/plain; version=0.0.4", metrics,
	    sizeof(metrics) - 1), PB_OK);
	(void)snprintf(want, sizeof(want),
	    "Status: 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: m\r\n"
	    "\r\n%s", sizeof(metrics) - 1, metrics);
	serialize(&r, "m", false, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, want);
	CU_ASSERT_EQUAL(response_raw(&r, 200, "text/plain\r\nX: y", "", 0), PB_EINVAL);
	/* A JSON envelope after a raw body goes back to JSON. */
	CU_ASSERT_EQUAL(response_data(&r, 200, NULL), PB_OK);
	CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
	response_free(&r);
}

static void
test_reset(void)
{
	struct response r;

	response_init(&r);
	CU_ASSERT_EQUAL(response_header(&r, "X-A", "1"), PB_OK);
	CU_ASSERT_EQUAL(response_raw(&r, 202, "text/plain", "abc", 3), PB_OK);
	response_reset(&r);
	CU_ASSERT_EQUAL(r.status, 0);
	CU_ASSERT_EQUAL(r.headers.len, 0);
	CU_ASSERT_EQUAL(r.body.len, 0);
	CU_ASSERT_STRING_EQUAL(r.content_type, "application/json");
	CU_ASSERT_EQUAL(r.body.max, RESPONSE_BODY_MAX);
	response_free(&r);
}

static void
test_too_big_keeps_previous(void)
{
	struct response r;
	struct json_object *big;
	char *s = malloc(RESPONSE_BODY_MAX + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, 'a', RESPONSE_BODY_MAX);
	s[RESPONSE_BODY_MAX] = '\0';
	big = json_object_new_string(s);
	free(s);
	response_init(&r);
	CU_ASSERT_EQUAL(response_data(&r, 201, NULL), PB_OK);
	CU_ASSERT_EQUAL(response_data(&r, 200, big), PB_ETOOBIG);
	/* The earlier response stands, whole. */
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf_cstr(&r.body), ",\"data\":null}"));
	json_object_put(big);
	response_free(&r);
}

static void
test_reasons(void)
{
	CU_ASSERT_STRING_EQUAL(http_status_reason(200), "OK");
	CU_ASSERT_STRING_EQUAL(http_status_reason(404), "Not Found");
	CU_ASSERT_STRING_EQUAL(http_status_reason(413), "Payload Too Large");
	CU_ASSERT_STRING_EQUAL(http_status_reason(415), "Unsupported Media Type");
	CU_ASSERT_STRING_EQUAL(http_status_reason(422), "Unprocessable Entity");
	CU_ASSERT_STRING_EQUAL(http_status_reason(502), "Bad Gateway");
	CU_ASSERT_STRING_EQUAL(http_status_reason(299), "Unknown");
	CU_ASSERT_STRING_EQUAL(http_status_reason(0), "Unknown");
	/* Every status an error maps to has a phrase of its own. */
	for (int e = PB_OK; e < PB_E__MAX; e++)
		CU_ASSERT_STRING_NOT_EQUAL(http_status_reason(pb_err_status((enum pb_err)e)),
		    "Unknown");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_ok_exact),
	UNIT_TEST(test_error_exact),
	UNIT_TEST(test_error_fields_and_escaping),
	UNIT_TEST(test_error_status),
	UNIT_TEST(test_extra_headers),
	UNIT_TEST(test_header_injection),
	UNIT_TEST(test_serialize_refusals),
	UNIT_TEST(test_data_null_and_statuses),
	UNIT_TEST(test_no_content),
	UNIT_TEST(test_raw),
	UNIT_TEST(test_reset),
	UNIT_TEST(test_too_big_keeps_previous),
	UNIT_TEST(test_reasons),
};

UNIT_MAIN("response", tests)
