/*
 * The pieces the handlers share (see handlers_private.h): body fields against an
 * allow-list, the user's JSON shape, and the answers built from it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "handlers/handlers_private.h"
#include "http/form.h"
#include "http/request.h"
#include "services/accounts.h"
#include "services/payments.h"
#include "util/json.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"

/* The builders live in util/json.h, for services that render too (services/payments.h). */
bool
handlers_json_add(struct json_object *o, const char *k, struct json_object *v)
{
	return json_add(o, k, v);
}

bool
handlers_json_add_str(struct json_object *o, const char *k, const char *s)
{
	return json_add_str(o, k, s);
}

bool
handlers_json_add_int(struct json_object *o, const char *k, int64_t v)
{
	return json_add_int(o, k, v);
}

bool
handlers_json_add_time(struct json_object *o, const char *k, int64_t real_us)
{
	return json_add_time(o, k, real_us);
}

uint64_t
handlers_route_id(const struct request *req)
{
	const char *param = request_route_param(req, "id");
	long long id = 0;

	if (param == NULL || strnum_parse(param, 10, 1, LLONG_MAX, &id) != PB_OK)
		return 0;
	return (uint64_t)id;
}

bool
handlers_int_member(struct json_object *body, const char *name, bool required, int64_t min,
    int64_t max, int64_t *value, struct json_object **fields)
{
	struct json_object *v;
	char msg[80];
	int n;

	if (body == NULL || !json_object_object_get_ex(body, name, &v)) {
		if (required)
			(void)handlers_field_error(fields, name, "is required");
		return !required;
	}
	/* json-c reads 2.0 and "2" as the integer 2 when asked: look at the type first. */
	if (v != NULL && json_object_is_type(v, json_type_int)) {
		errno = 0;
		*value = json_object_get_int64(v);
		if (errno == 0 && *value >= min && *value <= max)
			return true;
	}
	n = snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)min,
	    (long long)max);
	(void)handlers_field_error(fields, name,
	    n > 0 && (size_t)n < sizeof(msg) ? msg : "must be an integer");
	return false;
}

enum pb_err
handlers_page(struct request *req, size_t *limit, const char **after,
    struct json_object **fields)
{
	struct form q;
	const char *s;
	long long n = HANDLERS_PAGE_DEFAULT;
	enum pb_err err;

	*after = NULL;
	*limit = HANDLERS_PAGE_DEFAULT;
	err = request_query(req, &q);
	if (err != PB_OK)
		return err;
	/* A parameter sent twice is refused: which one was meant is anyone's guess. */
	s = form_get(&q, "limit");
	if (s != NULL && (form_count(&q, "limit") != 1 ||
	    strnum_parse(s, 10, 1, HANDLERS_PAGE_MAX, &n) != PB_OK))
		(void)handlers_field_error(fields, "limit", "must be an integer from 1 to 100");
	*limit = (size_t)n;
	s = form_get(&q, "startingAfter");
	if (s != NULL && (form_count(&q, "startingAfter") != 1 || s[0] == '\0' ||
	    strlen(s) > 255))
		(void)handlers_field_error(fields, "startingAfter",
		    HANDLERS_CURSOR_MESSAGE);
	*after = s;
	return *fields != NULL ? PB_EFIELDS : PB_OK;
}

enum pb_err
handlers_page_id(struct request *req, size_t *limit, uint64_t *after,
    struct json_object **fields)
{
	const char *cursor;
	long long v = 0;
	enum pb_err err;

	*after = 0;
	err = handlers_page(req, limit, &cursor, fields);
	if ((err == PB_OK || err == PB_EFIELDS) && cursor != NULL &&
	    strnum_parse(cursor, 10, 0, LLONG_MAX, &v) != PB_OK) {
		(void)handlers_field_error(fields, "startingAfter",
		    HANDLERS_CURSOR_MESSAGE);
		err = PB_EFIELDS;
	}
	*after = (uint64_t)v;
	return err;
}

enum pb_err
handlers_page_stripe(struct request *req, size_t *limit, const char **after,
    struct json_object **fields)
{
	enum pb_err err;

