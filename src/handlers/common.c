/*
 * The pieces the handlers share (see handlers_private.h): body fields against an
 * allow-list, the user's JSON shape, and the answers built from it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "handlers/handlers_private.h"
#include "services/accounts.h"
#include "util/secure.h"
#include "util/timeutil.h"

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
handlers_user_json_new(const struct account *u)
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
handlers_field_error(struct json_object **fields, const char *name, const char *message)
{
	if (*fields == NULL) {
		*fields = json_object_new_object();
		if (*fields == NULL)
			return false;
	}
	if (json_object_object_length(*fields) >= HANDLERS_FIELDS_MAX ||
	    json_object_object_get_ex(*fields, name, NULL))
		return true;
	return add_str(*fields, name, message);
}

size_t
handlers_body_fields(struct json_object *body, const char *const *allowed, size_t n,
    size_t nrequired, const char **values, size_t *lens, struct json_object **fields)
{
	struct json_object *v = NULL;
	size_t problems = 0, i;
	bool present;

	*fields = NULL;
	for (i = 0; i < n; i++) {
		values[i] = NULL;
		lens[i] = 0;
		present = body != NULL && json_object_object_get_ex(body, allowed[i], &v);
		if (!present && i >= nrequired)
			continue;
		if (!present || (v == NULL && i < nrequired)) {
			(void)handlers_field_error(fields, allowed[i], "is required");
			problems++;
		} else if (v == NULL || !json_object_is_type(v, json_type_string)) {
			/* An optional member sent as null is not "leave it": say so. */
			(void)handlers_field_error(fields, allowed[i], "must be a string");
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
			(void)handlers_field_error(fields, key, "is not an accepted field");
			problems++;
		}
	}
	return problems;
}

void
handlers_wipe_member(struct json_object *body, const char *key)
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
handlers_accounts_unavailable(struct response *resp)
{
	return response_error_status(resp, 503, "service_unavailable",
	    "accounts are not configured on this server", NULL);
}

enum pb_err
handlers_answer_user(struct response *resp, int status, const struct account *u,
    struct json_object *data)
{
	enum pb_err err;

	if (data == NULL)
		data = json_object_new_object();
	if (data == NULL)
		return PB_ENOMEM;
	if (!add(data, "user", handlers_user_json_new(u))) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, status, data);
	json_object_put(data);
	return err;
}

enum pb_err
handlers_answer_session(struct response *resp, int status,
    const struct accounts_session *s)
{
	struct json_object *data = json_object_new_object();

	if (data == NULL || !add_str(data, "access_token", s->token) ||
	    !add_str(data, "token_type", "Bearer") ||
	    !add(data, "expires_in", json_object_new_int64(s->expires_in))) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	return handlers_answer_user(resp, status, &s->user, data);
}

enum pb_err
handlers_answer_throttled(struct response *resp, int64_t retry_after_s)
{
	char seconds[24];
	enum pb_err err;
	int n;

	n = snprintf(seconds, sizeof(seconds), "%lld", (long long)retry_after_s);
	if (n < 0 || (size_t)n >= sizeof(seconds))
		return PB_ENOMEM;
	err = response_error(resp, PB_ERATE, "too_many_requests",
	    "too many failed logins for this account; try again later", NULL);
	if (err == PB_OK)
		err = response_header(resp, "Retry-After", seconds);
	return err;
}

bool
handlers_json_add(struct json_object *o, const char *k, struct json_object *v)
{
	return add(o, k, v);
}

bool
handlers_json_add_str(struct json_object *o, const char *k, const char *s)
{
	return add_str(o, k, s);
}
