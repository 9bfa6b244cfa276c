/*
 * /v1/users: decode, call services/accounts, encode (see users.h for the shapes and for
 * the browser form path). Every failure of a browser form post becomes a redirect too, so
 * a person never lands on a JSON page.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "handlers/handlers_private.h"
#include "handlers/users.h"
#include "services/accounts.h"
#include "services/app.h"
#include "services/profile.h"
#include "services/subscriptions.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/strnum.h"

#define FORM_TYPE "application/x-www-form-urlencoded"
#define DEFAULT_REDIRECT "/account.html"
#define QUERY_MAX 256

static const char *const signup_fields[] = { "name", "email", "password" };
#define NSIGNUP (sizeof(signup_fields) / sizeof(signup_fields[0]))
/* The only fields a PATCH may set: role, stripeCustomerId and the like are refused. */
static const char *const profile_fields[] = { "name", "email" };
#define NPROFILE (sizeof(profile_fields) / sizeof(profile_fields[0]))
static const char *const password_fields[] = { "currentPassword", "newPassword" };
#define NPASSWORD (sizeof(password_fields) / sizeof(password_fields[0]))

/* ---- signup ---- */

/* A form a browser posts itself: it wants a page, not JSON. */
static bool
browser_form(const struct request *req)
{
	const char *accept = request_header(req, "Accept");
	size_t n = strlen(FORM_TYPE);

	return accept != NULL && strcasestr(accept, "text/html") != NULL &&
	    strncasecmp(req->content_type, FORM_TYPE, n) == 0 &&
	    (req->content_type[n] == '\0' || req->content_type[n] == ';' ||
		req->content_type[n] == ' ');
}

/* 303 to the configured page with query appended (before any fragment). */
static enum pb_err
redirect(const struct app *app, struct request *req, struct response *resp,
    const char *query)
{
	static const char body[] = "See Other\n";
	const char *base = app->conf->signup_redirect_url;
	const char *frag, *sep;
	size_t blen;
	char *url;
	enum pb_err err;

	if (base == NULL || base[0] == '\0')
		base = DEFAULT_REDIRECT;
	frag = strchr(base, '#');
	blen = frag != NULL ? (size_t)(frag - base) : strlen(base);
	if (memchr(base, '?', blen) == NULL)
		sep = "?";
	else if (base[blen - 1] == '?' || base[blen - 1] == '&')
		sep = "";
	else
		sep = "&";
	if (blen > INT_MAX)
		return PB_ECONFIG;
	url = arena_printf(req->arena, "%.*s%s%s%s", (int)blen, base, sep, query,
	    frag != NULL ? frag : "");
	if (url == NULL)
		return PB_ENOMEM;
	err = response_raw(resp, 303, "text/plain; charset=utf-8", body, sizeof(body) - 1);
	if (err == PB_OK)
		err = response_header(resp, "Location", url);
	if (err == PB_EINVAL) {
		log_error("signup_redirect_url cannot be sent in a Location header");
		response_reset(resp);
		return PB_ECONFIG;
	}
	return err;
}

/* The outcome of a browser signup as the redirect's query. */
static enum pb_err
redirect_outcome(const struct app *app, struct request *req, struct response *resp,
    enum pb_err err, const struct accounts_session *s, struct json_object *fields)
{
	char query[QUERY_MAX];
	size_t len;
	int n;

	if (err == PB_OK) {
		n = snprintf(query, sizeof(query), "signup=ok&user=%llu",
		    (unsigned long long)s->user.id);
	} else {
		n = snprintf(query, sizeof(query), "error=%s",
		    err == PB_EFIELDS ? "invalid_fields"
		    : err == PB_ECONFLICT ? "email_taken"
		    : err == PB_ECONFIG ? "service_unavailable" : pb_err_code(err));
	}
	if (n < 0 || (size_t)n >= sizeof(query))
		return PB_ENOMEM;
	/* Only our own field names go into the URL, never a name the client made up. */
	for (size_t i = 0; err == PB_EFIELDS && i < NSIGNUP; i++) {
		if (fields == NULL || !json_object_object_get_ex(fields, signup_fields[i], NULL))
			continue;
		len = strlen(query);
		n = snprintf(query + len, sizeof(query) - len, "%s%s",
		    strstr(query, "&fields=") == NULL ? "&fields=" : ",", signup_fields[i]);
		if (n < 0 || (size_t)n >= sizeof(query) - len)
			return PB_ENOMEM;
	}
	return redirect(app, req, resp, query);
}

