/*
 * Structured logs: one JSON object a line on stderr, carrying time, level, the process
 * role and pid, and inside a request its id. Messages are escaped, so text that came
 * from a client or from Stripe can never forge a line or a field. Never pass card data,
 * passwords, keys, tokens or signature headers.
 */
#ifndef PB_UTIL_LOG_H
#define PB_UTIL_LOG_H

#include <stddef.h>

enum log_level {
	LOGL_DEBUG,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
	LOGL__MAX
};

/* One extra field of a structured line: a string, or a number when str is NULL. */
struct log_kv {
	const char *key;
	const char *str;
	long long num;
};

/* A NULL string logs as "", never as a crash. */
static inline const char *
log_str(const char *v)
{
	return v != NULL ? v : "";
}

#define LOG_STR(k, v) ((struct log_kv){ .key = (k), .str = log_str(v), .num = 0 })
#define LOG_NUM(k, v) ((struct log_kv){ .key = (k), .str = NULL, .num = (long long)(v) })

/* Sets the role ("master", "worker", "jobs", "ctl"); copies nothing, role must be static. */
void log_set_role(const char *role);

/* Lines below level are dropped. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn", "error". Returns -1 when unknown. */
int log_level_parse(const char *s, enum log_level *out);

/* Sets the request id carried by every line until it is cleared with NULL (copied). */
void log_set_request_id(const char *id);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends strerror(errno), as err(3) does. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes one line with msg and the n fields of kv. */
void log_event(enum log_level level, const char *msg, const struct log_kv *kv, size_t n);

#endif
