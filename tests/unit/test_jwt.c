/*
 * HS256 JWTs. Hostile tokens are crafted here with OpenSSL directly (not with jwt_sign),
 * most of them carrying a signature that is valid for their bytes, so that each one is
 * refused for the one thing wrong with it; a control token made the same way is accepted.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/base64url.h"
#include "util/jwt.h"
#include "unit.h"

static const char secret[] = "0123456789abcdef0123456789abcdef";	/* 32 bytes */
#define SECRET_LEN (sizeof(secret) - 1)
#define NOW 1700000100LL

static const char std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

enum sig_mode {
	SIG_HS256,	/* HMAC-SHA256 with the test secret */
	SIG_HS512,	/* HMAC-SHA512 with the test secret */
	SIG_NONE,	/* empty third segment */
	SIG_OTHER_KEY,	/* HMAC-SHA256 with another 32-byte secret */
};

/* Builds base64url(header).base64url(payload).signature into out (JWT_TOKEN_MAX * 2). */
static void
craft(char *out, size_t outlen, const char *header, const char *payload, enum sig_mode mode)
{
	static const char other[] = "fedcba9876543210fedcba9876543210";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t pos;

	CU_ASSERT_EQUAL_FATAL(base64url_encode(header, strlen(header), out, outlen), PB_OK);
	pos = strlen(out);
	out[pos++] = '.';
	CU_ASSERT_EQUAL_FATAL(base64url_encode(payload, strlen(payload), out + pos,
	    outlen - pos), PB_OK);
	pos += strlen(out + pos);
	switch (mode) {
	case SIG_HS256:
	case SIG_OTHER_KEY:
		CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(EVP_sha256(), mode == SIG_HS256 ? secret : other,
		    (int)SECRET_LEN, (const unsigned char *)out, pos, mac, &maclen));
		break;
	case SIG_HS512:
		CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(EVP_sha512(), secret, (int)SECRET_LEN,
		    (const unsigned char *)out, pos, mac, &maclen));
		break;
	case SIG_NONE:
		break;
	}
	out[pos++] = '.';
	CU_ASSERT_EQUAL_FATAL(base64url_encode(mac, maclen, out + pos, outlen - pos), PB_OK);
}

static enum pb_err
verify_crafted(const char *header, const char *payload, enum sig_mode mode)
{
	char tok[JWT_TOKEN_MAX * 2];
	struct jwt_claims c;

	craft(tok, sizeof(tok), header, payload, mode);
	return jwt_verify(secret, SECRET_LEN, tok, NOW, &c);
}

/* Claims that are valid at NOW, with one member's text replaced by the caller. */
static const char good_claims[] =
    "{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
    "\"role\":\"user\"}";

static struct jwt_claims
claims(int64_t sub, int64_t iat, int64_t exp, int64_t tv, const char *role)
{
	struct jwt_claims c = { .sub = sub, .iat = iat, .exp = exp, .token_version = tv };

	(void)snprintf(c.role, sizeof(c.role), "%s", role);
	return c;
}

static void
test_round_trip(void)
{
	struct jwt_claims in = claims(42, NOW, NOW + 900, 7, "admin"), out;
	char tok[JWT_TOKEN_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37), 0);
	CU_ASSERT_EQUAL_FATAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
	CU_ASSERT_EQUAL(out.sub, 42);
	CU_ASSERT_EQUAL(out.iat, NOW);
	CU_ASSERT_EQUAL(out.exp, NOW + 900);
	CU_ASSERT_EQUAL(out.token_version, 7);
	CU_ASSERT_STRING_EQUAL(out.role, "admin");

	in = claims(INT64_MAX, 0, INT64_MAX, 4294967295LL, "user");
	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL_FATAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
	CU_ASSERT_EQUAL(out.sub, INT64_MAX);
	CU_ASSERT_EQUAL(out.exp, INT64_MAX);
	CU_ASSERT_EQUAL(out.token_version, 4294967295LL);
}

