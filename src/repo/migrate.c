/*
 * Schema migrations (see migrate.h). The bookkeeping table schema_migrations is created
 * by migration 1 and dropped by its reverse, so a database without it simply has nothing
 * applied.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "repo/db.h"
#include "repo/migrate.h"
#include "util/arena.h"
#include "util/digest.h"

#define ARENA_MAX (4 * 1024 * 1024)
#define LOCK_TIMEOUT_S 30

static const char sql_lock[] = "SELECT GET_LOCK('paybridge_migrate', ?)";
static const char sql_unlock[] = "SELECT RELEASE_LOCK('paybridge_migrate')";
static const char sql_has_table[] =
    "SELECT COUNT(*) FROM information_schema.TABLES "
    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_migrations'";
static const char sql_applied[] =
    "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version";
static const char sql_record[] =
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
    "VALUES (?, ?, ?, UTC_TIMESTAMP(6))";
static const char sql_forget[] = "DELETE FROM schema_migrations WHERE version = ?";

enum pb_err
migrate_checksum(const struct migration *m, char out[MIGRATE_SUM_LEN])
{
	const struct digest_part part = { m->up, m->up_len };

	return digest_sha256_hex(&part, 1, out);
}

/* ---- scripts ---- */

/* True at "-- ": MariaDB wants white space after the two dashes. */
static bool
dash_comment(const char *p, size_t i, size_t len)
{
	return p[i] == '-' && i + 1 < len && p[i + 1] == '-' &&
	    (i + 2 == len || p[i + 2] == ' ' || p[i + 2] == '\t' || p[i + 2] == '\n' ||
		p[i + 2] == '\r');
}

/*
 * Finds the end of the statement starting at p: the offset of its ';' or of the end of
 * the text. Quotes ('...', "...", `...`, with backslash and doubled-quote escapes) and
 * comments (-- , #, slash-star) may contain ';'.
 */
static size_t
statement_end(const char *p, size_t len)
{
	size_t i = 0;
	char q;

	while (i < len) {
		char c = p[i];

		if (c == ';')
			return i;
		if (c == '\'' || c == '"' || c == '`') {
			q = c;
			for (i++; i < len; i++) {
				/* A backslash escape or a doubled quote stays inside the string. */
				if ((p[i] == '\\' && q != '`' && i + 1 < len) ||
				    (p[i] == q && i + 1 < len && p[i + 1] == q))
					i++;
				else if (p[i] == q)
					break;
			}
			i++;
		} else if (c == '#' || dash_comment(p, i, len)) {
			while (i < len && p[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && p[i + 1] == '*') {
			for (i += 2; i + 1 < len && !(p[i] == '*' && p[i + 1] == '/'); i++)
				;
			i += 2;
		} else {
			i++;
		}
	}
	return len;
}

/* Skips blanks and comments at the start of s[0..n), counting the newlines it passes. */
static size_t
skip_space(const char *s, size_t n, size_t *lines)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] == '\n') {
			(*lines)++;
			i++;
		} else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
			i++;
		} else if (s[i] == '#' || dash_comment(s, i, n)) {
			while (i < n && s[i] != '\n')
				i++;
		} else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
			for (i += 2; i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'); i++)
				*lines += s[i] == '\n';
			i += 2;
		} else {
			break;
		}
	}
	return i < n ? i : n;
}

/*
 * Runs a migration script one statement at a time (DDL cannot share a transaction, and
 * one statement per call keeps error messages precise). Statements end with ';' outside
 * quotes and comments; MariaDB's executable comments are not supported.
 */
static enum pb_err
run_script(struct db *db, const char *text, size_t len, char *err, size_t errlen)
{
	size_t pos = 0, end, line = 1, stmt_line;
	unsigned count = 0;
	char why[400];

	while (pos < len) {
		pos += skip_space(text + pos, len - pos, &line);
		if (pos >= len)
			break;
		stmt_line = line;
		end = pos + statement_end(text + pos, len - pos);
		for (size_t i = pos; i < end; i++)
			line += text[i] == '\n';
		if (end > pos) {
			count++;
			if (db_exec_trusted(db, text + pos, end - pos, why, sizeof(why)) != PB_OK) {
				(void)snprintf(err, errlen, "statement %u (line %zu): %s", count,
				    stmt_line, why);
				return PB_EDB;
			}
		}
		pos = end + 1;
	}
	return PB_OK;
}

/* ---- history ---- */

static enum pb_err
check_set(const struct migration *set, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i].version == 0 || (i > 0 && set[i].version <= set[i - 1].version)) {
			(void)snprintf(err, errlen,
			    "migrations are not in strictly increasing version order at %u",
			    set[i].version);
			return PB_EINVAL;
		}
	}
	return PB_OK;
}

