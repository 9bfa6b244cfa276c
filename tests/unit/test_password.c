/*
 * Argon2id password hashes: round trips, the PHC string we store, strict parsing of
 * stored strings, rehash decisions, the length limit, and the dummy verification that
 * makes an unknown email cost one real verification (counted, not timed).
 * Everything hashes at the floor (m=19456, t=2, p=1) so the suite stays quick.
 */
#include "config.h"

#include <string.h>

#include <argon2.h>

#include "util/conf.h"
#include "util/password.h"
#include "unit.h"

static const struct password_params floor_params = { 19456, 2, 1 };

/* A stored hash of "correct horse", made once for the tests that only need one. */
static char stored[PASSWORD_PHC_MAX];

static const char *
stored_hash(void)
{
	if (stored[0] == '\0')
		CU_ASSERT_EQUAL_FATAL(password_hash(&floor_params, "correct horse", 13, stored,
		    sizeof(stored)), PB_OK);
	return stored;
}

/* Copies src into dst replacing the first occurrence of from with to. */
static void
replace(char *dst, size_t dstlen, const char *src, const char *from, const char *to)
{
	const char *at = strstr(src, from);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	n = snprintf(dst, dstlen, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
	CU_ASSERT_FATAL(n > 0 && (size_t)n < dstlen);
}

static void
test_round_trip(void)
{
	const char *phc = stored_hash();

	CU_ASSERT_EQUAL(password_verify(phc, "correct horse", 13), PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, "correct horsf", 13), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verify(phc, "correct horse ", 14), PB_EAUTH);
}

/* Bytes after len are not part of the password, and NUL bytes inside it are. */
static void
test_binary_password(void)
{
	static const char pw[] = { 'a', '\0', 'b', 'c' };
	char phc[PASSWORD_PHC_MAX];

	CU_ASSERT_EQUAL_FATAL(password_hash(&floor_params, pw, sizeof(pw), phc, sizeof(phc)),
	    PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, pw, sizeof(pw)), PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, "a", 1), PB_EAUTH);
}

static void
test_phc_format(void)
{
	static const char prefix[] = "$argon2id$v=19$m=19456,t=2,p=1$";
	const char *phc = stored_hash(), *salt, *hash;
	char again[PASSWORD_PHC_MAX];

	CU_ASSERT_EQUAL_FATAL(strncmp(phc, prefix, strlen(prefix)), 0);
	salt = phc + strlen(prefix);
	hash = strchr(salt, '$');
	if (hash == NULL) {
		CU_FAIL_FATAL("no hash part");
		return;
	}
	hash++;
	/* 16 bytes of salt and 32 of hash in unpadded standard base64. */
	CU_ASSERT_EQUAL(hash - 1 - salt, 22);
	CU_ASSERT_EQUAL(strlen(hash), 43);
	CU_ASSERT_EQUAL(strspn(salt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/$"), strlen(salt));
	/* A fresh salt every time: the same password never hashes the same. */
	CU_ASSERT_EQUAL_FATAL(password_hash(&floor_params, "correct horse", 13, again,
	    sizeof(again)), PB_OK);
	CU_ASSERT_STRING_NOT_EQUAL(again, phc);
	CU_ASSERT_EQUAL(strncmp(again, prefix, strlen(prefix)), 0);
}

static void
test_params_in_string(void)
{
	struct password_params p = { 19460, 3, 2 };
	char phc[PASSWORD_PHC_MAX];

	CU_ASSERT_EQUAL_FATAL(password_hash(&p, "pw", 2, phc, sizeof(phc)), PB_OK);
	CU_ASSERT_EQUAL(strncmp(phc, "$argon2id$v=19$m=19460,t=3,p=2$", 31), 0);
	CU_ASSERT_EQUAL(password_verify(phc, "pw", 2), PB_OK);
	CU_ASSERT_FALSE(password_needs_rehash(phc, &p));
	CU_ASSERT_TRUE(password_needs_rehash(phc, &floor_params));
}

static void
test_params_from_conf(void)
{
	struct conf c;
	struct password_params p = { 1, 1, 1 };

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_OK);
	CU_ASSERT_EQUAL(p.memory_kib, 19456);
	CU_ASSERT_EQUAL(p.iterations, 2);
	CU_ASSERT_EQUAL(p.parallelism, 1);

	c.argon2_memory_kib = 65536;
	c.argon2_iterations = 4;
	c.argon2_parallelism = 3;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_OK);
	CU_ASSERT_EQUAL(p.memory_kib, 65536);
	CU_ASSERT_EQUAL(p.iterations, 4);
	CU_ASSERT_EQUAL(p.parallelism, 3);

	/* Below the OWASP floor, or past what a worker can afford: refused, p untouched. */
	c.argon2_memory_kib = 19455;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_ECONFIG);
	CU_ASSERT_EQUAL(p.memory_kib, 65536);
	c.argon2_memory_kib = 4LL * 1024 * 1024 + 1;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_ECONFIG);
	c.argon2_memory_kib = 19456;
	c.argon2_iterations = 1;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_ECONFIG);
	c.argon2_iterations = 2;
	c.argon2_parallelism = 0;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_ECONFIG);
	c.argon2_parallelism = 65;
	CU_ASSERT_EQUAL(password_params_from_conf(&c, &p), PB_ECONFIG);
	conf_free(&c);
}

