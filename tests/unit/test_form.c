/*
 * Forms: percent-decoding, pairs, bracket keys and their conversion to JSON, encoding.
 *
 * Decision tested here: keys are percent-decoded before they are split on brackets, as
 * PHP and Stripe do, so "a%5Bb%5D=1" is "a[b]=1".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http/form.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/pct.h"
#include "unit.h"

static struct arena arena;

static void
setup(void)
{
	arena_init(&arena, 4 * 1024 * 1024);
}

static void
teardown(void)
{
	arena_cleanup(&arena);
}

static enum pb_err
parse(const char *s, struct form *f)
{
	return form_parse(&arena, s, strlen(s), f);
}

/* Parses s and converts it; returns the error and, on PB_OK, the compact JSON in out. */
static enum pb_err
to_json(const char *s, int depth, char *out, size_t outlen)
{
	struct json_object *obj = NULL;
	struct form f;
	enum pb_err err = parse(s, &f);

	out[0] = '\0';
	if (err == PB_OK)
		err = form_to_json(&arena, &f, depth, &obj);
	if (err == PB_OK) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
		(void)snprintf(out, outlen, "%s",
		    json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	} else {
		CU_ASSERT_PTR_NULL(obj);
	}
	json_object_put(obj);
	return err;
}

static void
check_json(const char *form, const char *want)
{
	char got[1024];

	CU_ASSERT_EQUAL(to_json(form, 32, got, sizeof(got)), PB_OK);
	CU_ASSERT_STRING_EQUAL(got, want);
}

static void
check_invalid(const char *form)
{
	char got[1024];

	CU_ASSERT_EQUAL(to_json(form, 32, got, sizeof(got)), PB_EINVAL);
}

static void
test_parse_pairs(void)
{
	struct form f;

	setup();
	CU_ASSERT_EQUAL_FATAL(parse("a=1&b=two+words&c=%2B%26%3D&d=%2b%2F", &f), PB_OK);
	CU_ASSERT_EQUAL_FATAL(f.n, 4);
	CU_ASSERT_STRING_EQUAL(f.fields[0].key, "a");
	CU_ASSERT_EQUAL(f.fields[0].key_len, 1);
	CU_ASSERT_STRING_EQUAL(f.fields[0].value, "1");
	CU_ASSERT_STRING_EQUAL(f.fields[1].value, "two words");
	CU_ASSERT_EQUAL(f.fields[1].value_len, 9);
	CU_ASSERT_STRING_EQUAL(f.fields[2].value, "+&=");
	CU_ASSERT_STRING_EQUAL(f.fields[3].value, "+/");
	CU_ASSERT_STRING_EQUAL(form_get(&f, "b"), "two words");
	CU_ASSERT_PTR_NULL(form_get(&f, "e"));
	CU_ASSERT_PTR_NULL(form_get(&f, "aa"));
	teardown();
}

static void
test_parse_shapes(void)
{
	struct form f;

	setup();
	/* Empty pairs are skipped wherever they are. */
	CU_ASSERT_EQUAL(parse("&a=1&&b=2&", &f), PB_OK);
	CU_ASSERT_EQUAL(f.n, 2);
	CU_ASSERT_EQUAL(parse("", &f), PB_OK);
	CU_ASSERT_EQUAL(f.n, 0);
	CU_ASSERT_EQUAL(parse("&&&", &f), PB_OK);
	CU_ASSERT_EQUAL(f.n, 0);
	/* No '=': an empty value. Only the first '=' splits. */
	CU_ASSERT_EQUAL_FATAL(parse("flag&x=&y=b=c&a+b=%20", &f), PB_OK);
	CU_ASSERT_EQUAL_FATAL(f.n, 4);
	CU_ASSERT_STRING_EQUAL(f.fields[0].key, "flag");
	CU_ASSERT_STRING_EQUAL(f.fields[0].value, "");
	CU_ASSERT_STRING_EQUAL(f.fields[1].value, "");
	CU_ASSERT_STRING_EQUAL(f.fields[2].value, "b=c");
	CU_ASSERT_STRING_EQUAL(f.fields[3].key, "a b");
	CU_ASSERT_STRING_EQUAL(f.fields[3].value, " ");
	teardown();
}

static void
test_parse_bad_escapes(void)
{
	static const char *const bad[] = {
		"a=%zz", "a=%4", "a=%", "a=1%", "%zz=1", "a=%g0", "a=%0g", "a%=1", "a=%%41",
		"b=1&a=%4",
	};
	struct form f;

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(parse(bad[i], &f), PB_EINVAL);
		CU_ASSERT_EQUAL(f.n, 0);
	}
	teardown();
}

