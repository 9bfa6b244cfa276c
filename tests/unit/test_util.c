/*
 * The util layer: buffers, the arena, strnum, configuration
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
#include "util/rand.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"
#include "unit.h"

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