static void
test_hash_refuses_weak_params(void)
{
	static const struct password_params weak[] = {
		{ 19455, 2, 1 }, { 19456, 1, 1 }, { 19456, 2, 0 }, { 4 * 1024 * 1024 + 1, 2, 1 },
		{ 19456, 101, 1 }, { 19456, 2, 65 },
	};
	char phc[PASSWORD_PHC_MAX];

	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		memset(phc, 'x', sizeof(phc));
		CU_ASSERT_EQUAL(password_hash(&weak[i], "pw", 2, phc, sizeof(phc)), PB_ECONFIG);
		CU_ASSERT_EQUAL(phc[0], '\0');
	}
}

static void
test_hash_output_too_small(void)
{
	char phc[PASSWORD_PHC_MAX];
	size_t need = strlen(stored_hash()) + 1;

	memset(phc, 'x', sizeof(phc));
	CU_ASSERT_EQUAL(password_hash(&floor_params, "pw", 2, phc, need - 1), PB_ETOOBIG);
	CU_ASSERT_EQUAL(phc[0], '\0');
	CU_ASSERT_EQUAL(password_hash(&floor_params, "pw", 2, phc, need), PB_OK);
	CU_ASSERT_EQUAL(strlen(phc), need - 1);
}

static void
test_length_limit(void)
{
	char pw[PASSWORD_MAX_LEN + 1], phc[PASSWORD_PHC_MAX];
	const char *stored_phc = stored_hash();
	uint64_t before;

	memset(pw, 'p', sizeof(pw));
	CU_ASSERT_EQUAL(password_hash(&floor_params, pw, PASSWORD_MAX_LEN + 1, phc, sizeof(phc)),
	    PB_EFIELDS);
	CU_ASSERT_EQUAL(phc[0], '\0');
	before = password_verifications();
	CU_ASSERT_EQUAL(password_verify(stored_phc, pw, PASSWORD_MAX_LEN + 1), PB_EFIELDS);
	CU_ASSERT_EQUAL(password_verify_dummy(&floor_params, pw, PASSWORD_MAX_LEN + 1),
	    PB_EFIELDS);
	/* Refused before any hashing. */
	CU_ASSERT_EQUAL(password_verifications(), before);

	/* 128 bytes is still a password. */
	CU_ASSERT_EQUAL_FATAL(password_hash(&floor_params, pw, PASSWORD_MAX_LEN, phc,
	    sizeof(phc)), PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, pw, PASSWORD_MAX_LEN), PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, pw, PASSWORD_MAX_LEN - 1), PB_EAUTH);
}

static void
test_needs_rehash(void)
{
	const char *phc = stored_hash();
	struct password_params p = floor_params;

	CU_ASSERT_FALSE(password_needs_rehash(phc, &floor_params));
	p.memory_kib = 19457;
	CU_ASSERT_TRUE(password_needs_rehash(phc, &p));
	p = floor_params;
	p.iterations = 3;
	CU_ASSERT_TRUE(password_needs_rehash(phc, &p));
	p = floor_params;
	p.parallelism = 2;
	CU_ASSERT_TRUE(password_needs_rehash(phc, &p));
	CU_ASSERT_TRUE(password_needs_rehash("", &floor_params));
	CU_ASSERT_TRUE(password_needs_rehash(NULL, &floor_params));
	CU_ASSERT_TRUE(password_needs_rehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$"
	    "aGFzaGhhc2hoYXNoaGFzaA", &floor_params));
}

