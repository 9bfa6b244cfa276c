/*
 * The MariaDB wrapper's connection (see db.h for the contract, db_private.h for how the
 * files share struct db): opened lazily and reopened after a loss, with the session
 * settings every statement relies on; what the server's errors mean; database seats and
 * the request deadline; the bounded ping; trusted text (migrations).
 *
 * libmariadb's own reconnect is off: it would silently drop a transaction's earlier
 * statements and invalidate every prepared statement behind our back.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "repo/db.h"
#include "repo/db_private.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/secure.h"
#include "util/timeutil.h"

#define CONNECT_LOG_EVERY_US (10 * 1000000LL)
#define SQL_MODE "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE," \
	"ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

static bool library_ready;


/* ---- errors ---- */

bool
db_conn_lost(unsigned e)
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
	/*
	 * A Galera node outside the primary component answers every statement so ("WSREP
	 * has not yet prepared node for application use"): the connection is as good as
	 * lost, and the next one goes to another node.
	 */
	case ER_UNKNOWN_COM_ERROR:
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
void
db_log_failure(const char *what, const char *sql, unsigned e, const char *state,
    const char *msg)
{
	log_warnx("db: %s failed (%.60s): error %u (%s): %s", what, sql != NULL ? sql : "", e,
	    state != NULL ? state : "", quotes_values(e) ? "message withheld" : msg);
}

/* Maps an error that is not a connection loss. */
enum pb_err
db_map_error(struct db *db, const char *what, const char *sql, unsigned e,
    const char *state, const char *msg)
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
		db_log_failure(what, sql, e, state, msg);
		return PB_EDB;
	}
}

/* ---- connection ---- */

void
db_drop_connection(struct db *db)
{
	db_cache_clear(db);
	if (db->my != NULL) {
		mysql_close(db->my);
		db->my = NULL;
	}
	if (db->in_tx)
		db->tx_lost = true;
	/* Every drop follows a failure: the next connection tries the next server first. */
	if (db->nendpoints > 1)
		db->current = (db->current + 1) % db->nendpoints;
}

enum pb_err
db_run_text(struct db *db, const char *sql)
{
	int failed;

	db_in_statement(db, true);
	failed = mysql_real_query(db->my, sql, (unsigned long)strlen(sql));
	db_in_statement(db, false);
	return failed != 0 ? PB_EDB : PB_OK;
}

void
db_in_statement(struct db *db, bool inside)
{
	if (inside ? db->inside++ > 0 : db->inside == 0 || --db->inside > 0)
		return;
	if (db->seats != NULL && db->seats->in_statement != NULL)
		db->seats->in_statement(db->seats->ctx, inside);
}

/*
 * Opens db->my to one server (or the socket); false on failure, with db->last_errno and
 * the server's message in msg.
 */
