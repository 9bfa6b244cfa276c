/*
 * The storage layer against a real MariaDB (never a mock): the wrapper's types, errors,
 * statement cache, transactions, deadlock retry and reconnection, and the migrator.
 *
 * Run it with tests/integration/run-repo.sh, which starts a private server and sets
 * PAYBRIDGE_DB_* (how to connect) and PAYBRIDGE_TEST_MARIADB_SH / _DIR (how to restart
 * it). Without a reachable server the program fails loudly: it never skips.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/unit.h"
#include "repo/db.h"
#include "repo/migrate.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/timeutil.h"

static struct conf conf;
static struct db *db;
static struct arena arena;

#define OK(x) CU_ASSERT_EQUAL_FATAL((x), PB_OK)

static int64_t
count(const char *sql)
{
	struct db_result r;

	CU_ASSERT_EQUAL_FATAL(db_query_one(db, &arena, sql, DB_NOARGS, &r), PB_OK);
	return db_int(&r, 0, 0);
}

/* Stops and starts the private server through script/lib/mariadb.sh. */
static void
server(const char *what)
{
	const char *sh = getenv("PAYBRIDGE_TEST_MARIADB_SH");
	const char *dir = getenv("PAYBRIDGE_TEST_MARIADB_DIR");
	char cmd[2048];
	int n;

	if (sh == NULL || dir == NULL) {
		CU_FAIL_FATAL("PAYBRIDGE_TEST_MARIADB_SH and _DIR are unset: use run-repo.sh");
		return;
	}
	n = snprintf(cmd, sizeof(cmd), "bash '%s' %s '%s' >/dev/null", sh, what, dir);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(cmd));
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* ---- the wrapper ---- */

static void
test_session(void)
{
	struct db_result r;

	OK(db_ping(db, 1000));
	OK(db_query_one(db, &arena,
	    "SELECT @@session.time_zone, @@session.sql_mode, @@character_set_connection",
	    DB_NOARGS, &r));
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 0), "+00:00");
	CU_ASSERT_PTR_NOT_NULL(strstr(db_str(&r, 0, 1), "STRICT_ALL_TABLES"));
	CU_ASSERT_PTR_NOT_NULL(strstr(db_str(&r, 0, 1), "NO_ZERO_DATE"));
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 2), "utf8mb4");
}