/* A hash made elsewhere with weaker parameters and other lengths: verifies, then rehash. */
static void
test_foreign_hash_verifies(void)
{
	static const char salt[8] = "saltsalt";
	char phc[PASSWORD_PHC_MAX];

	CU_ASSERT_EQUAL_FATAL(argon2id_hash_encoded(1, 64, 1, "pw", 2, salt, sizeof(salt), 16,
	    phc, sizeof(phc)), ARGON2_OK);
	CU_ASSERT_EQUAL(strncmp(phc, "$argon2id$v=19$m=64,t=1,p=1$", 28), 0);
	CU_ASSERT_EQUAL(password_verify(phc, "pw", 2), PB_OK);
	CU_ASSERT_EQUAL(password_verify(phc, "pv", 2), PB_EAUTH);
	CU_ASSERT_TRUE(password_needs_rehash(phc, &floor_params));
	/* Only the lengths differ from ours: still a rehash. */
	CU_ASSERT_EQUAL_FATAL(argon2id_hash_encoded(2, 19456, 1, "pw", 2, salt, sizeof(salt),
	    32, phc, sizeof(phc)), ARGON2_OK);
	CU_ASSERT_EQUAL(password_verify(phc, "pw", 2), PB_OK);
	CU_ASSERT_TRUE(password_needs_rehash(phc, &floor_params));
}

/*
 * Each variant differs from a real stored hash in one place, so it is refused for that
 * reason alone; none reaches libargon2.
 */
static void
test_malformed_refused(void)
{
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "$argon2id$", "$argon2i$" },
		{ "$argon2id$", "$argon2d$" },
		{ "$argon2id$", "$ARGON2ID$" },
		{ "$argon2id$", "argon2id$" },
		{ "$v=19$", "$v=16$" },
		{ "$v=19$", "$" },
		{ "m=19456", "m=019456" },
		{ "m=19456", "m=+19456" },
		{ "m=19456", "m=" },
		{ "m=19456", "m=4" },			/* below 8 * p */
		{ "m=19456", "m=4194305" },		/* above the ceiling */
		{ "m=19456", "m=99999999999" },		/* past 32 bits */
		{ "m=19456,t=2", "t=2,m=19456" },
		{ "t=2", "t=0" },
		{ "t=2", "t=101" },
		{ "p=1", "p=0" },
		{ "p=1", "p=65" },
		{ ",p=1", "" },
		{ "p=1$", "p=1,k=1$" },
		{ "p=1$", "p=1$$" },
		{ "p=1$", "p=1 $" },
	};
	const char *phc = stored_hash();
	char bad[PASSWORD_PHC_MAX + 64];
	uint64_t before = password_verifications();

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		replace(bad, sizeof(bad), phc, edits[i].from, edits[i].to);
		CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
		CU_ASSERT_TRUE(password_needs_rehash(bad, &floor_params));
	}
	CU_ASSERT_EQUAL(password_verify("", "correct horse", 13), PB_EINVAL);
	CU_ASSERT_EQUAL(password_verify(NULL, "correct horse", 13), PB_EINVAL);
	CU_ASSERT_EQUAL(password_verifications(), before);
}

