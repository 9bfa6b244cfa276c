#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define BODY_MAX (8 * 1024 * 1024)

struct sink {
	char *p;
	size_t len;
};

static bool
sink_add(struct sink *s, const char *data, size_t add)
{
	char *p;

	if (s->len + add > BODY_MAX)
		return false;
	p = realloc(s->p, s->len + add + 1);
	if (p == NULL)
		return false;
	memcpy(p + s->len, data, add);
	s->p = p;
	s->len += add;
	s->p[s->len] = '\0';
	return true;
}

static size_t
collect(char *data, size_t size, size_t n, void *ctx)
{
	return sink_add(ctx, data, size * n) ? size * n : 0;
}

/*
 * The contract check's record (tests/openapi/validate.py): with PB_OPENAPI_RECORD set,
 * each response is appended to that file as one JSON line, written with one write() to
 * an O_APPEND descriptor so that the lines of concurrent requests never interleave.
 */
static bool
record_escape(struct sink *s, const char *p, size_t n)
{
	size_t i = 0, run;
	char esc[8];

	while (i < n) {
		unsigned char ch;

		/* A run of bytes that need no escape goes in at once. */
		for (run = i; run < n; run++) {
			ch = (unsigned char)p[run];
			if (ch == '"' || ch == '\\' || ch < 0x20 || ch == 0x7f)
				break;
		}
		if (run > i && !sink_add(s, p + i, run - i))
			return false;
		if (run == n)
			break;
		(void)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)p[run]);
		if (!sink_add(s, esc, 6))
			return false;
		i = run + 1;
	}
	return true;
}

static bool
record_str(struct sink *s, const char *key, const char *p, size_t n)
{
	return sink_add(s, "\"", 1) && record_escape(s, key, strlen(key)) &&
	    sink_add(s, "\":\"", 3) && record_escape(s, p, n) && sink_add(s, "\",", 2);
}

static void
record_response(const char *method, const char *url, const char *content_type,
    const struct itest_response *r)
{
	const char *file = getenv("PB_OPENAPI_RECORD"), *emulator = getenv("PB_EMULATOR_URL");
	const char *path, *query;
	struct sink s = { NULL, 0 };
	char status[48];
	size_t origin_len, path_len;
	bool ok;
	int fd;

	if (file == NULL || file[0] == '\0' || r->status == 0)
		return;
	path = strstr(url, "://");
	path = path != NULL ? strchr(path + 3, '/') : NULL;
	if (path == NULL)
		path = url + strlen(url);
	origin_len = (size_t)(path - url);
	/* The emulator's answers are not paybridge's contract: not worth writing (megabytes). */
	if (emulator != NULL && emulator[0] != '\0' && strlen(emulator) == origin_len &&
	    strncmp(url, emulator, origin_len) == 0)
		return;
	query = strchr(path, '?');
	path_len = query != NULL ? (size_t)(query - path) : strlen(path);
	query = query != NULL ? query + 1 : "";
	(void)snprintf(status, sizeof(status), "\"status\":%ld}\n", r->status);
	ok = sink_add(&s, "{", 1) && record_str(&s, "method", method, strlen(method)) &&
	    record_str(&s, "origin", url, origin_len) && record_str(&s, "path", path, path_len) &&
	    record_str(&s, "query", query, strlen(query)) &&
	    record_str(&s, "content_type", content_type != NULL ? content_type : "",
		content_type != NULL ? strlen(content_type) : 0) &&
	    record_str(&s, "headers", r->headers, strlen(r->headers)) &&
	    record_str(&s, "body", r->body, r->body_len) &&
	    sink_add(&s, status, strlen(status));
	fd = ok ? open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (fd < 0 || write(fd, s.p, s.len) != (ssize_t)s.len)
		fprintf(stderr, "integration test: cannot record a response in %s\n", file);
	if (fd >= 0)
		(void)close(fd);
	free(s.p);
}

const char *
itest_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "integration test: %s is not set; run it through its runner script\n",
		    name);
		exit(2);
	}
	return v;
}

