/*
 * The MariaDB wrapper's statements (see db.h): a cache of prepared statements keyed first
 * by the SQL literal's address, then by its text; parameter and result binding; running a
 * statement with one reconnect after a loss outside a transaction; reading cells.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "repo/db.h"
#include "repo/db_private.h"
#include "util/arena.h"
#include "util/log.h"

#define STMT_MAX 1024		/* distinct statements before the cache starts over */

/* MYSQL_BIND.buffer is not const, but libmariadb only reads parameter buffers. */
static void *
unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

/* ---- statement cache ---- */

static size_t
ptr_hash(const char *p, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x & (cap - 1);
}

void
db_cache_clear(struct db *db)
{
	for (size_t i = 0; i < db->nstmts; i++)
		mysql_stmt_close(db->stmts[i].h);
	db->nstmts = 0;
	if (db->ptrs != NULL)
		memset(db->ptrs, 0, db->capptrs * sizeof(*db->ptrs));
	db->nptrs = 0;
}

static enum pb_err
ptr_insert(struct db *db, const char *ptr, size_t idx)
{
	size_t h;

	if ((db->nptrs + 1) * 2 > db->capptrs) {
		size_t ncap = db->capptrs != 0 ? db->capptrs * 2 : 64;
		struct ptr_slot *n = calloc(ncap, sizeof(*n));

		if (n == NULL)
			return PB_ENOMEM;
		for (size_t i = 0; i < db->capptrs; i++) {
			if (db->ptrs[i].ptr == NULL)
				continue;
			h = ptr_hash(db->ptrs[i].ptr, ncap);
			while (n[h].ptr != NULL)
				h = (h + 1) & (ncap - 1);
			n[h] = db->ptrs[i];
		}
		free(db->ptrs);
		db->ptrs = n;
		db->capptrs = ncap;
	}
	h = ptr_hash(ptr, db->capptrs);
	while (db->ptrs[h].ptr != NULL)
		h = (h + 1) & (db->capptrs - 1);
	db->ptrs[h].ptr = ptr;
	db->ptrs[h].idx = idx;
	db->nptrs++;
	return PB_OK;
}

/* Finds or prepares the statement for sql. Errors are left on db->my for the caller. */
static enum pb_err
stmt_get(struct db *db, const char *sql, MYSQL_STMT **out, unsigned *err)
{
	MYSQL_STMT *h;
	size_t idx;

	*err = 0;
	if (db->capptrs != 0) {
		for (size_t s = ptr_hash(sql, db->capptrs); db->ptrs[s].ptr != NULL;
		     s = (s + 1) & (db->capptrs - 1)) {
			if (db->ptrs[s].ptr == sql) {
				*out = db->stmts[db->ptrs[s].idx].h;
				return PB_OK;
			}
		}
	}
	for (idx = 0; idx < db->nstmts; idx++) {
		if (strcmp(db->stmts[idx].sql, sql) == 0)
			break;
	}
	if (idx == db->nstmts) {
		if (db->nstmts == STMT_MAX) {
			log_warnx("db: more than %d distinct statements; cache emptied", STMT_MAX);
			db_cache_clear(db);
			idx = 0;
		}
		if (db->nstmts == db->capstmts) {
			size_t ncap = db->capstmts != 0 ? db->capstmts * 2 : 32;
			struct stmt *n = realloc(db->stmts, ncap * sizeof(*n));

			if (n == NULL)
				return PB_ENOMEM;
			db->stmts = n;
			db->capstmts = ncap;
		}
		h = mysql_stmt_init(db->my);
		if (h == NULL)
			return PB_ENOMEM;
		if (mysql_stmt_prepare(h, sql, (unsigned long)strlen(sql)) != 0) {
			enum pb_err rc = PB_EDB;

			*err = mysql_stmt_errno(h);
			db->last_errno = *err;
			/*
			 * Mapped as an execution's error would be: on Galera a transaction
			 * aborted by a conflicting replicated write learns it at its next
			 * command, which may be this prepare (1213, retried by db_tx).
			 */
			if (!db_conn_lost(*err))
				rc = db_map_error(db, "prepare", sql, *err, mysql_stmt_sqlstate(h),
				    mysql_stmt_error(h));
			mysql_stmt_close(h);
			return rc;
		}
		db->stmts[idx].sql = sql;
		db->stmts[idx].h = h;
		db->nstmts++;
	}
	if (ptr_insert(db, sql, idx) != PB_OK)
		return PB_ENOMEM;
	*out = db->stmts[idx].h;
	return PB_OK;
}