/* The same token as Python's hmac and base64 make it (worked out independently). */
static void
test_known_vector(void)
{
	static const char want[] =
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	    "eyJzdWIiOiI0MiIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwOTAwLCJ0b2tlbl92ZXJzaW9u"
	    "IjozLCJyb2xlIjoidXNlciJ9."
	    "_D5LxiKK4coYOXh8Yoh-L7uW2WznJ_EMDo_8Mz7nduY";
	struct jwt_claims in = claims(42, 1700000000, 1700000900, 3, "user"), out;
	char tok[JWT_TOKEN_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_STRING_EQUAL(tok, want);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, want, NOW, &out), PB_OK);
	CU_ASSERT_EQUAL(out.sub, 42);
}

/* The crafting helper makes tokens jwt_verify accepts, so its refusals below mean something. */
static void
test_crafted_control(void)
{
	char tok[JWT_TOKEN_MAX * 2];
	struct jwt_claims c;

	CU_ASSERT_EQUAL(verify_crafted(std_header, good_claims, SIG_HS256), PB_OK);
	/* typ is optional; members may come in any order; unknown claims are ignored. */
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\"}", good_claims, SIG_HS256), PB_OK);
	CU_ASSERT_EQUAL(verify_crafted("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", good_claims,
	    SIG_HS256), PB_OK);
	CU_ASSERT_EQUAL(verify_crafted(std_header, "{\"role\":\"user\",\"exp\":1700000900,"
	    "\"token_version\":0,\"jti\":\"x\",\"iat\":1700000000,\"sub\":\"9\"}", SIG_HS256),
	    PB_OK);
	craft(tok, sizeof(tok), std_header, good_claims, SIG_HS256);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &c), PB_OK);
	CU_ASSERT_EQUAL(c.sub, 42);
	CU_ASSERT_EQUAL(c.token_version, 3);
	CU_ASSERT_STRING_EQUAL(c.role, "user");
}

static void
test_alg_none(void)
{
	static const char none[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";

	CU_ASSERT_EQUAL(verify_crafted(none, good_claims, SIG_NONE), PB_EAUTH);
	/* Even with a signature that is valid for these bytes. */
	CU_ASSERT_EQUAL(verify_crafted(none, good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"None\"}", good_claims, SIG_NONE), PB_EAUTH);
	/* An HS256 header with no signature at all. */
	CU_ASSERT_EQUAL(verify_crafted(std_header, good_claims, SIG_NONE), PB_EAUTH);
}

static void
test_other_algorithms(void)
{
	static const char hs512[] = "{\"alg\":\"HS512\",\"typ\":\"JWT\"}";
	static const char rs256[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";

	CU_ASSERT_EQUAL(verify_crafted(hs512, good_claims, SIG_HS512), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted(hs512, good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted(rs256, good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"hs256\"}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256 \"}", good_claims, SIG_HS256),
	    PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\\u0000\"}", good_claims, SIG_HS256),
	    PB_EAUTH);
}

static void
test_header_members(void)
{
	/* Missing or non-string alg. */
	CU_ASSERT_EQUAL(verify_crafted("{\"typ\":\"JWT\"}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":256}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":null}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":[\"HS256\"]}", good_claims, SIG_HS256),
	    PB_EAUTH);
	/* typ, when present, is "JWT". */
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", good_claims,
	    SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\",\"typ\":1}", good_claims, SIG_HS256),
	    PB_EAUTH);
	/* Members we would have to understand. */
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", good_claims,
	    SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\",\"kid\":\"1\"}", good_claims,
	    SIG_HS256), PB_EAUTH);
	/* Not an object, not JSON. */
	CU_ASSERT_EQUAL(verify_crafted("[\"HS256\"]", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("\"HS256\"", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("not json", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\",}", good_claims, SIG_HS256), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted("{\"alg\":\"HS256\"} x", good_claims, SIG_HS256),
	    PB_EAUTH);
}

static void
test_expiry(void)
{
	struct jwt_claims in = claims(1, NOW - 100, NOW, 0, "user"), out;
	char tok[JWT_TOKEN_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	/* Valid up to the second before exp, refused from exp on. */
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW - 1, &out), PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(out.sub, 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW + 86400, &out), PB_EAUTH);
}

