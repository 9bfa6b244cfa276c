/*
 * The pure rules of services/accounts: field validation (names, emails, passwords), the
 * trimming applied before it, and the throttle's block schedule. Signup, login and
 * tokens against a real database are in tests/integration/test_accounts.c.
 */
#include "config.h"

#include <string.h>

#include "../unit/unit.h"
#include "repo/throttle.h"
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

/* A record as repo_throttle_lock would read it. */
static struct throttle
rec(uint32_t failures, int64_t idle_s, int64_t age_s)
{
	const int64_t s = 1000000;

	return (struct throttle){ failures, 0, idle_s * s, age_s * s };
}

static void
test_throttle_client_step(void)
{
	const int64_t s = 1000000;
	struct accounts_throttle_step st;
	struct throttle t;

	/* A new record: the first attempt of a streak. */
	t = rec(0, 0, 0);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT(st.restart);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.block_us, 0);
	/* The fourth passes, the fifth blocks for 1 s, the sixth for 2 s. */
	t = rec(3, 10, 10);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT(!st.restart);
	CU_ASSERT_EQUAL(st.failures, 4);
	CU_ASSERT_EQUAL(st.block_us, 0);
	t = rec(4, 10, 10);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT_EQUAL(st.failures, 5);
	CU_ASSERT_EQUAL(st.block_us, 1 * s);
	t = rec(5, 2, 12);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT_EQUAL(st.block_us, 2 * s);
	/* Idle for the whole idle time: a new streak, whatever the count was. */
	t = rec(40, ACCOUNTS_THROTTLE_IDLE_S, 99999);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT(st.restart);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.block_us, 0);
	t = rec(40, ACCOUNTS_THROTTLE_IDLE_S - 1, 99999);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT(!st.restart);
	CU_ASSERT_EQUAL(st.failures, 41);
	CU_ASSERT_EQUAL(st.block_us, ACCOUNTS_THROTTLE_CAP_S * s);
	/* The count saturates instead of wrapping to a free attempt. */
	t = rec(UINT32_MAX - 1, 1, 1);
	accounts_throttle_client_step(&t, &st);
	CU_ASSERT_EQUAL(st.failures, UINT32_MAX - 1);
	CU_ASSERT_EQUAL(st.block_us, ACCOUNTS_THROTTLE_CAP_S * s);
}

static void
test_throttle_email_step(void)
{
	const int64_t s = 1000000, window = ACCOUNTS_THROTTLE_EMAIL_WINDOW_S * s;
	struct accounts_throttle_step st;
	struct throttle t;

	/* The ceiling is well above what one client can count in a window (accounts.h). */
	CU_ASSERT(ACCOUNTS_THROTTLE_EMAIL_MAX >= 100);
	CU_ASSERT(ACCOUNTS_THROTTLE_EMAIL_MAX > 4 * ACCOUNTS_THROTTLE_FREE);
	t = rec(0, 0, 0);
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT(st.restart);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.block_us, 0);
	/* Up to the ceiling nothing blocks, however fast: no per-attempt schedule here. */
	t = rec(ACCOUNTS_THROTTLE_EMAIL_MAX - 2, 0, 5);
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT(!st.restart);
	CU_ASSERT_EQUAL(st.failures, ACCOUNTS_THROTTLE_EMAIL_MAX - 1);
	CU_ASSERT_EQUAL(st.block_us, 0);
	/* The attempt that reaches it blocks until the window's end. */
	t = rec(ACCOUNTS_THROTTLE_EMAIL_MAX - 1, 0, 600);
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT_EQUAL(st.failures, ACCOUNTS_THROTTLE_EMAIL_MAX);
	CU_ASSERT_EQUAL(st.block_us, window - 600 * s);
	/* ... and at least for a second, right at the end of it. */
	t = (struct throttle){ ACCOUNTS_THROTTLE_EMAIL_MAX - 1, 0, 0, window - 10 };
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT_EQUAL(st.block_us, 1 * s);
	/* A window over: a new one, activity or not (idle time does not matter here). */
	t = rec(ACCOUNTS_THROTTLE_EMAIL_MAX + 7, 0, ACCOUNTS_THROTTLE_EMAIL_WINDOW_S);
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT(st.restart);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_EQUAL(st.block_us, 0);
	t = rec(30, ACCOUNTS_THROTTLE_IDLE_S * 3, ACCOUNTS_THROTTLE_EMAIL_WINDOW_S - 1);
	accounts_throttle_email_step(&t, &st);
	CU_ASSERT(!st.restart);
	CU_ASSERT_EQUAL(st.failures, 31);
}

/*
 * One guesser at one client, as fast as the client policy lets it, never reaches the
 * ceiling in any window: simulated on the policy functions, second by second.
 */