static void
test_types(void)
{
	static const char big_fill = 'x';
	static const char emoji[] = "na\xc3\xafve \xf0\x9f\x92\xb3 caf\xc3\xa9";
	static const char bin[] = { 'a', '\0', 'b', '\xff' };
	const int64_t when = 1700000000123456LL, before = -1;	/* 1969-12-31 23:59:59.999999 */
	struct db_result r;
	uint64_t affected = 0, id1 = 0, id2 = 0;
	size_t biglen = 100000;
	char *big, copy[8];

	OK(db_exec(db, "DROP TABLE IF EXISTS repo_t_types", DB_NOARGS, NULL, NULL));
	OK(db_exec(db,
	    "CREATE TABLE repo_t_types (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, "
	    "i BIGINT NULL, u BIGINT UNSIGNED NULL, s VARCHAR(100) NULL, t MEDIUMTEXT NULL, "
	    "b VARBINARY(10) NULL, d DATETIME(6) NULL, e ENUM('one','two') NULL, "
	    "f TINYINT(1) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", DB_NOARGS, NULL, NULL));
	big = malloc(biglen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, big_fill, biglen);
	static const char ins[] = "INSERT INTO repo_t_types (i, u, s, t, b, d, e, f) "
				  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
	OK(db_exec(db, ins,
	    DB_ARGS(DB_INT(INT64_MIN), DB_UINT(UINT64_MAX), DB_STR(emoji), DB_STRN(big, biglen),
		DB_STRN(bin, sizeof(bin)), DB_TIME(when), DB_STR("two"), DB_BOOL(true)),
	    &affected, &id1));
	CU_ASSERT_EQUAL(affected, 1);
	CU_ASSERT(id1 > 0);
	OK(db_exec(db, ins,
	    DB_ARGS(DB_NULL, DB_NULL, DB_STR(NULL), DB_NULL, DB_NULL, DB_NULL, DB_NULL, DB_NULL),
	    NULL, &id2));
	CU_ASSERT_EQUAL(id2, id1 + 1);

	OK(db_query(db, &arena,
	    "SELECT id, i, u, s, t, b, d, e, f, UNIX_TIMESTAMP(d) FROM repo_t_types "
	    "WHERE id IN (?, ?) ORDER BY id", DB_ARGS(DB_UINT(id1), DB_UINT(id2)), &r));
	CU_ASSERT_EQUAL_FATAL(r.nrows, 2);
	CU_ASSERT_EQUAL(r.ncols, 10);
	CU_ASSERT_EQUAL(db_uint(&r, 0, 0), id1);
	CU_ASSERT_EQUAL(db_int(&r, 0, 1), INT64_MIN);
	CU_ASSERT_EQUAL(db_uint(&r, 0, 2), UINT64_MAX);
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 3), emoji);
	CU_ASSERT_EQUAL(db_len(&r, 0, 4), biglen);
	CU_ASSERT(db_str(&r, 0, 4) != NULL && memcmp(db_str(&r, 0, 4), big, biglen) == 0);
	CU_ASSERT_EQUAL(db_len(&r, 0, 5), sizeof(bin));
	CU_ASSERT(db_str(&r, 0, 5) != NULL && memcmp(db_str(&r, 0, 5), bin, sizeof(bin)) == 0);
	CU_ASSERT_EQUAL(db_cell(&r, 0, 6)->type, DB_TTIME);
	CU_ASSERT_EQUAL(db_time(&r, 0, 6), when);
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 7), "two");
	CU_ASSERT_TRUE(db_bool(&r, 0, 8));
	/* The server reads the stored DATETIME as the same instant. */
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 9), "1700000000.123456");
	for (size_t c = 1; c < 9; c++) {
		CU_ASSERT_TRUE(db_isnull(&r, 1, c));
		CU_ASSERT_PTR_NULL(db_str(&r, 1, c));
		CU_ASSERT_EQUAL(db_int(&r, 1, c), 0);
	}
	/* Out of range reads as NULL. */
	CU_ASSERT_TRUE(db_isnull(&r, 2, 0));
	CU_ASSERT_TRUE(db_isnull(&r, 0, 10));
	CU_ASSERT_EQUAL(db_copy_str(&r, 0, 7, copy, sizeof(copy)), PB_OK);
	CU_ASSERT_STRING_EQUAL(copy, "two");
	CU_ASSERT_EQUAL(db_copy_str(&r, 0, 3, copy, sizeof(copy)), PB_ETOOBIG);
	CU_ASSERT_EQUAL(db_copy_str(&r, 0, 1, copy, sizeof(copy)), PB_EINVAL);
	CU_ASSERT_EQUAL(db_copy_str(&r, 1, 3, copy, sizeof(copy)), PB_OK);
	CU_ASSERT_STRING_EQUAL(copy, "");
	free(big);

	/* Before the epoch, and the server's clock against ours. */
	OK(db_exec(db, "UPDATE repo_t_types SET d = ? WHERE id = ?",
	    DB_ARGS(DB_TIME(before), DB_UINT(id2)), &affected, NULL));
	OK(db_query_one(db, &arena,
	    "SELECT d, DATE_FORMAT(d, '%Y-%m-%d %H:%i:%s.%f'), CURRENT_TIMESTAMP(6) "
	    "FROM repo_t_types WHERE id = ?", DB_ARGS(DB_UINT(id2)), &r));
	CU_ASSERT_EQUAL(db_time(&r, 0, 0), before);
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 1), "1969-12-31 23:59:59.999999");
	CU_ASSERT(llabs((long long)(db_time(&r, 0, 2) - time_real_us())) < 5000000LL);

	/* A DECIMAL without a fraction reads as an integer, and is refused past int64_t. */
	OK(db_query_one(db, &arena, "SELECT SUM(i), SUM(u) - 1, AVG(f) FROM repo_t_types "
				    "WHERE id = ?", DB_ARGS(DB_UINT(id2)), &r));
	CU_ASSERT_TRUE(db_isnull(&r, 0, 0));
	CU_ASSERT_EQUAL(count("SELECT SUM(f) + 41 FROM repo_t_types"), 42);
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT SUM(u) FROM repo_t_types", DB_NOARGS,
			    &r), PB_EDB);
	OK(db_query_one(db, &arena, "SELECT AVG(f) FROM repo_t_types", DB_NOARGS, &r));
	CU_ASSERT_STRING_EQUAL(db_str(&r, 0, 0), "1.0000");

	/* An UPDATE counts the rows it found, changed or not. */
	OK(db_exec(db, "UPDATE repo_t_types SET e = 'two' WHERE id = ?", DB_ARGS(DB_UINT(id1)),
	    &affected, NULL));
	CU_ASSERT_EQUAL(affected, 1);
	arena_reset(&arena);
}

static void
test_errors(void)
{
	struct db_result r;

	OK(db_exec(db, "DROP TABLE IF EXISTS repo_t_uniq", DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "CREATE TABLE repo_t_uniq (id INT PRIMARY KEY, k VARCHAR(20) UNIQUE)",
	    DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "INSERT INTO repo_t_uniq VALUES (?, ?)", DB_ARGS(DB_INT(1), DB_STR("a")),
	    NULL, NULL));
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO repo_t_uniq VALUES (?, ?)",
			    DB_ARGS(DB_INT(2), DB_STR("a")), NULL, NULL), PB_ECONFLICT);
	CU_ASSERT_EQUAL(db_errno_last(db), 1062);
	/* Strict mode: too long is an error, not a silent truncation. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO repo_t_uniq VALUES (?, ?)",
			    DB_ARGS(DB_INT(3), DB_STR("0123456789012345678901")), NULL, NULL),
	    PB_EDB);
	CU_ASSERT_EQUAL(db_errno_last(db), 1406);
	/* Wrong number of parameters, bad SQL. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO repo_t_uniq VALUES (?, ?)",
			    DB_ARGS(DB_INT(4)), NULL, NULL), PB_EDB);
	CU_ASSERT_EQUAL(db_exec(db, "SELEKT 1", DB_NOARGS, NULL, NULL), PB_EDB);
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT k FROM repo_t_uniq WHERE id = ?",
			    DB_ARGS(DB_INT(99)), &r), PB_ENOTFOUND);
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT 1 UNION ALL SELECT 2", DB_NOARGS, &r),
	    PB_EDB);
	/* The connection is still fine after all that. */
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_uniq"), 1);
	arena_reset(&arena);
}

