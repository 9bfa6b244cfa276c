/* POST /v1/auth/login (see auth.h): decode, services/accounts, encode. */
#include "config.h"

#include "handlers/auth.h"
#include "handlers/handlers_private.h"
#include "services/accounts.h"
#include "services/app.h"

static const char *const login_fields[] = { "email", "password" };
#define NLOGIN (sizeof(login_fields) / sizeof(login_fields[0]))

enum pb_err
handle_auth_login(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct accounts_session s;
	const char *v[NLOGIN];
	size_t lens[NLOGIN];
	int64_t retry = 0;
	enum pb_err err;

	if (accounts_ready(app) != PB_OK)
		return handlers_accounts_unavailable(resp);
	if (handlers_body_fields(req->json, login_fields, NLOGIN, NLOGIN, v, lens,
	    &fields) > 0) {
		handlers_wipe_member(req->json, "password");
		err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
		    fields);
		json_object_put(fields);
		return err;
	}
	err = accounts_login(app, req->arena, v[0], v[1], lens[1], req->remote_addr, &s,
	    &retry);
	handlers_wipe_member(req->json, "password");
	switch (err) {
	case PB_OK:
		return handlers_answer_session(resp, 200, &s);
	case PB_EAUTH:
		/* One answer for every wrong email and password: it must not tell which. */
		return response_error(resp, PB_EAUTH, "invalid_credentials",
		    "the email address or password is incorrect", NULL);
	case PB_ERATE:
		return handlers_answer_throttled(resp, retry);
	case PB_ECONFIG:
		return handlers_accounts_unavailable(resp);
	default:
		return err;
	}
}
