/*
 * The util layer: buffers, the arena, JSON limits and helpers, strnum, configuration
 * text and environment, the error table, time formatting, randomness, secrets.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/rand.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"
#include "unit.h"

#include "../fuzz/json_oracle.h"

/* ---- buf ---- */

static void
test_buf_basic(void)
{
	struct buf b;
	char *p = NULL;
	size_t len = 0;

	buf_init(&b, 16);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "");
	CU_ASSERT_EQUAL(buf_append(&b, "abc", 3), PB_OK);
	CU_ASSERT_EQUAL(buf_appendc(&b, 'd'), PB_OK);
	CU_ASSERT_EQUAL(buf_appends(&b, "ef"), PB_OK);
	CU_ASSERT_EQUAL(b.len, 6);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "abcdef");
	CU_ASSERT(b.cap >= 7 && b.cap <= 17);
	buf_reset(&b);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_PTR_NOT_NULL(b.data);	/* the allocation is kept */
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "");
	CU_ASSERT_EQUAL(buf_appends(&b, "xy"), PB_OK);
	CU_ASSERT_EQUAL(buf_detach(&b, &p, &len), PB_OK);
	CU_ASSERT_STRING_EQUAL(p, "xy");
	CU_ASSERT_EQUAL(len, 2);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	free(p);
	/* Detaching an empty buffer still gives a string. */
	CU_ASSERT_EQUAL(buf_detach(&b, &p, NULL), PB_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p, "");
	free(p);
	/* A zero-length append makes the buffer a valid empty string. */
	CU_ASSERT_EQUAL(buf_append(&b, "", 0), PB_OK);
	CU_ASSERT_PTR_NOT_NULL(b.data);
	buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
}

static void
test_buf_max(void)
{
	struct buf b;

	buf_init(&b, 8);
	CU_ASSERT_EQUAL(buf_append(&b, "12345678", 8), PB_OK);	/* exactly max */
	CU_ASSERT_EQUAL(b.len, 8);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "12345678");
	/* One more byte: the error, and the contents are gone. */
	CU_ASSERT_EQUAL(buf_appendc(&b, '9'), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	CU_ASSERT_EQUAL(b.max, 8);	/* and the buffer is usable again */
	CU_ASSERT_EQUAL(buf_appends(&b, "ok"), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "ok");
	CU_ASSERT_EQUAL(buf_append(&b, "x", SIZE_MAX), PB_ETOOBIG);	/* no overflow */
	CU_ASSERT_PTR_NULL(b.data);
	buf_free(&b);
	buf_init(&b, 0);
	CU_ASSERT_EQUAL(buf_append(&b, "", 0), PB_OK);
	CU_ASSERT_EQUAL(buf_appendc(&b, 'a'), PB_ETOOBIG);
	buf_free(&b);
}

static void
test_buf_appendf(void)
{
	struct buf b;

	buf_init(&b, 32);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%s=%d;", "n", 42), PB_OK);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%05.1f|%x", 3.14159, 255u), PB_OK);
	CU_ASSERT_STRING_EQUAL(buf_cstr(&b), "n=42;003.1|ff");
	CU_ASSERT_EQUAL(b.len, strlen("n=42;003.1|ff"));
	CU_ASSERT_EQUAL(buf_appendf(&b, "%s", ""), PB_OK);
	CU_ASSERT_EQUAL(b.len, 13);
	/* Growth across the initial capacity, then past max. */
	buf_reset(&b);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%032d", 7), PB_OK);
	CU_ASSERT_EQUAL(b.len, 32);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%d", 1), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%033d", 7), PB_ETOOBIG);
	CU_ASSERT_PTR_NULL(b.data);
	buf_free(&b);
	/*
	 * Formatted into the spare capacity when it fits with its NUL (64 bytes first: 3 + 60
	 * fit), formatted again into a grown buffer when not (1 byte spare, 1 digit and a NUL),
	 * the text before intact either way.
	 */
	buf_init(&b, 1000);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%s", "abc"), PB_OK);
	CU_ASSERT_EQUAL(b.cap, 64);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%060d", 0), PB_OK);
	CU_ASSERT_EQUAL(b.cap, 64);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%d", 5), PB_OK);
	CU_ASSERT_EQUAL(b.cap, 128);
	CU_ASSERT_EQUAL(buf_appendf(&b, "%0200d", 9), PB_OK);
	CU_ASSERT_EQUAL_FATAL(b.len, 264);
	CU_ASSERT_EQUAL(memcmp(b.data, "abc", 3), 0);
	CU_ASSERT_EQUAL(strspn(b.data + 3, "0"), 60);
	CU_ASSERT_EQUAL(b.data[63], '5');
	CU_ASSERT_EQUAL(strspn(b.data + 64, "0"), 199);
	CU_ASSERT_STRING_EQUAL(b.data + 263, "9");
	buf_free(&b);
}

