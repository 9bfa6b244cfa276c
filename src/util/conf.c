#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/secure.h"
#include "util/strnum.h"

#define CONF_FILE_MAX (1024 * 1024)
#define CONF_VALUE_MAX 4096

enum conf_type {
	CT_STR,
	CT_SECRET,
	CT_INT,
	CT_OCTAL,
	CT_LEVEL,	/* a log level name */
	CT_URL,		/* http:// or https:// */
	CT_BOOL,	/* on, off (yes, no, true, false, 1, 0): a long long 1 or 0 */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;
	const char *def;	/* default, as it would be written in the file */
	long long min, max;	/* for CT_INT and CT_OCTAL */
};

#define S(k, d) { #k, CT_STR, offsetof(struct conf, k), d, 0, 0 }
#define SECRET(k) { #k, CT_SECRET, offsetof(struct conf, k), "", 0, 0 }
#define I(k, d, lo, hi) { #k, CT_INT, offsetof(struct conf, k), d, lo, hi }
#define B(k, d) { #k, CT_BOOL, offsetof(struct conf, k), d, 0, 1 }

static const struct conf_key keys[] = {
	S(listen, "unix:/run/paybridge/paybridge.sock"),
	{ "listen_mode", CT_OCTAL, offsetof(struct conf, listen_mode), "0660", 0, 0777 },
	S(listen_group, ""),
	I(listen_backlog, "1024", 1, 65535),
	I(workers, "8", 1, 1024),
	I(max_requests, "10000", 0, LLONG_MAX),
	I(request_timeout, "30", 1, 3600),
	I(queue_timeout_ms, "10000", 0, 3600000),
	I(shutdown_timeout, "20", 1, 3600),
	I(max_body_bytes, "1048576", 1024, 64 * 1024 * 1024),
	I(json_max_depth, "32", 1, 256),
	{ "log_level", CT_LEVEL, offsetof(struct conf, log_level), "info", 0, 0 },
	S(db_host, ""),
	S(host_id, ""),
	I(db_port, "3306", 1, 65535),
	S(db_socket, "/run/mysqld/mysqld.sock"),
	S(db_name, "paybridge"),
	S(db_user, "paybridge"),
	SECRET(db_password),
	I(db_connect_timeout, "2", 1, 300),
	I(db_read_timeout, "3", 1, 3600),
	I(db_write_timeout, "3", 1, 3600),
	I(db_reserve_workers, "1", 0, 1023),
	I(db_seat_wait_ms, "100", 0, 60000),
	I(readyz_timeout_ms, "1000", 100, 60000),
	{ "stripe_api_base", CT_URL, offsetof(struct conf, stripe_api_base),
	    "https://api.stripe.com", 0, 0 },
	SECRET(stripe_secret_key),
	S(stripe_api_version, "2023-08-16"),
	SECRET(stripe_webhook_secrets),
	I(stripe_webhook_tolerance, "300", 1, 86400),
	I(stripe_webhook_max_bytes, "1048576", 1024, 64 * 1024 * 1024),
	I(stripe_connect_timeout_ms, "3000", 100, 60000),
	I(stripe_timeout_ms, "10000", 100, 300000),
	I(stripe_max_retries, "2", 0, 10),
	S(stripe_ca_file, ""),
	SECRET(jwt_secret),
	I(jwt_ttl, "900", 60, 86400 * 30),
	I(argon2_memory_kib, "19456", 19456, 4 * 1024 * 1024),
	I(argon2_iterations, "2", 2, 100),
	I(argon2_parallelism, "1", 1, 64),
	S(signup_redirect_url, ""),
	/* Where Stripe's hosted pages send the buyer back: the local site's pages by default. */
	{ "checkout_success_url", CT_URL, offsetof(struct conf, checkout_success_url),
	    "http://127.0.0.1/account.html?checkout={CHECKOUT_SESSION_ID}", 0, 0 },
	{ "checkout_cancel_url", CT_URL, offsetof(struct conf, checkout_cancel_url),
	    "http://127.0.0.1/index.html", 0, 0 },
	{ "billing_portal_return_url", CT_URL, offsetof(struct conf, billing_portal_return_url),
	    "http://127.0.0.1/account.html", 0, 0 },
	I(customer_inline_budget_ms, "2000", 0, 60000),
	I(jobs_poll_interval_ms, "500", 10, 60000),
	I(profile_sync_window_ms, "1000", 0, 60000),
	I(status_refresh_after_ms, "5000", 0, 3600000),
	S(nchan_publish_url, ""),
	I(long_poll_max_waiters, "-1", -1, 1023),
	B(guest_payments, "off"),
	I(guest_rate_per_email, "5", 1, 100000),
	I(guest_rate_per_ip, "20", 1, 100000),
	I(guest_rate_window, "600", 1, 86400),
	I(jobs_max_attempts, "20", 1, 1000),
	I(events_sync_interval, "600", 0, 86400),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char **
str_field(struct conf *c, const struct conf_key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static long long *
int_field(struct conf *c, const struct conf_key *k)
{
	return (long long *)(void *)((char *)c + k->off);
}

static const struct conf_key *
find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	}
	return NULL;
}

