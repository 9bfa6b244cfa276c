/*
 * POST /v1/auth/login: {email, password} as JSON or a form →
 * 200 {access_token, token_type: "Bearer", expires_in, user}. A wrong email and a wrong
 * password get the same 401 invalid_credentials; a blocked address gets 429
 * too_many_requests with Retry-After in seconds (services/accounts.h has the policy).
 */
#ifndef PB_HANDLERS_AUTH_H
#define PB_HANDLERS_AUTH_H

#include "http/router.h"

enum pb_err handle_auth_login(struct app *app, struct request *req, struct response *resp);

#endif
