/*
 * libFuzzer target for the readers of a decoded body's members, as the handlers use
 * them: the input is a JSON object (json_parse, the request's depth), read against the
 * signup allow-list (handlers_body_fields), as integers (handlers_int_member) and with
 * handlers_only_members, then each accepted string through the account rules
 * (accounts_check_name, _email, _password). Also, the input as REMOTE_ADDR through
 * accounts_client_key, the login throttle's key. Checked: no problem reported means
 * every required member is a string and no other member is there; each problem is named
 * in fields; an integer accepted is in range; a client key is an address, a /64 or
 * "unknown", never longer than ACCOUNTS_CLIENT_KEY_MAX.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers_private.h"
#include "services/accounts.h"
#include "util/json.h"

#define DEPTH 32	/* json_max_depth's default */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const signup[] = { "name", "email", "password" };
#define NSIGNUP (sizeof(signup) / sizeof(signup[0]))

static void
check_client_key(const uint8_t *data, size_t size)
{
	char addr[128], key[ACCOUNTS_CLIENT_KEY_MAX + 1];

	if (size >= sizeof(addr))
		size = sizeof(addr) - 1;
	memcpy(addr, data, size);
	addr[size] = '\0';
	accounts_client_key(addr, key, sizeof(key));
	if (strnlen(key, sizeof(key)) == sizeof(key) || key[0] == '\0')
		abort();
	if (strcmp(key, "unknown") != 0 && strspn(key, "0123456789abcdef.:/") != strlen(key))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *body = NULL, *fields = NULL;
	const char *v[NSIGNUP];
	size_t lens[NSIGNUP], problems;
	int64_t n = 0;

	check_client_key(data, size);
	if (json_parse((const char *)data, size, DEPTH, &body) != PB_OK)
		return 0;
	if (!json_object_is_type(body, json_type_object))
		goto out;
	problems = handlers_body_fields(body, signup, NSIGNUP, 2, v, lens, &fields);
	if ((problems == 0) != (fields == NULL))
		abort();
	if (problems == 0) {
		if (v[0] == NULL || v[1] == NULL || json_object_object_length(body) > (int)NSIGNUP)
			abort();
		if (strlen(v[0]) > lens[0] || (v[2] != NULL && strlen(v[2]) > lens[2]))
			abort();
		(void)accounts_check_name(v[0], lens[0]);
		(void)accounts_check_email(v[1], lens[1]);
		if (v[2] != NULL && lens[2] > ACCOUNTS_PASSWORD_MAX &&
		    accounts_check_password(v[2], lens[2]) == NULL)
			abort();	/* too long is refused before any hashing */
	}
	json_object_put(fields);
	fields = NULL;
	if (handlers_int_member(body, "quantity", false, 1, 99, &n, &fields)) {
		if (json_object_object_get_ex(body, "quantity", NULL) && (n < 1 || n > 99))
			abort();
	} else if (fields == NULL || !json_object_object_get_ex(fields, "quantity", NULL)) {
		abort();
	}
	json_object_put(fields);
	fields = NULL;
	handlers_only_members(body, signup, 1, &fields);
	if ((fields == NULL) != (json_object_object_length(body) ==
	    (json_object_object_get_ex(body, "name", NULL) ? 1 : 0)))
		abort();
	json_object_put(fields);
out:
	json_object_put(body);
	return 0;
}