static int64_t
prepares(void)
{
	return count("SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.SESSION_STATUS "
		     "WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'");
}

static void
test_statement_cache(void)
{
	static const char literal[] = "SELECT ? + 1";
	static char copy[sizeof(literal)];
	struct db_result r;
	int64_t before;

	memcpy(copy, literal, sizeof(literal));
	(void)prepares();	/* prepared once here, then cached */
	before = prepares();
	for (int i = 0; i < 3; i++) {
		OK(db_query_one(db, &arena, literal, DB_ARGS(DB_INT(i)), &r));
		CU_ASSERT_EQUAL(db_int(&r, 0, 0), i + 1);
		/* Same text at another address: found by text, not prepared again. */
		OK(db_query_one(db, &arena, copy, DB_ARGS(DB_INT(i)), &r));
		CU_ASSERT_EQUAL(db_int(&r, 0, 0), i + 1);
	}
	CU_ASSERT_EQUAL(prepares() - before, 1);
	arena_reset(&arena);
}

/* Seats that are never free: every take is refused, and counted. */
static int seat_takes;

static enum pb_err
no_seat(void *ctx, int64_t wait_until_us)
{
	(void)ctx;
	(void)wait_until_us;
	seat_takes++;
	return PB_EBUSY;
}

static void
no_give(void *ctx)
{
	(void)ctx;
	CU_FAIL("a seat was given back that was never taken");
}

static int64_t
no_oldest(const void *ctx)
{
	(void)ctx;
	return 0;
}

/* With every seat held a statement is refused, unless seats are waived for it. */
static void
test_seats_waived(void)
{
	const struct db_seats full = { .take = no_seat, .give = no_give, .oldest_us = no_oldest,
	    .wait_us = 1000 };
	struct db_result r;

	db_set_seats(db, &full);
	seat_takes = 0;
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT 1", DB_NOARGS, &r), PB_EBUSY);
	CU_ASSERT_EQUAL(seat_takes, 1);
	db_waive_seats(db, true);
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT 2", DB_NOARGS, &r), PB_OK);
	CU_ASSERT_EQUAL(db_int(&r, 0, 0), 2);
	db_waive_seats(db, false);
	CU_ASSERT_EQUAL(seat_takes, 1);
	CU_ASSERT_EQUAL(db_query_one(db, &arena, "SELECT 3", DB_NOARGS, &r), PB_EBUSY);
	db_set_seats(db, NULL);
	arena_reset(&arena);
}

struct tx_arg {
	int calls;
	enum pb_err fail;	/* returned after the insert */
	int id;
};

static enum pb_err
tx_insert(struct db *d, void *p)
{
	struct tx_arg *a = p;
	enum pb_err rc;

	a->calls++;
	rc = db_exec(d, "INSERT INTO repo_t_uniq VALUES (?, ?)",
	    DB_ARGS(DB_INT(a->id), DB_STR(NULL)), NULL, NULL);
	return rc != PB_OK ? rc : a->fail;
}

static void
test_transactions(void)
{
	struct tx_arg ok = { .id = 10 }, bad = { .fail = PB_EFIELDS, .id = 11 };
	struct tx_arg dup = { .id = 1 };

	OK(db_tx(db, tx_insert, &ok));
	CU_ASSERT_EQUAL(ok.calls, 1);
	CU_ASSERT_FALSE(db_in_tx(db));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_uniq WHERE id = 10"), 1);
	CU_ASSERT_EQUAL(db_tx(db, tx_insert, &bad), PB_EFIELDS);
	CU_ASSERT_EQUAL(bad.calls, 1);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_uniq WHERE id = 11"), 0);
	/* A duplicate key is an answer, not a reason to retry. */
	CU_ASSERT_EQUAL(db_tx(db, tx_insert, &dup), PB_ECONFLICT);
	CU_ASSERT_EQUAL(dup.calls, 1);
	/* Nested: the inner call joins the outer transaction. */
	OK(db_tx_begin(db));
	CU_ASSERT_EQUAL(db_tx_begin(db), PB_EDB);
	ok.id = 12;
	OK(db_tx(db, tx_insert, &ok));
	OK(db_tx_rollback(db));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_uniq WHERE id = 12"), 0);
	arena_reset(&arena);
}

struct dl_arg {
	struct db *db;
	pthread_barrier_t *barrier;
	int first, second;
	int calls;
	enum pb_err rc;
};

