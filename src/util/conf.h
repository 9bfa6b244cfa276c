/*
 * Configuration: defaults, then the key = value file, then systemd credentials, then
 * PAYBRIDGE_<KEY> environment variables (and the conventional STRIPE_SECRET_KEY and
 * STRIPE_WEBHOOK_SECRET). Every key is described by one row of a table in conf.c; an
 * invalid value stops startup with one line naming the source, the key and the problem.
 * Secrets are refused in a file that other users can read, and wiped when freed.
 */
#ifndef PB_UTIL_CONF_H
#define PB_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CONF_EX_CONFIG 78	/* sysexits.h EX_CONFIG: what the master exits with */
#define CONF_ERR_MAX 512
#define CONF_DEFAULT_PATH PB_SYSCONFDIR "/paybridge.conf"

struct conf {
	/* listening and process pool */
	char *listen;		/* "unix:/path", "host:port", or "fd:0" (inherited) */
	long long listen_mode;	/* octal permission bits of a unix socket */
	char *listen_group;	/* group owning a unix socket; "" keeps the default */
	long long listen_backlog;
	long long workers;
	long long max_requests;	/* 0: never recycle */
	long long request_timeout;	/* seconds */
	long long queue_timeout_ms;	/* older when picked up: 503 at once; 0: never */
	long long shutdown_timeout;	/* seconds */

	/* requests */
	long long max_body_bytes;
	long long json_max_depth;

	/* logs */
	char *log_level;

	/* database */
	char *db_host;		/* "" or "localhost": use db_socket */
	char *host_id;		/* "": the machine's host name (outbox_owner) */
	long long db_port;
	char *db_socket;
	char *db_name;
	char *db_user;
	char *db_password;	/* secret */
	long long db_connect_timeout;	/* seconds */
	long long db_read_timeout;	/* seconds, per read of a statement's answer */
	long long db_write_timeout;	/* seconds */
	long long db_reserve_workers;	/* workers kept out of the database at all times */
	long long db_seat_wait_ms;	/* how long a request waits for a database seat */
	long long readyz_timeout_ms;	/* bound of readyz's ping */

	/* Stripe */
	char *stripe_api_base;
	char *stripe_secret_key;	/* secret */
	char *stripe_api_version;
	char *stripe_webhook_secrets;	/* secret; comma-separated, for rotation */
	long long stripe_webhook_tolerance;	/* seconds */
	long long stripe_webhook_max_bytes;	/* body limit of POST /v1/webhooks/stripe */
	long long stripe_connect_timeout_ms;
	long long stripe_timeout_ms;
	long long stripe_max_retries;
	char *stripe_ca_file;

	/* accounts */
	char *jwt_secret;	/* secret; at least 32 bytes */
	long long jwt_ttl;	/* seconds */
	long long argon2_memory_kib;
	long long argon2_iterations;
	long long argon2_parallelism;
	char *signup_redirect_url;
	char *checkout_success_url;	/* {CHECKOUT_SESSION_ID} is Stripe's to fill in */
	char *checkout_cancel_url;
	char *billing_portal_return_url;

	/* jobs */
	long long customer_inline_budget_ms;
	long long jobs_poll_interval_ms;
	long long profile_sync_window_ms;	/* a push waits this long after the last */
	long long status_refresh_after_ms;	/* a read asks Stripe about older intents */

	/* live status */
	char *nchan_publish_url;	/* nchan publisher base URL; "" for none */
	long long long_poll_max_waiters;	/* -1: workers / 2 */

	/* guest payments */
	long long guest_payments;	/* on (1) or off (0) */
	long long guest_rate_per_email;	/* attempts per address per window */
	long long guest_rate_per_ip;	/* attempts per client per window */
	long long guest_rate_window;	/* seconds */
	long long jobs_max_attempts;
	long long events_sync_interval;	/* seconds between /v1/events syncs; 0: off */
};

/* Fills c with the defaults (allocating their strings). */
enum pb_err conf_defaults(struct conf *c);

/*
 * Loads the whole configuration into c: defaults, the file at path (a missing file is an
 * error only when required), credentials, the environment, then cross-key checks. On
 * failure writes one line into err and leaves c freed.
 */
enum pb_err conf_load(struct conf *c, const char *path, bool required, char *err, size_t errlen);

/*
 * Applies key = value lines of text to c; name labels error messages ("file:line").
 * Exposed for tests and the fuzzer. c must hold defaults already.
 */
enum pb_err conf_parse_text(struct conf *c, const char *name, const char *text, size_t len,
    bool secrets_allowed, char *err, size_t errlen);

/* Applies PAYBRIDGE_* (and STRIPE_*) variables from environ to c. */
enum pb_err conf_apply_env(struct conf *c, char *err, size_t errlen);

/* Checks rules that span keys (and secrets' lengths). */
enum pb_err conf_validate(const struct conf *c, char *err, size_t errlen);

/* Frees every string, wiping secrets first. */
void conf_free(struct conf *c);

#endif
