/*
 * The transport: one CURL easy handle per process (connection reuse), Bearer
 * authentication, the pinned Stripe-Version, Idempotency-Key on POST and DELETE, and
 * retries with exponential backoff and jitter inside one overall deadline per call.
 * The retry rules follow Stripe's official libraries: see should_retry() and docs/STRIPE.md.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "stripe/client.h"
#include "stripe/internal.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/pct.h"
#include "util/rand.h"
#include "util/secure.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define RESPONSE_MAX ((size_t)16 * 1024 * 1024)
#define RESPONSE_JSON_DEPTH 64
#define URL_MAX (STRIPE_FORM_MAX + 1024)
#define HEADER_LINE_MAX 1024
#define IDEMPOTENCY_KEY_MAX 255
#define BACKOFF_FIRST_US 500000LL	/* 0.5 s, doubling */
#define BACKOFF_CAP_US 5000000LL	/* 5 s */
#define RETRY_AFTER_MAX_S 60		/* a longer Retry-After is not waited for */
#define DEADLINE_SLACK_US 5000

struct stripe {
	CURL *curl;
	char *base;		/* without a trailing slash */
	char *key;		/* secret */
	char *version;		/* Stripe-Version, "" for the account default */
	long long connect_timeout_ms;
	long long timeout_ms;
	int max_retries;
	int64_t deadline_us;	/* stripe_set_deadline(), 0: none */
	struct stripe_error last;
	struct buf body;	/* the answer of the current attempt */
	bool body_too_big;
	/* headers of the current attempt's answer */
	char request_id[80];
	int should_retry;	/* -1 absent, 0 false, 1 true */
	long long retry_after_s;	/* -1 absent */
	bool replayed;		/* Idempotent-Replayed: true */
	char errbuf[CURL_ERROR_SIZE];
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct stripe *s = ud;

	if (buf_append(&s->body, p, size * n) != PB_OK) {
		s->body_too_big = true;
		return 0;
	}
	return size * n;
}

static void
reset_headers(struct stripe *s)
{
	s->request_id[0] = '\0';
	s->should_retry = -1;
	s->retry_after_s = -1;
	s->replayed = false;
}

/* Keeps the answer headers the retry logic, the logs and stripe_error.replayed need. */
static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
	struct stripe *s = ud;
	size_t len = size * n, namelen, vlen;
	char line[HEADER_LINE_MAX];
	char *colon, *v;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue, say): forget the previous one's. */
		reset_headers(s);
		return len;
	}
	if (len >= sizeof(line))
		return len;
	memcpy(line, p, len);
	line[len] = '\0';
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	colon = strchr(line, ':');
	if (colon == NULL)
		return size * n;
	namelen = (size_t)(colon - line);
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	vlen = strlen(v);
	if (namelen == 10 && strncasecmp(line, "request-id", 10) == 0) {
		if (vlen < sizeof(s->request_id))
			memcpy(s->request_id, v, vlen + 1);
	} else if (namelen == 19 && strncasecmp(line, "stripe-should-retry", 19) == 0) {
		if (strcasecmp(v, "true") == 0)
			s->should_retry = 1;
		else if (strcasecmp(v, "false") == 0)
			s->should_retry = 0;
	} else if (namelen == 19 && strncasecmp(line, "idempotent-replayed", 19) == 0) {
		s->replayed = strcasecmp(v, "true") == 0;
	} else if (namelen == 11 && strncasecmp(line, "retry-after", 11) == 0) {
		long long secs;

		/* Only delta-seconds; an HTTP-date falls back to the usual backoff. */
		if (strnum_parse(v, 10, 0, 86400, &secs) == PB_OK)
			s->retry_after_s = secs;
	}
	return size * n;
}