static bool
is_string_type(enum conf_type t)
{
	return t == CT_STR || t == CT_SECRET || t == CT_LEVEL || t == CT_URL;
}

/* Sets one key from its textual value; on failure writes the problem into why. */
static enum pb_err
set_value(struct conf *c, const struct conf_key *k, const char *value, char *why, size_t whylen)
{
	long long n;
	enum log_level level;
	char *copy;

	switch (k->type) {
	case CT_BOOL:
		if (strcmp(value, "on") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
			*int_field(c, k) = 1;
		} else if (strcmp(value, "off") == 0 || strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
			*int_field(c, k) = 0;
		} else {
			(void)snprintf(why, whylen, "must be on or off");
			return PB_ECONFIG;
		}
		return PB_OK;
	case CT_INT:
	case CT_OCTAL:
		if (strnum_parse(value, k->type == CT_OCTAL ? 8 : 10, k->min, k->max, &n) !=
		    PB_OK) {
			(void)snprintf(why, whylen,
			    k->type == CT_OCTAL ? "must be an octal mode between %llo and %llo"
						: "must be an integer between %lld and %lld",
			    k->min, k->max);
			return PB_ECONFIG;
		}
		*int_field(c, k) = n;
		return PB_OK;
	case CT_LEVEL:
		if (log_level_parse(value, &level) != 0) {
			(void)snprintf(why, whylen, "must be one of debug, info, warn, error");
			return PB_ECONFIG;
		}
		break;
	case CT_URL:
		if (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) {
			(void)snprintf(why, whylen, "must be an http:// or https:// URL");
			return PB_ECONFIG;
		}
		break;
	case CT_STR:
	case CT_SECRET:
		break;
	}
	copy = strdup(value);
	if (copy == NULL) {
		(void)snprintf(why, whylen, "out of memory");
		return PB_ENOMEM;
	}
	secure_free_str(*str_field(c, k));
	*str_field(c, k) = copy;
	return PB_OK;
}

enum pb_err
conf_defaults(struct conf *c)
{
	char why[128];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		if (set_value(c, &keys[i], keys[i].def, why, sizeof(why)) != PB_OK) {
			conf_free(c);
			return PB_ENOMEM;
		}
	}
	return PB_OK;
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (is_string_type(keys[i].type)) {
			secure_free_str(*str_field(c, &keys[i]));
			*str_field(c, &keys[i]) = NULL;
		}
	}
}

static char *
trim(char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r'))
		(*len)--;
	return s;
}

