/*
 * /v1/users: signup (POST, JSON or an HTML form), profiles (GET, PATCH and DELETE of
 * /v1/users/me, and of /v1/users/{id} for the user itself or an admin), and the password. The user's JSON shape is in
 * handlers_private.h, shared with the login answer.
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

#include "http/router.h"

/* POST /v1/users: 201 {user, access_token, token_type, expires_in}; 303 for browser forms. */
enum pb_err handle_users_create(struct app *app, struct request *req, struct response *resp);

/* GET /v1/users/me (ROUTE_AUTH): 200 {user}. */
enum pb_err handle_users_me(struct app *app, struct request *req, struct response *resp);

/* GET /v1/users/{id} (ROUTE_AUTH): 200 {user}; 403 unless self or admin; 404 when unknown. */
enum pb_err handle_users_get(struct app *app, struct request *req, struct response *resp);

/*
 * PATCH /v1/users/me and /v1/users/{id} (ROUTE_AUTH; self or admin): {name?, email?},
 * nothing else (422). 200 {user, stripeSync: "synced"|"pending"}; 409 email_taken.
 */
enum pb_err handle_users_update_me(struct app *app, struct request *req, struct response *resp);
enum pb_err handle_users_update(struct app *app, struct request *req, struct response *resp);

/*
 * DELETE /v1/users/me and /v1/users/{id} (ROUTE_AUTH; self or admin): closes the
 * account. 200 {deleted: true, stripeSync}; 404 when absent or closed already.
 */
enum pb_err handle_users_delete_me(struct app *app, struct request *req, struct response *resp);
enum pb_err handle_users_delete(struct app *app, struct request *req, struct response *resp);

/*
 * POST /v1/users/me/password (ROUTE_AUTH) {currentPassword, newPassword}: 200 with a
 * fresh session (every other token revoked); 422 wrong_password or invalid_fields; 429
 * with Retry-After under the login throttle; 409 password_changed.
 */
enum pb_err handle_users_password(struct app *app, struct request *req, struct response *resp);

#endif