static enum pb_err
dl_fn(struct db *d, void *p)
{
	static const char upd[] = "UPDATE repo_t_dl SET v = v + 1 WHERE id = ?";
	struct dl_arg *a = p;
	enum pb_err rc;

	a->calls++;
	rc = db_exec(d, upd, DB_ARGS(DB_INT(a->first)), NULL, NULL);
	if (rc != PB_OK)
		return rc;
	/* Only the first attempt waits: both now hold one row and want the other's. */
	if (a->calls == 1)
		(void)pthread_barrier_wait(a->barrier);
	return db_exec(d, upd, DB_ARGS(DB_INT(a->second)), NULL, NULL);
}

static void *
dl_thread(void *p)
{
	struct dl_arg *a = p;

	a->rc = db_tx(a->db, dl_fn, a);
	return NULL;
}

static void
test_deadlock_retried(void)
{
	pthread_barrier_t barrier;
	struct dl_arg x = { .first = 1, .second = 2 }, y = { .first = 2, .second = 1 };
	pthread_t tx, ty;

	OK(db_exec(db, "DROP TABLE IF EXISTS repo_t_dl", DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "CREATE TABLE repo_t_dl (id INT PRIMARY KEY, v INT NOT NULL) "
		       "ENGINE=InnoDB", DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "INSERT INTO repo_t_dl VALUES (1, 0), (2, 0)", DB_NOARGS, NULL, NULL));
	OK(db_new(&conf, &x.db));
	OK(db_new(&conf, &y.db));
	CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&barrier, NULL, 2), 0);
	x.barrier = y.barrier = &barrier;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tx, NULL, dl_thread, &x), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&ty, NULL, dl_thread, &y), 0);
	pthread_join(tx, NULL);
	pthread_join(ty, NULL);
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_EQUAL(x.rc, PB_OK);
	CU_ASSERT_EQUAL(y.rc, PB_OK);
	/* One of them was the deadlock's victim and ran again. */
	CU_ASSERT(x.calls + y.calls >= 3);
	CU_ASSERT(x.calls > 1 || y.calls > 1);
	CU_ASSERT_EQUAL(count("SELECT SUM(v) FROM repo_t_dl"), 4);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_dl WHERE v = 2"), 2);
	db_free(x.db);
	db_free(y.db);
	arena_reset(&arena);
}

static void
test_lock_wait_timeout(void)
{
	struct db *other;

	OK(db_new(&conf, &other));
	OK(db_tx_begin(other));
	OK(db_exec(other, "UPDATE repo_t_dl SET v = v + 1 WHERE id = 1", DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "SET SESSION innodb_lock_wait_timeout = 1", DB_NOARGS, NULL, NULL));
	CU_ASSERT_EQUAL(db_exec(db, "UPDATE repo_t_dl SET v = v + 1 WHERE id = 1", DB_NOARGS,
			    NULL, NULL), PB_EDEADLOCK);
	CU_ASSERT_EQUAL(db_errno_last(db), 1205);
	OK(db_tx_rollback(other));
	db_free(other);
	OK(db_exec(db, "SET SESSION innodb_lock_wait_timeout = 20", DB_NOARGS, NULL, NULL));
}

static void
test_reconnect_after_restart(void)
{
	/* @repo_session is set on a connection and NULL on the one after it. */
	static const char sql[] = "SELECT COUNT(*), @repo_session FROM repo_t_uniq WHERE id > ?";
	static const char mark[] = "SET @repo_session = ?";
	struct db_result r;
	int64_t before;

	OK(db_exec(db, mark, DB_ARGS(DB_INT(1)), NULL, NULL));
	OK(db_query_one(db, &arena, sql, DB_ARGS(DB_INT(0)), &r));
	CU_ASSERT_EQUAL(db_int(&r, 0, 1), 1);
	before = db_int(&r, 0, 0);
	server("stop");
	/* Readiness fails while the server is down ... */
	CU_ASSERT_EQUAL(db_ping(db, 1000), PB_EDB);
	CU_ASSERT_EQUAL(db_exec(db, "DO ?", DB_ARGS(DB_INT(1)), NULL, NULL), PB_EDB);
	server("start");
	/* ... and the cached statement works again without restarting anything. */
	OK(db_query_one(db, &arena, sql, DB_ARGS(DB_INT(0)), &r));
	CU_ASSERT_EQUAL(db_int(&r, 0, 0), before);
	CU_ASSERT_TRUE(db_isnull(&r, 0, 1));
	OK(db_ping(db, 1000));

	/* A restart between two uses of a live connection: one transparent retry. */
	OK(db_exec(db, mark, DB_ARGS(DB_INT(2)), NULL, NULL));
	server("stop");
	server("start");
	OK(db_query_one(db, &arena, sql, DB_ARGS(DB_INT(0)), &r));
	CU_ASSERT_TRUE(db_isnull(&r, 0, 1));
	/* Same for the readiness ping. */
	server("stop");
	server("start");
	OK(db_ping(db, 1000));
	arena_reset(&arena);
}

struct restart_arg {
	int calls;
	enum pb_err second, third;
};