bool
itest_request(const char *method, const char *url, const char *const *headers,
    const char *body, size_t body_len, struct itest_response *out)
{
	return itest_request_from(NULL, method, url, headers, body, body_len, out);
}

bool
itest_get(const char *base, const char *path, struct itest_response *out)
{
	char url[2048];
	int n = snprintf(url, sizeof(url), "%s%s", base, path);

	if (n < 0 || (size_t)n >= sizeof(url)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	return itest_request("GET", url, NULL, NULL, 0, out);
}

bool
itest_request_from(const char *source, const char *method, const char *url,
    const char *const *headers, const char *body, size_t body_len, struct itest_response *out)
{
	char local[64];
	char *content_type = NULL;

	struct sink b = { NULL, 0 }, h = { NULL, 0 };
	struct curl_slist *list = NULL;
	CURL *c;
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	c = curl_easy_init();
	if (c == NULL)
		return false;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		list = curl_slist_append(list, headers[i]);
	/* curl adds "Expect: 100-continue" to large bodies; the servers under test need not. */
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (source != NULL) {
		/* "host!": bind to this address, never take it for an interface name. */
		(void)snprintf(local, sizeof(local), "host!%s", source);
		curl_easy_setopt(c, CURLOPT_INTERFACE, local);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type);
	curl_slist_free_all(list);
	out->curl_code = (int)rc;
	out->body = b.p != NULL ? b.p : strdup("");
	out->body_len = b.len;
	out->headers = h.p != NULL ? h.p : strdup("");
	if (out->body_len > 0)
		out->json = json_tokener_parse(out->body);
	if (rc == CURLE_OK)
		record_response(method, url, content_type, out);
	curl_easy_cleanup(c);
	return rc == CURLE_OK;
}

void
itest_response_free(struct itest_response *r)
{
	free(r->body);
	free(r->headers);
	if (r->json != NULL)
		json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

bool
itest_header(const struct itest_response *r, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *line = r->headers;

	while (line != NULL && *line != '\0') {
		const char *end = strstr(line, "\r\n");
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (len > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;
			size_t vlen = len - nlen - 1;

			while (vlen > 0 && isspace((unsigned char)*v)) {
				v++;
				vlen--;
			}
			(void)snprintf(out, outlen, "%.*s", (int)vlen, v);
			return true;
		}
		line = end != NULL ? end + 2 : NULL;
	}
	return false;
}

struct json_object *
itest_json_at(struct json_object *o, const char *path)
{
	char part[128];

	while (o != NULL && *path != '\0') {
		const char *dot = strchr(path, '.');
		size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		char *end;
		unsigned long i;

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			i = strtoul(part, &end, 10);
			if (*end != '\0' || end == part || i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, i);
		} else if (!json_object_object_get_ex(o, part, &o)) {
			return NULL;
		}
		path += n + (dot != NULL);
	}
	return o;
}

static struct json_object *
at_path(const struct itest_response *r, const char *path)
{
	return itest_json_at(r->json, path);
}

bool
itest_json_bool(const struct itest_response *r, const char *path, bool def)
{
	struct json_object *o = at_path(r, path);

	return o != NULL && json_object_is_type(o, json_type_boolean) ? json_object_get_boolean(o)
								       : def;
}

const char *
itest_json_str(const struct itest_response *r, const char *path)
{
	struct json_object *o = at_path(r, path);

	return o != NULL && json_object_is_type(o, json_type_string) ? json_object_get_string(o)
								      : NULL;
}

long long
itest_json_int(const struct itest_response *r, const char *path, long long def)
{
	struct json_object *o = at_path(r, path);

	return o != NULL && json_object_is_type(o, json_type_int) ? json_object_get_int64(o) : def;
}

int
itest_ctl(const char *action)
{
	char cmd[1024];
	int rc;

	(void)snprintf(cmd, sizeof(cmd), "'%s' %s", itest_env("PB_TEST_CTL"), action);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "control action %s failed (%d)\n", action, rc);
	return rc;
}