/* ---- arena ---- */

static int defer_log[8];
static size_t defer_n;

static void
record(void *p)
{
	if (defer_n < 8)
		defer_log[defer_n++] = *(int *)p;
}

static void
test_arena_alloc(void)
{
	struct arena a;
	unsigned char *p;
	char *s;
	size_t big = 100000;

	arena_init(&a, 1 << 20);
	p = arena_alloc(&a, 100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL((uintptr_t)p % _Alignof(max_align_t), 0);
	for (size_t i = 0; i < 100; i++)
		CU_ASSERT_EQUAL_FATAL(p[i], 0);
	p = arena_alloc(&a, 1);
	CU_ASSERT_EQUAL((uintptr_t)p % _Alignof(max_align_t), 0);
	CU_ASSERT_PTR_NOT_NULL(arena_alloc(&a, 0));
	/* Larger than a block gets a block of its own. */
	p = arena_alloc(&a, big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xab, big);
	CU_ASSERT_PTR_NULL(arena_calloc(&a, SIZE_MAX / 2, 4));	/* overflow */
	CU_ASSERT_PTR_NULL(arena_alloc(&a, SIZE_MAX - 8));
	s = arena_strndup(&a, "hello world", 5);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	s = arena_strdup(&a, "copy");
	CU_ASSERT_STRING_EQUAL(s, "copy");
	s = arena_printf(&a, "%s-%03d", "id", 7);
	CU_ASSERT_STRING_EQUAL(s, "id-007");
	arena_cleanup(&a);
	CU_ASSERT_EQUAL(a.used, 0);
	CU_ASSERT_PTR_NULL(a.head);
}

static void
test_arena_ceiling(void)
{
	struct arena a;
	size_t got = 0;

	arena_init(&a, 64 * 1024);
	while (arena_alloc(&a, 1000) != NULL)
		got += 1000;
	CU_ASSERT(got > 32 * 1024);
	CU_ASSERT(got <= 64 * 1024);
	CU_ASSERT(a.used <= a.max);
	CU_ASSERT_PTR_NULL(arena_alloc(&a, 64 * 1024));
	CU_ASSERT_PTR_NULL(arena_alloc(&a, 8192));	/* no room for another block */
	/* Reset gives the room back. */
	arena_reset(&a);
	CU_ASSERT_PTR_NOT_NULL(arena_alloc(&a, 1000));
	arena_cleanup(&a);
	/* One allocation over the whole ceiling. */
	arena_init(&a, 4096);
	CU_ASSERT_PTR_NULL(arena_alloc(&a, 1));	/* a block is 8 KiB */
	arena_cleanup(&a);
}

static void
test_arena_defer(void)
{
	static int one = 1, two = 2, three = 3, four = 4;
	struct arena a;

	arena_init(&a, 1 << 20);
	defer_n = 0;
	CU_ASSERT_EQUAL(arena_defer(&a, record, &one), PB_OK);
	CU_ASSERT_EQUAL(arena_defer(&a, record, &two), PB_OK);
	CU_ASSERT_EQUAL(arena_defer(&a, record, &three), PB_OK);
	CU_ASSERT_EQUAL(defer_n, 0);	/* nothing runs before the reset */
	arena_reset(&a);
	CU_ASSERT_EQUAL_FATAL(defer_n, 3);
	CU_ASSERT_EQUAL(defer_log[0], 3);	/* newest first */
	CU_ASSERT_EQUAL(defer_log[1], 2);
	CU_ASSERT_EQUAL(defer_log[2], 1);
	arena_reset(&a);
	CU_ASSERT_EQUAL(defer_n, 3);	/* each runs once */
	arena_cleanup(&a);
	/* When it cannot register, it runs the function at once. */
	arena_init(&a, 16);
	CU_ASSERT_EQUAL(arena_defer(&a, record, &four), PB_ENOMEM);
	CU_ASSERT_EQUAL_FATAL(defer_n, 4);
	CU_ASSERT_EQUAL(defer_log[3], 4);
	arena_cleanup(&a);
	CU_ASSERT_EQUAL(defer_n, 4);
}

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

/* ---- strnum ---- */

static void
test_strnum(void)
{
	long long v = -1;

	CU_ASSERT_EQUAL(strnum_parse("0", 10, 0, 10, &v), PB_OK);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(strnum_parse("1024", 10, 1, 1024, &v), PB_OK);
	CU_ASSERT_EQUAL(v, 1024);
	v = 7;
	CU_ASSERT_EQUAL(strnum_parse("1025", 10, 1, 1024, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(v, 7);	/* untouched on error */
	CU_ASSERT_EQUAL(strnum_parse("0", 10, 1, 1024, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("-1", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("-0", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("-5", 10, -10, 10, &v), PB_OK);
	CU_ASSERT_EQUAL(v, -5);
	CU_ASSERT_EQUAL(strnum_parse("-11", 10, -10, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("+5", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse(" 5", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("5 ", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("5x", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("", 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("-", 10, -10, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse(NULL, 10, 0, 10, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("9223372036854775807", 10, 0, LLONG_MAX, &v), PB_OK);
	CU_ASSERT_EQUAL(v, LLONG_MAX);
	CU_ASSERT_EQUAL(strnum_parse("9223372036854775808", 10, 0, LLONG_MAX, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("-9223372036854775808", 10, LLONG_MIN, 0, &v), PB_OK);
	CU_ASSERT_EQUAL(v, LLONG_MIN);
	CU_ASSERT_EQUAL(strnum_parse("-9223372036854775809", 10, LLONG_MIN, 0, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("0660", 8, 0, 0777, &v), PB_OK);
	CU_ASSERT_EQUAL(v, 0660);
	CU_ASSERT_EQUAL(strnum_parse("8", 8, 0, 0777, &v), PB_EINVAL);
	CU_ASSERT_EQUAL(strnum_parse("ff", 16, 0, 255, &v), PB_OK);
	CU_ASSERT_EQUAL(v, 255);
	CU_ASSERT_EQUAL(strnum_parse("1e3", 10, 0, 10000, &v), PB_EINVAL);
}

/* ---- conf ---- */

static enum pb_err
conf_text(struct conf *c, const char *text, bool secrets, char *err, size_t errlen)
{
	err[0] = '\0';
	return conf_parse_text(c, "test.conf", text, strlen(text), secrets, err, errlen);
}

static void
test_conf_defaults(void)
{
	struct conf c;

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(c.workers, 8);
	CU_ASSERT_EQUAL(c.listen_mode, 0660);
	CU_ASSERT_EQUAL(c.max_body_bytes, 1048576);
	CU_ASSERT_EQUAL(c.json_max_depth, 32);
	CU_ASSERT_STRING_EQUAL(c.listen, "unix:/run/paybridge/paybridge.sock");
	CU_ASSERT_STRING_EQUAL(c.log_level, "info");
	CU_ASSERT_STRING_EQUAL(c.jwt_secret, "");
	conf_free(&c);
	CU_ASSERT_PTR_NULL(c.listen);
	CU_ASSERT_PTR_NULL(c.jwt_secret);
}

static void
test_conf_parse(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(conf_text(&c,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "workers = 4\n"
	    "\tlisten=unix:/tmp/pb.sock   \r\n"
	    "listen_mode = 0600\n"
	    "db_name = with = sign\n"
	    "log_level = debug", false, err, sizeof(err)), PB_OK);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(c.workers, 4);
	CU_ASSERT_STRING_EQUAL(c.listen, "unix:/tmp/pb.sock");
	CU_ASSERT_EQUAL(c.listen_mode, 0600);
	CU_ASSERT_STRING_EQUAL(c.db_name, "with = sign");
	CU_ASSERT_STRING_EQUAL(c.log_level, "debug");
	/* The empty value is a value. */
	CU_ASSERT_EQUAL(conf_text(&c, "listen_group =\n", false, err, sizeof(err)), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.listen_group, "");
	conf_free(&c);
}

static void
check_conf_error(const char *text, bool secrets, const char *want)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(conf_text(&c, text, secrets, err, sizeof(err)), PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err, want);
	conf_free(&c);
}

static void
test_conf_errors(void)
{
	check_conf_error("workers = 4\nbogus = 1\n", false, "test.conf:2: bogus: unknown key");
	check_conf_error("# c\n\nworkers = many\n", false,
	    "test.conf:3: workers: must be an integer between 1 and 1024");
	check_conf_error("workers = 0\n", false,
	    "test.conf:1: workers: must be an integer between 1 and 1024");
	check_conf_error("workers = 1025\n", false,
	    "test.conf:1: workers: must be an integer between 1 and 1024");
	check_conf_error("workers = 8 # eight\n", false,
	    "test.conf:1: workers: must be an integer between 1 and 1024");
	check_conf_error("listen_mode = 0999\n", false,
	    "test.conf:1: listen_mode: must be an octal mode between 0 and 777");
	check_conf_error("\n\n\n\njust words\n", false, "test.conf:5: expected key = value");
	check_conf_error("log_level = loud\n", false,
	    "test.conf:1: log_level: must be one of debug, info, warn, error");
	check_conf_error("stripe_api_base = ftp://x\n", false,
	    "test.conf:1: stripe_api_base: must be an http:// or https:// URL");
	check_conf_error("jwt_secret = 0123456789abcdef0123456789abcdef\n", false,
	    "test.conf:1: jwt_secret: secrets may not be kept in a file that other users "
	    "can read; use the environment or a systemd credential");
	check_conf_error("workers = 2\r\ndb_password = x\r\n", false,
	    "test.conf:2: db_password: secrets may not be kept in a file that other users "
	    "can read; use the environment or a systemd credential");
}

static void
test_conf_secrets_and_nul(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];
	static const char nul[] = "workers = 4\nlisten = a\0b\n";

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(conf_text(&c, "jwt_secret = 0123456789abcdef0123456789abcdef\n", true,
	    err, sizeof(err)), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.jwt_secret, "0123456789abcdef0123456789abcdef");
	CU_ASSERT_EQUAL(conf_parse_text(&c, "test.conf", nul, sizeof(nul) - 1, false, err,
	    sizeof(err)), PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err, "test.conf:2: NUL byte in line");
	conf_free(&c);
}

static void
test_conf_env(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(setenv("PAYBRIDGE_WORKERS", "12", 1), 0);
	CU_ASSERT_EQUAL(setenv("PAYBRIDGE_DB_NAME", "envdb", 1), 0);
	CU_ASSERT_EQUAL(setenv("STRIPE_SECRET_KEY", "sk_test_alias", 1), 0);
	CU_ASSERT_EQUAL(conf_apply_env(&c, err, sizeof(err)), PB_OK);
	CU_ASSERT_EQUAL(c.workers, 12);
	CU_ASSERT_STRING_EQUAL(c.db_name, "envdb");
	CU_ASSERT_STRING_EQUAL(c.stripe_secret_key, "sk_test_alias");
	/* The PAYBRIDGE_ name wins over the conventional one. */
	CU_ASSERT_EQUAL(setenv("PAYBRIDGE_STRIPE_SECRET_KEY", "sk_test_ours", 1), 0);
	CU_ASSERT_EQUAL(conf_apply_env(&c, err, sizeof(err)), PB_OK);
	CU_ASSERT_STRING_EQUAL(c.stripe_secret_key, "sk_test_ours");
	/* A bad value names the variable, the key and the rule. */
	CU_ASSERT_EQUAL(setenv("PAYBRIDGE_WORKERS", "0", 1), 0);
	CU_ASSERT_EQUAL(conf_apply_env(&c, err, sizeof(err)), PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err,
	    "environment PAYBRIDGE_WORKERS: workers: must be an integer between 1 and 1024");
	unsetenv("PAYBRIDGE_WORKERS");
	unsetenv("PAYBRIDGE_DB_NAME");
	unsetenv("STRIPE_SECRET_KEY");
	unsetenv("PAYBRIDGE_STRIPE_SECRET_KEY");
	conf_free(&c);
}

static void
test_conf_validate(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(conf_defaults(&c), PB_OK);
	CU_ASSERT_EQUAL(conf_validate(&c, err, sizeof(err)), PB_OK);
	CU_ASSERT_EQUAL(conf_text(&c, "jwt_secret = 0123456789abcdef0123456789abcde\n", true,
	    err, sizeof(err)), PB_OK);	/* 31 bytes */
	CU_ASSERT_EQUAL(conf_validate(&c, err, sizeof(err)), PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err, "jwt_secret: must be at least 32 bytes");
	CU_ASSERT_EQUAL(conf_text(&c, "jwt_secret = 0123456789abcdef0123456789abcdef\n", true,
	    err, sizeof(err)), PB_OK);	/* 32 bytes */
	CU_ASSERT_EQUAL(conf_validate(&c, err, sizeof(err)), PB_OK);
	CU_ASSERT_EQUAL(conf_text(&c, "listen = nowhere\n", false, err, sizeof(err)), PB_OK);
	CU_ASSERT_EQUAL(conf_validate(&c, err, sizeof(err)), PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err, "listen: must be unix:/absolute/path, host:port or fd:0");
	CU_ASSERT_EQUAL(conf_text(&c, "listen = 127.0.0.1:9000\n", false, err, sizeof(err)),
	    PB_OK);
	CU_ASSERT_EQUAL(conf_validate(&c, err, sizeof(err)), PB_OK);
	conf_free(&c);
}

static void
test_conf_load_missing(void)
{
	struct conf c;
	char err[CONF_ERR_MAX];

	/* A missing file is fine unless required; required, it names the file. */
	CU_ASSERT_EQUAL(conf_load(&c, "/nonexistent/paybridge.conf", false, err, sizeof(err)),
	    PB_OK);
	CU_ASSERT_EQUAL(c.workers, 8);
	conf_free(&c);
	CU_ASSERT_EQUAL(conf_load(&c, "/nonexistent/paybridge.conf", true, err, sizeof(err)),
	    PB_ECONFIG);
	CU_ASSERT_STRING_EQUAL(err, "/nonexistent/paybridge.conf: No such file or directory");
}

/* ---- err ---- */

static void
test_err_table(void)
{
	for (int e = PB_OK; e < PB_E__MAX; e++) {
		const char *code = pb_err_code((enum pb_err)e);
		int status = pb_err_status((enum pb_err)e);

		CU_ASSERT_PTR_NOT_NULL_FATAL(code);
		CU_ASSERT(strlen(code) > 0 && strspn(code, "abcdefghijklmnopqrstuvwxyz_") ==
		    strlen(code));
		CU_ASSERT(strlen(pb_strerror((enum pb_err)e)) > 0);
		CU_ASSERT(status >= 200 && status <= 599);
	}
	CU_ASSERT_EQUAL(pb_err_status(PB_OK), 200);
	CU_ASSERT_EQUAL(pb_err_status(PB_EINVAL), 400);
	CU_ASSERT_STRING_EQUAL(pb_err_code(PB_EINVAL), "bad_request");
	CU_ASSERT_EQUAL(pb_err_status(PB_EFIELDS), 422);
	CU_ASSERT_EQUAL(pb_err_status(PB_EAUTH), 401);
	CU_ASSERT_EQUAL(pb_err_status(PB_EFORBIDDEN), 403);
	CU_ASSERT_EQUAL(pb_err_status(PB_ENOTFOUND), 404);
	CU_ASSERT_EQUAL(pb_err_status(PB_EMETHOD), 405);
	CU_ASSERT_EQUAL(pb_err_status(PB_ECONFLICT), 409);
	CU_ASSERT_EQUAL(pb_err_status(PB_ETOOBIG), 413);
	CU_ASSERT_STRING_EQUAL(pb_err_code(PB_ETOOBIG), "payload_too_large");
	CU_ASSERT_EQUAL(pb_err_status(PB_EMEDIA), 415);
	CU_ASSERT_EQUAL(pb_err_status(PB_ERATE), 429);
	CU_ASSERT_EQUAL(pb_err_status(PB_EDB), 503);
	CU_ASSERT_EQUAL(pb_err_status(PB_ESTRIPE), 502);
	CU_ASSERT_EQUAL(pb_err_status(PB_ETIMEOUT), 504);
	CU_ASSERT_EQUAL(pb_err_status(PB_ESYSTEM), 500);
	CU_ASSERT_EQUAL(pb_err_status(PB_ENOMEM), 500);
	/* Outside the table: internal, never a crash. */
	CU_ASSERT_EQUAL(pb_err_status(PB_E__MAX), 500);
	CU_ASSERT_EQUAL(pb_err_status((enum pb_err)-1), 500);
	CU_ASSERT_STRING_EQUAL(pb_err_code(PB_E__MAX), "internal_error");
	CU_ASSERT_STRING_EQUAL(pb_strerror(PB_E__MAX), "unknown error");
}

/* ---- time, rand, secure ---- */

static void
test_time(void)
{
	char ts[TIME_ISO8601_LEN], tiny[8];
	int64_t a, b;

	time_iso8601(0, ts, sizeof(ts));
	CU_ASSERT_STRING_EQUAL(ts, "1970-01-01T00:00:00.000000Z");
	time_iso8601(1700000000123456LL, ts, sizeof(ts));
	CU_ASSERT_STRING_EQUAL(ts, "2023-11-14T22:13:20.123456Z");
	time_iso8601(951782400000001LL, ts, sizeof(ts));	/* a leap day */
	CU_ASSERT_STRING_EQUAL(ts, "2000-02-29T00:00:00.000001Z");
	time_iso8601(-1, ts, sizeof(ts));
	CU_ASSERT_STRING_EQUAL(ts, "1969-12-31T23:59:59.999999Z");
	time_iso8601(-1500000, ts, sizeof(ts));
	CU_ASSERT_STRING_EQUAL(ts, "1969-12-31T23:59:58.500000Z");
	time_iso8601(0, tiny, sizeof(tiny));
	CU_ASSERT_STRING_EQUAL(tiny, "");	/* truncated: nothing rather than half */
	a = time_mono_us();
	time_sleep_us(2000);
	b = time_mono_us();
	CU_ASSERT(b - a >= 2000);
	CU_ASSERT(time_real_us() > 1700000000000000LL);
}

static void
test_rand(void)
{
	char h1[33], h2[33], uuid[RAND_UUID_LEN];
	unsigned char zero[32] = { 0 }, bytes[32] = { 0 };

	CU_ASSERT_EQUAL(rand_hex(h1, 16), PB_OK);
	CU_ASSERT_EQUAL(rand_hex(h2, 16), PB_OK);
	CU_ASSERT_EQUAL(strlen(h1), 32);
	CU_ASSERT_EQUAL(strspn(h1, "0123456789abcdef"), 32);
	CU_ASSERT_STRING_NOT_EQUAL(h1, h2);
	CU_ASSERT_EQUAL(rand_bytes(bytes, sizeof(bytes)), PB_OK);
	CU_ASSERT(memcmp(bytes, zero, sizeof(bytes)) != 0);
	CU_ASSERT_EQUAL(rand_uuid4(uuid), PB_OK);
	CU_ASSERT_EQUAL(strlen(uuid), 36);
	CU_ASSERT(uuid[8] == '-' && uuid[13] == '-' && uuid[18] == '-' && uuid[23] == '-');
	CU_ASSERT_EQUAL(uuid[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", uuid[19]));
	CU_ASSERT_EQUAL(rand_below(0), 0);
	CU_ASSERT_EQUAL(rand_below(1), 0);
	for (int i = 0; i < 100; i++)
		CU_ASSERT(rand_below(3) < 3);
}

static void
test_secure(void)
{
	char s[] = "secret";

	CU_ASSERT(secure_equal("abc", "abc", 3));
	CU_ASSERT(!secure_equal("abc", "abd", 3));
	CU_ASSERT(secure_equal("abc", "abd", 2));
	CU_ASSERT(secure_streq("token", "token"));
	CU_ASSERT(!secure_streq("token", "tokens"));
	CU_ASSERT(!secure_streq("tokens", "token"));
	CU_ASSERT(!secure_streq("token", "tokeN"));
	CU_ASSERT(secure_streq("", ""));
	secure_wipe(s, sizeof(s) - 1);
	CU_ASSERT_EQUAL(memcmp(s, "\0\0\0\0\0\0", 7), 0);
	secure_wipe(NULL, 5);
	secure_free_str(NULL);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_buf_basic),
	UNIT_TEST(test_buf_max),
	UNIT_TEST(test_buf_appendf),
	UNIT_TEST(test_arena_alloc),
	UNIT_TEST(test_arena_ceiling),
	UNIT_TEST(test_arena_defer),
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
	UNIT_TEST(test_strnum),
	UNIT_TEST(test_conf_defaults),
	UNIT_TEST(test_conf_parse),
	UNIT_TEST(test_conf_errors),
	UNIT_TEST(test_conf_secrets_and_nul),
	UNIT_TEST(test_conf_env),
	UNIT_TEST(test_conf_validate),
	UNIT_TEST(test_conf_load_missing),
	UNIT_TEST(test_err_table),
	UNIT_TEST(test_time),
	UNIT_TEST(test_rand),
	UNIT_TEST(test_secure),
};

UNIT_MAIN("util", tests)
