/*
 * Form encoding for Stripe: nested bracket keys, every reserved byte escaped, and no
 * value able to add or change a parameter (checked by decoding what was encoded).
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/client.h"
#include "stripe/form.h"
#include "unit.h"

static void
expect(const struct stripe_form *f, const char *want)
{
	CU_ASSERT_EQUAL(f->err, PB_OK);
	CU_ASSERT_STRING_EQUAL(stripe_form_text(f), want);
	CU_ASSERT_EQUAL(stripe_form_len(f), strlen(want));
}

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;	/* lower-case escapes are not what we send */
}

/* Percent-decodes s[0..n) into out (NUL-terminated). false on a bad escape or a '+'. */
static bool
decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (o + 1 >= outlen || s[i] == '+' || s[i] == ' ')
			return false;
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return false;
		hi = unhex(s[i + 1]);
		lo = unhex(s[i + 2]);
		if (hi < 0 || lo < 0)
			return false;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return true;
}

/* Splits the form text into pairs; checks there are n and that pair i decodes as given. */
static void
expect_pairs(const struct stripe_form *f, size_t n, const char *const *keys,
    const char *const *values)
{
	const char *p = stripe_form_text(f);
	size_t count = 0;

	while (*p != '\0') {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		char k[512], v[4096];

		if (eq == NULL) {
			CU_FAIL("a pair without '='");
			return;
		}
		CU_ASSERT_PTR_NULL(memchr(eq + 1, '=', len - (size_t)(eq + 1 - p)));
		if (count >= n) {
			CU_FAIL("more pairs than expected");
			return;
		}
		CU_ASSERT_TRUE(decode(p, (size_t)(eq - p), k, sizeof(k)));
		CU_ASSERT_TRUE(decode(eq + 1, len - (size_t)(eq + 1 - p), v, sizeof(v)));
		CU_ASSERT_STRING_EQUAL(k, keys[count]);
		CU_ASSERT_STRING_EQUAL(v, values[count]);
		count++;
		p += len;
		if (*p == '&')
			p++;
	}
	CU_ASSERT_EQUAL(count, n);
}

static void
test_plain_and_nested_keys(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	CU_ASSERT_STRING_EQUAL(stripe_form_text(&f), "");
	CU_ASSERT_EQUAL(stripe_form_add(&f, "name", "Jenny Rosen"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "metadata[user_id]", "42"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "invoice_settings[default_payment_method]",
	    "pm_1"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add_bool(&f, "automatic_payment_methods[enabled]", true),
	    PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "expand[]", "customer"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "expand[]", "latest_charge"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "line_items[0][price]", "price_1"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add_int(&f, "line_items[0][quantity]", 2), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f,
	    "line_items[1][price_data][product_data][name]", "T-shirt"), PB_OK);
	expect(&f, "name=Jenny%20Rosen&metadata[user_id]=42"
	    "&invoice_settings[default_payment_method]=pm_1"
	    "&automatic_payment_methods[enabled]=true&expand[]=customer&expand[]=latest_charge"
	    "&line_items[0][price]=price_1&line_items[0][quantity]=2"
	    "&line_items[1][price_data][product_data][name]=T-shirt");
	stripe_form_free(&f);
}

static void
test_reserved_bytes(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "description", "a&b=c[d]%e+f g/h?i#j;k,l:m@n$o!p'q(r)s*t\"u");
	expect(&f, "description=a%26b%3Dc%5Bd%5D%25e%2Bf%20g%2Fh%3Fi%23j%3Bk%2Cl%3Am%40n%24o"
	    "%21p%27q%28r%29s%2At%22u");
	stripe_form_free(&f);

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "description", "line1\nline2\r\ttab\x01\x7f");
	expect(&f, "description=line1%0Aline2%0D%09tab%01%7F");
	stripe_form_free(&f);

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "unreserved", "AZaz09-._~");
	expect(&f, "unreserved=AZaz09-._~");
	stripe_form_free(&f);
}

