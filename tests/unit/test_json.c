/*
 * util/json: the strict parser (limits, repeated keys, what json-c alone lets through,
 * and, since issue 15, the one-pass parser against the three passes it replaced, kept in
 * tests/fuzz/json_oracle.c), UTF-8 validation, the helpers and escaping.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "unit.h"

#include "../fuzz/json_oracle.h"

/* ---- json ---- */

static enum pb_err
parse(const char *s, size_t len, int depth)
{
	struct json_object *o = (struct json_object *)1;
	enum pb_err err = json_parse(s, len, depth, &o);

	if (err != PB_OK) {
		CU_ASSERT_PTR_NULL(o);
	}
	json_object_put(o);
	return err;
}

#define P(lit, depth) parse(lit, sizeof(lit) - 1, depth)

static void
test_json_limits(void)
{
	char deep[200];

	/* json-c counts every value, scalars included: {"a":{"b":1}} is 3 deep. */
	CU_ASSERT_EQUAL(P("{\"a\":{\"b\":1}}", 3), PB_OK);
	CU_ASSERT_EQUAL(P("{\"a\":{\"b\":1}}", 2), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{}", 1), PB_OK);
	CU_ASSERT_EQUAL(P("{\"a\":[]}", 2), PB_OK);
	CU_ASSERT_EQUAL(P("{\"a\":[1]}", 2), PB_EINVAL);
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CU_ASSERT_EQUAL(parse(deep, 200, 100), PB_OK);
	CU_ASSERT_EQUAL(parse(deep, 200, 99), PB_EINVAL);
	/* Trailing white space is fine, anything else is not. */
	CU_ASSERT_EQUAL(P("{\"a\":1} \t\r\n", 4), PB_OK);
	CU_ASSERT_EQUAL(P("{\"a\":1} x", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":1}{}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":1}\0", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"x\0y\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("   ", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":1,}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\" 1}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":01}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":+1}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":'x'}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{a:1}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("/*c*/{}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\\x41\"}", 4), PB_EINVAL);
	/* Invalid UTF-8, overlong forms and encoded surrogates. */
	CU_ASSERT_EQUAL(P("{\"a\":\"\xff\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\xc0\xaf\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\xed\xa0\x80\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80\"}", 4), PB_OK);
}

/* json_parse_why on a literal; returns the error and leaves the message in why. */
static enum pb_err
parse_why(const char *s, size_t len, int depth, char why[JSON_WHY_MAX])
{
	struct json_object *o = (struct json_object *)1;
	enum pb_err err;

	memset(why, 'x', JSON_WHY_MAX);
	err = json_parse_why(s, len, depth, &o, why, JSON_WHY_MAX);
	if (err != PB_OK) {
		CU_ASSERT_PTR_NULL(o);
	}
	json_object_put(o);
	return err;
}

#define DUP(lit, msg) do { \
	char why_[JSON_WHY_MAX]; \
	CU_ASSERT_EQUAL(parse_why(lit, sizeof(lit) - 1, 16, why_), PB_EINVAL); \
	CU_ASSERT_STRING_EQUAL(why_, msg); \
} while (0)

#define NODUP(lit) do { \
	char why_[JSON_WHY_MAX]; \
	CU_ASSERT_EQUAL(parse_why(lit, sizeof(lit) - 1, 16, why_), PB_OK); \
	CU_ASSERT_STRING_EQUAL(why_, ""); \
} while (0)

