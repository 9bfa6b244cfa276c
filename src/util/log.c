#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/timeutil.h"

#define LOG_LINE_MAX 16384
#define LOG_MSG_MAX 4096

static const char *log_role = "main";
static enum log_level log_min = LOGL_INFO;
static char log_request_id[128];

static const char *const level_names[LOGL__MAX] = {
	[LOGL_DEBUG] = "debug",
	[LOGL_INFO] = "info",
	[LOGL_WARN] = "warn",
	[LOGL_ERROR] = "error",
};

void
log_set_role(const char *role)
{
	log_role = role;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < LOGL__MAX; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_request_id(const char *id)
{
	if (id == NULL)
		log_request_id[0] = '\0';
	else
		(void)snprintf(log_request_id, sizeof(log_request_id), "%s", id);
}

static void
emit(enum log_level level, const char *msg, const struct log_kv *kv, size_t n)
{
	char ts[TIME_ISO8601_LEN];
	struct buf b;
	enum pb_err err;
	size_t off;
	ssize_t w;

	if (level < log_min)
		return;
	time_iso8601(time_real_us(), ts, sizeof(ts));
	buf_init(&b, LOG_LINE_MAX);
	err = buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"role\":\"%s\",\"pid\":%ld", ts,
	    level_names[level], log_role, (long)proc_self());
	if (err == PB_OK && log_request_id[0] != '\0') {
		err = buf_appends(&b, ",\"request_id\":");
		if (err == PB_OK)
			err = json_escape(&b, log_request_id, strlen(log_request_id));
	}
	if (err == PB_OK)
		err = buf_appends(&b, ",\"msg\":");
	if (err == PB_OK)
		err = json_escape(&b, msg, strlen(msg));
	for (size_t i = 0; err == PB_OK && i < n; i++) {
		err = buf_appendc(&b, ',');
		if (err == PB_OK)
			err = json_escape(&b, kv[i].key, strlen(kv[i].key));
		if (err == PB_OK)
			err = buf_appendc(&b, ':');
		if (err == PB_OK && kv[i].str != NULL)
			err = json_escape(&b, kv[i].str, strlen(kv[i].str));
		else if (err == PB_OK)
			err = buf_appendf(&b, "%lld", kv[i].num);
	}
	if (err == PB_OK)
		err = buf_appends(&b, "}\n");
	if (err != PB_OK) {
		static const char fallback[] = "{\"level\":\"error\",\"msg\":\"log line too long\"}\n";
		(void)!write(STDERR_FILENO, fallback, sizeof(fallback) - 1);
		return;
	}
	/* One write per line keeps lines whole when several processes share stderr. */
	for (off = 0; off < b.len; off += (size_t)w) {
		w = write(STDERR_FILENO, b.data + off, b.len - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			break;
	}
	buf_free(&b);
}

static void vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX];
	int saved = errno;
	int len;

	if (level < log_min)
		return;
	len = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (len < 0)
		msg[0] = '\0';
	if (with_errno && len >= 0 && (size_t)len < sizeof(msg))
		(void)snprintf(msg + len, sizeof(msg) - (size_t)len, ": %s", strerror(saved));
	emit(level, msg, NULL, 0);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)          \
	void                                     \
	name(const char *fmt, ...)               \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                      \
	}

LOG_FN(log_debug, LOGL_DEBUG, 0)
LOG_FN(log_info, LOGL_INFO, 0)
LOG_FN(log_warn, LOGL_WARN, 1)
LOG_FN(log_warnx, LOGL_WARN, 0)
LOG_FN(log_error, LOGL_ERROR, 0)

void
log_event(enum log_level level, const char *msg, const struct log_kv *kv, size_t n)
{
	int saved = errno;

	emit(level, msg, kv, n);
	errno = saved;
}