enum pb_err
conf_parse_text(struct conf *c, const char *name, const char *text, size_t len,
    bool secrets_allowed, char *err, size_t errlen)
{
	char line[CONF_VALUE_MAX + 256], why[256], keyname[64];
	char *key, *value, *eq;
	const struct conf_key *k;
	size_t pos = 0, n, klen, vlen;
	unsigned lineno = 0;
	enum pb_err rc;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n >= sizeof(line)) {
			(void)snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			return PB_ECONFIG;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (memchr(line, '\0', n) != NULL) {
			(void)snprintf(err, errlen, "%s:%u: NUL byte in line", name, lineno);
			return PB_ECONFIG;
		}
		key = trim(line, &n);
		if (n == 0 || key[0] == '#')
			continue;
		eq = memchr(key, '=', n);
		if (eq == NULL) {
			(void)snprintf(err, errlen, "%s:%u: expected key = value", name, lineno);
			return PB_ECONFIG;
		}
		klen = (size_t)(eq - key);
		vlen = n - klen - 1;
		key = trim(key, &klen);
		value = trim(eq + 1, &vlen);
		value[vlen] = '\0';
		(void)snprintf(keyname, sizeof(keyname), "%.*s", (int)(klen < 60 ? klen : 60), key);
		for (size_t i = 0; i < strlen(keyname); i++) {
			if (!isprint((unsigned char)keyname[i]))
				keyname[i] = '?';
		}
		k = find_key(key, klen);
		if (k == NULL) {
			(void)snprintf(err, errlen, "%s:%u: %s: unknown key", name, lineno, keyname);
			return PB_ECONFIG;
		}
		if (k->type == CT_SECRET && !secrets_allowed) {
			(void)snprintf(err, errlen,
			    "%s:%u: %s: secrets may not be kept in a file that other users can "
			    "read; use the environment or a systemd credential",
			    name, lineno, keyname);
			return PB_ECONFIG;
		}
		rc = set_value(c, k, value, why, sizeof(why));
		if (rc != PB_OK) {
			(void)snprintf(err, errlen, "%s:%u: %s: %s", name, lineno, keyname, why);
			return rc;
		}
	}
	return PB_OK;
}

/* Reads a whole small file into a buffer. */
static enum pb_err
read_file(const char *path, struct buf *b, struct stat *st, char *err, size_t errlen)
{
	char chunk[4096];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? PB_ENOTFOUND : PB_ECONFIG;
	}
	if (fstat(fd, st) != 0) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return PB_ECONFIG;
	}
	buf_init(b, CONF_FILE_MAX);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
			break;
		}
		if (n == 0) {
			close(fd);
			return PB_OK;
		}
		if (buf_append(b, chunk, (size_t)n) != PB_OK) {
			(void)snprintf(err, errlen, "%s: file too large", path);
			break;
		}
	}
	close(fd);
	buf_free(b);
	return PB_ECONFIG;
}

/* Reads secrets handed over by systemd's LoadCredential= (one file per key). */
static enum pb_err
apply_credentials(struct conf *c, char *err, size_t errlen)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX], why[256];
	struct stat st;
	struct buf b;
	enum pb_err rc;

	if (dir == NULL || dir[0] == '\0')
		return PB_OK;
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type != CT_SECRET)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, keys[i].name) >= (int)sizeof(path))
			continue;
		rc = read_file(path, &b, &st, err, errlen);
		if (rc == PB_ENOTFOUND)
			continue;
		if (rc != PB_OK)
			return rc;
		/* A credential file usually ends with a newline that is not part of it. */
		while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
			b.data[--b.len] = '\0';
		rc = set_value(c, &keys[i], buf_cstr(&b), why, sizeof(why));
		buf_free(&b);
		if (rc != PB_OK) {
			(void)snprintf(err, errlen, "credential %s: %s", keys[i].name, why);
			return rc;
		}
	}
	return PB_OK;
}

static enum pb_err
apply_env_var(struct conf *c, const struct conf_key *k, const char *var, char *err,
    size_t errlen)
{
	const char *value = getenv(var);
	char why[256];
	enum pb_err rc;

	if (value == NULL)
		return PB_OK;
	rc = set_value(c, k, value, why, sizeof(why));
	if (rc != PB_OK)
		(void)snprintf(err, errlen, "environment %s: %s: %s", var, k->name, why);
	return rc;
}

enum pb_err
conf_apply_env(struct conf *c, char *err, size_t errlen)
{
	static const struct {
		const char *var, *key;
	} aliases[] = {
		{ "STRIPE_SECRET_KEY", "stripe_secret_key" },
		{ "STRIPE_WEBHOOK_SECRET", "stripe_webhook_secrets" },
	};
	char var[96];
	enum pb_err rc;

	/* Conventional names first, so the PAYBRIDGE_ ones win when both are set. */
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		rc = apply_env_var(c, find_key(aliases[i].key, strlen(aliases[i].key)),
		    aliases[i].var, err, errlen);
		if (rc != PB_OK)
			return rc;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		size_t j;

		(void)snprintf(var, sizeof(var), "PAYBRIDGE_%s", keys[i].name);
		for (j = strlen("PAYBRIDGE_"); var[j] != '\0'; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		rc = apply_env_var(c, &keys[i], var, err, errlen);
		if (rc != PB_OK)
			return rc;
	}
	return PB_OK;
}