static void
test_json_duplicates(void)
{
	char why[JSON_WHY_MAX], big[300];
	size_t n;

	DUP("{\"email\":\"a@x.co\",\"email\":\"b@x.co\"}", "duplicate key \"email\"");
	DUP("{\"a\":1,\"b\":2,\"a\":3}", "duplicate key \"a\"");
	DUP("{\"a\":1,\"a\":1}", "duplicate key \"a\"");		/* same value too */
	DUP("{ \"a\" : 1 , \"a\" : [ ] }", "duplicate key \"a\"");
	DUP("{\"\":1,\"\":2}", "duplicate key \"\"");
	/* Nested at any depth, in objects inside arrays too. */
	DUP("{\"o\":{\"p\":{\"q\":1,\"q\":2}}}", "duplicate key \"q\"");
	DUP("[{\"a\":1},{\"b\":1,\"b\":2}]", "duplicate key \"b\"");
	DUP("{\"x\":[1,[{\"k\":0,\"j\":0,\"k\":0}]]}", "duplicate key \"k\"");
	/* The outer object repeats a key after a nested object closed cleanly. */
	DUP("{\"a\":{\"a\":1},\"b\":2,\"a\":3}", "duplicate key \"a\"");
	/* Compared decoded: escapes of the same characters are the same key. */
	DUP("{\"a\":1,\"\\u0061\":2}", "duplicate key \"a\"");
	DUP("{\"\\u00e9\":1,\"\xc3\xa9\":2}", "duplicate key \"\xc3\xa9\"");
	DUP("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "duplicate key \"\xf0\x9f\x98\x80\"");
	DUP("{\"a/b\":1,\"a\\/b\":2}", "duplicate key \"a/b\"");
	DUP("{\"\\n\":1,\"\\u000a\":2}", "duplicate key \"\\n\"");	/* echoed escaped */
	DUP("{\"q\\\"\":1,\"q\\u0022\":2}", "duplicate key \"q\\\"\"");
	/* json-c keeps names as C strings: it would merge these two, so they are refused. */
	DUP("{\"a\\u0000b\":1,\"a\":2}", "duplicate key \"a\"");

	/* The same key in different objects, or as a value, is fine. */
	NODUP("{\"a\":{\"a\":{\"a\":1}}}");
	NODUP("[{\"a\":1},{\"a\":2},{\"a\":3}]");
	NODUP("{\"l\":[{\"id\":1,\"v\":2},{\"id\":2,\"v\":3}],\"id\":0}");
	NODUP("{\"a\":\"a\",\"b\":\"a\"}");
	NODUP("{\"a\":1,\"A\":2,\"a \":3,\"\\u0062\":4,\"ab\":5,\"\":6}");
	NODUP("{\"\\u00e9\":1,\"e\\u0301\":2}");	/* not normalised: two keys */
	NODUP("{}");
	NODUP("[]");
	NODUP("{\"a\":{},\"b\":{}}");

	/* Other refusals say nothing more. */
	CU_ASSERT_EQUAL(parse_why("{\"a\":1,}", 8, 16, why), PB_EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "");
	CU_ASSERT_EQUAL(parse_why("{\"a\":{\"b\":1}}", 13, 2, why), PB_EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "");
	/* A long key is echoed cut to 64 bytes, at a character boundary, with "..." after. */
	n = 0;
	big[n++] = '{';
	for (int r = 0; r < 2; r++) {
		if (r > 0)
			big[n++] = ',';
		big[n++] = '"';
		big[n++] = 'k';
		for (int i = 0; i < 40; i++) {
			big[n++] = '\xc3';	/* 40 times U+00E9: 81 bytes with the 'k' */
			big[n++] = '\xa9';
		}
		big[n++] = '"';
		big[n++] = ':';
		big[n++] = '0';
	}
	big[n++] = '}';
	CU_ASSERT_EQUAL(parse_why(big, n, 16, why), PB_EINVAL);
	CU_ASSERT_EQUAL(strncmp(why, "duplicate key \"k\xc3\xa9", 18), 0);
	/* "k" and 31 whole characters are 63 bytes: the 32nd would cross byte 64. */
	CU_ASSERT_EQUAL(strlen(why), strlen("duplicate key \"\"...") + 63);
	CU_ASSERT_STRING_EQUAL(why + strlen(why) - 5, "\xa9\"...");
	CU_ASSERT(utf8_valid(why, strlen(why)));
	/* A small buffer gets nothing rather than a cut message; NULL is allowed. */
	{
		struct json_object *o = NULL;
		static const char s[] = "{\"a\":1,\"a\":2}";
		char tiny[8] = "zzzzzzz";

		CU_ASSERT_EQUAL(json_parse_why(s, sizeof(s) - 1, 4, &o, tiny, sizeof(tiny)),
		    PB_EINVAL);
		CU_ASSERT_STRING_EQUAL(tiny, "");
		CU_ASSERT_EQUAL(json_parse_why(s, sizeof(s) - 1, 4, &o, NULL, 0), PB_EINVAL);
		CU_ASSERT_EQUAL(json_parse(s, sizeof(s) - 1, 4, &o), PB_EINVAL);
		CU_ASSERT_PTR_NULL(o);
	}
}