static enum pb_err
tx_restart(struct db *d, void *p)
{
	struct restart_arg *a = p;
	enum pb_err rc;

	a->calls++;
	rc = db_exec(d, "INSERT INTO repo_t_uniq VALUES (?, ?)", DB_ARGS(DB_INT(20), DB_NULL),
	    NULL, NULL);
	if (rc != PB_OK)
		return rc;
	server("stop");
	server("start");
	a->second = db_exec(d, "INSERT INTO repo_t_uniq VALUES (?, ?)",
	    DB_ARGS(DB_INT(21), DB_NULL), NULL, NULL);
	/* Still refused: reconnecting now would run it outside the transaction. */
	a->third = db_exec(d, "INSERT INTO repo_t_uniq VALUES (?, ?)",
	    DB_ARGS(DB_INT(22), DB_NULL), NULL, NULL);
	return a->second != PB_OK ? a->second : a->third;
}

static void
test_tx_interrupted_by_restart(void)
{
	struct restart_arg a = { 0 };

	CU_ASSERT_EQUAL(db_tx(db, tx_restart, &a), PB_EDB);
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.second, PB_EDB);
	CU_ASSERT_EQUAL(a.third, PB_EDB);
	CU_ASSERT_FALSE(db_in_tx(db));
	/* The next statement reconnects; nothing of the transaction was kept. */
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_t_uniq WHERE id >= 20"), 0);
	arena_reset(&arena);
}

static void
test_server_unreachable(void)
{
	struct conf c;
	struct db *d;
	char err[CONF_ERR_MAX];

	OK(conf_defaults(&c));
	OK(conf_apply_env(&c, err, sizeof(err)));
	free(c.db_socket);
	c.db_socket = strdup("/nonexistent/mysqld.sock");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.db_socket);
	/* Made while the database is unreachable: fine, it connects lazily. */
	OK(db_new(&c, &d));
	CU_ASSERT_EQUAL(db_ping(d, 1000), PB_EDB);
	CU_ASSERT_EQUAL(db_exec(d, "DO 1", DB_NOARGS, NULL, NULL), PB_EDB);
	CU_ASSERT_EQUAL(db_tx_begin(d), PB_EDB);
	db_free(d);
	conf_free(&c);
}

/* ---- the migrator ---- */

/* Runs migrate_up (or migrate_down) on the embedded set; out receives what it printed. */
static enum pb_err
migrate(bool down, bool one_step, unsigned target, char *out, size_t outlen)
{
	char err[512] = "", *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	enum pb_err rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	if (down)
		rc = migrate_down(db, migrate_embedded, migrate_embedded_count, one_step, target, f,
		    err, sizeof(err));
	else
		rc = migrate_up(db, migrate_embedded, migrate_embedded_count, target, f, err,
		    sizeof(err));
	fclose(f);
	(void)snprintf(out, outlen, "%s%s", buf != NULL ? buf : "", err);
	free(buf);
	return rc;
}

static enum pb_err
up(unsigned target, char *out, size_t outlen)
{
	return migrate(false, false, target, out, outlen);
}

static size_t
status(struct migrate_status **st, const struct migration *set, size_t n)
{
	char err[512];
	size_t nst = 0;

	CU_ASSERT_EQUAL_FATAL(migrate_status(db, &arena, set, n, st, &nst, err, sizeof(err)),
	    PB_OK);
	return nst;
}

static int64_t
our_tables(void)
{
	return count("SELECT COUNT(*) FROM information_schema.TABLES "
		     "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'repo\\_t\\_%'");
}

