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

#include "handlers/users.h"
#include "services/accounts.h"
#include "services/app.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define FORM_TYPE "application/x-www-form-urlencoded"
#define DEFAULT_REDIRECT "/account.html"
#define QUERY_MAX 256

static const char *const signup_fields[] = { "name", "email", "password" };
#define NSIGNUP (sizeof(signup_fields) / sizeof(signup_fields[0]))

/* ---- shared pieces ---- */

/* Adds v under k, taking v; false (v put) when v is NULL or the add fails. */
static bool
add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v == NULL)
		return false;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool
add_str(struct json_object *o, const char *k, const char *s)
{
	if (s == NULL)
		return json_object_object_add(o, k, NULL) == 0;
	return add(o, k, json_object_new_string(s));
}

struct json_object *
users_json_new(const struct user *u)
{
	struct json_object *o = json_object_new_object();
	char created[TIME_ISO8601_LEN];

	if (o == NULL)
		return NULL;
	time_iso8601(u->created_at, created, sizeof(created));
	if (!add(o, "id", json_object_new_int64((int64_t)u->id)) ||
	    !add_str(o, "name", u->name) || !add_str(o, "email", u->email) ||
	    !add_str(o, "role", u->role) ||
	    !add_str(o, "stripeCustomerId", u->stripe_customer_id) ||
	    !add(o, "isEmailVerified", json_object_new_boolean(u->is_email_verified)) ||
	    !add_str(o, "createdAt", created)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

bool
users_field_error(struct json_object **fields, const char *name, const char *message)
{
	if (*fields == NULL) {
		*fields = json_object_new_object();
		if (*fields == NULL)
			return false;
	}
	if (json_object_object_length(*fields) >= USERS_FIELDS_MAX ||
	    json_object_object_get_ex(*fields, name, NULL))
		return true;
	return add_str(*fields, name, message);
}

size_t
users_body_fields(struct json_object *body, const char *const *allowed, size_t n,
    const char **values, size_t *lens, struct json_object **fields)
{
	struct json_object *v;
	size_t problems = 0, i;

	*fields = NULL;
	for (i = 0; i < n; i++) {
		values[i] = NULL;
		lens[i] = 0;
		if (body == NULL || !json_object_object_get_ex(body, allowed[i], &v) || v == NULL) {
			(void)users_field_error(fields, allowed[i], "is required");
			problems++;
		} else if (!json_object_is_type(v, json_type_string)) {
			(void)users_field_error(fields, allowed[i], "must be a string");
			problems++;
		} else {
			values[i] = json_object_get_string(v);
			lens[i] = (size_t)json_object_get_string_len(v);
		}
	}
	if (body == NULL)
		return problems;
	json_object_object_foreach(body, key, val) {
		(void)val;
		for (i = 0; i < n && strcmp(key, allowed[i]) != 0; i++)
			;
		if (i == n) {
			(void)users_field_error(fields, key, "is not an accepted field");
			problems++;
		}
	}
	return problems;
}

void
users_wipe_member(struct json_object *body, const char *key)
{
	struct json_object *v;

	if (body == NULL || !json_object_object_get_ex(body, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return;
	/* json-c hands out its own writable copy as const; the bytes are ours to clear. */
	/* NOLINTNEXTLINE(performance-no-int-to-ptr) */
	secure_wipe((void *)(uintptr_t)json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
}

enum pb_err
users_unavailable(struct response *resp)
{
	return response_error_status(resp, 503, "service_unavailable",
	    "accounts are not configured on this server", NULL);
}

/* Answers status with {"user": u, ...extra members of data}. Takes data (may be NULL). */
static enum pb_err
answer_user(struct response *resp, int status, const struct user *u, struct json_object *data)
{
	enum pb_err err;

	if (data == NULL)
		data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	if (!add(data, "user", users_json_new(u))) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, status, data);
	json_object_put(data);
	return err;
}

enum pb_err
users_answer_session(struct response *resp, int status, const struct accounts_session *s)
{
	struct json_object *data = json_object_new_object();

	if (data == NULL || !add_str(data, "access_token", s->token) ||
	    !add_str(data, "token_type", "Bearer") ||
	    !add(data, "expires_in", json_object_new_int64(s->expires_in))) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	return answer_user(resp, status, &s->user, data);
}

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
	nbad = users_body_fields(req->json, signup_fields, NSIGNUP, v, lens, &fields);
	in = (struct accounts_signup){ v[0], v[1], v[2], lens[2] };
	if (nbad > 0) {
		/* Report the values' problems too, so one round trip shows them all. */
		(void)accounts_signup_check(&in, &p);
		err = PB_EFIELDS;
	} else {
		err = accounts_register(app, req->arena, &in, &p, &s);
	}
	users_wipe_member(req->json, "password");
	if (err == PB_EFIELDS &&
	    ((p.name != NULL && !users_field_error(&fields, "name", p.name)) ||
		(p.email != NULL && !users_field_error(&fields, "email", p.email)) ||
		(p.password != NULL && !users_field_error(&fields, "password", p.password))))
		err = PB_ENOMEM;
answer:
	if (browser_form(req)) {
		err = redirect_outcome(app, req, resp, err, &s, fields);
		json_object_put(fields);
		return err;
	}
	switch (err) {
	case PB_OK:
		return users_answer_session(resp, 201, &s);
	case PB_EFIELDS:
		err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
		    fields);
		json_object_put(fields);
		return err;
	case PB_ECONFLICT:
		return response_error(resp, PB_ECONFLICT, "email_taken",
		    "an account with this email address already exists", NULL);
	case PB_ECONFIG:
		return users_unavailable(resp);
	default:
		json_object_put(fields);
		return err;
	}
}

/* ---- profiles ---- */

enum pb_err
handle_users_me(struct app *app, struct request *req, struct response *resp)
{
	struct user u;
	enum pb_err err;

	err = accounts_get(app, req->arena, (uint64_t)req->user_id, req->user_role,
	    (uint64_t)req->user_id, &u);
	if (err != PB_OK)
		return err;
	return answer_user(resp, 200, &u, NULL);
}

enum pb_err
handle_users_get(struct app *app, struct request *req, struct response *resp)
{
	const char *param = request_route_param(req, "id");
	long long id = 0;
	struct user u;
	enum pb_err err;

	/* Not a number is nobody's id: forbidden to users, not found for admins. */
	if (param == NULL || strnum_parse(param, 10, 1, LLONG_MAX, &id) != PB_OK)
		id = 0;
	err = accounts_get(app, req->arena, (uint64_t)req->user_id, req->user_role,
	    (uint64_t)id, &u);
	if (err != PB_OK)
		return err;
	return answer_user(resp, 200, &u, NULL);
}