/*
 * "label:whsec_...,whsec_..." (see stripe/webhook.h): a label before a ':' must be 1-32
 * of [A-Za-z0-9_.-], or the secret would silently verify nothing.
 */
static bool
webhook_secrets_ok(const char *s)
{
	while (*s != '\0') {
		size_t n = strcspn(s, ","), ln;
		const char *colon = memchr(s, ':', n);

		if (colon != NULL) {
			while (*s == ' ' || *s == '\t')
				s++;
			ln = (size_t)(colon - s);
			if (ln == 0 || ln > 32 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") < ln)
				return false;
		}
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
	return true;
}

enum pb_err
conf_validate(const struct conf *c, char *err, size_t errlen)
{
	const char *l = c->listen;

	if (strncmp(l, "unix:/", 6) != 0 && strcmp(l, "fd:0") != 0 &&
	    (strrchr(l, ':') == NULL || strrchr(l, ':') == l || strrchr(l, ':')[1] == '\0')) {
		(void)snprintf(err, errlen,
		    "listen: must be unix:/absolute/path, host:port or fd:0");
		return PB_ECONFIG;
	}
	if (c->db_read_timeout >= c->request_timeout || c->db_write_timeout >= c->request_timeout) {
		(void)snprintf(err, errlen,
		    "db_read_timeout and db_write_timeout: must be below request_timeout (%lld s), "
		    "or a stalled database gets workers killed instead of answered",
		    c->request_timeout);
		return PB_ECONFIG;
	}
	if (c->queue_timeout_ms >= c->request_timeout * 1000) {
		(void)snprintf(err, errlen,
		    "queue_timeout_ms: must be below request_timeout (%lld s): a request that "
		    "waited that long has no time left to run", c->request_timeout);
		return PB_ECONFIG;
	}
	if (c->workers > 1 && c->db_reserve_workers >= c->workers) {
		(void)snprintf(err, errlen,
		    "db_reserve_workers: must be below workers (%lld), or the pool could not reach "
		    "the database at all", c->workers);
		return PB_ECONFIG;
	}
	if (c->workers > 1 && c->long_poll_max_waiters >= c->workers) {
		(void)snprintf(err, errlen,
		    "long_poll_max_waiters: must be below workers (%lld): waiters hold a worker "
		    "each, and the pool must keep some free", c->workers);
		return PB_ECONFIG;
	}
	if (c->nchan_publish_url[0] != '\0' && strncmp(c->nchan_publish_url, "http://", 7) != 0 &&
	    strncmp(c->nchan_publish_url, "https://", 8) != 0) {
		(void)snprintf(err, errlen, "nchan_publish_url: must be an http(s) URL, or empty");
		return PB_ECONFIG;
	}
	if (!webhook_secrets_ok(c->stripe_webhook_secrets)) {
		(void)snprintf(err, errlen, "stripe_webhook_secrets: each entry is a secret or "
		    "label:secret, a label being 1-32 of A-Z a-z 0-9 _ . -");
		return PB_ECONFIG;
	}
	if (c->jwt_secret[0] != '\0' && strlen(c->jwt_secret) < 32) {
		(void)snprintf(err, errlen, "jwt_secret: must be at least 32 bytes");
		return PB_ECONFIG;
	}
	return PB_OK;
}

enum pb_err
conf_load(struct conf *c, const char *path, bool required, char *err, size_t errlen)
{
	struct stat st;
	struct buf b;
	enum pb_err rc;

	rc = conf_defaults(c);
	if (rc != PB_OK) {
		(void)snprintf(err, errlen, "out of memory");
		return rc;
	}
	rc = read_file(path, &b, &st, err, errlen);
	if (rc == PB_ENOTFOUND && !required)
		rc = PB_OK;
	else if (rc == PB_OK) {
		rc = conf_parse_text(c, path, buf_cstr(&b), b.len, (st.st_mode & 0007) == 0, err,
		    errlen);
		buf_free(&b);
	}
	if (rc == PB_OK)
		rc = apply_credentials(c, err, errlen);
	if (rc == PB_OK)
		rc = conf_apply_env(c, err, errlen);
	if (rc == PB_OK)
		rc = conf_validate(c, err, errlen);
	if (rc != PB_OK) {
		conf_free(c);
		return rc == PB_ENOTFOUND ? PB_ECONFIG : rc;
	}
	return PB_OK;
}
