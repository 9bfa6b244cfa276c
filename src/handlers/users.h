/*
 * /v1/users: signup (POST, JSON or an HTML form), and profiles (GET /v1/users/me, and
 * GET /v1/users/{id} for the user itself or an admin). Also the pieces the auth handler
 * shares: the user's JSON shape, reading a body against an allow-list, and the 503 that
 * stands for "accounts are not configured".
 *
 * A user in JSON: {"id":1,"name":"…","email":"…","role":"user","stripeCustomerId":null,
 * "isEmailVerified":false,"createdAt":"2025-01-01T00:00:00.000000Z"} (UTC).
 *
 * Browser form posts (an Accept header with text/html and a form-encoded body) are
 * answered with 303 See Other to conf signup_redirect_url (default /account.html) with
 * the outcome in the query: ?signup=ok&user=ID, or ?error=CODE (and &fields=name,email
 * for invalid_fields). No token is issued on that path: a token in a URL would end up in
 * histories and logs, and a cookie would make every route CSRF-prone, so the page asks
 * the user to log in (POST /v1/auth/login). Scripts that want the token post with fetch
 * and get the JSON answer.
 */
#ifndef PB_HANDLERS_USERS_H
#define PB_HANDLERS_USERS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "http/router.h"
#include "repo/users.h"

struct accounts_session;

/* Most offending members one error lists, so a hostile body cannot inflate the answer. */
#define USERS_FIELDS_MAX 16

/* POST /v1/users: 201 {user, access_token, token_type, expires_in}; 303 for browser forms. */
enum pb_err handle_users_create(struct app *app, struct request *req, struct response *resp);

/* GET /v1/users/me (ROUTE_AUTH): 200 {user}. */
enum pb_err handle_users_me(struct app *app, struct request *req, struct response *resp);

/* GET /v1/users/{id} (ROUTE_AUTH): 200 {user}; 403 unless self or admin; 404 when unknown. */
enum pb_err handle_users_get(struct app *app, struct request *req, struct response *resp);

/* Returns a new JSON object for u (the caller puts it), or NULL when out of memory. */
struct json_object *users_json_new(const struct user *u);

/*
 * Reads the members of body named in allowed[0..n), all of them required: values[i] and
 * lens[i] receive member allowed[i] when it is a string (borrowed from body), else NULL
 * and 0. Each allowed member that is missing or not a string, and each member not
 * allowed, gets a message in *fields (a new object made on first use, at most
 * USERS_FIELDS_MAX members; the caller puts it). Returns how many problems there were.
 */
size_t users_body_fields(struct json_object *body, const char *const *allowed, size_t n,
    const char **values, size_t *lens, struct json_object **fields);

/* Adds name: message to *fields (made on first use). false when out of memory. */
bool users_field_error(struct json_object **fields, const char *name, const char *message);

/* Overwrites the string member key of body (a password) with zeros, if it is one. */
void users_wipe_member(struct json_object *body, const char *key);

/* Answers status with {access_token, token_type: "Bearer", expires_in, user} for s. */
enum pb_err users_answer_session(struct response *resp, int status,
    const struct accounts_session *s);

/* Answers 503 service_unavailable: jwt_secret is not configured. */
enum pb_err users_unavailable(struct response *resp);

#endif
