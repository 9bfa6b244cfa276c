/*
 * Webhook signatures: valid, every secret of a rotation, wrong secret, tampered body
 * and timestamp, outside the tolerance both ways, malformed headers, several v1.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stripe/webhook.h"
#include "unit.h"

#define BODY "{\"id\":\"evt_1\",\"object\":\"event\"}"
#define SECRET "whsec_test_secret"
#define T0 1700000000LL
#define TOL 300

/* HMAC-SHA256(SECRET, "1700000000." BODY), computed with Python's hmac module. */
#define SIG0 "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"

static char header[1024];

static const char *
signed_header(const char *secret, long long t, const char *body)
{
	char sig[STRIPE_SIG_HEX_LEN];

	CU_ASSERT_EQUAL_FATAL(stripe_webhook_sign(secret, t, body, strlen(body), sig), PB_OK);
	(void)snprintf(header, sizeof(header), "t=%lld,v1=%s", t, sig);
	return header;
}

static enum stripe_webhook_result
verify(const char *secrets, const char *h, const char *body, int64_t now)
{
	return stripe_webhook_verify(secrets, h, body, strlen(body), TOL, now);
}

static void
test_known_vector(void)
{
	char sig[STRIPE_SIG_HEX_LEN];

	CU_ASSERT_EQUAL(stripe_webhook_sign(SECRET, T0, BODY, strlen(BODY), sig), PB_OK);
	CU_ASSERT_STRING_EQUAL(sig, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1=" SIG0, BODY, T0), STRIPE_WEBHOOK_OK);
	/* Upper-case hex is the same signature. */
	CU_ASSERT_EQUAL(verify(SECRET,
	    "t=1700000000,v1=0C8670ED117751CC551A20E35839447075C42800EA3CF3E8A2FBDA99CD1E6EDD",
	    BODY, T0), STRIPE_WEBHOOK_OK);
}

static void
test_rotation(void)
{
	const char *secrets = "whsec_old, " SECRET " ,whsec_newest";

	CU_ASSERT_EQUAL(verify(secrets, signed_header("whsec_old", T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(verify(secrets, signed_header(SECRET, T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(verify(secrets, signed_header("whsec_newest", T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(verify(secrets, signed_header("whsec_other", T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_NO_MATCH);
	/* A secret is used whole: a prefix of one does not verify. */
	CU_ASSERT_EQUAL(verify(secrets, signed_header("whsec_ol", T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_NO_MATCH);
}

static void
test_wrong_secret_and_tampering(void)
{
	char h[256];

	CU_ASSERT_EQUAL(verify("whsec_wrong", signed_header(SECRET, T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_NO_MATCH);
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY),
	    "{\"id\":\"evt_2\",\"object\":\"event\"}", T0), STRIPE_WEBHOOK_NO_MATCH);
	/* One extra byte of white space is a different body. */
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY), BODY " ", T0),
	    STRIPE_WEBHOOK_NO_MATCH);
	/* The timestamp is signed too: moving it breaks the signature. */
	(void)snprintf(h, sizeof(h), "t=%lld,v1=%s", T0 + 1, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_NO_MATCH);
}

static void
test_tolerance(void)
{
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY), BODY, T0 + TOL),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY), BODY, T0 - TOL),
	    STRIPE_WEBHOOK_OK);
	/* Too old (a replay) and too far in the future. */
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY), BODY, T0 + TOL + 1),
	    STRIPE_WEBHOOK_EXPIRED);
	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, BODY), BODY, T0 - TOL - 1),
	    STRIPE_WEBHOOK_EXPIRED);
	/* An old timestamp with a bad signature is reported as the bad signature. */
	CU_ASSERT_EQUAL(verify("whsec_wrong", signed_header(SECRET, T0, BODY), BODY,
	    T0 + 100000), STRIPE_WEBHOOK_NO_MATCH);
}