enum pb_err
handle_users_create(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct accounts_signup in;
	struct accounts_problems p;
	struct accounts_session s;
	const char *v[NSIGNUP];
	size_t lens[NSIGNUP], nbad;
	enum pb_err err;

	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	err = accounts_ready(app);
	if (err != PB_OK)
		goto answer;
	nbad = handlers_body_fields(req->json, signup_fields, NSIGNUP, NSIGNUP, v, lens,
	    &fields);
	in = (struct accounts_signup){ v[0], v[1], v[2], lens[2] };
	if (nbad > 0) {
		/* Report the values' problems too, so one round trip shows them all. */
		(void)accounts_signup_check(&in, &p);
		err = PB_EFIELDS;
	} else {
		err = accounts_register(app, req->arena, &in, &p, &s);
	}
	handlers_wipe_member(req->json, "password");
	if (err == PB_EFIELDS &&
	    ((p.name != NULL && !handlers_field_error(&fields, "name", p.name)) ||
		(p.email != NULL && !handlers_field_error(&fields, "email", p.email)) ||
		(p.password != NULL && !handlers_field_error(&fields, "password", p.password))))
		err = PB_ENOMEM;
answer:
	if (browser_form(req)) {
		err = redirect_outcome(app, req, resp, err, &s, fields);
		json_object_put(fields);
		return err;
	}
	switch (err) {
	case PB_OK:
		return handlers_answer_session(resp, 201, &s);
	case PB_EFIELDS:
		err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
		    fields);
		json_object_put(fields);
		return err;
	case PB_ECONFLICT:
		return response_error(resp, PB_ECONFLICT, "email_taken",
		    "an account with this email address already exists", NULL);
	case PB_ECONFIG:
		return handlers_accounts_unavailable(resp);
	default:
		json_object_put(fields);
		return err;
	}
}

/* ---- profiles ---- */

enum pb_err
handle_users_me(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *data;
	struct sub_view sub;
	struct account u;
	enum pb_err err;
	bool ok;

	err = accounts_get(app, req->arena, (uint64_t)req->user_id, req->user_role,
	    (uint64_t)req->user_id, &u);
	if (err != PB_OK)
		return err;
	err = subscriptions_current(app, req->arena, (uint64_t)req->user_id, &sub);
	if (err != PB_OK && err != PB_ENOTFOUND)
		return err;
	data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	ok = err == PB_OK ?
	    handlers_json_add(data, "subscription", handlers_subscription_summary_json(&sub)) :
	    handlers_json_add_str(data, "subscription", NULL);
	if (!ok) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	return handlers_answer_user(resp, 200, &u, data);
}

enum pb_err
handle_users_get(struct app *app, struct request *req, struct response *resp)
{
	struct account u;
	enum pb_err err;

	err = accounts_get(app, req->arena, (uint64_t)req->user_id, req->user_role,
	    handlers_route_id(req), &u);
	if (err != PB_OK)
		return err;
	return handlers_answer_user(resp, 200, &u, NULL);
}

/* Answers 422 invalid_fields with fields (taken) and the messages of p added. */
static enum pb_err
answer_fields(struct response *resp, struct json_object *fields, const struct accounts_problems *p)
{
	enum pb_err err = PB_OK;

	if ((p->name != NULL && !handlers_field_error(&fields, "name", p->name)) ||
	    (p->email != NULL && !handlers_field_error(&fields, "email", p->email)) ||
	    (p->password != NULL && !handlers_field_error(&fields, "newPassword", p->password)))
		err = PB_ENOMEM;
	if (err == PB_OK)
		err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
		    fields);
	json_object_put(fields);
	return err;
}

static enum pb_err
answer_email_taken(struct response *resp)
{
	return response_error(resp, PB_ECONFLICT, "email_taken",
	    "an account with this email address already exists", NULL);
}