int
itest_master_pid(void)
{
	FILE *f = fopen(itest_env("PB_PID_FILE"), "r");
	char line[32] = "";
	long pid;

	if (f == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	pid = strtol(line, NULL, 10);
	return pid > 0 ? (int)pid : -1;
}

size_t
itest_children(int master, int *pids, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char path[300], stat[512];
		const char *p;
		FILE *f;
		long ppid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(stat, sizeof(stat), f) == NULL)
			stat[0] = '\0';
		fclose(f);
		/* The command name may hold spaces; the fields after the last ')' do not. */
		p = strrchr(stat, ')');
		if (p == NULL || strlen(p) < 5)
			continue;
		ppid = strtol(p + 4, NULL, 10);
		if (ppid == master && p[2] != 'Z')
			pids[n++] = (int)strtol(e->d_name, NULL, 10);
	}
	closedir(d);
	return n;
}

void
itest_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

long long
itest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
itest_base_urls(const char **urls, size_t max)
{
	static char copy[1024];
	size_t n = 0;
	char *p, *save = NULL;

	(void)snprintf(copy, sizeof(copy), "%s", itest_env("PB_TEST_URLS"));
	for (p = strtok_r(copy, " ", &save); p != NULL && n < max; p = strtok_r(NULL, " ", &save))
		urls[n++] = p;
	return n;
}

int
itest_sql(const char *sql, char *out, size_t outlen)
{
	char path[] = "/tmp/itest-sql.XXXXXX", cmd[1024], line[4096];
	FILE *f, *p;
	int fd, rc;

	if (outlen > 0)
		out[0] = '\0';
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return -1;
	}
	fprintf(f, "%s;\n", sql);
	fclose(f);
	/* The password travels in MYSQL_PWD, never on a command line. */
	setenv("MYSQL_PWD", itest_env("PAYBRIDGE_DB_PASSWORD"), 1);
	(void)snprintf(cmd, sizeof(cmd),
	    "mariadb --no-defaults --protocol=socket -S '%s' -u '%s' -N -B '%s' < '%s'",
	    itest_env("PAYBRIDGE_DB_SOCKET"), itest_env("PAYBRIDGE_DB_USER"),
	    itest_env("PAYBRIDGE_DB_NAME"), path);
	p = popen(cmd, "r");
	if (p == NULL) {
		unlink(path);
		return -1;
	}
	if (fgets(line, sizeof(line), p) != NULL && outlen > 0) {
		line[strcspn(line, "\t\n")] = '\0';
		(void)snprintf(out, outlen, "%s", line);
	}
	while (fgets(line, sizeof(line), p) != NULL)
		;
	rc = pclose(p);
	unlink(path);
	return rc;
}

const char *
itest_sqlf(char *out, size_t outlen, const char *fmt, ...)
{
	char q[4096];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	CU_ASSERT_EQUAL(itest_sql(q, out, outlen), 0);
	return out;
}