static void
test_issued_in_future(void)
{
	struct jwt_claims in = claims(1, NOW + 60, NOW + 900, 0, "user"), out;
	char tok[JWT_TOKEN_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
	in.iat = NOW + 61;
	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW + 1, &out), PB_OK);
}

static void
test_tampered(void)
{
	struct jwt_claims in = claims(42, NOW, NOW + 900, 1, "user"), out;
	char tok[JWT_TOKEN_MAX + 1], copy[JWT_TOKEN_MAX + 1];
	char *payload, *sig;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	n = strlen(tok);
	payload = strchr(tok, '.') + 1;
	sig = strrchr(tok, '.') + 1;

	/* Every single-character change anywhere in the token is refused. */
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, tok, n + 1);
		copy[i] = copy[i] == 'A' ? 'B' : 'A';
		CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, copy, NOW, &out), PB_EAUTH);
	}
	/* The payload of another valid token under this header and signature. */
	memcpy(copy, tok, n + 1);
	in.sub = 43;	/* same length as 42, so the segments line up */
	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	memcpy(copy + (payload - tok), payload, (size_t)(sig - payload));
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, copy, NOW, &out), PB_EAUTH);
	/* The 43rd character holds 2 spare bits: same MAC bytes, non-canonical text. */
	memcpy(copy, tok, strlen(tok) + 1);
	n = strlen(copy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strchr("AEIMQUYcgkosw048", copy[n - 1]));
	copy[n - 1] = (char)(copy[n - 1] + 1);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, copy, NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
}

static void
test_wrong_secret(void)
{
	static const char other[] = "0123456789abcdef0123456789abcdeg";
	struct jwt_claims in = claims(42, NOW, NOW + 900, 1, "user"), out;
	char tok[JWT_TOKEN_MAX + 1];

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(other, sizeof(other) - 1, tok, NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(verify_crafted(std_header, good_claims, SIG_OTHER_KEY), PB_EAUTH);
	/* A longer secret with ours as its prefix is another key. */
	CU_ASSERT_EQUAL(jwt_verify("0123456789abcdef0123456789abcdef!", SECRET_LEN + 1, tok,
	    NOW, &out), PB_EAUTH);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"", ".", "..", "...", "abc", "a.b", "a.b.c.d",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0",
		".eyJzdWIiOiIxIn0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"eyJhbGciOiJIUzI1NiJ9..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	struct jwt_claims out;
	char tok[JWT_TOKEN_MAX * 2], four[JWT_TOKEN_MAX * 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, bad[i], NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, NULL, NOW, &out), PB_EAUTH);

	craft(tok, sizeof(tok), std_header, good_claims, SIG_HS256);
	/* Four segments: a valid token with one more. */
	CU_ASSERT_FATAL(snprintf(four, sizeof(four), "%s.AAAA", tok) > 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, four, NOW, &out), PB_EAUTH);
	CU_ASSERT_FATAL(snprintf(four, sizeof(four), "AAAA.%s", tok) > 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, four, NOW, &out), PB_EAUTH);
	/* Padding, white space. */
	CU_ASSERT_FATAL(snprintf(four, sizeof(four), "%s=", tok) > 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, four, NOW, &out), PB_EAUTH);
	CU_ASSERT_FATAL(snprintf(four, sizeof(four), "%s ", tok) > 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, four, NOW, &out), PB_EAUTH);
	CU_ASSERT_FATAL(snprintf(four, sizeof(four), " %s", tok) > 0);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, four, NOW, &out), PB_EAUTH);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
}