static void
test_migrate_round_trip(void)
{
	struct migrate_status *st;
	char out[1024], err[512], sum[MIGRATE_SUM_LEN];

	CU_ASSERT_FATAL(migrate_embedded_count >= 1);
	CU_ASSERT_EQUAL(migrate_embedded[0].version, 1);
	CU_ASSERT_STRING_EQUAL(migrate_embedded[0].name, "init");
	CU_ASSERT_EQUAL(strlen(migrate_embedded[0].up), migrate_embedded[0].up_len);
	/* From an empty database. */
	OK(migrate_down(db, migrate_embedded, migrate_embedded_count, false, 0, NULL, err,
	    sizeof(err)));
	CU_ASSERT_EQUAL(our_tables(), 0);
	CU_ASSERT_EQUAL(status(&st, migrate_embedded, migrate_embedded_count),
	    migrate_embedded_count);
	CU_ASSERT_EQUAL(st[0].state, MIGRATE_PENDING);

	OK(up(0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "applied 0001_init"));
	CU_ASSERT_EQUAL(our_tables(), 16);
	CU_ASSERT_EQUAL(status(&st, migrate_embedded, migrate_embedded_count),
	    migrate_embedded_count);
	CU_ASSERT_EQUAL(st[0].state, MIGRATE_APPLIED);
	OK(migrate_checksum(&migrate_embedded[0], sum));
	CU_ASSERT_STRING_EQUAL(st[0].checksum, sum);
	CU_ASSERT(st[0].applied_at_us > 0);

	/* Again: nothing changes, and it says so. */
	OK(up(0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothing to do"));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM schema_migrations"),
	    (int64_t)migrate_embedded_count);

	/* The lock was released: another session takes it at once. */
	CU_ASSERT_EQUAL(count("SELECT GET_LOCK('paybridge_migrate', 0)"), 1);
	CU_ASSERT_EQUAL(count("SELECT RELEASE_LOCK('paybridge_migrate')"), 1);

	/*
	 * Down one step (the newest), then up again. An applied event with a failure comes
	 * back from 0006 resolved, one never applied open.
	 */
	OK(db_exec(db, "INSERT INTO stripe_event_failures (stripe_event_id, type, source, "
	    "attempts) VALUES ('evt_m_applied', 't', 'webhook', 1), "
	    "('evt_m_open', 't', 'webhook', 2)", DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "INSERT INTO stripe_events (stripe_event_id, type, event_created, "
	    "payload, source, processed_at) VALUES ('evt_m_applied', 't', 1, '{}', 'webhook', "
	    "NOW(6))", DB_NOARGS, NULL, NULL));
	OK(migrate(true, true, 0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reverted 0006_webhook_trips"));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM stripe_event_failures WHERE "
	    "stripe_event_id = 'evt_m_applied' AND resolved_at IS NOT NULL"), 1);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM stripe_event_failures WHERE "
	    "stripe_event_id = 'evt_m_open' AND resolved_at IS NULL"), 1);
	OK(up(0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "applied 0006_webhook_trips"));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
	    "TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'resolved_at'"), 0);
	OK(db_exec(db, "DELETE FROM stripe_event_failures WHERE stripe_event_id LIKE 'evt\\_m\\_%'",
	    DB_NOARGS, NULL, NULL));
	OK(db_exec(db, "DELETE FROM stripe_events WHERE stripe_event_id = 'evt_m_applied'",
	    DB_NOARGS, NULL, NULL));

	/* 0005, two steps down. */
	OK(migrate(true, true, 0, out, sizeof(out)));
	OK(migrate(true, true, 0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reverted 0005_guest_payments"));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
	    "TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'guest_email'"), 0);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
	    "TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('orders', 'payment_intents') AND "
	    "COLUMN_NAME = 'user_id' AND IS_NULLABLE = 'NO'"), 2);
	CU_ASSERT_EQUAL(our_tables(), 14);
	OK(up(0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "applied 0005_guest_payments"));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
	    "TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'guest_email'"), 2);
	CU_ASSERT_EQUAL(our_tables(), 16);
	arena_reset(&arena);
}

/* The columns of login_throttle's primary key, in order ("email_normalized,client"). */
static const char *
throttle_key(void)
{
	struct db_result r;

	CU_ASSERT_EQUAL_FATAL(db_query_one(db, &arena,
	    "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema."
	    "STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'login_throttle' "
	    "AND INDEX_NAME = 'PRIMARY'", DB_NOARGS, &r), PB_OK);
	return db_str(&r, 0, 0) != NULL ? db_str(&r, 0, 0) : "";
}

/* 0002 keys the throttle by (address, client) and back, InnoDB either way. */
static void
test_migrate_throttle_client(void)
{
	static const char engine[] = "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
	    "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'login_throttle' AND ENGINE = 'InnoDB'";
	char err[512];

	CU_ASSERT_FATAL(migrate_embedded_count >= 2);
	CU_ASSERT_EQUAL(migrate_embedded[1].version, 2);
	OK(migrate_down(db, migrate_embedded, migrate_embedded_count, false, 1, NULL, err,
	    sizeof(err)));
	CU_ASSERT_STRING_EQUAL(throttle_key(), "email_normalized");
	/* A row of the old policy does not survive as a ceiling. */
	OK(db_exec(db, "INSERT INTO login_throttle (email_normalized, failures) VALUES "
	    "('old@example.com', 7)", DB_NOARGS, NULL, NULL));
	OK(migrate_up(db, migrate_embedded, migrate_embedded_count, 0, NULL, err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(throttle_key(), "email_normalized,client");
	CU_ASSERT_EQUAL(count(engine), 1);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM login_throttle"), 0);
	/* One address, two records; the same client twice is one. */
	OK(db_exec(db, "INSERT INTO login_throttle (email_normalized, client, failures) VALUES "
	    "('a@example.com', '', 3), ('a@example.com', '127.0.0.2', 3)", DB_NOARGS, NULL, NULL));
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO login_throttle (email_normalized, client) "
	    "VALUES ('a@example.com', '127.0.0.2')", DB_NOARGS, NULL, NULL), PB_ECONFLICT);
	/* Down: the per-client record goes, the address's stays, keyed as before. */
	OK(migrate_down(db, migrate_embedded, migrate_embedded_count, false, 1, NULL, err,
	    sizeof(err)));
	CU_ASSERT_STRING_EQUAL(throttle_key(), "email_normalized");
	CU_ASSERT_EQUAL(count(engine), 1);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM login_throttle WHERE "
	    "email_normalized = 'a@example.com' AND failures = 3"), 1);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM login_throttle"), 1);
	OK(migrate_up(db, migrate_embedded, migrate_embedded_count, 0, NULL, err, sizeof(err)));
	OK(db_exec(db, "DELETE FROM login_throttle", DB_NOARGS, NULL, NULL));
	arena_reset(&arena);
}