static void
test_parse_keys(void)
{
	struct form f;

	setup();
	CU_ASSERT_EQUAL(parse("=x", &f), PB_EINVAL);
	CU_ASSERT_EQUAL(parse("=", &f), PB_EINVAL);
	CU_ASSERT_EQUAL(parse("a=1&=x", &f), PB_EINVAL);
	CU_ASSERT_EQUAL(parse("a%00b=1", &f), PB_EINVAL);
	CU_ASSERT_EQUAL(parse("%00=1", &f), PB_EINVAL);
	/* A raw NUL in a key is refused like an escaped one. */
	CU_ASSERT_EQUAL(form_parse(&arena, "a\0b=1", 5, &f), PB_EINVAL);
	/* In a value a NUL is kept, and counted. */
	CU_ASSERT_EQUAL_FATAL(parse("k=a%00b", &f), PB_OK);
	CU_ASSERT_EQUAL(f.fields[0].value_len, 3);
	CU_ASSERT_EQUAL(memcmp(f.fields[0].value, "a\0b", 4), 0);
	teardown();
}

static void
test_parse_limit(void)
{
	char s[257 * 8];
	size_t off = 0;
	struct form f;

	setup();
	for (int i = 0; i < FORM_FIELDS_MAX; i++)
		off += (size_t)snprintf(s + off, sizeof(s) - off, "%sk%d=v", i > 0 ? "&" : "", i);
	CU_ASSERT_EQUAL(form_parse(&arena, s, off, &f), PB_OK);
	CU_ASSERT_EQUAL(f.n, FORM_FIELDS_MAX);
	CU_ASSERT_STRING_EQUAL(f.fields[255].key, "k255");
	/* Empty pairs do not count. */
	CU_ASSERT_EQUAL(form_parse(&arena, s, off + (size_t)snprintf(s + off, sizeof(s) - off,
	    "&&"), &f), PB_OK);
	off += (size_t)snprintf(s + off, sizeof(s) - off, "&k256=v");
	CU_ASSERT_EQUAL(form_parse(&arena, s, off, &f), PB_EINVAL);
	CU_ASSERT_EQUAL(f.n, 0);
	teardown();
}

static void
test_get_count_repeated(void)
{
	struct form f;

	setup();
	CU_ASSERT_EQUAL_FATAL(parse("a=1&b=x&a=2&a=3", &f), PB_OK);
	CU_ASSERT_STRING_EQUAL(form_get(&f, "a"), "1");
	CU_ASSERT_EQUAL(form_count(&f, "a"), 3);
	CU_ASSERT_EQUAL(form_count(&f, "b"), 1);
	CU_ASSERT_EQUAL(form_count(&f, "c"), 0);
	teardown();
}

static void
check_split(const char *key, size_t max, enum pb_err want, size_t wantn,
    const char *const *segs)
{
	const char *got[8];
	size_t n = 99;

	CU_ASSERT_EQUAL_FATAL(form_key_split(&arena, key, strlen(key), got, max, &n), want);
	if (want != PB_OK)
		return;
	CU_ASSERT_EQUAL_FATAL(n, wantn);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_STRING_EQUAL(got[i], segs[i]);
}

static void
test_key_split(void)
{
	static const char *const abe[] = { "a", "b", "" };
	static const char *const a[] = { "a" };
	static const char *const items[] = { "items", "0", "price" };

	setup();
	check_split("a[b][]", 8, PB_OK, 3, abe);
	check_split("a", 8, PB_OK, 1, a);
	check_split("items[0][price]", 8, PB_OK, 3, items);
	check_split("items[0][price]", 3, PB_OK, 3, items);
	check_split("items[0][price]", 2, PB_EINVAL, 0, NULL);
	check_split("a", 0, PB_EINVAL, 0, NULL);
	check_split("a[b]c", 8, PB_EINVAL, 0, NULL);
	check_split("a[", 8, PB_EINVAL, 0, NULL);
	check_split("a[b", 8, PB_EINVAL, 0, NULL);
	check_split("a]", 8, PB_EINVAL, 0, NULL);
	check_split("a]b[c]", 8, PB_EINVAL, 0, NULL);
	check_split("a[[b]]", 8, PB_EINVAL, 0, NULL);
	check_split("a[b]]", 8, PB_EINVAL, 0, NULL);
	check_split("a[b][c", 8, PB_EINVAL, 0, NULL);
	check_split("[a]", 8, PB_EINVAL, 0, NULL);
	check_split("[]", 8, PB_EINVAL, 0, NULL);
	teardown();
}