/* {..., "stripeSync": "synced"|"pending"} */
static struct json_object *
sync_json(enum profile_sync sync)
{
	struct json_object *o = json_object_new_object();

	if (o != NULL && json_object_object_add(o, "stripeSync",
	    json_object_new_string(profile_sync_name(sync))) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static enum pb_err
update(struct app *app, struct request *req, struct response *resp, uint64_t id)
{
	struct json_object *fields = NULL, *data;
	struct profile_changes in;
	struct accounts_problems p;
	enum profile_sync sync;
	const char *v[NPROFILE];
	size_t lens[NPROFILE];
	struct account u;
	enum pb_err err;

	memset(&p, 0, sizeof(p));
	if (handlers_body_fields(req->json, profile_fields, NPROFILE, 0, v, lens, &fields) > 0)
		return answer_fields(resp, fields, &p);
	in = (struct profile_changes){ v[0], v[1] };
	err = profile_update(app, req->arena, (uint64_t)req->user_id, req->user_role, id, &in,
	    &p, &u, &sync);
	switch (err) {
	case PB_OK:
		data = sync_json(sync);
		if (data == NULL)
			return PB_ENOMEM;
		return handlers_answer_user(resp, 200, &u, data);
	case PB_EFIELDS:
		return answer_fields(resp, NULL, &p);
	case PB_ECONFLICT:
		return answer_email_taken(resp);
	default:
		return err;
	}
}

enum pb_err
handle_users_update_me(struct app *app, struct request *req, struct response *resp)
{
	return update(app, req, resp, (uint64_t)req->user_id);
}

enum pb_err
handle_users_update(struct app *app, struct request *req, struct response *resp)
{
	return update(app, req, resp, handlers_route_id(req));
}

static enum pb_err
close_account(struct app *app, struct request *req, struct response *resp, uint64_t id)
{
	struct json_object *data;
	enum profile_sync sync;
	enum pb_err err;

	err = profile_close(app, req->arena, (uint64_t)req->user_id, req->user_role, id, &sync);
	if (err != PB_OK)
		return err;
	data = sync_json(sync);
	if (data == NULL || json_object_object_add(data, "deleted",
	    json_object_new_boolean(1)) != 0) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}

enum pb_err
handle_users_delete_me(struct app *app, struct request *req, struct response *resp)
{
	return close_account(app, req, resp, (uint64_t)req->user_id);
}

enum pb_err
handle_users_delete(struct app *app, struct request *req, struct response *resp)
{
	return close_account(app, req, resp, handlers_route_id(req));
}

enum pb_err
handle_users_password(struct app *app, struct request *req, struct response *resp)
{
	struct json_object *fields = NULL;
	struct accounts_problems p;
	struct accounts_session s;
	const char *v[NPASSWORD];
	size_t lens[NPASSWORD];
	int64_t retry = 0;
	enum pb_err err;

	memset(&p, 0, sizeof(p));
	if (handlers_body_fields(req->json, password_fields, NPASSWORD, NPASSWORD, v, lens,
	    &fields) > 0) {
		handlers_wipe_member(req->json, "currentPassword");
		handlers_wipe_member(req->json, "newPassword");
		return answer_fields(resp, fields, &p);
	}
	err = accounts_change_password(app, req->arena, (uint64_t)req->user_id, v[0], lens[0],
	    v[1], lens[1], req->remote_addr, &p, &s, &retry);
	handlers_wipe_member(req->json, "currentPassword");
	handlers_wipe_member(req->json, "newPassword");
	switch (err) {
	case PB_OK:
		return handlers_answer_session(resp, 200, &s);
	case PB_EFIELDS:
		return answer_fields(resp, NULL, &p);
	case PB_EAUTH:
		/* Not 401: the token is fine, and a client must not sign its user out. */
		if (!handlers_field_error(&fields, "currentPassword", "is incorrect"))
			return PB_ENOMEM;
		err = response_error(resp, PB_EFIELDS, "wrong_password",
		    "the current password is incorrect", fields);
		json_object_put(fields);
		return err;
	case PB_ERATE:
		return handlers_answer_throttled(resp, retry);
	case PB_ECONFLICT:
		return response_error(resp, PB_ECONFLICT, "password_changed",
		    "the password was changed meanwhile; sign in again", NULL);
	case PB_ECONFIG:
		return handlers_accounts_unavailable(resp);
	default:
		return err;
	}
}