/* The salt and hash parts: alphabet, padding, trailing bits, lengths, extra fields. */
static void
test_malformed_encoding_refused(void)
{
	const char *phc = stored_hash();
	const char *hash = strrchr(phc, '$') + 1;
	char bad[PASSWORD_PHC_MAX + 64], tail[64];
	size_t n = strlen(phc);
	uint64_t before = password_verifications();

	CU_ASSERT_EQUAL_FATAL(strlen(hash), 43);
	/* Padding. */
	CU_ASSERT_FATAL(snprintf(bad, sizeof(bad), "%s=", phc) > 0);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* 45 characters: a length no encoder makes (44 would be a 33-byte hash). */
	CU_ASSERT_FATAL(snprintf(bad, sizeof(bad), "%sAA", phc) > 0);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* A sixth field. */
	CU_ASSERT_FATAL(snprintf(bad, sizeof(bad), "%s$AAAA", phc) > 0);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* base64url's characters are not standard base64. */
	memcpy(bad, phc, n + 1);
	bad[n - 5] = '-';
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	bad[n - 5] = '_';
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* 43 characters carry 2 spare bits; setting one leaves the bytes but not the text. */
	memcpy(bad, phc, n + 1);
	bad[n - 1] = (char)(strchr("AEIMQUYcgkosw048", bad[n - 1]) != NULL ? bad[n - 1] + 1 :
	    bad[n - 1]);
	CU_ASSERT_STRING_NOT_EQUAL(bad, phc);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* Hash cut to 15 bytes (20 characters). */
	memcpy(tail, hash, 20);
	tail[20] = '\0';
	replace(bad, sizeof(bad), phc, hash, tail);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	/* A long run of characters past the end. */
	memset(bad, 'A', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	memcpy(bad, phc, n);
	CU_ASSERT_EQUAL(password_verify(bad, "correct horse", 13), PB_EINVAL);
	CU_ASSERT_EQUAL(password_verifications(), before);
	/* And the untouched string still verifies, so the refusals above are the edits'. */
	CU_ASSERT_EQUAL(password_verify(phc, "correct horse", 13), PB_OK);
	CU_ASSERT_EQUAL(password_verifications(), before + 1);
}

/* Salt and hash lengths at and past the accepted bounds, made by libargon2 itself. */
static void
test_salt_and_hash_bounds(void)
{
	static const struct {
		size_t salt, hash;
		enum pb_err want;
	} cases[] = {
		{ 8, 16, PB_OK }, { 64, 64, PB_OK }, { 65, 32, PB_EINVAL }, { 16, 15, PB_EINVAL },
		{ 16, 65, PB_EINVAL },
	};
	char salt[80], phc[PASSWORD_PHC_MAX + 64], bad[PASSWORD_PHC_MAX + 64];

	memset(salt, 's', sizeof(salt));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(argon2id_hash_encoded(1, 64, 1, "pw", 2, salt,
		    cases[i].salt, cases[i].hash, phc, sizeof(phc)), ARGON2_OK);
		CU_ASSERT_EQUAL(password_verify(phc, "pw", 2), cases[i].want);
	}
	/* libargon2 will not make a 7-byte salt; put one ("saltsal") in an 8-byte one's place. */
	CU_ASSERT_EQUAL_FATAL(argon2id_hash_encoded(1, 64, 1, "pw", 2, salt, 8, 32, phc,
	    sizeof(phc)), ARGON2_OK);
	replace(bad, sizeof(bad), phc, "$c3Nzc3Nzc3M$", "$c2FsdHNhbA$");
	CU_ASSERT_EQUAL(password_verify(bad, "pw", 2), PB_EINVAL);
	/* The same edit with another 8-byte salt ("saltsalt") parses, and then mismatches. */
	replace(bad, sizeof(bad), phc, "$c3Nzc3Nzc3M$", "$c2FsdHNhbHQ$");
	CU_ASSERT_EQUAL(password_verify(bad, "pw", 2), PB_EAUTH);
}

static void
test_verification_counter(void)
{
	const char *phc = stored_hash();
	uint64_t before = password_verifications();

	CU_ASSERT_EQUAL(password_verify(phc, "correct horse", 13), PB_OK);
	CU_ASSERT_EQUAL(password_verifications(), before + 1);
	CU_ASSERT_EQUAL(password_verify(phc, "wrong", 5), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verifications(), before + 2);
}

/* An unknown email costs exactly one real verification, like a known one. */
static void
test_dummy_costs_one_verification(void)
{
	struct password_params stronger = { 19460, 2, 1 };
	uint64_t before;

	CU_ASSERT_EQUAL_FATAL(password_dummy_prepare(&floor_params), PB_OK);
	before = password_verifications();
	CU_ASSERT_EQUAL(password_verify_dummy(&floor_params, "guess", 5), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verifications(), before + 1);
	CU_ASSERT_EQUAL(password_verify_dummy(&floor_params, "", 0), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verifications(), before + 2);
	/* Without a prepare, and after a parameter change: a new hash, still one verification. */
	CU_ASSERT_EQUAL(password_verify_dummy(&stronger, "guess", 5), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verifications(), before + 3);
	CU_ASSERT_EQUAL(password_verify_dummy(&stronger, "guess", 5), PB_EAUTH);
	CU_ASSERT_EQUAL(password_verifications(), before + 4);
	/* Bad parameters are a configuration error, not a silent skip. */
	CU_ASSERT_EQUAL(password_verify_dummy(&(struct password_params){ 1024, 2, 1 }, "g", 1),
	    PB_ECONFIG);
	CU_ASSERT_EQUAL(password_verifications(), before + 4);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_round_trip),
	UNIT_TEST(test_binary_password),
	UNIT_TEST(test_phc_format),
	UNIT_TEST(test_params_in_string),
	UNIT_TEST(test_params_from_conf),
	UNIT_TEST(test_hash_refuses_weak_params),
	UNIT_TEST(test_hash_output_too_small),
	UNIT_TEST(test_length_limit),
	UNIT_TEST(test_needs_rehash),
	UNIT_TEST(test_foreign_hash_verifies),
	UNIT_TEST(test_malformed_refused),
	UNIT_TEST(test_malformed_encoding_refused),
	UNIT_TEST(test_salt_and_hash_bounds),
	UNIT_TEST(test_verification_counter),
	UNIT_TEST(test_dummy_costs_one_verification),
};

UNIT_MAIN("password", tests)