long long
itest_sql_num(const char *fmt, ...)
{
	char q[4096], out[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	CU_ASSERT_EQUAL(itest_sql(q, out, sizeof(out)), 0);
	return out[0] == '\0' || strcmp(out, "NULL") == 0 ? -1 : strtoll(out, NULL, 10);
}

bool
itest_emulator(const char *method, const char *path, const char *json,
    struct itest_response *out)
{
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	char url[512];

	(void)snprintf(url, sizeof(url), "%s%s", itest_env("PB_EMULATOR_URL"), path);
	return itest_request(method, url, hdrs, json, json != NULL ? strlen(json) : 0, out);
}

long long
itest_metric(const char *base, const char *name)
{
	struct itest_response r;
	char url[512];
	long long v = -1;
	size_t n = strlen(name);

	(void)snprintf(url, sizeof(url), "%s/metrics", base);
	if (!itest_request("GET", url, NULL, NULL, 0, &r))
		return -1;
	for (const char *p = r.status == 200 ? r.body : NULL; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	itest_response_free(&r);
	return v;
}

bool
itest_pool_settled(const char *base, long timeout_ms)
{
	long long t0 = itest_now_ms();

	do {
		long long wanted = itest_metric(base, "paybridge_workers_wanted");

		if (wanted > 0 && itest_metric(base, "paybridge_workers_ready") == wanted &&
		    itest_metric(base, "paybridge_workers_stale") == 0)
			return true;
		itest_sleep_ms(50);
	} while (itest_now_ms() - t0 < timeout_ms);
	fprintf(stderr, "the pool did not settle within %ld ms\n", timeout_ms);
	return false;
}

int
itest_main(const char *suite, const struct unit_test *tests, size_t n, const char **urls,
    size_t max, size_t *nurls, int argc, char *argv[])
{
	int rc = 2;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	*nurls = itest_base_urls(urls, max);
	if (*nurls == 0)
		fprintf(stderr, "PB_TEST_URLS names no server\n");
	else
		rc = unit_main_only(suite, tests, n, argv + 1, (size_t)(argc - 1));
	curl_global_cleanup();
	return rc;
}

/* Reads the first line of /proc/PID/NAME into buf; false when the process is gone. */
static bool
proc_line(int pid, const char *name, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	bool ok;

	(void)snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

size_t
itest_workers_in(int master, long a, long b, int *found, size_t max)
{
	int pids[256];
	size_t n = itest_children(master, pids, 256), count = 0;

	for (size_t i = 0; i < n; i++) {
		char comm[64], sc[256];
		long nr;

		if (!proc_line(pids[i], "comm", comm, sizeof(comm)) ||
		    strcmp(comm, "pb-worker\n") != 0 || !proc_line(pids[i], "syscall", sc, sizeof(sc)))
			continue;
		nr = strtol(sc, NULL, 10);
		if (nr != a && nr != b)
			continue;
		if (found != NULL && count < max)
			found[count] = pids[i];
		count++;
	}
	return count;
}

size_t
itest_workers_sleeping(int master)
{
	return itest_workers_in(master, SYS_nanosleep, SYS_clock_nanosleep, NULL, 0);
}

size_t
itest_workers_idle(int master)
{
	return itest_workers_in(master, SYS_epoll_wait, SYS_epoll_pwait, NULL, 0);
}

static int email_serial;

void
itest_unique_email(char *out, size_t len, const char *tag)
{
	(void)snprintf(out, len, "%s%d.%lld.%d@example.com", tag, (int)getpid(), itest_now_ms(),
	    __atomic_add_fetch(&email_serial, 1, __ATOMIC_RELAXED));
}

void
itest_api_with(const char *method, const char *base, const char *path, const char *token,
    const char *const *extra, const char *json, struct itest_response *r)
{
	char url[512], auth[1200];
	const char *h[ITEST_EXTRA_HEADERS_MAX + 3] = { "Content-Type: application/json" };
	size_t n = 1;

	if (token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL && i < ITEST_EXTRA_HEADERS_MAX; i++)
		h[n++] = extra[i];
	h[n] = NULL;
	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	CU_ASSERT_FATAL(itest_request(method, url, h, json, json != NULL ? strlen(json) : 0, r));
}

void
itest_post_keyed(const char *base, const char *path, const char *token, const char *key,
    const char *json, struct itest_response *r)
{
	char h[320];
	const char *extra[2] = { NULL, NULL };

	if (key != NULL) {
		(void)snprintf(h, sizeof(h), "Idempotency-Key: %s", key);
		extra[0] = h;
	}
	itest_api_with("POST", base, path, token, extra, json, r);
}

struct burst {
	const char *base, *path, *token, *key, *json;
	long status;
	char id[128];
};

static void *
burst_thread(void *arg)
{
	struct burst *b = arg;
	struct itest_response r;

	itest_post_keyed(b->base, b->path, b->token, b->key, b->json, &r);
	b->status = r.status;
	itest_copy(b->id, sizeof(b->id), itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	return NULL;
}

size_t
itest_keyed_burst(const char *const *urls, size_t nurls, const char *path,
    const char *token, const char *key, const char *json, size_t n, char *id, size_t idlen)
{
	struct burst b[ITEST_BURST_MAX];
	pthread_t th[ITEST_BURST_MAX];
	size_t created = 0;

	CU_ASSERT_FATAL(n <= ITEST_BURST_MAX && nurls > 0);
	for (size_t i = 0; i < n; i++) {
		b[i] = (struct burst){ .base = urls[i % nurls], .path = path, .token = token,
		    .key = key, .json = json };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, burst_thread, &b[i]) == 0);
	}
	id[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT(pthread_join(th[i], NULL) == 0);
		CU_ASSERT(b[i].status == 201 || b[i].status == 409);
		if (b[i].status != 201)
			continue;
		created++;
		if (id[0] == '\0')
			itest_copy(id, idlen, b[i].id);
		ITEST_STR_EQ(b[i].id, id);
	}
	return created;
}

void
itest_api(const char *method, const char *base, const char *path, const char *token,
    const char *json, struct itest_response *r)
{
	itest_api_with(method, base, path, token, NULL, json, r);
}

long
itest_api_status(const char *method, const char *base, const char *path, const char *token,
    const char *json)
{
	struct itest_response r;
	long status;

	itest_api(method, base, path, token, json, &r);
	status = r.status;
	itest_response_free(&r);
	return status;
}

void
itest_copy(char *out, size_t len, const char *s)
{
	(void)snprintf(out, len, "%s", s != NULL ? s : "");
}

bool
itest_wait_sql(const char *want, const char *fmt, ...)
{
	char q[2048], out[512] = "";
	long long t0 = itest_now_ms();
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	do {
		itest_sqlf(out, sizeof(out), "%s", q);
		if (strcmp(out, want) == 0)
			return true;
		itest_sleep_ms(100);
	} while (itest_now_ms() - t0 < ITEST_WAIT_MS);
	fprintf(stderr, "'%s' gave '%s', waited for '%s'\n", q, out, want);
	return false;
}

void
itest_signup(const char *base, const char *tag, struct itest_user *u)
{
	struct itest_response r;
	char body[512];

	memset(u, 0, sizeof(*u));
	itest_unique_email(u->email, sizeof(u->email), tag);
	(void)snprintf(body, sizeof(body),
	    "{\"name\":\"Profile %s\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}", tag,
	    u->email);
	itest_api("POST", base, "/v1/users", NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	u->id = itest_json_int(&r, "data.user.id", 0);
	itest_copy(u->token, sizeof(u->token), itest_json_str(&r, "data.access_token"));
	itest_copy(u->customer, sizeof(u->customer), itest_json_str(&r, "data.user.stripeCustomerId"));
	itest_response_free(&r);
	CU_ASSERT_FATAL(u->id > 0 && u->token[0] != '\0');
}

void
itest_stripe(const char *method, const char *path, const char *form, struct itest_response *r)
{
	char url[512], auth[256];
	const char *h[3] = { "Content-Type: application/x-www-form-urlencoded", auth, NULL };

	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    itest_env("PAYBRIDGE_STRIPE_SECRET_KEY"));
	(void)snprintf(url, sizeof(url), "%s%s", itest_env("PB_EMULATOR_URL"), path);
	CU_ASSERT_FATAL(itest_request(method, url, h, form, form != NULL ? strlen(form) : 0, r));
}

void
itest_emulator_ok(const char *method, const char *path, const char *json)
{
	struct itest_response r;

	CU_ASSERT_FATAL(itest_emulator(method, path, json, &r));
	CU_ASSERT_EQUAL(r.status, 200);
	if (r.status != 200)
		fprintf(stderr, "emulator %s %s answered %ld: %.300s\n", method, path, r.status,
		    r.body);
	itest_response_free(&r);
}

long long
itest_emulator_count(const char *path)
{
	struct itest_response r;
	struct json_object *data;
	long long n = -1;

	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, &r));
	if (r.json != NULL && json_object_object_get_ex(r.json, "data", &data) &&
	    json_object_is_type(data, json_type_array))
		n = (long long)json_object_array_length(data);
	itest_response_free(&r);
	return n;
}

