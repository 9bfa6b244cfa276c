/*
 * The pure rules of services/accounts: field validation (names, emails, passwords), the
 * trimming applied before it, and the throttle's block schedule. Signup, login and
 * tokens against a real database are in tests/integration/test_accounts.c.
 */
#include "config.h"

#include <string.h>

#include "../unit/unit.h"
#include "services/accounts.h"

#define S(x) (x), (sizeof(x) - 1)

static void
test_name(void)
{
	char long_ok[ACCOUNTS_NAME_MAX * 2 + 1], too_long[ACCOUNTS_NAME_MAX + 2];

	CU_ASSERT_PTR_NULL(accounts_check_name(S("Ada Lovelace")));
	CU_ASSERT_PTR_NULL(accounts_check_name(S("x")));
	CU_ASSERT_PTR_NULL(accounts_check_name(S("x&metadata[user_id]=999")));
	CU_ASSERT_PTR_NULL(accounts_check_name(S("Zo\xc3\xab \xe6\x9d\x8e \xf0\x9f\x98\x80")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("tab\there")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("line\nbreak")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("del\x7f")));
	/* U+0085 (NEL) is a C1 control character. */
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("c1\xc2\x85")));
	/* Invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate. */
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("bad\x80")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("\xc0\xaf")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(S("\xed\xa0\x80")));

	/* 200 characters are fine even when they take 400 bytes; 201 are not. */
	for (size_t i = 0; i < ACCOUNTS_NAME_MAX; i++)
		memcpy(long_ok + 2 * i, "\xc3\xa9", 2);
	long_ok[sizeof(long_ok) - 1] = '\0';
	CU_ASSERT_PTR_NULL(accounts_check_name(long_ok, strlen(long_ok)));
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(accounts_check_name(too_long, strlen(too_long)));
	CU_ASSERT_PTR_NULL(accounts_check_name(too_long, ACCOUNTS_NAME_MAX));
}

static void
test_email(void)
{
	static const char *const good[] = {
		"a@x.com", "A@X.COM", "first.last+tag@sub.example.co.uk", "o'neil@example.org",
		"user_1-2@a-b.example", "\xc3\xa9l\xc3\xa8ve@\xc3\xa9\x63ole.fr",
	};
	static const char *const bad[] = {
		"", "plain", "@x.com", "a@", "a@@x.com", "a@b@x.com", "a@localhost", "a@x.",
		"a@.x.com", "a@x..com", "a@-x.com", "a@x-.com", ".a@x.com", "a.@x.com",
		"a..b@x.com", "a b@x.com", "a@x .com", "a\t@x.com", "a@x.com\n", "\"a\"@x.com",
		"a(b)@x.com", "a,b@x.com", "a;b@x.com", "a<b>@x.com", "a@[127.0.0.1]",
		"a\\b@x.com", "a:b@x.com", "a\xc2\x85@x.com", "a\xff@x.com",
	};
	char addr[ACCOUNTS_EMAIL_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *m = accounts_check_email(good[i], strlen(good[i]));

		if (m != NULL)
			fprintf(stderr, "refused %s: %s\n", good[i], m);
		CU_ASSERT_PTR_NULL(m);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m = accounts_check_email(bad[i], strlen(bad[i]));

		if (m == NULL)
			fprintf(stderr, "accepted %s\n", bad[i]);
		CU_ASSERT_PTR_NOT_NULL(m);
	}

	/* 64 bytes of local part are fine, 65 are not. */
	memset(addr, 'l', 64);
	memcpy(addr + 64, "@x.com", 7);
	CU_ASSERT_PTR_NULL(accounts_check_email(addr, strlen(addr)));
	memset(addr, 'l', 65);
	memcpy(addr + 65, "@x.com", 7);
	CU_ASSERT_PTR_NOT_NULL(accounts_check_email(addr, strlen(addr)));

	/* 254 bytes in all are fine, 255 are not. */
	memset(addr, 'd', sizeof(addr));
	memcpy(addr, "u@", 2);
	addr[100] = '.';
	addr[200] = '.';
	addr[ACCOUNTS_EMAIL_MAX] = '\0';
	CU_ASSERT_PTR_NULL(accounts_check_email(addr, ACCOUNTS_EMAIL_MAX));
	addr[ACCOUNTS_EMAIL_MAX] = 'd';
	addr[ACCOUNTS_EMAIL_MAX + 1] = '\0';
	CU_ASSERT_PTR_NOT_NULL(accounts_check_email(addr, ACCOUNTS_EMAIL_MAX + 1));
}