static const char m2_up[] = "CREATE TABLE IF NOT EXISTS repo_m2 (id INT PRIMARY KEY);\n"
			    "-- a comment; with a semicolon\n"
			    "INSERT INTO repo_m2 VALUES (1) /* ; */ ; INSERT INTO repo_m2 SELECT 2 "
			    "FROM DUAL WHERE ';' = ';';\n";
static const char m2_down[] = "DROP TABLE IF EXISTS repo_m2;";
static const char m3_up[] = "CREATE TABLE IF NOT EXISTS repo_m3 (id INT PRIMARY KEY);";
static const char m3_down[] = "DROP TABLE IF EXISTS repo_m3;";

static void
test_migrate_versions(void)
{
	/* The embedded set, then two more this binary does not know. */
	enum { E = 8 };	/* embedded migrations this test has room for */
	struct migration set[E + 2];
	struct migrate_status *st;
	char err[512], out[1024];
	const size_t k = migrate_embedded_count;
	size_t n;

	CU_ASSERT_FATAL(k >= 1 && k <= E);
	for (size_t i = 0; i < k; i++)
		set[i] = migrate_embedded[i];
	set[k] = (struct migration){ (unsigned)k + 1, "two", m2_up, sizeof(m2_up) - 1, m2_down,
		sizeof(m2_down) - 1 };
	set[k + 1] = (struct migration){ (unsigned)k + 2, "three", m3_up, sizeof(m3_up) - 1,
		m3_down, sizeof(m3_down) - 1 };
	OK(migrate_up(db, set, k + 2, (unsigned)k + 1, NULL, err, sizeof(err)));
	n = status(&st, set, k + 2);
	CU_ASSERT_EQUAL_FATAL(n, k + 2);
	CU_ASSERT_EQUAL(st[k].state, MIGRATE_APPLIED);
	CU_ASSERT_EQUAL(st[k + 1].state, MIGRATE_PENDING);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM repo_m2"), 2);
	OK(migrate_up(db, set, k + 2, 0, NULL, err, sizeof(err)));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM schema_migrations"), (int64_t)k + 2);

	/* This binary (the embedded set) does not know the last two: the database is newer. */
	CU_ASSERT_EQUAL(up(0, out, sizeof(out)), PB_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "newer"));
	n = status(&st, migrate_embedded, migrate_embedded_count);
	CU_ASSERT_EQUAL_FATAL(n, k + 2);
	CU_ASSERT_EQUAL(st[k].state, MIGRATE_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(st[k + 1].name, "three");
	CU_ASSERT_EQUAL(migrate_down(db, migrate_embedded, migrate_embedded_count, true, 0, NULL,
			    err, sizeof(err)), PB_ECONFLICT);

	/* down N stops at N. */
	OK(migrate_down(db, set, k + 2, false, (unsigned)k, NULL, err, sizeof(err)));
	n = status(&st, set, k + 2);
	CU_ASSERT_EQUAL(st[k - 1].state, MIGRATE_APPLIED);
	CU_ASSERT_EQUAL(st[k].state, MIGRATE_PENDING);
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
			      "TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'repo\\_m_'"), 0);

	/* A badly ordered set is refused before anything runs. */
	set[k + 1].version = (unsigned)k;
	CU_ASSERT_EQUAL(migrate_up(db, set, k + 2, 0, NULL, err, sizeof(err)), PB_EINVAL);
	arena_reset(&arena);
}