static void
test_json_plain(void)
{
	setup();
	check_json("a=1&b=2", "{\"a\":\"1\",\"b\":\"2\"}");
	check_json("z=1&a=2", "{\"z\":\"1\",\"a\":\"2\"}");	/* order as sent */
	check_json("a=1&a=2&a=3", "{\"a\":[\"1\",\"2\",\"3\"]}");
	check_json("", "{}");
	check_json("q=%22%5C%0A", "{\"q\":\"\\\"\\\\\\n\"}");
	teardown();
}

static void
test_json_brackets(void)
{
	setup();
	/* Keys are decoded, then split: encoded brackets are brackets. */
	check_json("a%5Bb%5D=1", "{\"a\":{\"b\":\"1\"}}");
	check_json("a[]=1&a[]=2", "{\"a\":[\"1\",\"2\"]}");
	check_json("a[b][c]=1&a[b][d]=2&a[e]=3",
	    "{\"a\":{\"b\":{\"c\":\"1\",\"d\":\"2\"},\"e\":\"3\"}}");
	check_json("items[0][price]=p&items[1][price]=q",
	    "{\"items\":[{\"price\":\"p\"},{\"price\":\"q\"}]}");
	check_json("items[0][price]=p&items[1][price]=q&items[0][quantity]=2",
	    "{\"items\":[{\"price\":\"p\",\"quantity\":\"2\"},{\"price\":\"q\"}]}");
	check_json("i[1]=b&i[0]=a", "{\"i\":[\"a\",\"b\"]}");	/* by index, not arrival */
	check_json("a[][b]=1&a[][b]=2", "{\"a\":[{\"b\":\"1\"},{\"b\":\"2\"}]}");
	check_json("a[b]=1&a[b]=2", "{\"a\":{\"b\":[\"1\",\"2\"]}}");
	check_json("m[x y]=1", "{\"m\":{\"x y\":\"1\"}}");
	check_json("m[]=", "{\"m\":[\"\"]}");
	teardown();
}

static void
test_json_invalid(void)
{
	setup();
	check_invalid("a[b]c=1");
	check_invalid("a[=1");
	check_invalid("a%5B=1");
	check_invalid("a]=1");
	check_invalid("[a]=1");
	/* Index gaps, indexes not written canonically, too large. */
	check_invalid("items[0]=a&items[2]=c");
	check_invalid("items[1]=b");
	check_invalid("items[01]=a");
	check_invalid("items[257]=a");
	check_invalid("items[99999999999999999999999]=a");
	/* One name used as two kinds of thing. */
	check_invalid("a=1&a[b]=2");
	check_invalid("a[b]=2&a=1");
	check_invalid("a[b]=1&a[]=2");
	check_invalid("a[]=1&a[b]=2");
	check_invalid("a[0]=1&a[]=2");
	check_invalid("a[0]=1&a[b]=2");
	check_invalid("a[]=1&a=2");
	check_invalid("a[b][c]=1&a[b]=2");
	teardown();
}

static void
test_json_index_limits(void)
{
	char s[256 * 16], got[8192];
	size_t off = 0;

	setup();
	/* 256 dense indexes, the most a form can hold: the last is 255, in reverse order. */
	for (int i = FORM_FIELDS_MAX - 1; i >= 0; i--)
		off += (size_t)snprintf(s + off, sizeof(s) - off, "%sl[%d]=%d",
		    off > 0 ? "&" : "", i, i);
	CU_ASSERT_EQUAL_FATAL(to_json(s, 32, got, sizeof(got)), PB_OK);
	CU_ASSERT_EQUAL(strncmp(got, "{\"l\":[\"0\",\"1\",\"2\",", 18), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(got, ",\"254\",\"255\"]}"));
	teardown();
}

