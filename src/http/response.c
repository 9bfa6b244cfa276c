/*
 * Responses: the JSON envelopes of DESIGN §3 and the CGI header block.
 *
 * Every setter builds the new body in a separate buffer and swaps it in only when it is
 * complete, so a failure (a body over RESPONSE_BODY_MAX, no memory) leaves the response
 * as it was and the caller can still answer with an error.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http/response.h"
#include "util/json.h"
#include "util/timeutil.h"

#define JSON_TYPE "application/json"
#define BODY_MAX ((size_t)RESPONSE_BODY_MAX)
#define HEADERS_MAX ((size_t)RESPONSE_HEADERS_MAX)

void
response_init(struct response *r)
{
	r->status = 0;
	r->content_type = JSON_TYPE;
	buf_init(&r->headers, HEADERS_MAX);
	buf_init(&r->body, BODY_MAX);
}

void
response_free(struct response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

void
response_reset(struct response *r)
{
	response_free(r);
	response_init(r);
}

/* RFC 9110 token characters. */
static bool
is_token(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && strspn(s, "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == len;
}

/* A field value: visible characters, spaces, tabs and non-ASCII bytes; no CR, LF, NUL. */
static bool
is_field_value(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	}
	return true;
}

enum pb_err
response_header(struct response *r, const char *name, const char *value)
{
	/* Written by response_serialize: a second copy would contradict the first. */
	static const char *const reserved[] = {
		"Status", "Content-Type", "Content-Length", "Cache-Control", "X-Request-Id",
	};

	if (!is_token(name) || !is_field_value(value))
		return PB_EINVAL;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcasecmp(name, reserved[i]) == 0)
			return PB_EINVAL;
	}
	return buf_appendf(&r->headers, "%s: %s\r\n", name, value);
}

static bool
status_valid(int status)
{
	return status >= 100 && status <= 599;
}

/* Replaces the body with b (taking it) and sets status and type. */
static void
set_body(struct response *r, int status, const char *content_type,
    const struct buf *b)
{
	buf_free(&r->body);
	r->body = *b;
	r->status = status;
	r->content_type = content_type;
}

/* Starts an envelope: {"success":<ok>,"timestamp":"...", */
static enum pb_err
envelope_start(struct buf *b, bool ok)
{
	char ts[TIME_ISO8601_LEN];

	time_iso8601(time_real_us(), ts, sizeof(ts));
	return buf_appendf(b, "{\"success\":%s,\"timestamp\":\"%s\",", ok ? "true" : "false",
	    ts);
}

enum pb_err
response_data(struct response *r, int status, struct json_object *data)
{
	struct buf b;
	enum pb_err err;

	if (!status_valid(status))
		return PB_EINVAL;
	buf_init(&b, BODY_MAX);
	err = envelope_start(&b, true);
	if (err == PB_OK)
		err = buf_appends(&b, "\"data\":");
	if (err == PB_OK)
		err = data != NULL ? json_append(&b, data) : buf_appends(&b, "null");
	if (err == PB_OK)
		err = buf_appendc(&b, '}');
	if (err != PB_OK) {
		buf_free(&b);
		return err;
	}
	set_body(r, status, JSON_TYPE, &b);
	return PB_OK;
}

/* Returns the code of the first error that maps to status, so 404 reads "not_found". */
static const char *
status_code(int status)
{
	for (int e = PB_OK + 1; e < PB_E__MAX; e++) {
		if (pb_err_status((enum pb_err)e) == status)
			return pb_err_code((enum pb_err)e);
	}
	return status >= 500 ? "internal_error" : "error";
}

enum pb_err
response_error_status(struct response *r, int status, const char *code, const char *message,
    struct json_object *fields)
{
	struct buf b;
	enum pb_err err;

	if (!status_valid(status))
		return PB_EINVAL;
	if (code == NULL)
		code = status_code(status);
	if (message == NULL)
		message = http_status_reason(status);
	buf_init(&b, BODY_MAX);
	err = envelope_start(&b, false);
	if (err == PB_OK)
		err = buf_appends(&b, "\"error\":{\"code\":");
	if (err == PB_OK)
		err = json_escape(&b, code, strlen(code));
	if (err == PB_OK)
		err = buf_appends(&b, ",\"message\":");
	if (err == PB_OK)
		err = json_escape(&b, message, strlen(message));
	if (err == PB_OK && fields != NULL) {
		err = buf_appends(&b, ",\"fields\":");
		if (err == PB_OK)
			err = json_append(&b, fields);
	}
	if (err == PB_OK)
		err = buf_appends(&b, "}}");
	if (err != PB_OK) {
		buf_free(&b);
		return err;
	}
	set_body(r, status, JSON_TYPE, &b);
	/* Every 503 is temporary (overload, a database or Stripe away): say when to retry. */
	if (status == 503)
		return response_header(r, "Retry-After", "1");
	return PB_OK;
}

enum pb_err
response_error(struct response *r, enum pb_err err, const char *code, const char *message,
    struct json_object *fields)
{
	return response_error_status(r, pb_err_status(err),
	    code != NULL ? code : pb_err_code(err),
	    message != NULL ? message : pb_strerror(err), fields);
}

enum pb_err
response_raw(struct response *r, int status, const char *content_type, const char *body,
    size_t len)
{
	struct buf b;
	enum pb_err err;

	if (!status_valid(status) || content_type == NULL || !is_field_value(content_type))
		return PB_EINVAL;
	buf_init(&b, BODY_MAX);
	err = buf_append(&b, body, len);
	if (err != PB_OK)
		return err;
	set_body(r, status, content_type, &b);
	return PB_OK;
}

const char *
http_status_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 204, "No Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 303, "See Other" },
		{ 304, "Not Modified" },
		{ 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Payload Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Entity" },
		{ 428, "Precondition Required" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].status == status)
			return reasons[i].reason;
	}
	return "Unknown";
}

/* Statuses that never carry a body, a Content-Length or a Content-Type (RFC 9110 §8.6). */
static bool
bodyless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

enum pb_err
response_serialize(const struct response *r, const char *request_id, bool head_only,
    struct buf *out)
{
	bool nobody = bodyless(r->status);
	const char *ct = r->content_type != NULL ? r->content_type : JSON_TYPE;
	enum pb_err err;

	/* Status 0 means no handler set anything: a bug the caller must answer for. */
	if (!status_valid(r->status) || request_id == NULL || !is_field_value(request_id))
		return PB_EINVAL;
	err = buf_appendf(out, "Status: %d %s\r\n", r->status, http_status_reason(r->status));
	if (err == PB_OK && !nobody)
		err = buf_appendf(out, "Content-Type: %s%s\r\nContent-Length: %zu\r\n", ct,
		    strcmp(ct, JSON_TYPE) == 0 ? "; charset=utf-8" : "", r->body.len);
	if (err == PB_OK)
		err = buf_appendf(out, "Cache-Control: no-store\r\nX-Request-Id: %s\r\n",
		    request_id);
	if (err == PB_OK)
		err = buf_append(out, r->headers.data, r->headers.len);
	if (err == PB_OK)
		err = buf_append(out, "\r\n", 2);
	if (err == PB_OK && !head_only && !nobody)
		err = buf_append(out, r->body.data, r->body.len);
	return err;
}