static void
test_multiple_signatures(void)
{
	char h[512];
	const char *other = "1111111111111111111111111111111111111111111111111111111111111111";

	(void)snprintf(h, sizeof(h), "t=%lld,v1=%s,v1=%s", T0, other, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_OK);
	(void)snprintf(h, sizeof(h), "t=%lld,v1=%s,v1=%s", T0, SIG0, other);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_OK);
	(void)snprintf(h, sizeof(h), "t=%lld,v1=%s,v1=%s", T0, other, other);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_NO_MATCH);
	/* v0 (test mode) and unknown schemes are skipped; a v0 alone never verifies. */
	(void)snprintf(h, sizeof(h), "t=%lld,v0=%s,v1=%s,v9=xyz", T0, other, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_OK);
	(void)snprintf(h, sizeof(h), "t=%lld,v0=%s", T0, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_MALFORMED);
	/* Blanks after the commas are tolerated. */
	(void)snprintf(h, sizeof(h), "t=%lld, v1=%s", T0, SIG0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_OK);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"v1=" SIG0,
		"t=1700000000",
		"t=abc,v1=" SIG0,
		"t=-1700000000,v1=" SIG0,
		"t=+1700000000,v1=" SIG0,
		"t=,v1=" SIG0,
		"t=1700000000,t=1700000000,v1=" SIG0,
		"t=1700000000,v1=" SIG0 ",",
		"t=1700000000,,v1=" SIG0,
		"t=1700000000,v1=zz",
		"t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6ed",
		"t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6eddd",
		"t=1700000000,v1=0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edg",
		"t=1700000000;v1=" SIG0,
		"=1,t=1700000000,v1=" SIG0,
		"t=99999999999999999999999,v1=" SIG0,
	};
	char huge[STRIPE_SIG_HEADER_MAX + 64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum stripe_webhook_result r = verify(SECRET, bad[i], BODY, T0);

		if (r != STRIPE_WEBHOOK_MALFORMED)
			fprintf(stderr, "accepted as well-formed: \"%s\" (%d)\n", bad[i], (int)r);
		CU_ASSERT_EQUAL(r, STRIPE_WEBHOOK_MALFORMED);
	}
	CU_ASSERT_EQUAL(stripe_webhook_verify(SECRET, NULL, BODY, strlen(BODY), TOL, T0),
	    STRIPE_WEBHOOK_MALFORMED);
	/* A long header made of valid entries is still refused past the limit. */
	(void)snprintf(huge, sizeof(huge), "t=1700000000,v1=%s", SIG0);
	while (strlen(huge) + 8 < sizeof(huge))
		memcpy(huge + strlen(huge), ",v9=abc", 8);
	CU_ASSERT_EQUAL(verify(SECRET, huge, BODY, T0), STRIPE_WEBHOOK_MALFORMED);
}

static void
test_no_secret(void)
{
	CU_ASSERT_EQUAL(verify("", signed_header(SECRET, T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_NO_SECRET);
	CU_ASSERT_EQUAL(verify(" , ,", signed_header(SECRET, T0, BODY), BODY, T0),
	    STRIPE_WEBHOOK_NO_SECRET);
	CU_ASSERT_EQUAL(stripe_webhook_verify(NULL, signed_header(SECRET, T0, BODY), BODY,
	    strlen(BODY), TOL, T0), STRIPE_WEBHOOK_NO_SECRET);
}

static void
test_empty_and_binary_body(void)
{
	static const char bin[] = { 'a', '\0', 'b', '\xff' };
	char sig[STRIPE_SIG_HEX_LEN], h[256];

	CU_ASSERT_EQUAL(verify(SECRET, signed_header(SECRET, T0, ""), "", T0), STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(stripe_webhook_sign(SECRET, T0, bin, sizeof(bin), sig), PB_OK);
	(void)snprintf(h, sizeof(h), "t=%lld,v1=%s", T0, sig);
	CU_ASSERT_EQUAL(stripe_webhook_verify(SECRET, h, bin, sizeof(bin), TOL, T0),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(stripe_webhook_verify(SECRET, h, bin, 1, TOL, T0),
	    STRIPE_WEBHOOK_NO_MATCH);
}

static void
test_errors_map(void)
{
	CU_ASSERT_EQUAL(stripe_webhook_err(STRIPE_WEBHOOK_OK), PB_OK);
	CU_ASSERT_EQUAL(stripe_webhook_err(STRIPE_WEBHOOK_MALFORMED), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_webhook_err(STRIPE_WEBHOOK_NO_MATCH), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_webhook_err(STRIPE_WEBHOOK_EXPIRED), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_webhook_err(STRIPE_WEBHOOK_NO_SECRET), PB_ECONFIG);
	CU_ASSERT_EQUAL(pb_err_status(stripe_webhook_err(STRIPE_WEBHOOK_EXPIRED)), 400);
	CU_ASSERT_STRING_NOT_EQUAL(stripe_webhook_strerror(STRIPE_WEBHOOK_NO_MATCH),
	    stripe_webhook_strerror(STRIPE_WEBHOOK_EXPIRED));
	CU_ASSERT_STRING_EQUAL(stripe_webhook_strerror(STRIPE_WEBHOOK__MAX), "unknown result");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_known_vector),
	UNIT_TEST(test_rotation),
	UNIT_TEST(test_wrong_secret_and_tampering),
	UNIT_TEST(test_tolerance),
	UNIT_TEST(test_multiple_signatures),
	UNIT_TEST(test_malformed),
	UNIT_TEST(test_no_secret),
	UNIT_TEST(test_empty_and_binary_body),
	UNIT_TEST(test_errors_map),
};

UNIT_MAIN("stripe_webhook", tests)