static void
test_utf8(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	/* é, €, an emoji (4 bytes) */
	(void)stripe_form_add(&f, "name", "Ren\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect(&f, "name=Ren%C3%A9%20%E2%82%AC%20%F0%9F%98%80");
	stripe_form_free(&f);

	/* Not UTF-8: a lone continuation byte, an overlong '/', a truncated sequence. */
	static const char *const bad[] = { "\xff", "a\x80", "\xc0\xaf", "\xe2\x82" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		stripe_form_init(&f);
		CU_ASSERT_EQUAL(stripe_form_add(&f, "name", bad[i]), PB_EINVAL);
		CU_ASSERT_STRING_EQUAL(stripe_form_text(&f), "");
		stripe_form_free(&f);
	}
}

static void
test_empty_values(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "description", "");
	(void)stripe_form_add_sub(&f, "metadata", "user_id", "");
	(void)stripe_form_add(&f, "invoice_settings[default_payment_method]", "");
	expect(&f, "description=&metadata[user_id]=&invoice_settings[default_payment_method]=");
	stripe_form_free(&f);
}

static void
test_value_cannot_add_parameters(void)
{
	static const char *const keys[] = { "metadata[user_id]", "email" };
	static const char *const values[] = { "x&metadata[user_id]=999", "a=b&c" };
	struct stripe_form f;

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "metadata[user_id]", "x&metadata[user_id]=999");
	(void)stripe_form_add(&f, "email", "a=b&c");
	expect(&f, "metadata[user_id]=x%26metadata%5Buser_id%5D%3D999&email=a%3Db%26c");
	expect_pairs(&f, 2, keys, values);
	stripe_form_free(&f);
}

static void
test_every_byte_round_trips(void)
{
	static const char *const keys[] = { "v" };
	char all[128];
	const char *values[1] = { all };
	struct stripe_form f;

	for (int c = 1; c < 128; c++)
		all[c - 1] = (char)c;
	all[127] = '\0';
	stripe_form_init(&f);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "v", all), PB_OK);
	expect_pairs(&f, 1, keys, values);
	/* 66 unreserved bytes stay as they are, the other 61 become %XX. */
	CU_ASSERT_EQUAL(stripe_form_len(&f), 2 + 66 + 61 * 3);
	stripe_form_free(&f);
}

static void
test_sub_and_kv(void)
{
	static const struct stripe_kv kv[] = {
		{ "user_id", "42" },
		{ "source", "user registration" },
		{ "odd key&=", "v" },
	};
	struct stripe_form f;

	stripe_form_init(&f);
	CU_ASSERT_EQUAL(stripe_form_add_kv(&f, "metadata", kv, 3), PB_OK);
	expect(&f, "metadata[user_id]=42&metadata[source]=user%20registration"
	    "&metadata[odd%20key%26%3D]=v");
	stripe_form_free(&f);

	stripe_form_init(&f);
	CU_ASSERT_EQUAL(stripe_form_add_kv(&f, "metadata", NULL, 0), PB_OK);
	expect(&f, "");
	CU_ASSERT_EQUAL(stripe_form_add_sub(&f, "metadata", "a]b", "v"), PB_EINVAL);
	stripe_form_free(&f);

	stripe_form_init(&f);
	CU_ASSERT_EQUAL(stripe_form_add_sub(&f, "metadata", "", "v"), PB_EINVAL);
	stripe_form_free(&f);

	stripe_form_init(&f);
	const struct stripe_kv nokey[] = { { NULL, "v" } };
	CU_ASSERT_EQUAL(stripe_form_add_kv(&f, "metadata", nokey, 1), PB_EINVAL);
	stripe_form_free(&f);
}

static void
test_key_segments_escaped(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	(void)stripe_form_add(&f, "a b[c d][]", "1");
	expect(&f, "a%20b[c%20d][]=1");
	stripe_form_free(&f);
}

