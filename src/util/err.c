#include "config.h"

#include "util/err.h"

static const struct {
	int status;
	const char *code;
	const char *message;
} err_table[PB_E__MAX] = {
	[PB_OK] = {200, "ok", "success"},
	[PB_ENOMEM] = {500, "internal_error", "out of memory"},
	[PB_EINVAL] = {400, "bad_request", "the request is malformed"},
	[PB_EFIELDS] = {422, "invalid_fields", "some fields are invalid"},
	[PB_EAUTH] = {401, "unauthorized", "authentication is required"},
	[PB_EFORBIDDEN] = {403, "forbidden", "not allowed"},
	[PB_ENOTFOUND] = {404, "not_found", "no such resource"},
	[PB_EMETHOD] = {405, "method_not_allowed", "method not allowed for this resource"},
	[PB_ECONFLICT] = {409, "conflict", "conflicts with the current state"},
	[PB_ETOOBIG] = {413, "payload_too_large", "the request body is too large"},
	[PB_EMEDIA] = {415, "unsupported_media_type", "unsupported content type"},
	[PB_ERATE] = {429, "too_many_requests", "too many requests"},
	[PB_EDB] = {503, "database_unavailable", "the database is unavailable"},
	[PB_EDEADLOCK] = {503, "database_busy", "the database is busy"},
	[PB_ESTRIPE] = {502, "payment_provider_error", "the payment provider failed"},
	[PB_ETIMEOUT] = {504, "timeout", "the operation timed out"},
	[PB_EBUSY] = {503, "server_busy", "the server is too busy; retry shortly"},
	[PB_ESYSTEM] = {500, "internal_error", "internal error"},
	[PB_ECONFIG] = {500, "internal_error", "invalid configuration"},
};

static int
valid(enum pb_err err)
{
	return (unsigned)err < PB_E__MAX;
}

const char *
pb_strerror(enum pb_err err)
{
	return valid(err) ? err_table[err].message : "unknown error";
}

int
pb_err_status(enum pb_err err)
{
	return valid(err) ? err_table[err].status : 500;
}

const char *
pb_err_code(enum pb_err err)
{
	return valid(err) ? err_table[err].code : "internal_error";
}