int
itest_customers_for(long long user_id, char *id, size_t idlen)
{
	struct itest_response r;
	struct json_object *data;
	char want[32];
	int n = 0;

	(void)snprintf(want, sizeof(want), "%lld", user_id);
	CU_ASSERT_FATAL(itest_emulator("GET", "/_emulator/objects/customers", NULL, &r));
	CU_ASSERT_FATAL(r.json != NULL && json_object_object_get_ex(r.json, "data", &data));
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		struct json_object *c = json_object_array_get_idx(data, i), *meta, *uid, *del;

		if (json_object_object_get_ex(c, "deleted", &del) && json_object_get_boolean(del))
			continue;
		if (!json_object_object_get_ex(c, "metadata", &meta) ||
		    !json_object_object_get_ex(meta, "user_id", &uid) ||
		    strcmp(json_object_get_string(uid), want) != 0)
			continue;
		n++;
		if (id != NULL)
			(void)snprintf(id, idlen, "%s", json_object_get_string(
			    json_object_object_get(c, "id")));
	}
	itest_response_free(&r);
	return n;
}

/* ---- catalog products and payment intents, shared by the payment suites ---- */

static int product_serial;

long long
itest_product(long long amount, const char *kind, int active)
{
	int n = __atomic_add_fetch(&product_serial, 1, __ATOMIC_RELAXED);
	long long id;

	id = itest_sql_num(
	    "INSERT INTO products (slug, name, amount, currency, kind, recurring_interval, active) "
	    "VALUES ('p-%d-%lld-%d', 'Widget %d', %lld, 'usd', '%s', %s, %d); "
	    "SELECT LAST_INSERT_ID()", (int)getpid(), itest_now_ms(), n, n, amount, kind,
	    strcmp(kind, "recurring") == 0 ? "'month'" : "NULL", active);
	CU_ASSERT_FATAL(id > 0);
	return id;
}

