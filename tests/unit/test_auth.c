/*
 * Bearer authentication: the Authorization header forms accepted and refused, and
 * auth_verify end to end with a token from jwt_sign.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "unit.h"

static const char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)
#define NOW 1700000100LL

static struct arena arena;
static struct request req;

/* Makes req a GET with the given Authorization header value (none when NULL). */
static void
make_request(const char *authorization)
{
	static char header[JWT_TOKEN_MAX * 2];
	static char method[] = "REQUEST_METHOD=GET", uri[] = "REQUEST_URI=/v1/users/me";
	static char *env[4];

	arena_reset(&arena);
	env[0] = method;
	env[1] = uri;
	env[2] = NULL;
	env[3] = NULL;
	if (authorization != NULL) {
		int n = snprintf(header, sizeof(header), "HTTP_AUTHORIZATION=%s", authorization);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(header));
		env[2] = header;
	}
	CU_ASSERT_EQUAL_FATAL(request_init(&req, &arena, env, NULL, NULL), PB_OK);
}

static enum pb_err
bearer(const char *authorization, const char **token)
{
	make_request(authorization);
	*token = "unchanged";
	return auth_bearer(&req, token);
}

static void
test_accepted(void)
{
	static const struct {
		const char *header, *token;
	} ok[] = {
		{ "Bearer abc.def.ghi", "abc.def.ghi" },
		{ "bearer abc", "abc" },
		{ "BEARER abc", "abc" },
		{ "bEaReR abc", "abc" },
		{ "Bearer a-b_c~d+e/f.g", "a-b_c~d+e/f.g" },
		{ "Bearer abc==", "abc==" },
		{ "Bearer x", "x" },
	};
	const char *token;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_EQUAL(bearer(ok[i].header, &token), PB_OK);
		CU_ASSERT(token != NULL && strcmp(token, ok[i].token) == 0);
	}
}

static void
test_missing(void)
{
	const char *token;

	CU_ASSERT_EQUAL(bearer(NULL, &token), PB_EAUTH);
	CU_ASSERT_PTR_NULL(token);
	CU_ASSERT_EQUAL(bearer("", &token), PB_EAUTH);
	CU_ASSERT_PTR_NULL(token);
}

static void
test_refused(void)
{
	static const char *const bad[] = {
		"Basic dXNlcjpwYXNz",
		"Bearer",
		"Bearer ",
		"Bearer  abc",		/* two spaces */
		"Bearer\tabc",
		"Bearerabc",
		" Bearer abc",
		"Bearer abc ",
		"Bearer abc def",
		"Bearer abc,def",
		"Bearer abc\t",
		"Bearer a=b",		/* '=' only at the end */
		"Bearer =",
		"Bearer ==",
		"Bearer \"abc\"",
		"Bearer abc;",
		"Bear abc",
		"Bearers abc",
		"Token abc",
		"Bearer \xc3\xa9",
	};
	const char *token;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(bearer(bad[i], &token), PB_EAUTH);
		CU_ASSERT_PTR_NULL(token);
	}
}

static void
test_length_bound(void)
{
	static char header[JWT_TOKEN_MAX + 16];
	const char *token;

	memcpy(header, "Bearer ", 7);
	memset(header + 7, 'a', JWT_TOKEN_MAX);
	header[7 + JWT_TOKEN_MAX] = '\0';
	CU_ASSERT_EQUAL(bearer(header, &token), PB_OK);
	CU_ASSERT(token != NULL && strlen(token) == JWT_TOKEN_MAX);
	/* One more character, of either kind. */
	header[7 + JWT_TOKEN_MAX] = 'a';
	header[8 + JWT_TOKEN_MAX] = '\0';
	CU_ASSERT_EQUAL(bearer(header, &token), PB_EAUTH);
	header[7 + JWT_TOKEN_MAX] = '=';
	CU_ASSERT_EQUAL(bearer(header, &token), PB_EAUTH);
	CU_ASSERT_PTR_NULL(token);
}

static void
test_verify(void)
{
	struct jwt_claims in = { .sub = 42, .iat = NOW, .exp = NOW + 900, .token_version = 2,
	    .role = "user" }, out;
	char tok[JWT_TOKEN_MAX + 1], header[JWT_TOKEN_MAX + 16];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_FATAL(snprintf(header, sizeof(header), "Bearer %s", tok) > 0);
	make_request(header);
	CU_ASSERT_EQUAL(auth_verify(&req, secret, SECRET_LEN, NOW, &out), PB_OK);
	CU_ASSERT_EQUAL(out.sub, 42);
	CU_ASSERT_EQUAL(out.token_version, 2);
	CU_ASSERT_STRING_EQUAL(out.role, "user");
	/* auth_verify leaves the request alone: the services layer decides who calls. */
	CU_ASSERT_EQUAL(req.user_id, 0);

	/* Expired, wrong secret, no header, a header of another form. */
	CU_ASSERT_EQUAL(auth_verify(&req, secret, SECRET_LEN, NOW + 900, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(out.sub, 0);
	CU_ASSERT_EQUAL(auth_verify(&req, "0123456789abcdef0123456789abcdeX", SECRET_LEN, NOW,
	    &out), PB_EAUTH);
	make_request(NULL);
	CU_ASSERT_EQUAL(auth_verify(&req, secret, SECRET_LEN, NOW, &out), PB_EAUTH);
	CU_ASSERT_FATAL(snprintf(header, sizeof(header), "Bearer  %s", tok) > 0);
	make_request(header);
	CU_ASSERT_EQUAL(auth_verify(&req, secret, SECRET_LEN, NOW, &out), PB_EAUTH);
	/* A short secret is the server's problem, not the client's. */
	CU_ASSERT_FATAL(snprintf(header, sizeof(header), "Bearer %s", tok) > 0);
	make_request(header);
	CU_ASSERT_EQUAL(auth_verify(&req, secret, SECRET_LEN - 1, NOW, &out), PB_ECONFIG);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_accepted),
	UNIT_TEST(test_missing),
	UNIT_TEST(test_refused),
	UNIT_TEST(test_length_bound),
	UNIT_TEST(test_verify),
};

int
main(void)
{
	int rc;

	arena_init(&arena, (size_t)1024 * 1024);
	rc = unit_main("auth", tests, sizeof(tests) / sizeof(tests[0]));
	arena_cleanup(&arena);
	return rc;
}
