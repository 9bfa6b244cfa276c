/*
 * A response built in memory and written in one piece: status, headers, and a JSON body
 * in the envelope of DESIGN §3:
 *   {"success":true,"timestamp":"...","data":...}
 *   {"success":false,"timestamp":"...","error":{"code":"...","message":"...","fields":{...}}}
 * Every response carries Content-Type, Cache-Control: no-store and X-Request-Id.
 * A setter that fails (PB_EINVAL, PB_ETOOBIG past RESPONSE_BODY_MAX, PB_ENOMEM) leaves the
 * response as it was.
 */
#ifndef PB_HTTP_RESPONSE_H
#define PB_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "util/buf.h"
#include "util/err.h"

#define RESPONSE_BODY_MAX (4 * 1024 * 1024)
#define RESPONSE_HEADERS_MAX 8192

struct response {
	int status;		/* 0 until something was set */
	const char *content_type;	/* static; default "application/json" */
	struct buf headers;	/* extra "Name: value\r\n" lines */
	struct buf body;
};

void response_init(struct response *r);
void response_free(struct response *r);

/* Drops whatever was set so far (status, headers, body), e.g. to answer an error instead. */
void response_reset(struct response *r);

/*
 * Adds a header line. PB_EINVAL when name is not a token, value holds a control character
 * (CR, LF, ...) other than tab, or name is one response_serialize writes itself (Status,
 * Content-Type, Content-Length, Cache-Control, X-Request-Id).
 */
enum pb_err response_header(struct response *r, const char *name, const char *value);

/* Sets status and the success envelope around data (borrowed; NULL means JSON null). */
enum pb_err response_data(struct response *r, int status, struct json_object *data);

/*
 * Sets status and the error envelope. code and message default to pb_err_code(err) and
 * pb_strerror(err) when NULL; fields (borrowed, may be NULL) maps field names to messages.
 */
enum pb_err response_error(struct response *r, enum pb_err err, const char *code,
    const char *message, struct json_object *fields);

/*
 * Same as response_error with an explicit status (for statuses with no pb_err, e.g. 303);
 * a NULL code is that of the first error with this status, else "error" ("internal_error"
 * for 5xx), a NULL message the reason phrase.
 */
enum pb_err response_error_status(struct response *r, int status, const char *code,
    const char *message, struct json_object *fields);

/* Sets status with a raw body of the given content type (static string), e.g. /metrics. */
enum pb_err response_raw(struct response *r, int status, const char *content_type,
    const char *body, size_t len);

/* Returns the reason phrase for status ("Not Found"), "Unknown" when it has none. */
const char *http_status_reason(int status);

/*
 * Writes the CGI response ("Status: 404 Not Found\r\nContent-Type: ...\r\n
 * Content-Length: N\r\n...\r\n\r\nbody") into out, which the caller initialised. With
 * head_only the body is left out but Content-Length still counts it. 1xx, 204 and 304 have
 * no body, Content-Type or Content-Length. PB_EINVAL when no status was set or request_id
 * holds a control character.
 */
enum pb_err response_serialize(const struct response *r, const char *request_id,
    bool head_only, struct buf *out);

#endif