/* ---- time ---- */

/* DATETIME values are UTC by convention (the session's time_zone is '+00:00'). */
static int64_t
time_from_mysql(const MYSQL_TIME *t)
{
	struct tm tm = { 0 };

	if (t->year == 0 || t->month == 0 || t->day == 0)
		return 0;
	tm.tm_year = (int)t->year - 1900;
	tm.tm_mon = (int)t->month - 1;
	tm.tm_mday = (int)t->day;
	tm.tm_hour = (int)t->hour;
	tm.tm_min = (int)t->minute;
	tm.tm_sec = (int)t->second;
	return (int64_t)timegm(&tm) * 1000000 + (int64_t)t->second_part;
}

static void
time_to_mysql(int64_t us, MYSQL_TIME *t)
{
	int64_t frac = us % 1000000;
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000;
		secs--;
	}
	memset(t, 0, sizeof(*t));
	if (gmtime_r(&secs, &tm) == NULL)
		return;
	t->year = (unsigned)(tm.tm_year + 1900);
	t->month = (unsigned)tm.tm_mon + 1;
	t->day = (unsigned)tm.tm_mday;
	t->hour = (unsigned)tm.tm_hour;
	t->minute = (unsigned)tm.tm_min;
	t->second = (unsigned)tm.tm_sec;
	t->second_part = (unsigned long)frac;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* ---- binding and running ---- */

static enum pb_err
grow_params(struct db *db, size_t n)
{
	MYSQL_BIND *b;
	MYSQL_TIME *t;
	long long *ll;

	if (n <= db->pcap)
		return PB_OK;
	b = realloc(db->pbind, n * sizeof(*b));
	if (b == NULL)
		return PB_ENOMEM;
	db->pbind = b;
	t = realloc(db->ptime, n * sizeof(*t));
	if (t == NULL)
		return PB_ENOMEM;
	db->ptime = t;
	ll = realloc(db->pint, n * sizeof(*ll));
	if (ll == NULL)
		return PB_ENOMEM;
	db->pint = ll;
	db->pcap = n;
	return PB_OK;
}