static void
test_throttle_one_client_below_ceiling(void)
{
	const int64_t s = 1000000;
	struct accounts_throttle_step st;
	struct throttle cl = { 0 }, all = { 0 };
	int64_t blocked_until = 0, last = 0, window_start = 0;
	uint32_t most = 0;

	/* Each second: attempt when not blocked; every 20 minutes, idle 15 to restart. */
	for (int64_t now = 0; now < 6 * 3600; now++) {
		if (now * s < blocked_until || (now % 1200) >= 1200 - ACCOUNTS_THROTTLE_IDLE_S)
			continue;
		cl.idle_us = (now - last) * s;
		all.age_us = (now - window_start) * s;
		accounts_throttle_client_step(&cl, &st);
		cl.failures = st.failures;
		blocked_until = now * s + st.block_us;
		last = now;
		accounts_throttle_email_step(&all, &st);
		if (st.restart)
			window_start = now;
		all.failures = st.failures;
		CU_ASSERT_EQUAL(st.block_us, 0);
		if (all.failures > most)
			most = all.failures;
	}
	CU_ASSERT(most > 20);	/* the simulation did guess */
	CU_ASSERT(most < ACCOUNTS_THROTTLE_EMAIL_MAX * 2 / 3);
}

static void
test_client_key(void)
{
	char k[ACCOUNTS_CLIENT_KEY_MAX + 1];

	accounts_client_key("127.0.0.2", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "127.0.0.2");
	accounts_client_key("192.0.2.255", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "192.0.2.255");
	/* IPv4 as IPv6 is the same client. */
	accounts_client_key("::ffff:192.0.2.7", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "192.0.2.7");
	/* IPv6: the /64, however it is spelled. */
	accounts_client_key("2001:db8:1:2:3:4:5:6", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "2001:db8:1:2::/64");
	accounts_client_key("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "2001:db8:1:2::/64");
	accounts_client_key("2001:db8:1:3::1", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "2001:db8:1:3::/64");
	accounts_client_key("::1", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "::/64");
	accounts_client_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "ffff:ffff:ffff:ffff::/64");
	/* Anything else shares one key, and nothing a client sent is stored. */
	accounts_client_key("", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "unknown");
	accounts_client_key("unix:/run/x.sock", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "unknown");
	accounts_client_key("127.0.0.1 ", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "unknown");
	accounts_client_key("fe80::1%eth0", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "unknown");
	accounts_client_key("1.2.3.4.5", k, sizeof(k));
	CU_ASSERT_STRING_EQUAL(k, "unknown");
	CU_ASSERT(strlen("ffff:ffff:ffff:ffff::/64") <= THROTTLE_CLIENT_MAX);
	CU_ASSERT_EQUAL(ACCOUNTS_CLIENT_KEY_MAX, THROTTLE_CLIENT_MAX);
}

static void
test_email_tag(void)
{
	static const char secret[] = "unit-test-secret-0123456789abcdef0123";
	char t[ACCOUNTS_EMAIL_TAG_LEN + 1], u[ACCOUNTS_EMAIL_TAG_LEN + 1];
	char big[ACCOUNTS_EMAIL_MAX + 2];

	/*
	 * Computed apart, with openssl(1): k = HMAC-SHA256(secret, the label), then
	 * HMAC-SHA256(k, "ada@example.com"), the first 16 hex digits.
	 */
	CU_ASSERT_EQUAL(accounts_email_tag(secret, "ada@example.com", 15, t), PB_OK);
	CU_ASSERT_STRING_EQUAL(t, "4f164e71939763c3");
	/* The address as MariaDB compares it: trimmed, any case. */
	CU_ASSERT_EQUAL(accounts_email_tag(secret, "  Ada@Example.COM\t", 18, u), PB_OK);
	CU_ASSERT_STRING_EQUAL(u, t);
	CU_ASSERT_EQUAL(accounts_email_tag(secret, "ada@example.co", 14, u), PB_OK);
	CU_ASSERT_STRING_NOT_EQUAL(u, t);
	/* Another secret, another tag: nobody without it can test guesses. */
	CU_ASSERT_EQUAL(accounts_email_tag("another-secret-0123456789abcdef01234", "ada@example.com",
	    15, u), PB_OK);
	CU_ASSERT_STRING_NOT_EQUAL(u, t);
	CU_ASSERT_EQUAL(strlen(u), ACCOUNTS_EMAIL_TAG_LEN);
	CU_ASSERT_EQUAL(strspn(u, "0123456789abcdef"), ACCOUNTS_EMAIL_TAG_LEN);
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(accounts_email_tag(secret, big, sizeof(big), u), PB_EINVAL);
	CU_ASSERT_STRING_EQUAL(u, "");
	CU_ASSERT_EQUAL(accounts_email_tag(secret, big, ACCOUNTS_EMAIL_MAX, u), PB_OK);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_name),
	UNIT_TEST(test_email),
	UNIT_TEST(test_password),
	UNIT_TEST(test_trim_and_check),
	UNIT_TEST(test_throttle_schedule),
	UNIT_TEST(test_throttle_client_step),
	UNIT_TEST(test_throttle_email_step),
	UNIT_TEST(test_throttle_one_client_below_ceiling),
	UNIT_TEST(test_client_key),
	UNIT_TEST(test_email_tag),
};

UNIT_MAIN("accounts", tests)