/* Many keys: sorted per object, so a big object costs n log n, and all are compared. */
static void
test_json_duplicates_many(void)
{
	enum { N = 20000 };
	struct buf b;
	char why[JSON_WHY_MAX];

	buf_init(&b, 1 << 20);
	CU_ASSERT_EQUAL_FATAL(buf_appendc(&b, '{'), PB_OK);
	for (int i = 0; i < N; i++)
		CU_ASSERT_EQUAL_FATAL(buf_appendf(&b, "%s\"k%d\":[{\"k%d\":%d}]", i > 0 ? "," : "",
		    i, i, i), PB_OK);
	CU_ASSERT_EQUAL_FATAL(buf_appendc(&b, '}'), PB_OK);
	CU_ASSERT_EQUAL(parse_why(buf_cstr(&b), b.len, 8, why), PB_OK);
	/* The same with the first key again at the very end. */
	b.len--;
	CU_ASSERT_EQUAL_FATAL(buf_appends(&b, ",\"k0\":1}"), PB_OK);
	CU_ASSERT_EQUAL(parse_why(buf_cstr(&b), b.len, 8, why), PB_EINVAL);
	CU_ASSERT_STRING_EQUAL(why, "duplicate key \"k0\"");
	buf_free(&b);
}

static void
test_utf8(void)
{
	CU_ASSERT(utf8_valid("", 0));
	CU_ASSERT(utf8_valid("plain", 5));
	CU_ASSERT(utf8_valid("\xc2\x80", 2));			/* U+0080 */
	CU_ASSERT(utf8_valid("\xef\xbf\xbf", 3));		/* U+FFFF */
	CU_ASSERT(utf8_valid("\xf4\x8f\xbf\xbf", 4));		/* U+10FFFF */
	CU_ASSERT(utf8_valid("a\0b", 3));			/* NUL is UTF-8 */
	CU_ASSERT(!utf8_valid("\xf4\x90\x80\x80", 4));		/* past U+10FFFF */
	CU_ASSERT(!utf8_valid("\xc1\xbf", 2));			/* overlong */
	CU_ASSERT(!utf8_valid("\xe0\x9f\xbf", 3));		/* overlong */
	CU_ASSERT(!utf8_valid("\xf0\x8f\xbf\xbf", 4));		/* overlong */
	CU_ASSERT(!utf8_valid("\xed\xbf\xbf", 3));		/* surrogate */
	CU_ASSERT(!utf8_valid("\xe2\x82", 2));			/* truncated */
	CU_ASSERT(!utf8_valid("\xe2\x82\xac", 2));		/* truncated by len */
	CU_ASSERT(!utf8_valid("\x80", 1));			/* lone continuation */
	CU_ASSERT(!utf8_valid("\xe2\x28\xa1", 3));		/* bad continuation */
	CU_ASSERT(!utf8_valid("\xf8\x88\x80\x80\x80", 5));	/* 5-byte form */
}

static void
test_json_helpers(void)
{
	static const char s[] =
	    "{\"s\":\"v\",\"i\":-5,\"b\":true,\"d\":1.5,\"o\":{\"p\":{\"q\":\"deep\"}}}";
	struct json_object *o = NULL, *x;
	struct buf b;
	int64_t i = 0;
	bool flag = false;

	CU_ASSERT_EQUAL_FATAL(json_parse(s, sizeof(s) - 1, 8, &o), PB_OK);
	CU_ASSERT_STRING_EQUAL(json_get_str(o, "s"), "v");
	CU_ASSERT_PTR_NULL(json_get_str(o, "i"));
	CU_ASSERT_PTR_NULL(json_get_str(o, "missing"));
	CU_ASSERT_PTR_NULL(json_get_str(NULL, "s"));
	CU_ASSERT(json_get_int64(o, "i", &i) && i == -5);
	CU_ASSERT(!json_get_int64(o, "d", &i));
	CU_ASSERT(!json_get_int64(o, "s", &i));
	CU_ASSERT(json_get_bool(o, "b", &flag) && flag);
	CU_ASSERT(!json_get_bool(o, "i", &flag));
	x = json_get_path(o, "o.p.q");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(x), "deep");
	CU_ASSERT_PTR_NULL(json_get_path(o, "o.x.q"));
	CU_ASSERT_PTR_NULL(json_get_path(o, "s.q"));
	buf_init(&b, 1024);
	CU_ASSERT_EQUAL(json_append(&b, json_get_path(o, "o")), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "{\"p\":{\"q\":\"deep\"}}");
	buf_free(&b);
	json_object_put(o);
}

