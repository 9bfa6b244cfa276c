/*
 * /v1/users: signup (POST, JSON or an HTML form), and profiles (GET /v1/users/me, and
 * GET /v1/users/{id} for the user itself or an admin). The user's JSON shape is in
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

#endif