static void
test_password(void)
{
	char pw[ACCOUNTS_PASSWORD_MAX + 2];

	CU_ASSERT_PTR_NULL(accounts_check_password(S("correct horse")));
	CU_ASSERT_PTR_NULL(accounts_check_password(S("123456789012")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_password(S("12345678901")));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_password(S("")));
	/* Characters, not bytes: eleven two-byte characters are still too short. */
	CU_ASSERT_PTR_NOT_NULL(accounts_check_password(
	    S("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9")));
	CU_ASSERT_PTR_NULL(accounts_check_password(
	    S("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9")));
	/* Spaces count and are kept: a password is never trimmed. */
	CU_ASSERT_PTR_NULL(accounts_check_password(S("            ")));
	memset(pw, 'p', sizeof(pw));
	CU_ASSERT_PTR_NULL(accounts_check_password(pw, ACCOUNTS_PASSWORD_MAX));
	CU_ASSERT_PTR_NOT_NULL(accounts_check_password(pw, ACCOUNTS_PASSWORD_MAX + 1));
	CU_ASSERT_STRING_EQUAL(accounts_check_password(pw, ACCOUNTS_PASSWORD_MAX + 1),
	    "must be at most 128 bytes");
}

static void
test_trim_and_check(void)
{
	struct accounts_signup in = { "  Ada  ", "\t A@X.com \r\n", "correct horse battery", 21 };
	struct accounts_problems p;
	const char *s = "  a b \n";
	size_t len = strlen(s);

	accounts_trim(&s, &len);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(strncmp(s, "a b", 3), 0);
	s = " \t ";
	len = strlen(s);
	accounts_trim(&s, &len);
	CU_ASSERT_EQUAL(len, 0);

	CU_ASSERT_TRUE(accounts_signup_check(&in, &p));
	CU_ASSERT_PTR_NULL(p.name);
	CU_ASSERT_PTR_NULL(p.email);
	CU_ASSERT_PTR_NULL(p.password);

	/* A blank name is empty once trimmed; missing fields are not checked here. */
	in = (struct accounts_signup){ "   ", "nope", NULL, 0 };
	CU_ASSERT_FALSE(accounts_signup_check(&in, &p));
	CU_ASSERT_PTR_NOT_NULL(p.name);
	CU_ASSERT_PTR_NOT_NULL(p.email);
	CU_ASSERT_PTR_NULL(p.password);
}

static void
test_throttle_schedule(void)
{
	const int64_t s = 1000000;

	for (uint32_t f = 0; f <= ACCOUNTS_THROTTLE_FREE; f++)
		CU_ASSERT_EQUAL(accounts_throttle_block_us(f), 0);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(5), 1 * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(6), 2 * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(7), 4 * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(12), 128 * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(13), 256 * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(14), ACCOUNTS_THROTTLE_CAP_S * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(1000), ACCOUNTS_THROTTLE_CAP_S * s);
	CU_ASSERT_EQUAL(accounts_throttle_block_us(UINT32_MAX), ACCOUNTS_THROTTLE_CAP_S * s);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_name),
	UNIT_TEST(test_email),
	UNIT_TEST(test_password),
	UNIT_TEST(test_trim_and_check),
	UNIT_TEST(test_throttle_schedule),
};

UNIT_MAIN("accounts", tests)
