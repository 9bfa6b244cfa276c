/*
 * The MariaDB wrapper (see db.h for the contract). One MYSQL connection, opened lazily and
 * reopened after a loss; a cache of prepared statements keyed first by the SQL literal's
 * address, then by its text; parameter and result binding; the transaction loop.
 *
 * libmariadb's own reconnect is off: it would silently drop a transaction's earlier
 * statements and invalidate every prepared statement behind our back.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "repo/db.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/secure.h"
#include "util/timeutil.h"

#define STMT_MAX 1024		/* distinct statements before the cache starts over */
#define INLINE_STR 256		/* text read without a second fetch up to this size */
#define TX_ATTEMPTS 5
#define TX_BACKOFF_US 5000
#define CONNECT_LOG_EVERY_US (10 * 1000000LL)
#define SQL_MODE "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE," \
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

struct stmt {
	const char *sql;	/* the text; owned by the caller (a literal) */
	MYSQL_STMT *h;
};

struct ptr_slot {
	const char *ptr;	/* NULL: empty slot */
	size_t idx;		/* into db->stmts */
};

/* Where one result column lands before it is copied into the arena. */
struct col {
	enum db_type type;
	my_bool is_null;
	my_bool error;
	unsigned long length;
	union {
		long long ll;
		MYSQL_TIME tm;
		char str[INLINE_STR];
	};
};

struct db {
	MYSQL *my;		/* NULL while disconnected */
	bool in_tx;
	bool tx_lost;		/* the connection died inside the current transaction */
	unsigned last_errno;
	int64_t connect_logged_us;

	char *host, *socket, *name, *user, *password;
	unsigned port, connect_timeout, read_timeout, write_timeout, lock_wait;

	const struct db_seats *seats;	/* NULL: no seat limit */
	bool seated;			/* holding a seat (a statement, or the transaction) */
	int64_t deadline_us;		/* db_set_deadline(), 0: none */
	int64_t ping_until_us;		/* inside db_ping: its bound, 0 otherwise */

	struct stmt *stmts;	/* distinct texts */
	size_t nstmts, capstmts;
	struct ptr_slot *ptrs;	/* address -> stmts index, open addressing */
	size_t nptrs, capptrs;

	MYSQL_BIND *pbind;	/* parameter scratch, grown on demand */
	MYSQL_TIME *ptime;
	long long *pint;
	size_t pcap;
	MYSQL_BIND *rbind;	/* result scratch */
	struct col *cols;
	size_t rcap;
};

static bool library_ready;

/* MYSQL_BIND.buffer is not const, but libmariadb only reads parameter buffers. */
static void *
unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

static bool
conn_lost(unsigned e)
{
	switch (e) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_HANDSHAKE_ERR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_STMT_CLOSED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case 4031:	/* ER_CLIENT_INTERACTION_TIMEOUT, newer servers */
		return true;
	default:
		return false;
	}
}

/* Server messages for these quote the offending value, which may be a user's data. */
static bool
quotes_values(unsigned e)
{
	switch (e) {
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_DUP_KEY:
	case 1292:	/* ER_TRUNCATED_WRONG_VALUE */
	case 1300:	/* ER_INVALID_CHARACTER_STRING */
	case 1366:	/* ER_TRUNCATED_WRONG_VALUE_FOR_FIELD */
	case 1367:	/* ER_ILLEGAL_VALUE_FOR_TYPE */
	case 1411:	/* ER_WRONG_VALUE_FOR_TYPE */
	case 1525:	/* ER_WRONG_VALUE */
		return true;
	default:
		return false;
	}
}

/* Logs a failure with the first words of the statement (static SQL, no values). */
static void
log_failure(const char *what, const char *sql, unsigned e, const char *state, const char *msg)
{
	log_warnx("db: %s failed (%.60s): error %u (%s): %s", what, sql != NULL ? sql : "", e,
	    state != NULL ? state : "", quotes_values(e) ? "message withheld" : msg);
}