static void
test_migrate_changed_checksum(void)
{
	struct migrate_status *st;
	char out[1024], err[512], sum[MIGRATE_SUM_LEN];

	OK(migrate_checksum(&migrate_embedded[0], sum));
	OK(db_exec(db, "UPDATE schema_migrations SET checksum = REPEAT('0', 64) WHERE version = 1",
	    DB_NOARGS, NULL, NULL));
	CU_ASSERT_EQUAL(up(0, out, sizeof(out)), PB_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0001_init was changed"));
	CU_ASSERT_EQUAL(migrate_down(db, migrate_embedded, migrate_embedded_count, true, 0, NULL,
			    err, sizeof(err)), PB_ECONFLICT);
	(void)status(&st, migrate_embedded, migrate_embedded_count);
	CU_ASSERT_EQUAL(st[0].state, MIGRATE_CHANGED);
	CU_ASSERT_EQUAL(our_tables(), 16);
	OK(db_exec(db, "UPDATE schema_migrations SET checksum = ? WHERE version = 1",
	    DB_ARGS(DB_STR(sum)), NULL, NULL));
	OK(up(0, out, sizeof(out)));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nothing to do"));
	arena_reset(&arena);
}

static void
test_schema_rules(void)
{
	static const char ins[] = "INSERT INTO users (name, email, email_normalized, "
				  "password_hash) VALUES (?, ?, LOWER(TRIM(?)), 'x')";
	uint64_t id = 0;

	OK(db_exec(db, ins, DB_ARGS(DB_STR("Ann"), DB_STR("Ann@Example.com"),
			       DB_STR(" Ann@Example.com ")), NULL, &id));
	/* Unique without regard to case. */
	CU_ASSERT_EQUAL(db_exec(db, ins, DB_ARGS(DB_STR("Ann"), DB_STR("ann@example.COM"),
					 DB_STR("ann@example.COM")), NULL, NULL), PB_ECONFLICT);
	/* Only normalised addresses get in; a live user has one. */
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO users (name, email, email_normalized, "
				    "password_hash) VALUES ('B', 'B@x', 'B@x', 'x')",
			    DB_NOARGS, NULL, NULL), PB_EDB);
	CU_ASSERT_EQUAL(db_exec(db, "UPDATE users SET deleted_at = UTC_TIMESTAMP(6) WHERE id = ?",
			    DB_ARGS(DB_UINT(id)), NULL, NULL), PB_EDB);
	/* The tombstone frees the address for a new registration. */
	OK(db_exec(db, "UPDATE users SET deleted_at = UTC_TIMESTAMP(6), email_normalized = NULL, "
		       "token_version = token_version + 1 WHERE id = ?", DB_ARGS(DB_UINT(id)),
	    NULL, NULL));
	OK(db_exec(db, ins, DB_ARGS(DB_STR("Ann"), DB_STR("ann@example.com"),
			       DB_STR("ann@example.com")), NULL, NULL));
	/* One order per payment intent; events and jobs deduplicated by key. */
	OK(db_exec(db, "INSERT INTO orders (user_id, amount, currency, stripe_payment_intent_id) "
		       "VALUES (?, 500, 'eur', 'pi_1')", DB_ARGS(DB_UINT(id)), NULL, NULL));
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO orders (user_id, amount, currency, "
				    "stripe_payment_intent_id) VALUES (?, 500, 'eur', 'pi_1')",
			    DB_ARGS(DB_UINT(id)), NULL, NULL), PB_ECONFLICT);
	/* Stripe ids are case-sensitive. */
	OK(db_exec(db, "INSERT INTO orders (user_id, amount, currency, stripe_payment_intent_id) "
		       "VALUES (?, 500, 'eur', 'PI_1')", DB_ARGS(DB_UINT(id)), NULL, NULL));
	OK(db_exec(db, "INSERT INTO stripe_jobs (kind, user_id, idempotency_key) "
		       "VALUES ('create_customer', ?, 'k1')", DB_ARGS(DB_UINT(id)), NULL, NULL));
	/* The outbox claim the jobs worker will use. */
	OK(db_tx_begin(db));
	CU_ASSERT_EQUAL(count("SELECT COUNT(*) FROM (SELECT id FROM stripe_jobs WHERE status = "
			      "'pending' AND run_after <= UTC_TIMESTAMP(6) ORDER BY run_after "
			      "LIMIT 10 FOR UPDATE SKIP LOCKED) j"), 1);
	OK(db_tx_rollback(db));
	CU_ASSERT_EQUAL(db_exec(db, "INSERT INTO stripe_events (stripe_event_id, type, "
				    "event_created, payload, source) VALUES ('evt_1', 't', 1, "
				    "'{not json', 'webhook')", DB_NOARGS, NULL, NULL), PB_EDB);
	arena_reset(&arena);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_session),
	UNIT_TEST(test_types),
	UNIT_TEST(test_errors),
	UNIT_TEST(test_statement_cache),
	UNIT_TEST(test_seats_waived),
	UNIT_TEST(test_transactions),
	UNIT_TEST(test_deadlock_retried),
	UNIT_TEST(test_lock_wait_timeout),
	UNIT_TEST(test_server_unreachable),
	UNIT_TEST(test_migrate_round_trip),
	UNIT_TEST(test_migrate_throttle_client),
	UNIT_TEST(test_migrate_versions),
	UNIT_TEST(test_migrate_changed_checksum),
	UNIT_TEST(test_schema_rules),
	UNIT_TEST(test_reconnect_after_restart),
	UNIT_TEST(test_tx_interrupted_by_restart),
};

int
main(void)
{
	char err[CONF_ERR_MAX];
	int failed;

	if (conf_defaults(&conf) != PB_OK || conf_apply_env(&conf, err, sizeof(err)) != PB_OK) {
		fprintf(stderr, "test_repo: configuration: %s\n", err);
		return 1;
	}
	if (getenv("PAYBRIDGE_DB_SOCKET") == NULL && getenv("PAYBRIDGE_DB_HOST") == NULL) {
		fprintf(stderr, "test_repo: FAIL: PAYBRIDGE_DB_* is not set; run "
				"tests/integration/run-repo.sh, which starts a private MariaDB\n");
		return 1;
	}
	if (db_new(&conf, &db) != PB_OK || db_ping(db, 1000) != PB_OK) {
		fprintf(stderr, "test_repo: FAIL: cannot connect to MariaDB (socket %s, "
				"user %s, database %s)\n", conf.db_socket, conf.db_user,
		    conf.db_name);
		db_free(db);
		conf_free(&conf);
		return 1;
	}
	arena_init(&arena, 64 * 1024 * 1024);
	failed = unit_main("repo", tests, sizeof(tests) / sizeof(tests[0]));
	arena_cleanup(&arena);
	db_free(db);
	conf_free(&conf);
	return failed;
}
