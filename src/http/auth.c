/*
 * Bearer token extraction. Strict on purpose: one form is accepted ("Bearer", one space,
 * the token, nothing else), so there is no question of which of two tokens counts.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "http/auth.h"
#include "util/log.h"

#define SCHEME "Bearer"

static bool
b64token_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

enum pb_err
auth_bearer(const struct request *req, const char **token)
{
	const char *v = request_header(req, "Authorization");
	const char *t;
	size_t n = 0;

	*token = NULL;
	if (v == NULL)
		return PB_EAUTH;
	if (strncasecmp(v, SCHEME, strlen(SCHEME)) != 0 || v[strlen(SCHEME)] != ' ')
		goto malformed;
	t = v + strlen(SCHEME) + 1;
	while (n <= JWT_TOKEN_MAX && b64token_char((unsigned char)t[n]))
		n++;
	/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	if (n == 0)
		goto malformed;
	while (n <= JWT_TOKEN_MAX && t[n] == '=')
		n++;
	if (n > JWT_TOKEN_MAX || t[n] != '\0')
		goto malformed;
	*token = t;
	return PB_OK;
malformed:
	log_debug("auth: Authorization header is not \"Bearer <token>\"");
	return PB_EAUTH;
}

enum pb_err
auth_verify(const struct request *req, const char *secret, size_t secret_len, int64_t now,
    struct jwt_claims *claims)
{
	const char *token;
	enum pb_err err;

	memset(claims, 0, sizeof(*claims));
	err = auth_bearer(req, &token);
	if (err != PB_OK)
		return err;
	return jwt_verify(secret, secret_len, token, now, claims);
}