/* Maps an error that is not a connection loss. */
static enum pb_err
map_error(struct db *db, const char *what, const char *sql, unsigned e, const char *state,
    const char *msg)
{
	db->last_errno = e;
	switch (e) {
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
	case ER_DUP_KEY:
		return PB_ECONFLICT;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		log_info("db: %s: deadlock or lock wait timeout (error %u)", what, e);
		return PB_EDEADLOCK;
	default:
		log_failure(what, sql, e, state, msg);
		return PB_EDB;
	}
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

static void
cache_clear(struct db *db)
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
			cache_clear(db);
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
			*err = mysql_stmt_errno(h);
			db->last_errno = *err;
			if (!conn_lost(*err))
				log_failure("prepare", sql, *err, mysql_stmt_sqlstate(h),
				    mysql_stmt_error(h));
			mysql_stmt_close(h);
			return PB_EDB;
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

/* ---- connection ---- */

static void
drop_connection(struct db *db)
{
	cache_clear(db);
	if (db->my != NULL) {
		mysql_close(db->my);
		db->my = NULL;
	}
	if (db->in_tx)
		db->tx_lost = true;
}

static enum pb_err
run_text(struct db *db, const char *sql)
{
	if (mysql_real_query(db->my, sql, (unsigned long)strlen(sql)) != 0)
		return PB_EDB;
	return PB_OK;
}

static enum pb_err
connect_db(struct db *db)
{
	char setup[256];
	my_bool off = 0;
	unsigned proto, infile = 0, connect_timeout;
	unsigned long flags = CLIENT_FOUND_ROWS;
	int64_t until;
	const char *host, *sock, *where;
	int64_t now;
	int n;

	if (db->my != NULL)
		return PB_OK;
	/* Whole seconds: the earliest of the connect timeout, a ping's bound, the deadline. */
	until = db->ping_until_us != 0 ? db->ping_until_us : db->deadline_us;
	connect_timeout = db->connect_timeout;
	if (until != 0) {
		int64_t left_s = (until - time_mono_us() + 999999) / 1000000;

		if (left_s < 1)
			left_s = 1;
		if (left_s < (int64_t)connect_timeout)
			connect_timeout = (unsigned)left_s;
	}
	db->my = mysql_init(NULL);
	if (db->my == NULL)
		return PB_ENOMEM;
	if (db->host[0] == '\0' || strcmp(db->host, "localhost") == 0) {
		host = "localhost";
		sock = db->socket;
		proto = MYSQL_PROTOCOL_SOCKET;
		where = db->socket;
	} else {
		host = db->host;
		sock = NULL;
		proto = MYSQL_PROTOCOL_TCP;
		where = db->host;
	}
	if (mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0 ||
	    mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &db->read_timeout) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &db->write_timeout) != 0 ||
	    /* For db_ping's bounded ping; blocking calls work as before on such a handle. */
	    mysql_options(db->my, MYSQL_OPT_NONBLOCK, 0) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_RECONNECT, &off) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_LOCAL_INFILE, &infile) != 0 ||
	    mysql_options(db->my, MYSQL_OPT_PROTOCOL, &proto) != 0) {
		mysql_close(db->my);
		db->my = NULL;
		return PB_ENOMEM;
	}
	if (mysql_real_connect(db->my, host, db->user, db->password, db->name, db->port, sock,
		flags) == NULL) {
		db->last_errno = mysql_errno(db->my);
		now = time_mono_us();
		if (db->connect_logged_us == 0 ||
		    now - db->connect_logged_us >= CONNECT_LOG_EVERY_US) {
			log_warnx("db: cannot connect to %s: error %u: %s", where, db->last_errno,
			    mysql_error(db->my));
			db->connect_logged_us = now;
		}
		mysql_close(db->my);
		db->my = NULL;
		return PB_EDB;
	}
	/* Lock waits end well before the client's read timeout, as a retryable error. */
	n = snprintf(setup, sizeof(setup),
	    "SET SESSION sql_mode='" SQL_MODE "', time_zone='+00:00', "
	    "innodb_lock_wait_timeout=%u", db->lock_wait);
	if (n < 0 || (size_t)n >= sizeof(setup) || run_text(db, setup) != PB_OK) {
		db->last_errno = mysql_errno(db->my);
		log_failure("session setup", "SET SESSION", db->last_errno, mysql_sqlstate(db->my),
		    mysql_error(db->my));
		mysql_close(db->my);
		db->my = NULL;
		return PB_EDB;
	}
	if (db->connect_logged_us != 0) {
		log_info("db: connected to %s again", where);
		db->connect_logged_us = 0;
	}
	return PB_OK;
}

/*
 * Makes sure a connection is there. Inside a transaction whose connection died, refuses:
 * reconnecting would run the rest of it outside the transaction.
 */