static void
test_json_utf8(void)
{
	char got[256];

	setup();
	check_json("name=%C3%A9t%C3%A9", "{\"name\":\"\xc3\xa9t\xc3\xa9\"}");
	check_json("n=\xe2\x82\xac", "{\"n\":\"\xe2\x82\xac\"}");	/* raw UTF-8 */
	CU_ASSERT_EQUAL(to_json("name=%C3", 32, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL(to_json("name=%ED%A0%80", 32, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL(to_json("name=%C0%AF", 32, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL(to_json("name=\xff", 32, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL(to_json("%FF=1", 32, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL(to_json("a[%FF]=1", 32, got, sizeof(got)), PB_EINVAL);
	/* Valid UTF-8 but a NUL inside: refused, handlers read C strings. */
	CU_ASSERT_EQUAL(to_json("a=x%00y", 32, got, sizeof(got)), PB_EINVAL);
	teardown();
}

/* Same depth as json_parse: the form passes at d exactly when its JSON would. */
static void
check_depth(const char *form, int need)
{
	struct json_object *back;
	char got[1024];

	CU_ASSERT_EQUAL(to_json(form, need - 1, got, sizeof(got)), PB_EINVAL);
	CU_ASSERT_EQUAL_FATAL(to_json(form, need, got, sizeof(got)), PB_OK);
	CU_ASSERT_EQUAL(json_parse(got, strlen(got), need, &back), PB_OK);
	json_object_put(back);
	CU_ASSERT_EQUAL(json_parse(got, strlen(got), need - 1, &back), PB_EINVAL);
	CU_ASSERT_PTR_NULL(back);
}

static void
test_json_depth(void)
{
	char key[256], got[64];
	size_t off;
	struct form f;
	struct json_object *obj;

	setup();
	check_depth("a=1", 2);
	check_depth("a=1&a=2", 3);
	check_depth("a[b]=1", 3);
	check_depth("a[]=1", 3);
	check_depth("a[0][b]=1", 4);
	check_depth("a[b][c][d]=1&x=2", 5);
	CU_ASSERT_EQUAL(to_json("", 1, got, sizeof(got)), PB_OK);
	CU_ASSERT_EQUAL(to_json("", 0, got, sizeof(got)), PB_EINVAL);
	/* 40 levels of brackets against a limit of 32. */
	off = (size_t)snprintf(key, sizeof(key), "a");
	for (int i = 0; i < 40; i++)
		off += (size_t)snprintf(key + off, sizeof(key) - off, "[b]");
	(void)snprintf(key + off, sizeof(key) - off, "=1");
	CU_ASSERT_EQUAL_FATAL(parse(key, &f), PB_OK);
	obj = NULL;
	CU_ASSERT_EQUAL(form_to_json(&arena, &f, 32, &obj), PB_EINVAL);
	CU_ASSERT_PTR_NULL(obj);
	CU_ASSERT_EQUAL(form_to_json(&arena, &f, 42, &obj), PB_OK);
	json_object_put(obj);
	teardown();
}

/* What util/pct encodes, the form parser reads back, NUL included (tests/unit/test_pct.c
 * has the encoding itself). */
static void
test_encode(void)
{
	static const char raw[] = "a b+c/\xc3\xa9~-._&=%\0Z";
	struct buf b;
	struct form f;
	char *s;

	setup();
	buf_init(&b, 1024);
	CU_ASSERT_EQUAL(buf_appends(&b, "k%5B%5D="), PB_OK);
	CU_ASSERT_EQUAL(pct_encode(&b, raw, sizeof(raw) - 1), PB_OK);
	s = arena_strndup(&arena, b.data, b.len);
	CU_ASSERT_EQUAL_FATAL(parse(s, &f), PB_OK);
	CU_ASSERT_EQUAL_FATAL(f.n, 1);
	CU_ASSERT_STRING_EQUAL(f.fields[0].key, "k[]");
	CU_ASSERT_EQUAL(f.fields[0].value_len, sizeof(raw) - 1);
	CU_ASSERT_EQUAL(memcmp(f.fields[0].value, raw, sizeof(raw) - 1), 0);
	buf_free(&b);
	teardown();
}

static void
test_arena_exhausted(void)
{
	struct arena small;
	struct form f;

	/* Too small for the table of fields: the allocation failure is reported. */
	arena_init(&small, 64);
	CU_ASSERT_EQUAL(form_parse(&small, "a=1&b=2", 7, &f), PB_ENOMEM);
	arena_cleanup(&small);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_parse_pairs),
	UNIT_TEST(test_parse_shapes),
	UNIT_TEST(test_parse_bad_escapes),
	UNIT_TEST(test_parse_keys),
	UNIT_TEST(test_parse_limit),
	UNIT_TEST(test_get_count_repeated),
	UNIT_TEST(test_key_split),
	UNIT_TEST(test_json_plain),
	UNIT_TEST(test_json_brackets),
	UNIT_TEST(test_json_invalid),
	UNIT_TEST(test_json_index_limits),
	UNIT_TEST(test_json_utf8),
	UNIT_TEST(test_json_depth),
	UNIT_TEST(test_encode),
	UNIT_TEST(test_arena_exhausted),
};

UNIT_MAIN("form", tests)