static enum pb_err
bind_params(struct db *db, MYSQL_STMT *h, const char *sql, const struct db_arg *args,
    size_t nargs)
{
	MYSQL_BIND *b;

	if (mysql_stmt_param_count(h) != nargs) {
		log_error("db: statement (%.60s) takes %lu parameters, given %zu", sql,
		    mysql_stmt_param_count(h), nargs);
		return PB_EDB;
	}
	if (nargs == 0)
		return PB_OK;
	if (grow_params(db, nargs) != PB_OK)
		return PB_ENOMEM;
	memset(db->pbind, 0, nargs * sizeof(*db->pbind));
	for (size_t i = 0; i < nargs; i++) {
		b = &db->pbind[i];
		switch (args[i].type) {
		case DB_TINT:
		case DB_TUINT:
			db->pint[i] = (long long)args[i].i;
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &db->pint[i];
			b->is_unsigned = (my_bool)(args[i].type == DB_TUINT);
			break;
		case DB_TSTR:
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = unconst(args[i].s != NULL ? args[i].s : "");
			b->buffer_length = (unsigned long)args[i].len;
			break;
		case DB_TTIME:
			time_to_mysql(args[i].i, &db->ptime[i]);
			b->buffer_type = MYSQL_TYPE_DATETIME;
			b->buffer = &db->ptime[i];
			break;
		case DB_TNULL:
		default:
			b->buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
	if (mysql_stmt_bind_param(h, db->pbind) != 0) {
		db_log_failure("bind", sql, mysql_stmt_errno(h), mysql_stmt_sqlstate(h),
		    mysql_stmt_error(h));
		return PB_EDB;
	}
	return PB_OK;
}

/*
 * Prepares (or finds) and executes sql, reconnecting once after a connection loss outside
 * a transaction. On PB_OK *out is the executed statement, its result set not yet read.
 */
static enum pb_err
run(struct db *db, const char *sql, const struct db_arg *args, size_t nargs,
    MYSQL_STMT **out)
{
	MYSQL_STMT *h = NULL;
	enum pb_err rc;
	unsigned e;

	for (int attempt = 0;; attempt++) {
		rc = db_ensure_connected(db);
		if (rc != PB_OK)
			return rc;
		rc = stmt_get(db, sql, &h, &e);
		if (rc == PB_ENOMEM)
			return rc;
		if (rc == PB_OK) {
			rc = bind_params(db, h, sql, args, nargs);
			if (rc != PB_OK)
				return rc;
			if (mysql_stmt_execute(h) == 0) {
				*out = h;
				return PB_OK;
			}
			e = mysql_stmt_errno(h);
			db->last_errno = e;
			if (!db_conn_lost(e) && !(e == ER_NEED_REPREPARE && attempt == 0))
				return db_map_error(db, "execute", sql, e, mysql_stmt_sqlstate(h),
				    mysql_stmt_error(h));
			if (e == ER_NEED_REPREPARE) {
				/* The table changed under the statement: prepare afresh. */
				db_cache_clear(db);
				continue;
			}
		} else if (!db_conn_lost(e)) {
			return rc;
		}
		/* The connection is gone. */
		db_drop_connection(db);
		if (db->in_tx) {
			log_warnx("db: connection lost inside a transaction (error %u)", e);
			return PB_EDB;
		}
		if (attempt > 0) {
			log_warnx("db: connection lost again (error %u); giving up", e);
			return PB_EDB;
		}
		log_info("db: connection lost (error %u); reconnecting", e);
	}
}

static enum db_type
column_kind(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return (f->flags & UNSIGNED_FLAG) != 0 ? DB_TUINT : DB_TINT;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
		/* SUM() of integers is a DECIMAL with no fraction: read it as an integer. */
		if (f->decimals == 0)
			return DB_TINT;
		return DB_TSTR;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
	case MYSQL_TYPE_DATE:
		return DB_TTIME;
	default:
		return DB_TSTR;
	}
}

static enum pb_err
grow_results(struct db *db, size_t n)
{
	MYSQL_BIND *b;
	struct col *c;

	if (n <= db->rcap)
		return PB_OK;
	b = realloc(db->rbind, n * sizeof(*b));
	if (b == NULL)
		return PB_ENOMEM;
	db->rbind = b;
	c = realloc(db->cols, n * sizeof(*c));
	if (c == NULL)
		return PB_ENOMEM;
	db->cols = c;
	db->rcap = n;
	return PB_OK;
}

/* Copies column i of the current row into v. */
static enum pb_err
read_cell(struct db *db, MYSQL_STMT *h, struct arena *a, size_t i, struct db_value *v)
{
	struct col *c = &db->cols[i];
	MYSQL_BIND big;
	char *p;

	if (c->is_null) {
		v->type = DB_TNULL;
		return PB_OK;
	}
	if (c->error && c->type != DB_TSTR) {
		/* Say, a DECIMAL sum past the range of int64_t. */
		log_error("db: column %zu does not fit its %s reading", i,
		    c->type == DB_TTIME ? "time" : "integer");
		return PB_EDB;
	}
	v->type = c->type;
	switch (c->type) {
	case DB_TINT:
	case DB_TUINT:
		v->i = (int64_t)c->ll;
		return PB_OK;
	case DB_TTIME:
		v->i = time_from_mysql(&c->tm);
		return PB_OK;
	default:
		break;
	}
	if (c->length <= sizeof(c->str)) {
		p = arena_strndup(a, c->str, c->length);
		if (p == NULL)
			return PB_ENOMEM;
	} else {
		p = arena_alloc(a, (size_t)c->length + 1);
		if (p == NULL)
			return PB_ENOMEM;
		memset(&big, 0, sizeof(big));
		big.buffer_type = MYSQL_TYPE_STRING;
		big.buffer = p;
		big.buffer_length = c->length;
		if (mysql_stmt_fetch_column(h, &big, (unsigned)i, 0) != 0) {
			db->last_errno = mysql_stmt_errno(h);
			db_log_failure("fetch column", "", db->last_errno, mysql_stmt_sqlstate(h),
			    mysql_stmt_error(h));
			return PB_EDB;
		}
		p[c->length] = '\0';
	}
	v->s = p;
	v->len = c->length;
	return PB_OK;
}

/* Reads the whole result set of an executed statement into the arena (a may be NULL). */
static enum pb_err
read_result(struct db *db, MYSQL_STMT *h, const char *sql, struct arena *a,
    struct db_result *out)
{
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *fields;
	enum pb_err rc = PB_OK;
	unsigned long long nrows;
	size_t ncols, row = 0;
	int f;

	memset(out, 0, sizeof(*out));
	if (mysql_stmt_field_count(h) == 0) {
		out->affected = (uint64_t)mysql_stmt_affected_rows(h);
		return PB_OK;
	}
	if (mysql_stmt_store_result(h) != 0) {
		rc = PB_EDB;
		goto sqlfail;
	}
	if (a == NULL)
		goto done;
	meta = mysql_stmt_result_metadata(h);
	if (meta == NULL) {
		rc = PB_EDB;
		goto sqlfail;
	}
	ncols = mysql_num_fields(meta);
	fields = mysql_fetch_fields(meta);
	nrows = mysql_stmt_num_rows(h);
	if (grow_results(db, ncols) != PB_OK) {
		rc = PB_ENOMEM;
		goto done;
	}
	if (nrows > 0) {
		out->v = nrows <= SIZE_MAX ? arena_calloc(a, (size_t)nrows, ncols * sizeof(*out->v))
					   : NULL;
		if (out->v == NULL) {
			rc = PB_ENOMEM;
			goto done;
		}
	}
	memset(db->rbind, 0, ncols * sizeof(*db->rbind));
	for (size_t i = 0; i < ncols; i++) {
		struct col *c = &db->cols[i];
		MYSQL_BIND *b = &db->rbind[i];

		c->type = column_kind(&fields[i]);
		b->is_null = &c->is_null;
		b->error = &c->error;
		b->length = &c->length;
		switch (c->type) {
		case DB_TINT:
		case DB_TUINT:
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &c->ll;
			b->is_unsigned = (my_bool)(c->type == DB_TUINT);
			break;
		case DB_TTIME:
			b->buffer_type = MYSQL_TYPE_DATETIME;
			b->buffer = &c->tm;
			break;
		default:
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = c->str;
			b->buffer_length = sizeof(c->str);
			break;
		}
	}
	if (mysql_stmt_bind_result(h, db->rbind) != 0) {
		rc = PB_EDB;
		goto sqlfail;
	}
	for (;;) {
		/* libmariadb sets error only when a value does not fit. */
		for (size_t i = 0; i < ncols; i++)
			db->cols[i].error = 0;
		f = mysql_stmt_fetch(h);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1) {
			rc = PB_EDB;
			goto sqlfail;
		}
		/* MYSQL_DATA_TRUNCATED: long text, read again by read_cell. */
		if (row >= nrows) {
			rc = PB_EDB;
			log_error("db: statement (%.60s) returned more rows than stored", sql);
			goto done;
		}
		for (size_t i = 0; i < ncols; i++) {
			rc = read_cell(db, h, a, i, &out->v[row * ncols + i]);
			if (rc != PB_OK)
				goto done;
		}
		row++;
	}
	out->nrows = row;
	out->ncols = ncols;
	goto done;
sqlfail:
	db->last_errno = mysql_stmt_errno(h);
	db_log_failure("read result", sql, db->last_errno, mysql_stmt_sqlstate(h),
	    mysql_stmt_error(h));
	if (db_conn_lost(db->last_errno))
		db_drop_connection(db);
done:
	if (meta != NULL)
		mysql_free_result(meta);
	if (db->my != NULL)
		(void)mysql_stmt_free_result(h);
	if (rc != PB_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

enum pb_err
db_exec(struct db *db, const char *sql, const struct db_arg *args, size_t nargs,
    uint64_t *affected, uint64_t *last_id)
{
	struct db_result r;
	/* NULL for the analyzer, which cannot see through db_ensure_connected in db_conn.c. */
	MYSQL_STMT *h = NULL;
	enum pb_err rc;

	rc = db_seat_take(db);
	if (rc != PB_OK)
		return rc;
	db_in_statement(db, true);
	rc = run(db, sql, args, nargs, &h);
	if (rc == PB_OK) {
		if (affected != NULL)
			*affected = (uint64_t)mysql_stmt_affected_rows(h);
		if (last_id != NULL)
			*last_id = (uint64_t)mysql_stmt_insert_id(h);
		rc = read_result(db, h, sql, NULL, &r);
	}
	db_in_statement(db, false);
	db_seat_give(db);
	return rc;
}

enum pb_err
db_exec_one(struct db *db, const char *sql, const struct db_arg *args, size_t nargs)
{
	uint64_t affected = 0;
	enum pb_err err;

	err = db_exec(db, sql, args, nargs, &affected, NULL);
	if (err != PB_OK)
		return err;
	return affected == 1 ? PB_OK : PB_ENOTFOUND;
}

enum pb_err
db_query(struct db *db, struct arena *a, const char *sql, const struct db_arg *args,
    size_t nargs, struct db_result *out)
{
	MYSQL_STMT *h = NULL;	/* as in db_exec */
	enum pb_err rc;

	memset(out, 0, sizeof(*out));
	rc = db_seat_take(db);
	if (rc != PB_OK)
		return rc;
	db_in_statement(db, true);
	rc = run(db, sql, args, nargs, &h);
	if (rc == PB_OK)
		rc = read_result(db, h, sql, a, out);
	db_in_statement(db, false);
	db_seat_give(db);
	return rc;
}

enum pb_err
db_query_one(struct db *db, struct arena *a, const char *sql, const struct db_arg *args,
    size_t nargs, struct db_result *out)
{
	enum pb_err rc = db_query(db, a, sql, args, nargs, out);

	if (rc != PB_OK)
		return rc;
	if (out->nrows == 0)
		return PB_ENOTFOUND;
	if (out->nrows > 1) {
		log_error("db: statement (%.60s) expected one row, found %zu", sql, out->nrows);
		return PB_EDB;
	}
	return PB_OK;
}

/* ---- reading cells ---- */

const struct db_value *
db_cell(const struct db_result *r, size_t row, size_t col)
{
	static const struct db_value null_value = { .type = DB_TNULL };

	if (r == NULL || r->v == NULL || row >= r->nrows || col >= r->ncols)
		return &null_value;
	return &r->v[row * r->ncols + col];
}

bool
db_isnull(const struct db_result *r, size_t row, size_t col)
{
	return db_cell(r, row, col)->type == DB_TNULL;
}

int64_t
db_int(const struct db_result *r, size_t row, size_t col)
{
	const struct db_value *v = db_cell(r, row, col);

	return v->type == DB_TINT || v->type == DB_TUINT || v->type == DB_TTIME ? v->i : 0;
}

uint64_t
db_uint(const struct db_result *r, size_t row, size_t col)
{
	return (uint64_t)db_int(r, row, col);
}

bool
db_bool(const struct db_result *r, size_t row, size_t col)
{
	return db_int(r, row, col) != 0;
}

int64_t
db_time(const struct db_result *r, size_t row, size_t col)
{
	return db_int(r, row, col);
}

const char *
db_str(const struct db_result *r, size_t row, size_t col)
{
	const struct db_value *v = db_cell(r, row, col);

	return v->type == DB_TSTR ? v->s : NULL;
}

size_t
db_len(const struct db_result *r, size_t row, size_t col)
{
	const struct db_value *v = db_cell(r, row, col);

	return v->type == DB_TSTR ? v->len : 0;
}

enum pb_err
db_copy_str(const struct db_result *r, size_t row, size_t col, char *buf, size_t size)
{
	const struct db_value *v = db_cell(r, row, col);

	if (size == 0)
		return PB_ETOOBIG;
	buf[0] = '\0';
	if (v->type == DB_TNULL)
		return PB_OK;
	if (v->type != DB_TSTR)
		return PB_EINVAL;
	if (v->len >= size)
		return PB_ETOOBIG;
	memcpy(buf, v->s, v->len + 1);
	return PB_OK;
}