static void
test_json_escape(void)
{
	struct buf b;
	static const char raw[] = "a\"b\\c\n\r\t\x01\x1f\x7f/\xc3\xa9\0z";

	buf_init(&b, 1024);
	CU_ASSERT_EQUAL(json_escape(&b, raw, sizeof(raw) - 1), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b),
	    "\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\\u007f/\xc3\xa9\\u0000z\"");
	buf_reset(&b);
	CU_ASSERT_EQUAL(json_escape(&b, "", 0), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "\"\"");
	buf_free(&b);
	/* Over the maximum: the buffer is freed. */
	buf_init(&b, 4);
	CU_ASSERT_EQUAL(json_escape(&b, "\n\n", 2), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	buf_free(&b);
}

static void
test_json_strict(void)
{
	struct json_object *o = NULL;

	/* What json-c's "strict" mode lets through, refused by the grammar check. */
	CU_ASSERT_EQUAL(P("{'a':1}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":NaN}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":Infinity}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":-Infinity}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":1.}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":1.e5}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":00}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":-01}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\t\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\x01\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\\ud800\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\\udc00\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\\ud800x\"}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"a\":\"\\ud800\\u0041\"}", 4), PB_EINVAL);
	/* Still JSON. */
	CU_ASSERT_EQUAL(P("{\"a\":\"\\ud83d\\ude00\",\"b\":-0.5e+10,\"c\":[true,false,null]}", 4),
	    PB_OK);
	CU_ASSERT_EQUAL(P("{\"a\":\"\x7f\\/\\b\\f\"}", 4), PB_OK);
	CU_ASSERT_EQUAL(P(" [ ] ", 4), PB_OK);
	/* Top-level scalars, as the header promises (null gives a NULL object). */
	CU_ASSERT_EQUAL(P("123", 4), PB_OK);
	CU_ASSERT_EQUAL(P("-1.5e3 ", 4), PB_OK);
	CU_ASSERT_EQUAL(P("true", 4), PB_OK);
	CU_ASSERT_EQUAL(P("\"s\"", 4), PB_OK);
	CU_ASSERT_EQUAL(json_parse("null", 4, 4, &o), PB_OK);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_EQUAL(json_parse("42", 2, 4, &o), PB_OK);
	CU_ASSERT_EQUAL(json_object_get_int(o), 42);
	json_object_put(o);
	CU_ASSERT_EQUAL(P("12 3", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("nul", 4), PB_EINVAL);
}

/* ---- the one-pass parser against the three passes it replaced (issue 15) ---- */

/* Both parsers agree on s at depths 1 to 5, 16 and 64. */
static void
agree(const char *s, size_t len)
{
	static const int depths[] = { 1, 2, 3, 4, 5, 16, 64 };

	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		if (!json_oracle_agrees(s, len, depths[i])) {
			fprintf(stderr, "disagree at depth %d on %.*s\n", depths[i], (int)len, s);
			CU_FAIL("json_parse_why and the oracle disagree");
		}
	}
}

#define AGREE(lit) agree(lit, sizeof(lit) - 1)

/* Parses lit at depth 16 and returns the tree (a new reference), failing when refused. */
static struct json_object *
tree(const char *s, size_t len)
{
	struct json_object *o = NULL;

	CU_ASSERT_EQUAL(json_parse(s, len, 16, &o), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(o);
	return o;
}

#define TREE(lit) tree(lit, sizeof(lit) - 1)

/* lit parses to a string of exactly the n bytes of want. */
static void
string_is(const char *s, size_t len, const char *want, size_t n)
{
	struct json_object *o = tree(s, len);

	if (o == NULL)
		return;
	CU_ASSERT(json_object_is_type(o, json_type_string));
	CU_ASSERT_EQUAL((size_t)json_object_get_string_len(o), n);
	CU_ASSERT(memcmp(json_object_get_string(o), want, n) == 0);
	json_object_put(o);
}

#define STRING_IS(lit, want) string_is(lit, sizeof(lit) - 1, want, sizeof(want) - 1)

/* lit is a number that serialises back as text, of json-c type t. */
static struct json_object *
number(const char *s, size_t len, enum json_type t, const char *text)
{
	struct json_object *o = tree(s, len);

	if (o == NULL)
		return NULL;
	CU_ASSERT(json_object_is_type(o, t));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), text);
	return o;
}

