/*
 * Shared by the integration test programs: HTTP calls with libcurl against the real stack,
 * JSON access to responses, and a hook to the runner's control script (stop MariaDB,
 * restart paybridge, ...). Everything a test needs comes from the environment the runner
 * sets; a missing variable fails the test loudly instead of skipping it.
 */
#ifndef PB_TESTS_ITEST_H
#define PB_TESTS_ITEST_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "../unit/unit.h"

struct itest_response {
	long status;
	char *body;		/* NUL-terminated, owned */
	size_t body_len;
	char *headers;		/* raw header block, owned */
	struct json_object *json;	/* parsed body when it is JSON, else NULL; owned */
	int curl_code;		/* CURLcode; 0 when the transfer worked */
};

/* Returns the environment variable name, or aborts the program with a clear message. */
const char *itest_env(const char *name);

/*
 * Sends one request. headers is a NULL-terminated list of "Name: value" lines (may be NULL);
 * body may be NULL. Returns false only when libcurl failed to make the request at all.
 */
bool itest_request(const char *method, const char *url, const char *const *headers,
    const char *body, size_t body_len, struct itest_response *out);

/* A GET of base + path (no headers); false when the URL is too long or libcurl failed. */
bool itest_get(const char *base, const char *path, struct itest_response *out);

/*
 * itest_request from the local address source (e.g. "127.0.0.2": every 127/8 address is
 * the loopback on Linux), so the server sees another client; NULL is itest_request.
 */
bool itest_request_from(const char *source, const char *method, const char *url,
    const char *const *headers, const char *body, size_t body_len, struct itest_response *out);

/* Frees what a response holds. */
void itest_response_free(struct itest_response *r);

/* Returns the value of header name (case-insensitive) in r, copied into out; false if absent. */
bool itest_header(const struct itest_response *r, const char *name, char *out, size_t outlen);

/* Returns the string at a dotted JSON path of r's body, or NULL. Borrowed from r. */
const char *itest_json_str(const struct itest_response *r, const char *path);

/*
 * The value at a dotted path below o ("data.items.0.id": a number indexes an array), or
 * NULL. Borrowed from o.
 */
struct json_object *itest_json_at(struct json_object *o, const char *path);

/* Returns the boolean at a dotted JSON path of r's body, or def. */
bool itest_json_bool(const struct itest_response *r, const char *path, bool def);

/* Returns the integer at a dotted JSON path of r's body, or def. */
long long itest_json_int(const struct itest_response *r, const char *path, long long def);

/* Runs the runner's control script with one action ("mariadb-stop"); returns its status. */
int itest_ctl(const char *action);

/* Reads the master's pid from PB_PID_FILE (refreshed after each restart). */
int itest_master_pid(void);

/* Lists the pids of the master's children into pids (at most max); returns the count. */
size_t itest_children(int master, int *pids, size_t max);

/*
 * Counts the master's request workers (named pb-worker) that are inside nanosleep, i.e.
 * serving the test sleep route: a test polls it to know its slow requests have reached
 * workers, instead of sleeping and hoping.
 */
size_t itest_workers_sleeping(int master);

/*
 * How many of master's request workers are inside system call a or b now (numbers from
 * <sys/syscall.h>); the first max of their pids into found (may be NULL).
 */
size_t itest_workers_in(int master, long a, long b, int *found, size_t max);

/* How many of master's request workers wait for work now (in epoll_wait). */
size_t itest_workers_idle(int master);

/* Sleeps ms milliseconds. */
void itest_sleep_ms(long ms);

/* Milliseconds on the monotonic clock. */
long long itest_now_ms(void);

/*
 * Runs one SQL statement against the stack's MariaDB with the mariadb client and copies
 * the first column of the first row (tab-separated output) into out. Returns the client's
 * exit status (0 on success).
 */
int itest_sql(const char *sql, char *out, size_t outlen);

/*
 * itest_sql with a printf-style query, failing the current test when the client fails.
 * Returns out.
 */