void
itest_new_intent(const char *base, const struct itest_user *u, long long pid, int quantity,
    char *id, size_t idlen)
{
	struct itest_response r;
	char body[128];

	(void)snprintf(body, sizeof(body), "{\"productId\":%lld,\"quantity\":%d}", pid, quantity);
	itest_api_with("POST", base, "/v1/payments/intents", u->token, NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	itest_copy(id, idlen, itest_json_str(&r, "data.id"));
	itest_response_free(&r);
	CU_ASSERT_FATAL(strncmp(id, "pi_", 3) == 0);
}

void
itest_confirm(const char *base, const struct itest_user *u, const char *pi, const char *pm,
    struct itest_response *r)
{
	char path[256], body[256];

	(void)snprintf(path, sizeof(path), "/v1/payments/intents/%s/confirm", pi);
	(void)snprintf(body, sizeof(body),
	    "{\"paymentMethodId\":\"%s\",\"returnUrl\":\"https://shop.example/back\"}", pm);
	itest_api_with("POST", base, path, u->token, NULL, body, r);
}

void
itest_emulator_object(const char *kind, const char *id, struct itest_response *r)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/_emulator/objects/%s/%s", kind, id);
	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, r));
	CU_ASSERT_EQUAL_FATAL(r->status, 200);
}

long long
itest_emulator_count_of(const char *kind, const char *customer)
{
	struct itest_response r;
	struct json_object *data, *o, *c;
	char path[128];
	long long n = 0;

	(void)snprintf(path, sizeof(path), "/_emulator/objects/%s", kind);
	CU_ASSERT_FATAL(itest_emulator("GET", path, NULL, &r));
	CU_ASSERT_FATAL(r.json != NULL && json_object_object_get_ex(r.json, "data", &data));
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		o = json_object_array_get_idx(data, i);
		if (json_object_object_get_ex(o, "customer", &c) && c != NULL &&
		    strcmp(json_object_get_string(c), customer) == 0)
			n++;
	}
	itest_response_free(&r);
	return n;
}

void
itest_stored_customer(long long user_id, char *out, size_t len)
{
	itest_sqlf(out, len, "SELECT COALESCE(stripe_customer_id, '') FROM users WHERE id = %lld",
	    user_id);
}
