/* util/pct: percent-encoding for forms, Stripe parameters and URL paths, and decoding. */
#include "config.h"

#include <string.h>

#include "util/buf.h"
#include "util/pct.h"
#include "unit.h"

static void
test_encode(void)
{
	static const char raw[] = "a b+c/\xc3\xa9~-._&=%[]\0Z";
	struct buf b;

	buf_init(&b, 1024);
	CU_ASSERT_EQUAL(pct_encode(&b, raw, sizeof(raw) - 1), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "a%20b%2Bc%2F%C3%A9~-._%26%3D%25%5B%5D%00Z");
	buf_reset(&b);
	CU_ASSERT_EQUAL(pct_encode(&b, "AZaz09", 6), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "AZaz09");
	buf_reset(&b);
	/* Appends: what b held stays in front. */
	CU_ASSERT_EQUAL(buf_appends(&b, "k="), PB_OK);
	CU_ASSERT_EQUAL(pct_encode(&b, "\xff", 1), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "k=%FF");
	buf_reset(&b);
	CU_ASSERT_EQUAL(pct_encode(&b, "", 0), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "");
	buf_free(&b);
}

static void
test_encode_too_big(void)
{
	struct buf b;

	/* Over the buffer's maximum: the error, and the buffer is empty. */
	buf_init(&b, 5);
	CU_ASSERT_EQUAL(pct_encode(&b, "   ", 3), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	/* A run of plain bytes past the maximum fails the same way. */
	buf_init(&b, 5);
	CU_ASSERT_EQUAL(pct_encode(&b, "abcdefgh", 8), PB_ETOOBIG);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_free(&b);
}

static void
test_decode(void)
{
	char out[64];
	size_t n = 99;

	CU_ASSERT_TRUE(pct_decode("a%20b+c%2b%C3%a9", 16, true, out, &n));
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT_EQUAL(memcmp(out, "a b c+\xc3\xa9", 8), 0);
	/* Without plus_space (paths), '+' is itself. */
	CU_ASSERT_TRUE(pct_decode("a+b", 3, false, out, &n));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(memcmp(out, "a+b", 3), 0);
	/* A NUL may be decoded; the length says where the value ends. */
	CU_ASSERT_TRUE(pct_decode("x%00y", 5, true, out, &n));
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(memcmp(out, "x\0y", 3), 0);
	CU_ASSERT_TRUE(pct_decode("", 0, true, out, &n));
	CU_ASSERT_EQUAL(n, 0);
	/* Only the first n bytes count: an escape cut off by n is truncated. */
	CU_ASSERT_FALSE(pct_decode("%41", 2, true, out, &n));
}

static void
test_decode_invalid(void)
{
	static const char *const bad[] = { "%", "%4", "a%", "%G0", "%0G", "%%41", "% 41", "%-1" };
	char out[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_FALSE(pct_decode(bad[i], strlen(bad[i]), true, out, &n));
}

static void
test_round_trip(void)
{
	char raw[256], out[256];
	struct buf b;
	size_t n = 0;

	for (int i = 0; i < 256; i++)
		raw[i] = (char)i;
	buf_init(&b, 4096);
	CU_ASSERT_EQUAL_FATAL(pct_encode(&b, raw, sizeof(raw)), PB_OK);
	/* Nothing a form would read as structure survives encoding. */
	CU_ASSERT_PTR_NULL(memchr(b.data, '+', b.len));
	CU_ASSERT_PTR_NULL(memchr(b.data, '&', b.len));
	CU_ASSERT_PTR_NULL(memchr(b.data, '=', b.len));
	CU_ASSERT_FATAL(b.len <= sizeof(raw) * 3);
	CU_ASSERT_TRUE(pct_decode(b.data, b.len, true, out, &n));
	CU_ASSERT_EQUAL(n, sizeof(raw));
	CU_ASSERT_EQUAL(memcmp(out, raw, sizeof(raw)), 0);
	buf_free(&b);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_encode),
	UNIT_TEST(test_encode_too_big),
	UNIT_TEST(test_decode),
	UNIT_TEST(test_decode_invalid),
	UNIT_TEST(test_round_trip),
};

UNIT_MAIN("pct", tests)