static void
test_json_strings_one_pass(void)
{
	/* Surrogate escapes: a pair is one character, anything else is refused. */
	STRING_IS("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
	STRING_IS("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80");
	STRING_IS("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	CU_ASSERT_EQUAL(P("\"\\ud800\"", 4), PB_EINVAL);		/* lone high */
	CU_ASSERT_EQUAL(P("\"\\udc00\"", 4), PB_EINVAL);		/* lone low */
	CU_ASSERT_EQUAL(P("\"\\udfff\\ud800\"", 4), PB_EINVAL);	/* the wrong way round */
	CU_ASSERT_EQUAL(P("\"\\ud800\\u0041\"", 4), PB_EINVAL);	/* high, then not low */
	CU_ASSERT_EQUAL(P("\"\\ud800\\ud800\"", 4), PB_EINVAL);	/* high, then high */
	CU_ASSERT_EQUAL(P("\"\\ud800\\n\"", 4), PB_EINVAL);		/* high, then another escape */
	CU_ASSERT_EQUAL(P("\"\\ud800\\", 4), PB_EINVAL);		/* cut after the high */
	CU_ASSERT_EQUAL(P("\"\\ud800\\udc0", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\\u12\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\\u12g4\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"\\udc00\":1}", 4), PB_EINVAL);		/* in a key too */
	AGREE("\"\\ud83d\\ude00\"");
	AGREE("\"\\ud800\"");
	AGREE("\"\\udc00\"");
	AGREE("\"\\ud800\\u0041\"");
	AGREE("\"\\ud800\\n\"");
	AGREE("\"\\ud800\\");
	AGREE("{\"\\ud83d\\ude00\":1,\"\\udc00\":2}");
	/*
	 * Pairs for U+xD800 to U+xDFFF of planes 1 to 16 are characters: json-c's tokener made
	 * U+FFFD of them (and one member of two such names); the oracle is told (json_oracle.c).
	 */
	STRING_IS("\"\\ud836\\udc00\"", "\xf0\x9d\xa0\x80");		/* U+1D800 */
	STRING_IS("\"\\ud837\\ude0b\"", "\xf0\x9d\xb8\x8b");		/* U+1DE0B */
	STRING_IS("\"\\udbf7\\udfff\"", "\xf4\x8d\xbf\xbf");		/* U+10DFFF */
	STRING_IS("\"\\ud836\\udc00\\u0041\"", "\xf0\x9d\xa0\x80" "A");
	{
		struct json_object *o = TREE("{\"\\ud836\\udc00\":1,\"\\ud836\\udc01\":2,\"\\ufffd\":3}");

		CU_ASSERT_EQUAL(json_object_object_length(o), 3);
		json_object_put(o);
	}
	DUP("{\"\\ud836\\udc00\":1,\"\xf0\x9d\xa0\x80\":2}", "duplicate key \"\xf0\x9d\xa0\x80\"");
	AGREE("{\"\\ud837\\ude0B\":\"0\",\"n\\\"\\ud83d\\ude0B\":\"\"}");	/* found by fuzz_json */
	AGREE("{\"\\ud836\\udc00\":1,\"\\ud836\\udc01\":2}");
	AGREE("[\"\\ud836\\udc00\\ud836\\udc00\",\"\\\\ud836\\udc00\",\"\\ud836\\udc00\\n\"]");
	/* Overlong forms, encoded surrogates, past U+10FFFF, cut sequences: in keys too. */
	CU_ASSERT_EQUAL(P("\"\xc0\x80\"", 4), PB_EINVAL);		/* overlong NUL */
	CU_ASSERT_EQUAL(P("\"\xc1\xbf\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xe0\x80\xaf\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xf0\x80\x80\xaf\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xed\xa0\x80\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xf4\x90\x80\x80\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xe2\x82\"", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xe2\x82", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{\"\xc0\xaf\":1}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\"\xff\"", 4), PB_EINVAL);
	STRING_IS("\"\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80\"", "\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80");
	/* Outside a string nothing but ASCII: not even a byte-order mark before the value. */
	CU_ASSERT_EQUAL(P("\xef\xbb\xbf{}", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("{}\xef\xbb\xbf", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("\xc2\xa0{}", 4), PB_EINVAL);		/* no-break space */
	AGREE("\"\xc0\x80\"");
	AGREE("\"\xe0\x80\xaf\"");
	AGREE("\"\xf0\x80\x80\xaf\"");
	AGREE("\"\xe2\x82");
	AGREE("\xef\xbb\xbf{}");
	/* A NUL escape is kept in a value, whose length says so; a raw NUL is refused. */
	STRING_IS("\"a\\u0000b\"", "a\0b");
	STRING_IS("\"\\u0000\"", "\0");
	CU_ASSERT_EQUAL(P("\"a\0b\"", 4), PB_EINVAL);
	AGREE("\"a\\u0000b\"");
	AGREE("[\"\\u0000\",\"x\\u0000\"]");
	AGREE("\"a\0b\"");
	/* In a name, json-c keeps what comes before it. */
	{
		struct json_object *o = TREE("{\"a\\u0000b\":1}"), *v;

		CU_ASSERT(json_object_object_get_ex(o, "a", &v));
		CU_ASSERT_EQUAL(json_object_object_length(o), 1);
		json_object_put(o);
	}
	AGREE("{\"a\\u0000b\":1}");
	AGREE("{\"a\\u0000b\":1,\"a\\u0000c\":2}");
	AGREE("{\"\\u0000\":1,\"\":2}");
	/* Every escape, and long strings past the scratch buffer's first size. */
	STRING_IS("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"", "\"\\/\b\f\n\r\t\xc3\xa9");
	AGREE("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"");
	AGREE("\"\\x\"");
	AGREE("\"\\\"");
	{
		char big[3000];
		size_t n = 0;

		big[n++] = '{';
		big[n++] = '"';
		for (int i = 0; i < 300; i++) {
			memcpy(big + n, "\\u00e9", 6);
			n += 6;
		}
		memcpy(big + n, "\":\"", 3);
		n += 3;
		for (int i = 0; i < 200; i++) {
			memcpy(big + n, "\\n", 2);
			n += 2;
		}
		memcpy(big + n, "\",\"k\":1.5e-3}", 13);
		n += 13;
		agree(big, n);
	}
}

static void
test_json_numbers_one_pass(void)
{
	struct json_object *o;

	o = number("-0", 2, json_type_int, "0");
	CU_ASSERT_EQUAL(json_object_get_int64(o), 0);
	json_object_put(o);
	o = number("-0.0", 4, json_type_double, "-0.0");
	json_object_put(o);
	/* Out of range for a double: infinity, written back as it came. */
	o = number("1e400", 5, json_type_double, "1e400");
	CU_ASSERT(json_object_get_double(o) > 1e308);
	json_object_put(o);
	o = number("-9223372036854775808", 20, json_type_int, "-9223372036854775808");
	CU_ASSERT_EQUAL(json_object_get_int64(o), INT64_MIN);
	json_object_put(o);
	/* Past INT64_MAX: a uint64, as the tokener makes it. */
	o = number("9223372036854775808", 19, json_type_int, "9223372036854775808");
	CU_ASSERT_EQUAL(json_object_get_uint64(o), (uint64_t)INT64_MAX + 1);
	CU_ASSERT_EQUAL(json_object_get_int64(o), INT64_MAX);
	json_object_put(o);
	o = number("18446744073709551615", 20, json_type_int, "18446744073709551615");
	CU_ASSERT_EQUAL(json_object_get_uint64(o), UINT64_MAX);
	json_object_put(o);
	/* Further out, clamped as strtoll and strtoull clamp (json-c 0.16, strict or not). */
	o = number("18446744073709551616", 20, json_type_int, "18446744073709551615");
	json_object_put(o);
	o = number("-9223372036854775809", 20, json_type_int, "-9223372036854775808");
	json_object_put(o);
	o = number("1.0", 3, json_type_double, "1.0");
	CU_ASSERT_EQUAL(json_object_get_double(o), 1.0);
	json_object_put(o);
	o = number("1E2", 3, json_type_double, "1E2");
	CU_ASSERT_EQUAL(json_object_get_double(o), 100.0);
	json_object_put(o);
	o = number("-12.5e-1", 8, json_type_double, "-12.5e-1");
	CU_ASSERT_EQUAL(json_object_get_double(o), -1.25);
	json_object_put(o);
	/* Not RFC 8259. */
	CU_ASSERT_EQUAL(P("01", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("-01", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("-", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("- 1", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1.", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P(".5", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1e", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1e+", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("+1", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("0x10", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1.5.2", 4), PB_EINVAL);
	CU_ASSERT_EQUAL(P("[1,]", 4), PB_EINVAL);
	static const char *const same[] = {
		"-0", "-0.0", "0", "0.0", "1e400", "-1e400", "1e-400", "-9223372036854775808",
		"-9223372036854775809", "9223372036854775807", "9223372036854775808",
		"18446744073709551615", "18446744073709551616", "99999999999999999999999999",
		"-99999999999999999999999999", "1.0", "1E2", "1e+2", "1E-2", "0e0", "123456789.123456789e10",
		"01", "-01", "-", "1.", ".5", "1e", "1e+", "+1", "1.5.2", "[1,-0,2.50]",
		"{\"n\":-0.0e-0}", "NaN", "Infinity", "-Infinity", "1 2", "2.2250738585072011e-308",
	};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		agree(same[i], strlen(same[i]));
}

/* n times open, then close, as text in a new buffer of *len bytes. */
static char *
nested(size_t n, const char *open, const char *middle, const char *close, size_t *len)
{
	size_t lo = strlen(open), lm = strlen(middle), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + lm), *p = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, middle, lm);
	p += lm;
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*len = (size_t)(p - s);
	return s;
}

/* Parses n nestings at max_depth: the outcome, and the oracle agrees. */
static enum pb_err
deep(size_t n, const char *open, const char *middle, const char *close, int max_depth)
{
	size_t len = 0;
	char *s = nested(n, open, middle, close, &len);
	enum pb_err err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	err = parse(s, len, max_depth);
	CU_ASSERT(json_oracle_agrees(s, len, max_depth));
	free(s);
	return err;
}

static void
test_json_depth_one_pass(void)
{
	/* Containers alone: max_depth of them; with a scalar inside, one fewer. */
	CU_ASSERT_EQUAL(deep(64, "[", "", "]", 64), PB_OK);
	CU_ASSERT_EQUAL(deep(65, "[", "", "]", 64), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(63, "[", "1", "]", 64), PB_OK);
	CU_ASSERT_EQUAL(deep(64, "[", "1", "]", 64), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(63, "{\"a\":", "{}", "}", 64), PB_OK);
	CU_ASSERT_EQUAL(deep(64, "{\"a\":", "{}", "}", 64), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(63, "{\"a\":", "\"s\"", "}", 64), PB_OK);
	CU_ASSERT_EQUAL(deep(64, "{\"a\":", "null", "}", 64), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(256, "[", "", "]", 256), PB_OK);
	CU_ASSERT_EQUAL(deep(257, "[", "", "]", 256), PB_EINVAL);
	/* Past 1,024 containers nothing is followed, whatever the depth asked. */
	CU_ASSERT_EQUAL(deep(1024, "[", "", "]", 5000), PB_OK);
	CU_ASSERT_EQUAL(deep(1025, "[", "", "]", 5000), PB_EINVAL);
	/* 100,000 open brackets are refused at the limit, long before the stack runs out. */
	CU_ASSERT_EQUAL(deep(100000, "[", "", "", 64), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(100000, "[", "", "]", 256), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(100000, "{\"a\":", "1", "}", 5000), PB_EINVAL);
	CU_ASSERT_EQUAL(deep(100000, "[{\"a\":", "", "}]", 1 << 30), PB_EINVAL);
	/* A depth below 1 leaves no room for any value. */
	CU_ASSERT_EQUAL(P("1", 0), PB_EINVAL);
	CU_ASSERT_EQUAL(P("[]", 0), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1", -1), PB_EINVAL);
	CU_ASSERT_EQUAL(P("1", 1), PB_OK);
	CU_ASSERT_EQUAL(P("[]", 1), PB_OK);
	CU_ASSERT_EQUAL(P("[1]", 1), PB_EINVAL);
}

static void
test_json_outcomes_one_pass(void)
{
	/* Only white space after the value; none of it alone is a value. */
	AGREE("");
	AGREE(" \t\r\n");
	AGREE("{} ");
	AGREE("{} x");
	AGREE("{}{}");
	AGREE("[] ,");
	AGREE("{}\0");
	AGREE("\v{}");
	AGREE("\f{}");
	AGREE("true false");
	AGREE("nul");
	AGREE("truex");
	AGREE("[tru]");
	AGREE("nulll");
	AGREE("{\"a\":1");
	AGREE("{\"a\"");
	AGREE("{\"a\":}");
	AGREE("{\"a\":1,}");
	AGREE("{,}");
	AGREE("[,1]");
	AGREE("{\"a\" 1}");
	AGREE("{1:1}");
	AGREE("{'a':1}");
	AGREE("{\"a\":1;\"b\":2}");
	AGREE("[1 2]");
	/* The literal null: OK and no object. */
	AGREE("null");
	AGREE(" null ");
	/* Which repeat is named, and when: as the sorting check did. */
	DUP("{\"b\":1,\"b\":2,\"a\":1,\"a\":2}", "duplicate key \"a\"");	/* the smallest */
	DUP("{\"a\":1,\"a\":{\"b\":1,\"b\":2}}", "duplicate key \"b\"");	/* the first to close */
	DUP("{\"x\":[1],\"a\":1,\"a\":2}", "duplicate key \"a\"");
	AGREE("{\"b\":1,\"b\":2,\"a\":1,\"a\":2}");
	AGREE("{\"a\":1,\"a\":{\"b\":1,\"b\":2}}");
	AGREE("{\"ab\":1,\"a\":2,\"ab\":3,\"a\":4}");
	AGREE("{\"x\":[1],\"a\":1,\"a\":2}");		/* too deep at 2 as well */
	AGREE("{\"a\":1,\"a\":2} x");			/* named: the object closed */
	AGREE("{\"a\":1,\"a\":2,");			/* not named: it never closed */
	AGREE("{\"a\":1,\"a\":2 \xff");
	AGREE("{\"x\":{\"a\":1,\"a\":2},\"y\":\"\xff\"}");	/* not named: not UTF-8 */
	AGREE("{\"x\":{\"a\":1,\"a\":2},\"y\":\"\xc3\xa9\"");
	AGREE("{\"a\":1,\"a\":2}\xc0");
	AGREE("[{\"a\":1,\"a\":2},{\"b\":1,\"b\":2}]");
	AGREE("{\"a\":1,\"\\u0061\":2,\"a\\u0000\":3}");
	AGREE("{\"\xc3\xa9\":1,\"\\u00e9\":2,\"e\":3,\"e\":4}");
	AGREE("[{\"a\":[{\"b\":1,\"b\":2}],\"a\":0}]");
}

/* The same Stripe events and objects the tests use: each parses the same both ways. */
static void
test_json_stripe_samples(void)
{
	static const char *const files[] = {
		"events/payment_intent.succeeded.json", "events/charge.refunded.json",
		"events/checkout.session.completed.json", "events/customer.subscription.updated.json",
		"events/invoice.paid.json", "objects/event.json", "objects/payment_intent.json",
		"objects/invoice.json", "objects/subscription.json", "spec.json",
	};
	char path[512];
	struct buf b;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		char chunk[4096];
		size_t n;

		CU_ASSERT_FATAL(snprintf(path, sizeof(path), "%s/tests/fixtures/stripe/%s",
		    getenv("srcdir") != NULL ? getenv("srcdir") : "../..", files[i]) <
		    (int)sizeof(path));
		f = fopen(path, "r");
		if (f == NULL) {
			fprintf(stderr, "%s: cannot open\n", path);
			CU_FAIL("a Stripe sample is missing");
			continue;
		}
		buf_init(&b, 1 << 24);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			CU_ASSERT_EQUAL_FATAL(buf_append(&b, chunk, n), PB_OK);
		fclose(f);
		CU_ASSERT_EQUAL(parse(buf_cstr(&b), b.len, 64), PB_OK);
		CU_ASSERT(json_oracle_agrees(buf_cstr(&b), b.len, 64));
		CU_ASSERT(json_oracle_agrees(buf_cstr(&b), b.len, 4));
		/* Cut short (at some 60 places), it is refused the same way too. */
		for (size_t cut = 0; cut < b.len; cut += b.len / 64 + 1)
			CU_ASSERT(json_oracle_agrees(buf_cstr(&b), cut, 64));
		buf_free(&b);
	}
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_json_limits),
	UNIT_TEST(test_json_duplicates),
	UNIT_TEST(test_json_duplicates_many),
	UNIT_TEST(test_json_strict),
	UNIT_TEST(test_json_strings_one_pass),
	UNIT_TEST(test_json_numbers_one_pass),
	UNIT_TEST(test_json_depth_one_pass),
	UNIT_TEST(test_json_outcomes_one_pass),
	UNIT_TEST(test_json_stripe_samples),
	UNIT_TEST(test_utf8),
	UNIT_TEST(test_json_helpers),
	UNIT_TEST(test_json_escape),
};

UNIT_MAIN("json", tests)