static enum pb_err
ensure_connected(struct db *db)
{
	if (db->in_tx && (db->tx_lost || db->my == NULL)) {
		db->tx_lost = true;
		return PB_EDB;
	}
	return connect_db(db);
}

static char *
dup_str(const char *s)
{
	return strdup(s != NULL ? s : "");
}

enum pb_err
db_new(const struct conf *c, struct db **out)
{
	struct db *db;

	*out = NULL;
	if (!library_ready) {
		if (mysql_library_init(0, NULL, NULL) != 0)
			return PB_ENOMEM;
		library_ready = true;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return PB_ENOMEM;
	db->host = dup_str(c->db_host);
	db->socket = dup_str(c->db_socket);
	db->name = dup_str(c->db_name);
	db->user = dup_str(c->db_user);
	db->password = dup_str(c->db_password);
	if (db->host == NULL || db->socket == NULL || db->name == NULL || db->user == NULL ||
	    db->password == NULL) {
		db_free(db);
		return PB_ENOMEM;
	}
	db->port = (unsigned)c->db_port;
	db->connect_timeout = (unsigned)c->db_connect_timeout;
	/*
	 * Seconds, not the request timeout: a stalled database fails a worker in a few
	 * seconds instead of holding it for as long as a request may last. Lock waits end
	 * well before the read timeout, as a retryable error.
	 */
	db->read_timeout = (unsigned)c->db_read_timeout;
	db->write_timeout = (unsigned)c->db_write_timeout;
	db->lock_wait = db->read_timeout / 2 < 1 ? 1 : db->read_timeout / 2;
	if (db->lock_wait > 50)
		db->lock_wait = 50;
	*out = db;
	return PB_OK;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	cache_clear(db);
	if (db->my != NULL)
		mysql_close(db->my);
	free(db->stmts);
	free(db->ptrs);
	free(db->pbind);
	free(db->ptime);
	free(db->pint);
	free(db->rbind);
	free(db->cols);
	free(db->host);
	free(db->socket);
	free(db->name);
	free(db->user);
	secure_free_str(db->password);
	free(db);
}

unsigned
db_errno_last(const struct db *db)
{
	return db->last_errno;
}

bool
db_in_tx(const struct db *db)
{
	return db->in_tx;
}

void
db_set_seats(struct db *db, const struct db_seats *seats)
{
	db->seats = seats;
}

int64_t
db_seat_oldest_us(const struct db *db)
{
	return db->seats != NULL ? db->seats->oldest_us(db->seats->ctx) : 0;
}

void
db_set_deadline(struct db *db, int64_t deadline_us)
{
	db->deadline_us = deadline_us;
}

/*
 * Takes a seat for what follows (a statement, or a transaction), unless one is held:
 * PB_ETIMEOUT past the deadline, PB_EBUSY when no seat came free in time.
 */
static enum pb_err
seat_take(struct db *db)
{
	int64_t now, until;
	enum pb_err rc;

	if (db->seated)
		return PB_OK;
	now = time_mono_us();
	if (db->deadline_us != 0 && now >= db->deadline_us)
		return PB_ETIMEOUT;
	if (db->seats == NULL)
		return PB_OK;
	until = now + db->seats->wait_us;
	if (db->deadline_us != 0 && db->deadline_us < until)
		until = db->deadline_us;
	rc = db->seats->take(db->seats->ctx, until);
	if (rc == PB_OK)
		db->seated = true;
	return rc;
}

/* Gives the seat back, unless a transaction still holds it. */
static void
seat_give(struct db *db)
{
	if (!db->seated || db->in_tx)
		return;
	db->seated = false;
	if (db->seats != NULL)
		db->seats->give(db->seats->ctx);
}

/* Pings through the non-blocking API, waiting for the socket at most until deadline. */
static enum pb_err
ping_bounded(struct db *db, int64_t deadline)
{
	int status = 0, wait;

	wait = mysql_ping_start(&status, db->my);
	while (wait != 0) {
		struct pollfd p = { .fd = mysql_get_socket(db->my), .events = 0 };
		int64_t left = deadline - time_mono_us();
		int ready;

		if (left <= 0)
			return PB_ETIMEOUT;
		if (wait & MYSQL_WAIT_READ)
			p.events |= POLLIN;
		if (wait & MYSQL_WAIT_WRITE)
			p.events |= POLLOUT;
		if (wait & MYSQL_WAIT_EXCEPT)
			p.events |= POLLPRI;
		ready = poll(&p, 1, (int)((left + 999) / 1000));
		if (ready < 0 && errno != EINTR)
			return PB_EDB;
		wait = 0;
		if (ready > 0) {
			wait |= (p.revents & (POLLIN | POLLHUP | POLLERR)) ? MYSQL_WAIT_READ : 0;
			wait |= (p.revents & POLLOUT) ? MYSQL_WAIT_WRITE : 0;
			wait |= (p.revents & POLLPRI) ? MYSQL_WAIT_EXCEPT : 0;
		} else {
			wait = MYSQL_WAIT_TIMEOUT;
		}
		wait = mysql_ping_cont(&status, db->my, wait);
	}
	return status == 0 ? PB_OK : PB_EDB;
}

enum pb_err
db_ping(struct db *db, int64_t timeout_ms)
{
	int64_t deadline = time_mono_us() + timeout_ms * 1000;
	enum pb_err rc;

	if (db->deadline_us != 0 && db->deadline_us < deadline)
		deadline = db->deadline_us;
	rc = seat_take(db);
	if (rc != PB_OK)
		return rc;
	db->ping_until_us = deadline;
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = ensure_connected(db);
		if (rc != PB_OK) {
			rc = rc == PB_ENOMEM ? PB_ENOMEM : PB_EDB;
			break;
		}
		rc = ping_bounded(db, deadline);
		if (rc == PB_OK)
			break;
		if (rc == PB_ETIMEOUT)
			log_warnx("db: no answer to a ping within %lld ms; dropping the connection",
			    (long long)timeout_ms);
		else
			db->last_errno = mysql_errno(db->my);
		/* Cut off mid-command, the connection cannot be used again. */
		drop_connection(db);
		if (rc == PB_ETIMEOUT || db->in_tx) {
			rc = PB_EDB;
			break;
		}
	}
	db->ping_until_us = 0;
	seat_give(db);
	return rc;
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
		log_failure("bind", sql, mysql_stmt_errno(h), mysql_stmt_sqlstate(h),
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
	MYSQL_STMT *h;
	enum pb_err rc;
	unsigned e;

	for (int attempt = 0;; attempt++) {
		rc = ensure_connected(db);
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
			if (!conn_lost(e) && !(e == ER_NEED_REPREPARE && attempt == 0))
				return map_error(db, "execute", sql, e, mysql_stmt_sqlstate(h),
				    mysql_stmt_error(h));
			if (e == ER_NEED_REPREPARE) {
				/* The table changed under the statement: prepare afresh. */
				cache_clear(db);
				continue;
			}
		} else if (!conn_lost(e)) {
			return rc;
		}
		/* The connection is gone. */
		drop_connection(db);
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
			log_failure("fetch column", "", db->last_errno, mysql_stmt_sqlstate(h),
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
	log_failure("read result", sql, db->last_errno, mysql_stmt_sqlstate(h),
	    mysql_stmt_error(h));
	if (conn_lost(db->last_errno))
		drop_connection(db);
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
	MYSQL_STMT *h;
	enum pb_err rc;

	rc = seat_take(db);
	if (rc != PB_OK)
		return rc;
	rc = run(db, sql, args, nargs, &h);
	if (rc == PB_OK) {
		if (affected != NULL)
			*affected = (uint64_t)mysql_stmt_affected_rows(h);
		if (last_id != NULL)
			*last_id = (uint64_t)mysql_stmt_insert_id(h);
		rc = read_result(db, h, sql, NULL, &r);
	}
	seat_give(db);
	return rc;
}

enum pb_err
db_query(struct db *db, struct arena *a, const char *sql, const struct db_arg *args,
    size_t nargs, struct db_result *out)
{
	MYSQL_STMT *h;
	enum pb_err rc;

	memset(out, 0, sizeof(*out));
	rc = seat_take(db);
	if (rc != PB_OK)
		return rc;
	rc = run(db, sql, args, nargs, &h);
	if (rc == PB_OK)
		rc = read_result(db, h, sql, a, out);
	seat_give(db);
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

/* ---- transactions ---- */

enum pb_err
db_tx_begin(struct db *db)
{
	static const char begin[] = "START TRANSACTION";

	enum pb_err rc;

	if (db->in_tx) {
		log_error("db: nested transaction");
		return PB_EDB;
	}
	/* The seat is held until the transaction ends (commit or rollback). */
	rc = seat_take(db);
	if (rc != PB_OK)
		return rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (connect_db(db) != PB_OK)
			break;
		if (run_text(db, begin) == PB_OK) {
			db->in_tx = true;
			db->tx_lost = false;
			return PB_OK;
		}
		db->last_errno = mysql_errno(db->my);
		if (!conn_lost(db->last_errno)) {
			rc = map_error(db, "begin", begin, db->last_errno, mysql_sqlstate(db->my),
			    mysql_error(db->my));
			seat_give(db);
			return rc;
		}
		drop_connection(db);
		if (attempt == 1)
			log_warnx("db: connection lost twice at BEGIN (error %u)",
			    db->last_errno);
	}
	seat_give(db);
	return PB_EDB;
}

static enum pb_err
commit(struct db *db)
{
	enum pb_err rc;
	unsigned e;

	if (!db->in_tx) {
		log_error("db: commit outside a transaction");
		return PB_EDB;
	}
	if (db->tx_lost || db->my == NULL) {
		db->in_tx = false;
		db->tx_lost = false;
		return PB_EDB;
	}
	db->in_tx = false;
	if (mysql_commit(db->my) == 0)
		return PB_OK;
	e = mysql_errno(db->my);
	db->last_errno = e;
	if (conn_lost(e)) {
		/* Whether the server committed is unknown; the caller sees a failure. */
		log_warnx("db: connection lost at COMMIT (error %u)", e);
		drop_connection(db);
		return PB_EDB;
	}
	rc = map_error(db, "commit", "COMMIT", e, mysql_sqlstate(db->my), mysql_error(db->my));
	(void)mysql_rollback(db->my);
	return rc;
}

enum pb_err
db_tx_commit(struct db *db)
{
	enum pb_err rc = commit(db);

	seat_give(db);
	return rc;
}

static enum pb_err
rollback(struct db *db)
{
	bool lost = db->tx_lost || db->my == NULL;

	db->in_tx = false;
	db->tx_lost = false;
	if (lost)
		return PB_OK;	/* the server dropped the transaction with the connection */
	if (mysql_rollback(db->my) == 0)
		return PB_OK;
	db->last_errno = mysql_errno(db->my);
	log_warnx("db: ROLLBACK failed: error %u: %s", db->last_errno, mysql_error(db->my));
	drop_connection(db);
	return PB_EDB;
}

enum pb_err
db_tx_rollback(struct db *db)
{
	enum pb_err rc = rollback(db);

	seat_give(db);
	return rc;
}

enum pb_err
db_tx(struct db *db, enum pb_err (*fn)(struct db *db, void *arg), void *arg)
{
	enum pb_err rc = PB_EDEADLOCK;
	int64_t backoff = TX_BACKOFF_US;

	if (db->in_tx)
		return fn(db, arg);
	for (int attempt = 1; attempt <= TX_ATTEMPTS; attempt++) {
		rc = db_tx_begin(db);
		if (rc != PB_OK)
			return rc;
		rc = fn(db, arg);
		if (rc == PB_OK)
			rc = db_tx_commit(db);
		if (db->in_tx)
			(void)db_tx_rollback(db);
		if (rc != PB_EDEADLOCK)
			return rc;
		if (attempt < TX_ATTEMPTS) {
			time_sleep_us(backoff + (int64_t)rand_below((uint64_t)backoff));
			backoff *= 2;
		}
	}
	log_warnx("db: transaction still deadlocked after %d attempts", TX_ATTEMPTS);
	return rc;
}

/* ---- trusted text ---- */

enum pb_err
db_exec_trusted(struct db *db, const char *sql, size_t len, char *err, size_t errlen)
{
	MYSQL_RES *res;

	if (errlen > 0)
		err[0] = '\0';
	if (db->in_tx) {
		(void)snprintf(err, errlen, "not inside a transaction");
		return PB_EDB;
	}
	if (connect_db(db) != PB_OK) {
		(void)snprintf(err, errlen, "cannot connect to the database (error %u)",
		    db->last_errno);
		return PB_EDB;
	}
	if (mysql_real_query(db->my, sql, (unsigned long)len) != 0) {
		db->last_errno = mysql_errno(db->my);
		(void)snprintf(err, errlen, "error %u: %s", db->last_errno, mysql_error(db->my));
		if (conn_lost(db->last_errno))
			drop_connection(db);
		return PB_EDB;
	}
	res = mysql_store_result(db->my);
	if (res != NULL)
		mysql_free_result(res);
	return PB_OK;
}