static enum pb_err
table_exists(struct db *db, struct arena *a, bool *yes)
{
	struct db_result r;
	enum pb_err rc = db_query_one(db, a, sql_has_table, DB_NOARGS, &r);

	*yes = rc == PB_OK && db_int(&r, 0, 0) > 0;
	return rc;
}

/* Merges the binary's set with what the database recorded, in version order. */
static enum pb_err
load_status(struct db *db, struct arena *a, const struct migration *set, size_t n,
    struct migrate_status **out, size_t *nout, char *err, size_t errlen)
{
	struct db_result r = { 0 };
	struct migrate_status *st;
	char sum[MIGRATE_SUM_LEN];
	size_t i = 0, j = 0, k = 0;
	bool exists;
	enum pb_err rc;

	*out = NULL;
	*nout = 0;
	rc = check_set(set, n, err, errlen);
	if (rc != PB_OK)
		return rc;
	rc = table_exists(db, a, &exists);
	if (rc == PB_OK && exists)
		rc = db_query(db, a, sql_applied, DB_NOARGS, &r);
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "cannot read the migration history: %s (MariaDB error %u)",
		    pb_strerror(rc), db_errno_last(db));
		return rc;
	}
	st = arena_calloc(a, n + r.nrows + 1, sizeof(*st));
	if (st == NULL)
		return PB_ENOMEM;
	while (i < n || j < r.nrows) {
		unsigned dbv = j < r.nrows ? (unsigned)db_uint(&r, j, 0) : 0;
		struct migrate_status *s = &st[k++];

		if (j >= r.nrows || (i < n && set[i].version < dbv)) {
			s->version = set[i].version;
			s->name = set[i].name;
			s->state = MIGRATE_PENDING;
			i++;
			continue;
		}
		s->version = dbv;
		(void)db_copy_str(&r, j, 2, s->checksum, sizeof(s->checksum));
		s->applied_at_us = db_time(&r, j, 3);
		if (i < n && set[i].version == dbv) {
			s->name = set[i].name;
			rc = migrate_checksum(&set[i], sum);
			if (rc != PB_OK)
				return rc;
			s->state = strcmp(sum, s->checksum) == 0 ? MIGRATE_APPLIED
								 : MIGRATE_CHANGED;
			i++;
		} else {
			s->name = db_str(&r, j, 1) != NULL ? db_str(&r, j, 1) : "";
			s->state = MIGRATE_UNKNOWN;
		}
		j++;
	}
	*out = st;
	*nout = k;
	return PB_OK;
}

/* Refuses to act on a database whose history does not match the binary. */
static enum pb_err
check_history(const struct migrate_status *st, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (st[i].state == MIGRATE_CHANGED) {
			(void)snprintf(err, errlen,
			    "migration %04u_%s was changed after it was applied (its checksum "
			    "differs from the one recorded); refusing to migrate",
			    st[i].version, st[i].name);
			return PB_ECONFLICT;
		}
		if (st[i].state == MIGRATE_UNKNOWN) {
			(void)snprintf(err, errlen,
			    "the database has migration %04u_%s, which this binary does not know: "
			    "the database is newer than this paybridge; refusing to migrate",
			    st[i].version, st[i].name);
			return PB_ECONFLICT;
		}
	}
	return PB_OK;
}

static unsigned
current_version(const struct migrate_status *st, size_t n)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (st[i].state != MIGRATE_PENDING)
			v = st[i].version;
	}
	return v;
}

static enum pb_err
take_lock(struct db *db, struct arena *a, char *err, size_t errlen)
{
	struct db_result r;
	enum pb_err rc;

	rc = db_query_one(db, a, sql_lock, DB_ARGS(DB_INT(LOCK_TIMEOUT_S)), &r);
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "cannot take the migration lock: %s", pb_strerror(rc));
		return rc;
	}
	if (db_isnull(&r, 0, 0) || db_int(&r, 0, 0) != 1) {
		(void)snprintf(err, errlen,
		    "another migration holds the lock 'paybridge_migrate' (waited %d s)",
		    LOCK_TIMEOUT_S);
		return PB_ECONFLICT;
	}
	return PB_OK;
}

static void
release_lock(struct db *db, struct arena *a)
{
	struct db_result r;

	(void)db_query(db, a, sql_unlock, DB_NOARGS, &r);
}