const char *itest_sqlf(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first cell of a printf-style query as a number; -1 when none or NULL. */
long long itest_sql_num(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends a JSON request to the Stripe emulator's control API (PB_EMULATOR_URL + path). */
bool itest_emulator(const char *method, const char *path, const char *json,
    struct itest_response *out);

/* The base URLs the runner gave in PB_TEST_URLS (space-separated), e.g. nginx and Apache. */
size_t itest_base_urls(const char **urls, size_t max);

/*
 * The main() of an integration test program: initialises libcurl, fills urls (at most
 * max, the count in *nurls) from PB_TEST_URLS, and runs tests[0..n) as suite, or only
 * those named on the command line. Returns the exit status: 2 when PB_TEST_URLS names no
 * server, else unit_main_only()'s.
 */
int itest_main(const char *suite, const struct unit_test *tests, size_t n, const char **urls,
    size_t max, size_t *nurls, int argc, char *argv[]);

/*
 * Returns the value of one series of base's /metrics, named as rendered with its labels
 * (paybridge_workers_ready, paybridge_worker_exits_total{role="worker",cause="timeout"}),
 * or -1 when absent.
 */
long long itest_metric(const char *base, const char *name);

/*
 * Waits (polling, up to timeout_ms) until the pool is settled: every configured worker of
 * the current configuration ready and no reload still replacing old ones. Returns whether
 * it settled.
 */
bool itest_pool_settled(const char *base, long timeout_ms);

/* ---- users and calls, shared by the suites that sign up users ---- */

#define ITEST_PASSWORD "correct horse battery"
#define ITEST_WAIT_MS 20000		/* the guard of every polled wait */
#define ITEST_EXTRA_HEADERS_MAX 8

/* A user itest_signup made. */
struct itest_user {
	long long id;
	char email[128];
	char token[1024];
	char customer[64];	/* "" when the signup answered without one */
};

/* An address no other call of any test program makes: tag, pid, time and a counter. */
void itest_unique_email(char *out, size_t len, const char *tag);

/*
 * method base+path with the bearer token (NULL: none) and a JSON body (NULL: none);
 * fails the test (fatally) when the request could not be made at all.
 */
void itest_api(const char *method, const char *base, const char *path, const char *token,
    const char *json, struct itest_response *r);

/* itest_api with extra header lines (NULL-terminated, may be NULL), e.g. Idempotency-Key. */
void itest_api_with(const char *method, const char *base, const char *path, const char *token,
    const char *const *extra, const char *json, struct itest_response *r);

/* POST json to base+path with the token and, unless key is NULL, that Idempotency-Key. */
void itest_post_keyed(const char *base, const char *path, const char *token, const char *key,
    const char *json, struct itest_response *r);

#define ITEST_BURST_MAX 64

/*
 * n (at most ITEST_BURST_MAX) itest_post_keyed of one key and body at once, from as many
 * threads, spread over urls: checks that each answer is 201 or 409 (another repeat still
 * running) and that every 201 carries the same data.id, copied into id. Returns the
 * number of 201s.
 */
size_t itest_keyed_burst(const char *const *urls, size_t nurls, const char *path,
    const char *token, const char *key, const char *json, size_t n, char *id, size_t idlen);

/* itest_api, keeping only the status. */
long itest_api_status(const char *method, const char *base, const char *path,
    const char *token, const char *json);

/* Signs up "Profile <tag>" with a unique email through base; fails the test unless 201. */
void itest_signup(const char *base, const char *tag, struct itest_user *u);

/* A form-encoded call to the emulator's Stripe API with the stack's key ("the dashboard"). */
void itest_stripe(const char *method, const char *path, const char *form,
    struct itest_response *r);

/* A control call to the emulator that must answer 200. */
void itest_emulator_ok(const char *method, const char *path, const char *json);

/* The length of the data list a control GET of path answers (requests, objects); -1 if none. */
long long itest_emulator_count(const char *path);

/* The emulator's object kind/id into r; fails the test unless it exists (200). */
void itest_emulator_object(const char *kind, const char *id, struct itest_response *r);

/* How many of the emulator's objects of kind (its /objects list) belong to customer. */
long long itest_emulator_count_of(const char *kind, const char *customer);

/* User id's Stripe customer as paybridge stored it, into out ("" when none yet). */
void itest_stored_customer(long long user_id, char *out, size_t len);

/*
 * Counts the emulator's live customers whose metadata user_id is user_id; copies the
 * last one's id into id (may be NULL).
 */
int itest_customers_for(long long user_id, char *id, size_t idlen);

/* Copies s (NULL: "") into out. */
void itest_copy(char *out, size_t len, const char *s);

/* Polls a query's first cell until it is want (ITEST_WAIT_MS at most); says so if not. */
bool itest_wait_sql(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new catalog product row (kind one_time or recurring) at amount usd; returns its id. */
long long itest_product(long long amount, const char *kind, int active);

/* POST /v1/payments/intents for quantity of product pid as u; its id into id (or fails). */
void itest_new_intent(const char *base, const struct itest_user *u, long long pid, int quantity,
    char *id, size_t idlen);

/* POST /v1/payments/intents/{pi}/confirm with payment method pm as u. */
void itest_confirm(const char *base, const struct itest_user *u, const char *pi, const char *pm,
    struct itest_response *r);

/* s, or "(null)": CUnit's string asserts call strcmp, which NULL would crash. */
static inline const char *
itest_s(const char *s)
{
	return s != NULL ? s : "(null)";
}

#define ITEST_STR_EQ(a, b) CU_ASSERT_STRING_EQUAL(itest_s(a), itest_s(b))
#define ITEST_STR_NE(a, b) CU_ASSERT_STRING_NOT_EQUAL(itest_s(a), itest_s(b))

#endif