	err = handlers_page(req, limit, after, fields);
	if ((err == PB_OK || err == PB_EFIELDS) && *after != NULL && !payments_id_valid(*after)) {
		(void)handlers_field_error(fields, "startingAfter", HANDLERS_CURSOR_MESSAGE);
		err = PB_EFIELDS;
	}
	return err;
}

enum pb_err
handlers_answer_items(struct response *resp, const void *items, size_t n, size_t size,
    handlers_item_json item, bool more, const char *next)
{
	struct json_object *list = json_object_new_array(), *o;

	if (list == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		o = item((const char *)items + i * size);
		if (o == NULL || json_object_array_add(list, o) != 0) {
			json_object_put(o);
			json_object_put(list);
			return PB_ENOMEM;
		}
	}
	return handlers_answer_page(resp, list, more, next);
}

enum pb_err
handlers_answer_page(struct response *resp, struct json_object *items, bool more,
    const char *next)
{
	struct json_object *data = json_object_new_object();
	enum pb_err err;

	if (data == NULL) {
		json_object_put(items);
		return PB_ENOMEM;
	}
	if (!handlers_json_add(data, "items", items) ||
	    !handlers_json_add(data, "hasMore", json_object_new_boolean(more)) ||
	    !handlers_json_add_str(data, "nextCursor", more ? next : NULL)) {
		json_object_put(data);
		return PB_ENOMEM;
	}
	err = response_data(resp, 200, data);
	json_object_put(data);
	return err;
}

enum pb_err
handlers_answer_fields(struct response *resp, struct json_object *fields)
{
	enum pb_err err;

	err = response_error(resp, PB_EFIELDS, "invalid_fields", "some fields are invalid",
	    fields);
	json_object_put(fields);
	return err;
}

struct json_object *
handlers_user_json_new(const struct account *u)
{
	struct json_object *o = json_object_new_object();
	char created[TIME_ISO8601_LEN];

	if (o == NULL)
		return NULL;
	time_iso8601(u->created_at, created, sizeof(created));
	if (!handlers_json_add(o, "id", json_object_new_int64((int64_t)u->id)) ||
	    !handlers_json_add_str(o, "name", u->name) || !handlers_json_add_str(o, "email", u->email) ||
	    !handlers_json_add_str(o, "role", u->role) ||
	    !handlers_json_add_str(o, "stripeCustomerId", u->stripe_customer_id) ||
	    !handlers_json_add(o, "isEmailVerified", json_object_new_boolean(u->is_email_verified)) ||
	    !handlers_json_add_str(o, "createdAt", created)) {
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
	return handlers_json_add_str(*fields, name, message);
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
	if (!handlers_json_add(data, "user", handlers_user_json_new(u))) {
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

	if (data == NULL || !handlers_json_add_str(data, "access_token", s->token) ||
	    !handlers_json_add_str(data, "token_type", "Bearer") ||
	    !handlers_json_add(data, "expires_in", json_object_new_int64(s->expires_in))) {
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

/* Answers a failure the service explained in why; other errors go back to the caller. */
enum pb_err
handlers_answer_problem(struct response *resp, enum pb_err err,
    const struct payment_problem *why)
{
	struct json_object *fields = NULL;

	if (err == PB_EFIELDS && why->field != NULL) {
		if (!handlers_field_error(&fields, why->field, why->message))
			return PB_ENOMEM;
		return handlers_answer_fields(resp, fields);
	}
	if (why->code == NULL)
		return err;
	return response_error_status(resp, why->stripe_down ? 503 : pb_err_status(err), why->code,
	    why->message, NULL);
}

/* Refuses every member of body not in allowed[0..n), and says why amounts are refused. */
void
handlers_only_members(struct json_object *body, const char *const *allowed, size_t n,
    struct json_object **fields)
{
	size_t i;

	if (body == NULL)
		return;
	json_object_object_foreach(body, key, val) {
		(void)val;
		for (i = 0; i < n && strcmp(key, allowed[i]) != 0; i++)
			;
		if (i < n)
			continue;
		if (strcmp(key, "amount") == 0 || strcmp(key, "currency") == 0)
			(void)handlers_field_error(fields, key,
			    "is decided by the server from the product");
		else
			(void)handlers_field_error(fields, key, "is not an accepted field");
	}
}