static enum pb_err
apply(struct db *db, const struct migration *m, FILE *out, char *err, size_t errlen)
{
	char sum[MIGRATE_SUM_LEN], why[512];
	enum pb_err rc;

	rc = migrate_checksum(m, sum);
	if (rc != PB_OK)
		return rc;
	rc = run_script(db, m->up, m->up_len, why, sizeof(why));
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "%04u_%s.up.sql: %s", m->version, m->name, why);
		return rc;
	}
	rc = db_exec(db, sql_record, DB_ARGS(DB_UINT(m->version), DB_STR(m->name), DB_STR(sum)),
	    NULL, NULL);
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "%04u_%s applied but not recorded: %s", m->version,
		    m->name, pb_strerror(rc));
		return rc;
	}
	if (out != NULL)
		fprintf(out, "applied %04u_%s\n", m->version, m->name);
	return PB_OK;
}

static enum pb_err
revert(struct db *db, struct arena *a, const struct migration *m, FILE *out, char *err,
    size_t errlen)
{
	char why[512];
	bool exists;
	enum pb_err rc;

	rc = run_script(db, m->down, m->down_len, why, sizeof(why));
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "%04u_%s.down.sql: %s", m->version, m->name, why);
		return rc;
	}
	/* The first migration's reverse drops schema_migrations itself. */
	rc = table_exists(db, a, &exists);
	if (rc == PB_OK && exists)
		rc = db_exec(db, sql_forget, DB_ARGS(DB_UINT(m->version)), NULL, NULL);
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "%04u_%s reverted but still recorded: %s",
		    m->version, m->name, pb_strerror(rc));
		return rc;
	}
	if (out != NULL)
		fprintf(out, "reverted %04u_%s\n", m->version, m->name);
	return PB_OK;
}

static const struct migration *
find(const struct migration *set, size_t n, unsigned version)
{
	for (size_t i = 0; i < n; i++) {
		if (set[i].version == version)
			return &set[i];
	}
	return NULL;
}

enum pb_err
migrate_up(struct db *db, const struct migration *set, size_t n, unsigned target, FILE *out,
    char *err, size_t errlen)
{
	struct migrate_status *st;
	struct arena a;
	size_t nst, done = 0;
	unsigned cur;
	enum pb_err rc;

	arena_init(&a, ARENA_MAX);
	rc = take_lock(db, &a, err, errlen);
	if (rc != PB_OK)
		goto out;
	rc = load_status(db, &a, set, n, &st, &nst, err, errlen);
	if (rc == PB_OK)
		rc = check_history(st, nst, err, errlen);
	for (size_t i = 0; rc == PB_OK && i < nst; i++) {
		if (st[i].state != MIGRATE_PENDING || (target != 0 && st[i].version > target))
			continue;
		rc = apply(db, find(set, n, st[i].version), out, err, errlen);
		done += rc == PB_OK;
	}
	if (rc == PB_OK && out != NULL) {
		rc = load_status(db, &a, set, n, &st, &nst, err, errlen);
		cur = rc == PB_OK ? current_version(st, nst) : 0;
		if (done == 0 && target != 0 && cur > target)
			fprintf(out, "nothing to do: the database is at version %u, past %u "
			    "(use migrate down)\n", cur, target);
		else if (done == 0)
			fprintf(out, "nothing to do: the database is at version %u\n", cur);
		else
			fprintf(out, "the database is at version %u\n", cur);
	}
	release_lock(db, &a);
out:
	arena_cleanup(&a);
	return rc;
}

enum pb_err
migrate_down(struct db *db, const struct migration *set, size_t n, bool one_step,
    unsigned target, FILE *out, char *err, size_t errlen)
{
	struct migrate_status *st;
	struct arena a;
	size_t nst, done = 0;
	enum pb_err rc;

	arena_init(&a, ARENA_MAX);
	rc = take_lock(db, &a, err, errlen);
	if (rc != PB_OK)
		goto out;
	rc = load_status(db, &a, set, n, &st, &nst, err, errlen);
	if (rc == PB_OK)
		rc = check_history(st, nst, err, errlen);
	for (size_t i = nst; rc == PB_OK && i > 0; i--) {
		if (st[i - 1].state != MIGRATE_APPLIED)
			continue;
		if (!one_step && st[i - 1].version <= target)
			break;
		rc = revert(db, &a, find(set, n, st[i - 1].version), out, err, errlen);
		done += rc == PB_OK;
		if (one_step)
			break;
	}
	if (rc == PB_OK && out != NULL) {
		rc = load_status(db, &a, set, n, &st, &nst, err, errlen);
		if (rc == PB_OK)
			fprintf(out, "%sthe database is at version %u\n",
			    done == 0 ? "nothing to do: " : "", current_version(st, nst));
	}
	release_lock(db, &a);
out:
	arena_cleanup(&a);
	return rc;
}

enum pb_err
migrate_status(struct db *db, struct arena *a, const struct migration *set, size_t n,
    struct migrate_status **out, size_t *nout, char *err, size_t errlen)
{
	return load_status(db, a, set, n, out, nout, err, errlen);
}
