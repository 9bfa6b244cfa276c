/*
 * base64url: the RFC 4648 §10 vectors in the URL-safe alphabet, round trips over every
 * length and byte value, and the refusals that keep each encoding unique (padding,
 * foreign characters, impossible lengths, non-zero trailing bits).
 */
#include "config.h"

#include <string.h>

#include "util/base64url.h"
#include "unit.h"

struct vector {
	const char *raw;
	const char *enc;
};

/* RFC 4648 §10 without the padding that §5 (as used by JWTs) leaves out. */
static const struct vector rfc[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_rfc4648_encode(void)
{
	char out[16];

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		memset(out, 'x', sizeof(out));
		CU_ASSERT_EQUAL(base64url_encode(rfc[i].raw, strlen(rfc[i].raw), out,
		    sizeof(out)), PB_OK);
		CU_ASSERT_STRING_EQUAL(out, rfc[i].enc);
		CU_ASSERT_EQUAL(base64url_encoded_len(strlen(rfc[i].raw)), strlen(rfc[i].enc));
	}
}

static void
test_rfc4648_decode(void)
{
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		n = 99;
		CU_ASSERT_EQUAL(base64url_decode(rfc[i].enc, strlen(rfc[i].enc), out, sizeof(out),
		    &n), PB_OK);
		CU_ASSERT_EQUAL(n, strlen(rfc[i].raw));
		CU_ASSERT(memcmp(out, rfc[i].raw, n) == 0);
	}
}

/* The two characters that differ from standard base64: '-' for '+', '_' for '/'. */
static void
test_url_alphabet(void)
{
	static const unsigned char plus[] = { 0xfb, 0xef, 0xbe };	/* std "++++" */
	static const unsigned char slash[] = { 0xff, 0xff, 0xff };	/* std "////" */
	static const unsigned char mixed[] = { 0xfb, 0xff };		/* std "+/8=" */
	unsigned char back[4];
	char out[8];
	size_t n;

	CU_ASSERT_EQUAL(base64url_encode(plus, sizeof(plus), out, sizeof(out)), PB_OK);
	CU_ASSERT_STRING_EQUAL(out, "----");
	CU_ASSERT_EQUAL(base64url_encode(slash, sizeof(slash), out, sizeof(out)), PB_OK);
	CU_ASSERT_STRING_EQUAL(out, "____");
	CU_ASSERT_EQUAL(base64url_encode(mixed, sizeof(mixed), out, sizeof(out)), PB_OK);
	CU_ASSERT_STRING_EQUAL(out, "-_8");
	CU_ASSERT_EQUAL(base64url_decode("-_8", 3, back, sizeof(back), &n), PB_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(memcmp(back, mixed, 2) == 0);
	/* The standard alphabet's characters are not base64url. */
	CU_ASSERT_EQUAL(base64url_decode("+/8", 3, back, sizeof(back), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(n, 0);
}

static void
test_round_trip_lengths(void)
{
	unsigned char raw[300], back[300];
	char enc[420];
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 13);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		CU_ASSERT_EQUAL_FATAL(base64url_encode(raw, len, enc, sizeof(enc)), PB_OK);
		CU_ASSERT_EQUAL(strlen(enc), base64url_encoded_len(len));
		CU_ASSERT(strchr(enc, '=') == NULL);
		CU_ASSERT(base64url_decoded_max(strlen(enc)) == len);
		CU_ASSERT_EQUAL_FATAL(base64url_decode(enc, strlen(enc), back, sizeof(back), &n),
		    PB_OK);
		CU_ASSERT_EQUAL(n, len);
		CU_ASSERT(memcmp(raw, back, len) == 0);
	}
}

static void
test_round_trip_all_bytes(void)
{
	unsigned char raw[256], back[256];
	char enc[400];
	size_t n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(255 - i);
	CU_ASSERT_EQUAL_FATAL(base64url_encode(raw, sizeof(raw), enc, sizeof(enc)), PB_OK);
	CU_ASSERT_EQUAL(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"), strlen(enc));
	CU_ASSERT_EQUAL(base64url_decode(enc, strlen(enc), back, sizeof(back), &n), PB_OK);
	CU_ASSERT_EQUAL(n, sizeof(raw));
	CU_ASSERT(memcmp(raw, back, sizeof(raw)) == 0);
}

static void
test_refuse_padding(void)
{
	static const char *const bad[] = { "Zg==", "Zg=", "Zm8=", "Zm9vYg==", "=", "====",
	    "Zm9v====" };
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		CU_ASSERT_EQUAL(base64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n),
		    PB_EINVAL);
		CU_ASSERT_EQUAL(n, 0);
	}
}

