/*
 * Stripe's error answers: {"error": {"type", "code", "decline_code", "param", "message",
 * ...}} with the Request-Id header, parsed into struct stripe_error and mapped onto
 * pb_err and onto a message that may reach the end user.
 */
#include "config.h"

#include <string.h>

#include "stripe/client.h"
#include "util/json.h"

#define ERROR_JSON_DEPTH 64	/* card errors embed the payment intent */

/* Copies s into out, truncated on a UTF-8 character boundary. */
static void
copy_field(char *out, size_t outlen, const char *s)
{
	size_t n;

	if (s == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen(s);
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum pb_err
stripe_error_map(const struct stripe_error *e)
{
	if (e->status == 0)
		return e->timed_out ? PB_ETIMEOUT : PB_ESTRIPE;
	/* Throttling, outages and a refused key are ours to handle, never the caller's. */
	if (e->status == 429 || e->status >= 500 || e->status == 401 || e->status == 403)
		return PB_ESTRIPE;
	if (strcmp(e->type, "idempotency_error") == 0 || e->status == 409)
		return PB_ECONFLICT;
	if (strcmp(e->type, "card_error") == 0)
		return PB_EFIELDS;
	if (strcmp(e->type, "invalid_request_error") == 0) {
		if (strcmp(e->code, "resource_missing") == 0 || e->status == 404)
			return PB_ENOTFOUND;
		if (ends_with(e->code, "_unexpected_state") ||
		    strcmp(e->code, "resource_already_exists") == 0)
			return PB_ECONFLICT;
		return e->param[0] != '\0' ? PB_EFIELDS : PB_EINVAL;
	}
	return PB_ESTRIPE;
}

enum pb_err
stripe_error_parse(int status, const char *body, size_t len, const char *request_id,
    struct stripe_error *e)
{
	struct json_object *root = NULL, *err;

	e->status = status;
	e->timed_out = false;
	e->type[0] = e->code[0] = e->decline_code[0] = e->param[0] = e->message[0] = '\0';
	copy_field(e->request_id, sizeof(e->request_id), request_id);
	if (body != NULL && len > 0 && json_parse(body, len, ERROR_JSON_DEPTH, &root) == PB_OK &&
	    json_object_object_get_ex(root, "error", &err) &&
	    json_object_is_type(err, json_type_object)) {
		copy_field(e->type, sizeof(e->type), json_get_str(err, "type"));
		copy_field(e->code, sizeof(e->code), json_get_str(err, "code"));
		copy_field(e->decline_code, sizeof(e->decline_code),
		    json_get_str(err, "decline_code"));
		copy_field(e->param, sizeof(e->param), json_get_str(err, "param"));
		copy_field(e->message, sizeof(e->message), json_get_str(err, "message"));
	} else {
		copy_field(e->message, sizeof(e->message), "unexpected answer from Stripe");
	}
	json_object_put(root);
	e->err = stripe_error_map(e);
	return e->err;
}

const char *
stripe_error_public_message(const struct stripe_error *e)
{
	if (strcmp(e->type, "card_error") == 0 && e->message[0] != '\0')
		return e->message;
	return pb_strerror(stripe_error_map(e));
}