/* Printable ASCII without spaces: what may go into a header value unquoted. */
static bool
header_safe(const char *v, size_t max)
{
	size_t n = 0;

	for (; v[n] != '\0'; n++) {
		if ((unsigned char)v[n] <= 0x20 || (unsigned char)v[n] >= 0x7f)
			return false;
	}
	return n > 0 && n <= max;
}

static bool
is_loopback(const char *base)
{
	static const char *const local[] = {
		"http://127.0.0.1", "http://localhost", "http://[::1]",
	};

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		size_t n = strlen(local[i]);

		if (strncmp(base, local[i], n) == 0 &&
		    (base[n] == '\0' || base[n] == ':' || base[n] == '/'))
			return true;
	}
	return false;
}

static enum pb_err
setopt_common(struct stripe *s, const struct conf *conf)
{
	char ua[64];
	CURLcode rc = CURLE_OK;

	(void)snprintf(ua, sizeof(ua), "paybridge/%s", PACKAGE_VERSION);
	rc |= curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(s->curl, CURLOPT_USERAGENT, ua);
	rc |= curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	rc |= curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	rc |= curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	rc |= curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	rc |= curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, s);
	rc |= curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	rc |= curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(s->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	rc |= curl_easy_setopt(s->curl, CURLOPT_ACCEPT_ENCODING, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	rc |= curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	rc |= curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (conf->stripe_ca_file != NULL && conf->stripe_ca_file[0] != '\0')
		rc |= curl_easy_setopt(s->curl, CURLOPT_CAINFO, conf->stripe_ca_file);
	if (s->key[0] != '\0') {
		/* libcurl sends the one auth scheme it is given at once, without a challenge. */
		rc |= curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		rc |= curl_easy_setopt(s->curl, CURLOPT_XOAUTH2_BEARER, s->key);
	}
	return rc == CURLE_OK ? PB_OK : PB_ENOMEM;
}

enum pb_err
stripe_new(const struct conf *conf, struct stripe **out)
{
	struct stripe *s;
	size_t n;
	enum pb_err err = PB_ENOMEM;

	*out = NULL;
	if (conf->stripe_api_base == NULL ||
	    (strncmp(conf->stripe_api_base, "https://", 8) != 0 &&
	    strncmp(conf->stripe_api_base, "http://", 7) != 0)) {
		log_error("stripe_api_base must be an http:// or https:// URL");
		return PB_ECONFIG;
	}
	if (conf->stripe_api_version != NULL && conf->stripe_api_version[0] != '\0' &&
	    !header_safe(conf->stripe_api_version, 64)) {
		log_error("stripe_api_version is not a valid version name");
		return PB_ECONFIG;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return PB_ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		curl_global_cleanup();
		return PB_ENOMEM;
	}
	buf_init(&s->body, RESPONSE_MAX);
	s->base = strdup(conf->stripe_api_base);
	s->key = strdup(conf->stripe_secret_key != NULL ? conf->stripe_secret_key : "");
	s->version = strdup(conf->stripe_api_version != NULL ? conf->stripe_api_version : "");
	s->curl = curl_easy_init();
	if (s->base == NULL || s->key == NULL || s->version == NULL || s->curl == NULL)
		goto fail;
	n = strlen(s->base);
	while (n > 0 && s->base[n - 1] == '/')
		s->base[--n] = '\0';
	s->connect_timeout_ms = conf->stripe_connect_timeout_ms;
	s->timeout_ms = conf->stripe_timeout_ms;
	s->max_retries = (int)conf->stripe_max_retries;
	if (s->key[0] != '\0' && !header_safe(s->key, 512)) {
		log_error("stripe_secret_key holds characters a key cannot have");
		err = PB_ECONFIG;
		goto fail;
	}
	err = setopt_common(s, conf);
	if (err != PB_OK)
		goto fail;
	if (s->key[0] == '\0')
		log_warnx("stripe_secret_key is not set: every Stripe call will fail");
	if (strncmp(s->base, "http://", 7) == 0 && !is_loopback(s->base))
		log_warnx("stripe_api_base is not https: the secret key travels in clear text");
	*out = s;
	return PB_OK;
fail:
	stripe_free(s);
	return err;
}

void
stripe_free(struct stripe *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	buf_free(&s->body);
	free(s->base);
	secure_free_str(s->key);
	free(s->version);
	free(s);
	curl_global_cleanup();
}

void
stripe_set_deadline(struct stripe *s, int64_t deadline_us)
{
	/* Without a configured key there is no client, and no call to bound. */
	if (s != NULL)
		s->deadline_us = deadline_us;
}

const struct stripe_error *
stripe_last_error(const struct stripe *s)
{
	return &s->last;
}

static void
clear_last(struct stripe *s)
{
	memset(&s->last, 0, sizeof(s->last));
}

enum pb_err
stripe_fail(struct stripe *s, enum pb_err err, const char *message)
{
	int attempts = s->last.attempts, status = s->last.status;
	char rid[sizeof(s->last.request_id)];

	/* Keep what the request (if any) told us: the failure came after it. */
	memcpy(rid, s->last.request_id, sizeof(rid));
	clear_last(s);
	s->last.err = err;
	s->last.attempts = attempts;
	s->last.status = status;
	memcpy(s->last.request_id, rid, sizeof(rid));
	(void)snprintf(s->last.message, sizeof(s->last.message), "%s", message);
	return err;
}

bool
stripe_id_valid(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n > 0 && n <= STRIPE_ID_MAX &&
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

enum pb_err
stripe_path(char *out, size_t outlen, const char *prefix, const char *id, const char *suffix)
{
	struct buf b;
	enum pb_err err;

	if (outlen > 0)
		out[0] = '\0';
	if (id == NULL || id[0] == '\0')
		return PB_EINVAL;
	buf_init(&b, outlen > 0 ? outlen - 1 : 0);
	err = buf_appends(&b, prefix);
	if (err == PB_OK)
		err = pct_encode(&b, id, strlen(id));
	if (err == PB_OK && suffix != NULL)
		err = buf_appends(&b, suffix);
	if (err == PB_OK)
		memcpy(out, b.data, b.len + 1);
	buf_free(&b);
	return err;
}

/* The wait before retry number `retry` (1, 2, ...): Stripe's libraries' schedule. */
static int64_t
retry_wait_us(int retry, long long retry_after_s)
{
	int64_t wait = backoff_us(BACKOFF_FIRST_US, BACKOFF_CAP_US, (uint32_t)retry);

	if (wait < BACKOFF_FIRST_US)
		wait = BACKOFF_FIRST_US;
	if (retry_after_s >= 0 && retry_after_s <= RETRY_AFTER_MAX_S &&
	    retry_after_s * 1000000LL > wait)
		wait = retry_after_s * 1000000LL;
	return wait;
}

/*
 * Whether an answered attempt may be tried again: Stripe's libraries' rule (the header
 * first, then 409 and 5xx), plus 429, which we wait out within the deadline.
 */
static bool
should_retry(const struct stripe *s, long status)
{
	if (s->should_retry == 0)
		return false;
	if (s->should_retry == 1)
		return true;
	return status == 409 || status == 429 || status >= 500;
}

/* Network failures that another attempt cannot fix: TLS trust and local set-up. */
static bool
curl_final(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:
		return true;
	default:
		return false;
	}
}

static void
log_attempt(const struct stripe *s, const char *method, const char *path, long status,
    int attempt, int64_t dur_us, const char *error)
{
	struct log_kv kv[] = {
		LOG_STR("method", method),
		LOG_STR("path", path),
		LOG_NUM("status", status),
		LOG_STR("stripe_request_id", s->request_id),
		LOG_NUM("attempt", attempt),
		LOG_NUM("duration_us", dur_us),
		LOG_STR("error", error),
	};
	bool ok = error == NULL;

	log_event(ok ? LOGL_INFO : LOGL_WARN, "stripe request", kv,
	    sizeof(kv) / sizeof(kv[0]) - (ok ? 1 : 0));
}

/* Sets up the method, URL, body and headers that every attempt of one call shares. */
static enum pb_err
prepare(struct stripe *s, const char *method, const char *path,
    const struct stripe_form *form, const char *idem, struct buf *url,
    struct curl_slist **headers)
{
	bool post = strcmp(method, "POST") == 0;
	bool del = strcmp(method, "DELETE") == 0;
	const char *text = form != NULL ? stripe_form_text(form) : "";
	size_t len = form != NULL ? stripe_form_len(form) : 0;
	char line[IDEMPOTENCY_KEY_MAX + 64];
	struct curl_slist *h = NULL, *t;
	CURLcode rc = CURLE_OK;
	enum pb_err err;

	err = buf_appendf(url, "%s%s", s->base, path);
	if (err == PB_OK && !post && len > 0)
		err = buf_appendf(url, "?%s", text);
	if (err != PB_OK)
		return err;
	/* Keep libcurl from waiting a second for a 100 Continue on larger bodies. */
	t = curl_slist_append(h, "Expect:");
	if (t == NULL)
		goto nomem;
	h = t;
	if (s->version[0] != '\0') {
		(void)snprintf(line, sizeof(line), "Stripe-Version: %s", s->version);
		t = curl_slist_append(h, line);
		if (t == NULL)
			goto nomem;
		h = t;
	}
	if (post || del) {
		(void)snprintf(line, sizeof(line), "Idempotency-Key: %s", idem);
		t = curl_slist_append(h, line);
		if (t == NULL)
			goto nomem;
		h = t;
	}
	if (post) {
		t = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
		if (t == NULL)
			goto nomem;
		h = t;
	}
	rc |= curl_easy_setopt(s->curl, CURLOPT_URL, buf_cstr(url));
	rc |= curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
	if (post) {
		rc |= curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)len);
		rc |= curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, text);
		rc |= curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	} else {
		rc |= curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
		rc |= curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, del ? "DELETE" : NULL);
	}
	if (rc != CURLE_OK)
		goto nomem;
	*headers = h;
	return PB_OK;