/* Bad base64url inside a segment whose MAC is valid (the MAC covers the text as sent). */
static void
test_bad_base64url_signed(void)
{
	char tok[JWT_TOKEN_MAX * 2], text[JWT_TOKEN_MAX];
	unsigned char mac[32];
	unsigned int maclen = 0;
	struct jwt_claims out;
	char *p;

	craft(tok, sizeof(tok), std_header, good_claims, SIG_HS256);
	/* Swap the header's last character for '+' and re-sign the text as it now stands. */
	p = strrchr(tok, '.');
	*p = '\0';
	memcpy(text, tok, strlen(tok) + 1);
	text[strchr(text, '.') - text - 1] = '+';
	CU_ASSERT_PTR_NOT_NULL_FATAL(HMAC(EVP_sha256(), secret, (int)SECRET_LEN,
	    (const unsigned char *)text, strlen(text), mac, &maclen));
	p = text + strlen(text);
	*p++ = '.';
	CU_ASSERT_EQUAL_FATAL(base64url_encode(mac, maclen, p, sizeof(text) - (size_t)(p - text)),
	    PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, text, NOW, &out), PB_EAUTH);
}

static void
test_claims_required(void)
{
	static const char *const bad[] = {
		/* sub */
		"{\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,\"role\":\"user\"}",
		"{\"sub\":42,\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"0\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"-1\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"042\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"4x\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"4\\u00002\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"9223372036854775808\",\"iat\":1700000000,\"exp\":1700000900,"
		"\"token_version\":3,\"role\":\"user\"}",
		/* exp */
		"{\"sub\":\"42\",\"iat\":1700000000,\"token_version\":3,\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1.7000009e9,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900.0,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":\"1700000900\",\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":null,\"token_version\":3,"
		"\"role\":\"user\"}",
		/* exp after NOW but not after iat */
		"{\"sub\":\"42\",\"iat\":1700000150,\"exp\":1700000120,\"token_version\":3,"
		"\"role\":\"user\"}",
		/* iat */
		"{\"sub\":\"42\",\"exp\":1700000900,\"token_version\":3,\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":-1,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":\"1700000000\",\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"user\"}",
		/* token_version */
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":-1,"
		"\"role\":\"user\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":\"3\","
		"\"role\":\"user\"}",
		/* role */
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"Admin\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"a\\\"b\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":\"abcdefghijklmnopq\"}",
		"{\"sub\":\"42\",\"iat\":1700000000,\"exp\":1700000900,\"token_version\":3,"
		"\"role\":[\"user\"]}",
		/* not an object */
		"[\"42\"]",
		"42",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(verify_crafted(std_header, bad[i], SIG_HS256), PB_EAUTH);
	/* A 16-character role is the longest accepted. */
	CU_ASSERT_EQUAL(verify_crafted(std_header, "{\"sub\":\"42\",\"iat\":1700000000,"
	    "\"exp\":1700000900,\"token_version\":3,\"role\":\"abcdefghijklmnop\"}", SIG_HS256),
	    PB_OK);
}

/*
 * Tokens up to JWT_TOKEN_MAX characters verify, one more is refused, even when signed.
 * The short header puts both lengths within reach (base64url never makes 4k+1 characters).
 */
static void
test_length_bound(void)
{
	char payload[JWT_TOKEN_MAX], tok[JWT_TOKEN_MAX * 2];
	struct jwt_claims out;
	int hits = 0;

	for (size_t pad = 2900; pad < 3100; pad++) {
		size_t len;
		int n;

		n = snprintf(payload, sizeof(payload), "{\"sub\":\"42\",\"iat\":1700000000,"
		    "\"exp\":1700000900,\"token_version\":3,\"role\":\"user\",\"pad\":\"%*s\"}",
		    (int)pad, "");
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(payload));
		craft(tok, sizeof(tok), "{\"alg\":\"HS256\"}", payload, SIG_HS256);
		len = strlen(tok);
		if (len == JWT_TOKEN_MAX) {
			CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
			hits++;
		} else if (len == JWT_TOKEN_MAX + 1) {
			CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_EAUTH);
			hits++;
		} else if (len > JWT_TOKEN_MAX) {
			CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_EAUTH);
		}
	}
	CU_ASSERT_EQUAL(hits, 2);
}

