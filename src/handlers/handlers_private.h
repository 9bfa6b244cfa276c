/*
 * Internals shared by the files of src/handlers, not part of any public contract: reading
 * a JSON (or form) body against an allow-list, wiping a password member, the user's JSON
 * shape and the session answer (signup and login), and the 503 that stands for "accounts
 * are not configured" (the account routes and the dispatcher's authentication).
 *
 * A user in JSON: {"id":1,"name":"…","email":"…","role":"user","stripeCustomerId":null,
 * "isEmailVerified":false,"createdAt":"2025-01-01T00:00:00.000000Z"} (UTC).
 */
#ifndef PB_HANDLERS_PRIVATE_H
#define PB_HANDLERS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "http/response.h"

struct account;
struct accounts_session;

/* Most offending members one error lists, so a hostile body cannot inflate the answer. */
#define HANDLERS_FIELDS_MAX 16

/*
 * Reads the members of body named in allowed[0..n), the first nrequired of them required:
 * values[i] and lens[i] receive member allowed[i] when it is a string (borrowed from
 * body), else NULL and 0. Each required member that is missing, each member present that
 * is not a string (null included), and each member not allowed, gets a message in
 * *fields (a new object made on first use, at most HANDLERS_FIELDS_MAX members; the
 * caller puts it). Returns how many problems there were.
 */
size_t handlers_body_fields(struct json_object *body, const char *const *allowed, size_t n,
    size_t nrequired, const char **values, size_t *lens, struct json_object **fields);

/* Adds v under k of o, taking v; false (v put) when v is NULL or the add fails. */
bool handlers_json_add(struct json_object *o, const char *k, struct json_object *v);

/* Adds the string s (copied; NULL: null) under k of o; false when out of memory. */
bool handlers_json_add_str(struct json_object *o, const char *k, const char *s);

/* Adds name: message to *fields (made on first use). false when out of memory. */
bool handlers_field_error(struct json_object **fields, const char *name, const char *message);

/* Overwrites the string member key of body (a password) with zeros, if it is one. */
void handlers_wipe_member(struct json_object *body, const char *key);

/* Returns a new JSON object for u (the caller puts it), or NULL when out of memory. */
struct json_object *handlers_user_json_new(const struct account *u);

/* Answers status with {"user": u, ...the members of data}. Takes data (may be NULL). */
enum pb_err handlers_answer_user(struct response *resp, int status, const struct account *u,
    struct json_object *data);

/* Answers status with {access_token, token_type: "Bearer", expires_in, user} for s. */
enum pb_err handlers_answer_session(struct response *resp, int status,
    const struct accounts_session *s);

/* Answers 429 too_many_requests with Retry-After: the login throttle refused. */
enum pb_err handlers_answer_throttled(struct response *resp, int64_t retry_after_s);

/* Answers 503 service_unavailable: jwt_secret is not configured. */
enum pb_err handlers_accounts_unavailable(struct response *resp);

#endif
