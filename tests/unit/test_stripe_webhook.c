/*
 * Webhook signatures: valid, every secret of a rotation, wrong secret, tampered body
 * and timestamp, outside the tolerance both ways, malformed headers, several v1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* The same vector computed by OpenSSL's one-shot HMAC(), independent of our streaming. */
static void
test_openssl_hmac(void)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char msg[256], hex[STRIPE_SIG_HEX_LEN], sig[STRIPE_SIG_HEX_LEN];
	int n;

	n = snprintf(msg, sizeof(msg), "%lld.%s", T0, BODY);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(msg));
	CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)msg, (size_t)n, mac, &maclen));
	CU_ASSERT_EQUAL_FATAL(maclen, 32);
	for (unsigned i = 0; i < maclen; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CU_ASSERT_STRING_EQUAL(hex, SIG0);
	CU_ASSERT_EQUAL(stripe_webhook_sign(SECRET, T0, BODY, strlen(BODY), sig), PB_OK);
	CU_ASSERT_STRING_EQUAL(sig, hex);
}

/* The cases a delivery can meet, each named as in the issue. */
static void
test_header_cases(void)
{
	char h[9000];
	size_t n;

	/* missing t, non-numeric t, bad hex */
	CU_ASSERT_EQUAL(verify(SECRET, "v1=" SIG0, BODY, T0), STRIPE_WEBHOOK_MALFORMED);
	CU_ASSERT_EQUAL(verify(SECRET, "t=17e8,v1=" SIG0, BODY, T0), STRIPE_WEBHOOK_MALFORMED);
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1="
	    "gc8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd", BODY, T0),
	    STRIPE_WEBHOOK_MALFORMED);
	/* An 8 KiB header of well-formed entries: over the bound, refused unread. */
	n = (size_t)snprintf(h, sizeof(h), "t=1700000000,v1=%s", SIG0);
	while (n + 8 < 8192) {
		memcpy(h + n, ",v0=abc", 8);
		n += 7;
	}
	CU_ASSERT(strlen(h) > STRIPE_SIG_HEADER_MAX);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_MALFORMED);
	/* Only v0: never enough, even when it holds the right signature. */
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v0=" SIG0, BODY, T0),
	    STRIPE_WEBHOOK_MALFORMED);
	/* Elements in any order; the second of two v1 matches. */
	(void)snprintf(h, sizeof(h), "v1=%064d,v0=ab,v1=%s,t=%lld", 0, SIG0, T0);
	CU_ASSERT_EQUAL(verify(SECRET, h, BODY, T0), STRIPE_WEBHOOK_OK);
	/* 300 s old is accepted, 301 s refused; the same the other way. */
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1=" SIG0, BODY, T0 + 300),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1=" SIG0, BODY, T0 + 301),
	    STRIPE_WEBHOOK_EXPIRED);
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1=" SIG0, BODY, T0 - 301),
	    STRIPE_WEBHOOK_EXPIRED);
	/* Tampered body. */
	CU_ASSERT_EQUAL(verify(SECRET, "t=1700000000,v1=" SIG0,
	    "{\"id\":\"evt_1\",\"object\":\"evenT\"}", T0), STRIPE_WEBHOOK_NO_MATCH);
}

static void
test_labels(void)
{
	struct stripe_webhook_check c;
	const char *secrets = "old:whsec_old, new:" SECRET;
	const char *h;

	h = signed_header(SECRET, T0, BODY);
	CU_ASSERT_EQUAL(stripe_webhook_check(secrets, h, BODY, strlen(BODY), TOL, T0 + 7, &c),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_STRING_EQUAL(c.label, "new");
	CU_ASSERT_EQUAL(c.nlabels, 2);
	CU_ASSERT_STRING_EQUAL(c.labels[0], "old");
	CU_ASSERT_STRING_EQUAL(c.labels[1], "new");
	CU_ASSERT(c.have_t);
	CU_ASSERT_EQUAL(c.skew_s, 7);
	h = signed_header("whsec_old", T0, BODY);
	CU_ASSERT_EQUAL(stripe_webhook_check(secrets, h, BODY, strlen(BODY), TOL, T0, &c),
	    STRIPE_WEBHOOK_OK);
	CU_ASSERT_STRING_EQUAL(c.label, "old");
	/* The label is not part of the secret: signing with "new:..." verifies nothing. */
	h = signed_header("new:" SECRET, T0, BODY);
	CU_ASSERT_EQUAL(stripe_webhook_check(secrets, h, BODY, strlen(BODY), TOL, T0, &c),
	    STRIPE_WEBHOOK_NO_MATCH);
	CU_ASSERT_STRING_EQUAL(c.label, "");
	/* Unlabelled secrets are named by position; a bad label verifies nothing. */
	h = signed_header(SECRET, T0, BODY);
	CU_ASSERT_EQUAL(stripe_webhook_check("whsec_a," SECRET, h, BODY, strlen(BODY), TOL, T0,
	    &c), STRIPE_WEBHOOK_OK);
	CU_ASSERT_STRING_EQUAL(c.label, "secret2");
	CU_ASSERT_EQUAL(stripe_webhook_check("b@d:" SECRET, h, BODY, strlen(BODY), TOL, T0, &c),
	    STRIPE_WEBHOOK_NO_SECRET);
	/* Expired: the label is known, the skew says by how much. */
	CU_ASSERT_EQUAL(stripe_webhook_check(secrets, h, BODY, strlen(BODY), TOL, T0 - 400, &c),
	    STRIPE_WEBHOOK_EXPIRED);
	CU_ASSERT_EQUAL(c.skew_s, -400);
	/* Missing header. */
	CU_ASSERT_EQUAL(stripe_webhook_check(secrets, NULL, BODY, strlen(BODY), TOL, T0, &c),
	    STRIPE_WEBHOOK_MALFORMED);
	CU_ASSERT(c.missing);
	{
		char why[128];

		CU_ASSERT_EQUAL(stripe_webhook_secrets_valid("a:whsec_1,whsec_2", why, sizeof(why)),
		    PB_OK);
		CU_ASSERT_EQUAL(stripe_webhook_secrets_valid(":whsec_1", why, sizeof(why)),
		    PB_EINVAL);
		CU_ASSERT_EQUAL(stripe_webhook_secrets_valid("a b:whsec_1", why, sizeof(why)),
		    PB_EINVAL);
		CU_ASSERT_EQUAL(stripe_webhook_secrets_valid("", why, sizeof(why)), PB_OK);
	}
	CU_ASSERT_STRING_EQUAL(stripe_webhook_reason(STRIPE_WEBHOOK_NO_MATCH), "no_match");
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
	UNIT_TEST(test_openssl_hmac),
	UNIT_TEST(test_header_cases),
	UNIT_TEST(test_labels),
};

UNIT_MAIN("stripe_webhook", tests)