static void
test_refuse_characters(void)
{
	static const char *const bad[] = { "Zm+v", "Zm/v", "Zm9 v", "Zm9\nv", " Zm9v",
	    "Zm9v ", "Zm.v", "Zm9v\xc3\xa9", "Zm\x7fv" };
	static const char nul[] = { 'Z', 'm', '\0', 'v' };
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(base64url_decode(bad[i], strlen(bad[i]), out, sizeof(out), &n),
		    PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode(nul, sizeof(nul), out, sizeof(out), &n), PB_EINVAL);
}

static void
test_refuse_lengths(void)
{
	char out[16];
	size_t n;

	/* 1 mod 4 can never come out of an encoder. */
	CU_ASSERT_EQUAL(base64url_decode("Z", 1, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zm9vY", 5, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zm9vYmFyZ", 9, out, sizeof(out), &n), PB_EINVAL);
	/* The same prefixes one character longer are fine. */
	CU_ASSERT_EQUAL(base64url_decode("Zm9vYg", 6, out, sizeof(out), &n), PB_OK);
	CU_ASSERT_EQUAL(n, 4);
}

static void
test_refuse_trailing_bits(void)
{
	char out[16];
	size_t n;

	/* "f" is "Zg"; "Zh".."Zv" decode to the same byte with junk in the 4 spare bits. */
	CU_ASSERT_EQUAL(base64url_decode("Zg", 2, out, sizeof(out), &n), PB_OK);
	CU_ASSERT_EQUAL(base64url_decode("Zh", 2, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zv", 2, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zw", 2, out, sizeof(out), &n), PB_OK);
	/* "fo" is "Zm8"; "Zm9" sets one of the 2 spare bits. */
	CU_ASSERT_EQUAL(base64url_decode("Zm8", 3, out, sizeof(out), &n), PB_OK);
	CU_ASSERT_EQUAL(base64url_decode("Zm9", 3, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zm-", 3, out, sizeof(out), &n), PB_EINVAL);
	CU_ASSERT_EQUAL(base64url_decode("Zm9vZm9", 7, out, sizeof(out), &n), PB_EINVAL);
}

static void
test_output_too_small(void)
{
	char out[8];
	unsigned char raw[8];
	size_t n;

	/* "foo" needs 4 characters and the NUL. */
	memset(out, 'x', sizeof(out));
	CU_ASSERT_EQUAL(base64url_encode("foo", 3, out, 4), PB_ETOOBIG);
	CU_ASSERT_EQUAL(out[0], '\0');
	CU_ASSERT_EQUAL(out[4], 'x');
	CU_ASSERT_EQUAL(base64url_encode("foo", 3, out, 5), PB_OK);
	CU_ASSERT_STRING_EQUAL(out, "Zm9v");
	CU_ASSERT_EQUAL(base64url_encode("", 0, out, 0), PB_ETOOBIG);
	CU_ASSERT_EQUAL(base64url_encode("", 0, out, 1), PB_OK);
	CU_ASSERT_STRING_EQUAL(out, "");

	CU_ASSERT_EQUAL(base64url_decode("Zm9vYmFy", 8, raw, 5, &n), PB_ETOOBIG);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(base64url_decode("Zm9vYmFy", 8, raw, 6, &n), PB_OK);
	CU_ASSERT_EQUAL(n, 6);
	/* A bad encoding is reported as such even when it would not fit either. */
	CU_ASSERT_EQUAL(base64url_decode("Zm9v+mFy", 8, raw, 5, &n), PB_EINVAL);
}

static void
test_lengths(void)
{
	CU_ASSERT_EQUAL(base64url_encoded_len(0), 0);
	CU_ASSERT_EQUAL(base64url_encoded_len(1), 2);
	CU_ASSERT_EQUAL(base64url_encoded_len(2), 3);
	CU_ASSERT_EQUAL(base64url_encoded_len(3), 4);
	CU_ASSERT_EQUAL(base64url_encoded_len(32), 43);
	CU_ASSERT_EQUAL(base64url_decoded_max(43), 32);
	CU_ASSERT_EQUAL(base64url_decoded_max(4096), 3072);
	CU_ASSERT_EQUAL(base64url_decoded_max(2), 1);
	CU_ASSERT_EQUAL(base64url_decoded_max(3), 2);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_rfc4648_encode),
	UNIT_TEST(test_rfc4648_decode),
	UNIT_TEST(test_url_alphabet),
	UNIT_TEST(test_round_trip_lengths),
	UNIT_TEST(test_round_trip_all_bytes),
	UNIT_TEST(test_refuse_padding),
	UNIT_TEST(test_refuse_characters),
	UNIT_TEST(test_refuse_lengths),
	UNIT_TEST(test_refuse_trailing_bits),
	UNIT_TEST(test_output_too_small),
	UNIT_TEST(test_lengths),
};

UNIT_MAIN("base64url", tests)