static void
test_secret_length(void)
{
	struct jwt_claims in = claims(42, NOW, NOW + 900, 1, "user"), out;
	char tok[JWT_TOKEN_MAX + 1];

	memset(tok, 'x', sizeof(tok));
	/* 31 bytes: refused at sign time, and at verify time before any token is read. */
	CU_ASSERT_EQUAL(jwt_sign(secret, SECRET_LEN - 1, &in, tok, sizeof(tok)), PB_ECONFIG);
	CU_ASSERT_EQUAL(tok[0], '\0');
	CU_ASSERT_EQUAL(jwt_sign(NULL, 0, &in, tok, sizeof(tok)), PB_ECONFIG);
	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN - 1, tok, NOW, &out), PB_ECONFIG);
	CU_ASSERT_EQUAL(jwt_verify(secret, SECRET_LEN, tok, NOW, &out), PB_OK);
}

static void
test_sign_refuses_bad_claims(void)
{
	static const struct {
		int64_t sub, iat, exp, tv;
		const char *role;
	} bad[] = {
		{ 0, NOW, NOW + 1, 0, "user" },
		{ -5, NOW, NOW + 1, 0, "user" },
		{ 1, NOW, NOW, 0, "user" },
		{ 1, -1, NOW, 0, "user" },
		{ 1, NOW, NOW + 1, -1, "user" },
		{ 1, NOW, NOW + 1, 0, "" },
		{ 1, NOW, NOW + 1, 0, "Admin" },
		{ 1, NOW, NOW + 1, 0, "a\"b" },
		{ 1, NOW, NOW + 1, 0, "us er" },
	};
	struct jwt_claims c;
	char tok[JWT_TOKEN_MAX + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = claims(bad[i].sub, bad[i].iat, bad[i].exp, bad[i].tv, bad[i].role);
		CU_ASSERT_EQUAL(jwt_sign(secret, SECRET_LEN, &c, tok, sizeof(tok)), PB_EINVAL);
		CU_ASSERT_EQUAL(tok[0], '\0');
	}
	/* A role that fills the array without a NUL. */
	c = claims(1, NOW, NOW + 1, 0, "user");
	memset(c.role, 'a', sizeof(c.role));
	CU_ASSERT_EQUAL(jwt_sign(secret, SECRET_LEN, &c, tok, sizeof(tok)), PB_EINVAL);
}

static void
test_sign_output_too_small(void)
{
	struct jwt_claims in = claims(42, NOW, NOW + 900, 1, "user");
	char tok[JWT_TOKEN_MAX + 1];
	size_t need;

	CU_ASSERT_EQUAL_FATAL(jwt_sign(secret, SECRET_LEN, &in, tok, sizeof(tok)), PB_OK);
	need = strlen(tok) + 1;
	memset(tok, 'x', sizeof(tok));
	CU_ASSERT_EQUAL(jwt_sign(secret, SECRET_LEN, &in, tok, need - 1), PB_ETOOBIG);
	CU_ASSERT_EQUAL(tok[0], '\0');
	CU_ASSERT_EQUAL(tok[need - 1], 'x');
	CU_ASSERT_EQUAL(jwt_sign(secret, SECRET_LEN, &in, tok, need), PB_OK);
	CU_ASSERT_EQUAL(strlen(tok), need - 1);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_round_trip),
	UNIT_TEST(test_known_vector),
	UNIT_TEST(test_crafted_control),
	UNIT_TEST(test_alg_none),
	UNIT_TEST(test_other_algorithms),
	UNIT_TEST(test_header_members),
	UNIT_TEST(test_expiry),
	UNIT_TEST(test_issued_in_future),
	UNIT_TEST(test_tampered),
	UNIT_TEST(test_wrong_secret),
	UNIT_TEST(test_malformed),
	UNIT_TEST(test_bad_base64url_signed),
	UNIT_TEST(test_claims_required),
	UNIT_TEST(test_length_bound),
	UNIT_TEST(test_secret_length),
	UNIT_TEST(test_sign_refuses_bad_claims),
	UNIT_TEST(test_sign_output_too_small),
};

UNIT_MAIN("jwt", tests)