nomem:
	curl_slist_free_all(h);
	return PB_ENOMEM;
}

/* Ends a call that got a 2xx: the body must be one JSON value. */
static enum pb_err
finish_ok(struct stripe *s, long status, struct json_object **out)
{
	s->last.status = (int)status;
	s->last.replayed = s->replayed;
	memcpy(s->last.request_id, s->request_id, sizeof(s->request_id));
	if (json_parse(buf_cstr(&s->body), s->body.len, RESPONSE_JSON_DEPTH, out) != PB_OK ||
	    !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return stripe_fail(s, PB_ESTRIPE, "Stripe answered with something other than JSON");
	}
	s->last.err = PB_OK;
	return PB_OK;
}

enum pb_err
stripe_request(struct stripe *s, const char *method, const char *path,
    const struct stripe_form *form, const char *idempotency_key, struct json_object **out)
{
	char uuid[RAND_UUID_LEN];
	const char *idem = idempotency_key;
	struct curl_slist *headers = NULL;
	struct buf url;
	int64_t deadline, now;
	int attempt, connects = 0;
	enum pb_err err;

	*out = NULL;
	clear_last(s);
	if (s->key[0] == '\0')
		return stripe_fail(s, PB_ECONFIG, "stripe_secret_key is not set");
	if (form != NULL && form->err != PB_OK)
		return stripe_fail(s, form->err, "invalid parameters");
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "DELETE") != 0)
		return stripe_fail(s, PB_EINVAL, "unsupported method");
	if (idem == NULL) {
		err = rand_uuid4(uuid);
		if (err != PB_OK)
			return stripe_fail(s, err, "no randomness for an idempotency key");
		idem = uuid;
	} else if (!header_safe(idem, IDEMPOTENCY_KEY_MAX)) {
		return stripe_fail(s, PB_EINVAL, "invalid idempotency key");
	}
	now = time_mono_us();
	deadline = now + s->timeout_ms * 1000;
	if (s->deadline_us != 0 && s->deadline_us < deadline)
		deadline = s->deadline_us;
	buf_init(&url, URL_MAX);
	err = prepare(s, method, path, form, idem, &url, &headers);
	if (err != PB_OK) {
		buf_free(&url);
		return stripe_fail(s, err, "could not prepare the request");
	}
	for (attempt = 1;; attempt++) {
		int64_t remaining = deadline - now, start, wait;
		long status = 0, conn_ms, timeout_ms, nconn = 0;
		CURLcode rc;
		bool retry;

		if (remaining <= 0) {
			err = stripe_fail(s, PB_ETIMEOUT, "the Stripe call ran out of time");
			s->last.timed_out = true;
			attempt--;	/* this one was never sent */
			break;
		}
		timeout_ms = (long)((remaining + 999) / 1000);
		/*
		 * A connect timeout within a few ms of the overall one makes libcurl (seen with
		 * 7.88) miss the overall timer and overrun by a second: then the overall
		 * timeout alone bounds the connect too (0 = no separate bound).
		 */
		conn_ms = s->connect_timeout_ms + 50 < timeout_ms ? (long)s->connect_timeout_ms : 0;
		(void)curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
		(void)curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
		buf_reset(&s->body);
		s->body_too_big = false;
		s->errbuf[0] = '\0';
		reset_headers(s);
		start = time_mono_us();
		rc = curl_easy_perform(s->curl);
		now = time_mono_us();
		if (rc == CURLE_OK)
			(void)curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		if (curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
			connects += (int)nconn;
		if (rc == CURLE_OK && status >= 200 && status < 300) {
			log_attempt(s, method, path, status, attempt, now - start, NULL);
			err = finish_ok(s, status, out);
			break;
		}
		if (rc != CURLE_OK) {
			/* libcurl's timer may fire a hair before ours: that too is the deadline. */
			bool expired = now >= deadline - DEADLINE_SLACK_US;

			clear_last(s);
			s->last.timed_out = expired;
			(void)snprintf(s->last.message, sizeof(s->last.message), "%s",
			    s->body_too_big ? "Stripe's answer is too large" :
			    s->errbuf[0] != '\0' ? s->errbuf : curl_easy_strerror(rc));
			err = s->last.err = stripe_error_map(&s->last);
			retry = !expired && !curl_final(rc);
			/* curl's text names hosts and ports, never the key or the body. */
			log_attempt(s, method, path, 0, attempt, now - start, s->last.message);
		} else {
			err = stripe_error_parse((int)status, buf_cstr(&s->body), s->body.len,
			    s->request_id[0] != '\0' ? s->request_id : NULL, &s->last);
			retry = should_retry(s, status);
			/* Stripe's messages may echo what a user typed: log the code only. */
			log_attempt(s, method, path, status, attempt, now - start,
			    s->last.code[0] != '\0' ? s->last.code :
			    s->last.type[0] != '\0' ? s->last.type : "http_error");
		}
		if (!retry || attempt > s->max_retries)
			break;
		wait = retry_wait_us(attempt, rc == CURLE_OK ? s->retry_after_s : -1);
		/* Sleep only when the next attempt still has time to run afterwards. */
		if (now + wait >= deadline)
			break;
		time_sleep_us(wait);
		now = time_mono_us();
	}
	s->last.attempts = attempt;
	s->last.connects = connects;
	(void)curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_slist_free_all(headers);
	buf_free(&url);
	/* Large answers are not kept between calls. */
	if (s->body.cap > (size_t)64 * 1024)
		buf_free(&s->body);
	return err;
}