static void
test_bad_keys_and_sticky(void)
{
	static const char *const bad[] = {
		"", "[a]", "a]", "a[b", "a[b]c", "a[b[c]]", "a]b", "a[b]]", "a[[b]]", "]",
	};
	struct stripe_form f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		stripe_form_init(&f);
		(void)stripe_form_add(&f, "ok", "1");
		CU_ASSERT_EQUAL(stripe_form_add(&f, bad[i], "v"), PB_EINVAL);
		/* Nothing half-written, and every later add fails the same way. */
		CU_ASSERT_STRING_EQUAL(stripe_form_text(&f), "ok=1");
		CU_ASSERT_EQUAL(stripe_form_add(&f, "fine", "2"), PB_EINVAL);
		CU_ASSERT_EQUAL(stripe_form_add_int(&f, "n", 1), PB_EINVAL);
		CU_ASSERT_EQUAL(f.err, PB_EINVAL);
		CU_ASSERT_STRING_EQUAL(stripe_form_text(&f), "ok=1");
		stripe_form_free(&f);
	}
}

static void
test_numbers_and_bools(void)
{
	struct stripe_form f;

	stripe_form_init(&f);
	(void)stripe_form_add_int(&f, "amount", 1099);
	(void)stripe_form_add_int(&f, "min", LLONG_MIN);
	(void)stripe_form_add_int(&f, "zero", 0);
	(void)stripe_form_add_bool(&f, "confirm", false);
	expect(&f, "amount=1099&min=-9223372036854775808&zero=0&confirm=false");
	stripe_form_free(&f);
}

static void
test_too_big(void)
{
	struct stripe_form f;
	char *big = malloc(STRIPE_FORM_MAX);

	if (big == NULL) {
		CU_FAIL("out of memory");
		return;
	}
	memset(big, 'a', STRIPE_FORM_MAX - 1);
	big[STRIPE_FORM_MAX - 1] = '\0';
	stripe_form_init(&f);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "small", "1"), PB_OK);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "big", big), PB_ETOOBIG);
	CU_ASSERT_EQUAL(stripe_form_add(&f, "after", "1"), PB_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(stripe_form_text(&f), "small=1");
	stripe_form_free(&f);
	free(big);
}

static void
test_paths(void)
{
	char path[64];

	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/customers/", "cus_123", NULL),
	    PB_OK);
	CU_ASSERT_STRING_EQUAL(path, "/v1/customers/cus_123");
	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/payment_intents/", "pi_1",
	    "/confirm"), PB_OK);
	CU_ASSERT_STRING_EQUAL(path, "/v1/payment_intents/pi_1/confirm");
	/* An id from a client can never leave its path segment. */
	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/customers/", "../x?y=1#z", NULL),
	    PB_OK);
	CU_ASSERT_STRING_EQUAL(path, "/v1/customers/..%2Fx%3Fy%3D1%23z");
	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/customers/", "", NULL), PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/customers/", NULL, NULL),
	    PB_EINVAL);
	CU_ASSERT_EQUAL(stripe_path(path, sizeof(path), "/v1/customers/",
	    "cus_0123456789012345678901234567890123456789012345678901234567890123", NULL),
	    PB_ETOOBIG);
	CU_ASSERT_STRING_EQUAL(path, "");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_plain_and_nested_keys),
	UNIT_TEST(test_reserved_bytes),
	UNIT_TEST(test_utf8),
	UNIT_TEST(test_empty_values),
	UNIT_TEST(test_value_cannot_add_parameters),
	UNIT_TEST(test_every_byte_round_trips),
	UNIT_TEST(test_sub_and_kv),
	UNIT_TEST(test_key_segments_escaped),
	UNIT_TEST(test_bad_keys_and_sticky),
	UNIT_TEST(test_numbers_and_bools),
	UNIT_TEST(test_too_big),
	UNIT_TEST(test_paths),
};

UNIT_MAIN("stripe_form", tests)