static bool
open_one(struct db *db, const char *host, unsigned port, const char *sock, unsigned proto,
    unsigned connect_timeout, char *msg, size_t msglen)
{
	my_bool off = 0;
	unsigned infile = 0;
	unsigned long flags = CLIENT_FOUND_ROWS;
	bool connected;

	db->my = mysql_init(NULL);
	if (db->my == NULL) {
		db->last_errno = CR_OUT_OF_MEMORY;
		(void)snprintf(msg, msglen, "out of memory");
		return false;
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
		db->last_errno = CR_OUT_OF_MEMORY;
		(void)snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	db_in_statement(db, true);
	connected = mysql_real_connect(db->my, host, db->user, db->password, db->name, port,
	    sock, flags) != NULL;
	db_in_statement(db, false);
	if (!connected) {
		db->last_errno = mysql_errno(db->my);
		(void)snprintf(msg, msglen, "%s", mysql_error(db->my));
		goto fail;
	}
	return true;
fail:
	mysql_close(db->my);
	db->my = NULL;
	return false;
}

enum pb_err
db_connect(struct db *db)
{
	char setup[256], where[300], msg[256] = "";
	unsigned connect_timeout;
	int64_t until, now;
	size_t tries, i;
	bool up = false;
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
	/* The current server first, then the others in turn, while time remains. */
	tries = db->nendpoints > 0 ? db->nendpoints : 1;
	for (i = 0; i < tries && !up; i++) {
		if (i > 0 && until != 0 && time_mono_us() >= until)
			break;
		if (db->nendpoints == 0) {
			(void)snprintf(where, sizeof(where), "%s", db->socket);
			up = open_one(db, "localhost", 0, db->socket, MYSQL_PROTOCOL_SOCKET,
			    connect_timeout, msg, sizeof(msg));
		} else {
			const struct db_endpoint *ep = &db->endpoints[db->current];

			(void)snprintf(where, sizeof(where), "%s:%u", ep->host, ep->port);
			up = open_one(db, ep->host, ep->port, NULL, MYSQL_PROTOCOL_TCP,
			    connect_timeout, msg, sizeof(msg));
			if (!up)
				db->current = (db->current + 1) % db->nendpoints;
		}
	}
	if (!up) {
		if (db->last_errno == CR_OUT_OF_MEMORY)
			return PB_ENOMEM;
		now = time_mono_us();
		if (db->connect_logged_us == 0 ||
		    now - db->connect_logged_us >= CONNECT_LOG_EVERY_US) {
			log_warnx("db: cannot connect to %s%s: error %u: %s", where,
			    db->nendpoints > 1 ? " (nor to the other servers)" : "",
			    db->last_errno, msg);
			db->connect_logged_us = now;
		}
		return PB_EDB;
	}
	/* Lock waits end well before the client's read timeout, as a retryable error. */
	n = snprintf(setup, sizeof(setup),
	    "SET SESSION sql_mode='" SQL_MODE "', time_zone='+00:00', "
	    "innodb_lock_wait_timeout=%u", db->lock_wait);
	if (n < 0 || (size_t)n >= sizeof(setup) || db_run_text(db, setup) != PB_OK) {
		db->last_errno = mysql_errno(db->my);
		db_log_failure("session setup", "SET SESSION", db->last_errno, mysql_sqlstate(db->my),
		    mysql_error(db->my));
		mysql_close(db->my);
		db->my = NULL;
		if (db->nendpoints > 1)
			db->current = (db->current + 1) % db->nendpoints;
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
enum pb_err
db_ensure_connected(struct db *db)
{
	if (db->in_tx && (db->tx_lost || db->my == NULL)) {
		db->tx_lost = true;
		return PB_EDB;
	}
	return db_connect(db);
}

/* ---- configuration ---- */

static bool
parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/* One "host", "host:port", "[v6]" or "[v6]:port" of len bytes. */
static bool
parse_endpoint(const char *s, size_t len, unsigned default_port, struct db_endpoint *ep)
{
	const char *host = s, *colon = NULL;
	size_t hostlen = len;

	ep->port = default_port;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL || close == s + 1)
			return false;
		host = s + 1;
		hostlen = (size_t)(close - host);
		if (close + 1 < s + len) {
			if (close[1] != ':')
				return false;
			colon = close + 1;
		}
	} else {
		const char *first = memchr(s, ':', len);

		/* Two colons or more without brackets: a bare IPv6 address, no port. */
		if (first != NULL && memchr(first + 1, ':', len - (size_t)(first - s) - 1) == NULL) {
			colon = first;
			hostlen = (size_t)(first - s);
		}
	}
	if (colon != NULL && !parse_port(colon + 1, len - (size_t)(colon + 1 - s), &ep->port))
		return false;
	if (hostlen == 0 || hostlen >= sizeof(ep->host))
		return false;
	memcpy(ep->host, host, hostlen);
	ep->host[hostlen] = '\0';
	return true;
}

enum pb_err
db_endpoints_parse(const char *list, unsigned default_port, struct db_endpoint *out,
    size_t max, size_t *n)
{
	const char *text = list != NULL ? list : "", *p = text;

	*n = 0;
	for (;;) {
		size_t len;

		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (*n == max || !parse_endpoint(p, len, default_port, &out[*n])) {
			*n = 0;
			return PB_EINVAL;
		}
		(*n)++;
		p += len;
	}
	/* "localhost" alone keeps its old meaning: the socket. */
	if (*n == 1 && strcmp(out[0].host, "localhost") == 0 && strchr(text, ':') == NULL)
		*n = 0;
	return PB_OK;
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
	db->socket = dup_str(c->db_socket);
	db->name = dup_str(c->db_name);
	db->user = dup_str(c->db_user);
	db->password = dup_str(c->db_password);
	if (db->socket == NULL || db->name == NULL || db->user == NULL ||
	    db->password == NULL) {
		db_free(db);
		return PB_ENOMEM;
	}
	if (db_endpoints_parse(c->db_host, (unsigned)c->db_port, db->endpoints,
		DB_MAX_ENDPOINTS, &db->nendpoints) != PB_OK) {
		log_error("db: db_host: expected host[:port] servers separated by commas");
		db_free(db);
		return PB_ECONFIG;
	}
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
	db_cache_clear(db);
	if (db->my != NULL)
		mysql_close(db->my);
	free(db->stmts);
	free(db->ptrs);
	free(db->pbind);
	free(db->ptime);
	free(db->pint);
	free(db->rbind);
	free(db->cols);
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

void
db_waive_seats(struct db *db, bool waive)
{
	db->seats_waived = waive;
}

/*
 * Takes a seat for what follows (a statement, or a transaction), unless one is held:
 * PB_ETIMEOUT past the deadline, PB_EBUSY when no seat came free in time.
 */
enum pb_err
db_seat_take(struct db *db)
{
	int64_t now, until;
	enum pb_err rc;

	if (db->seated)
		return PB_OK;
	now = time_mono_us();
	if (db->deadline_us != 0 && now >= db->deadline_us)
		return PB_ETIMEOUT;
	if (db->seats == NULL || db->seats_waived)
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
void
db_seat_give(struct db *db)
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
	rc = db_seat_take(db);
	if (rc != PB_OK)
		return rc;
	db->ping_until_us = deadline;
	db_in_statement(db, true);
	for (int attempt = 0; attempt < 2; attempt++) {
		rc = db_ensure_connected(db);
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
		db_drop_connection(db);
		if (rc == PB_ETIMEOUT || db->in_tx) {
			rc = PB_EDB;
			break;
		}
	}
	db_in_statement(db, false);
	db->ping_until_us = 0;
	db_seat_give(db);
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
	if (db_connect(db) != PB_OK) {
		(void)snprintf(err, errlen, "cannot connect to the database (error %u)",
		    db->last_errno);
		return PB_EDB;
	}
	if (mysql_real_query(db->my, sql, (unsigned long)len) != 0) {
		db->last_errno = mysql_errno(db->my);
		(void)snprintf(err, errlen, "error %u: %s", db->last_errno, mysql_error(db->my));
		if (db_conn_lost(db->last_errno))
			db_drop_connection(db);
		return PB_EDB;
	}
	res = mysql_store_result(db->my);
	if (res != NULL)
		mysql_free_result(res);
	return PB_OK;
}

