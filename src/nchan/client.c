/* nginx's nchan publisher location, as a client (see client.h). */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "nchan/client.h"
#include "util/buf.h"
#include "util/json.h"

#define URL_MAX 2048
#define ANSWER_MAX 4096

/* One handle per process, so that the connection to nginx is kept between calls. */
static CURL *handle;

/* Keeps what nchan answers, up to the buffer's maximum. */
static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_append(arg, p, size * n) == PB_OK ? size * n : 0;
}

/* One call to base/id: a POST of body, or a GET (body NULL), whose answer lands in out. */
static enum pb_err
call(const char *base, const char *id, const char *body, size_t len, int64_t timeout_ms,
    struct buf *out, long *status)
{
	char url[URL_MAX + 1];
	struct curl_slist *h;
	size_t blen = strlen(base);
	CURLcode rc;
	int n;

	*status = 0;
	n = snprintf(url, sizeof(url), "%s%s%s", base, blen > 0 && base[blen - 1] == '/' ? "" :
	    "/", id);
	if (n < 0 || (size_t)n >= sizeof(url))
		return PB_EINVAL;
	if (handle == NULL) {
		handle = curl_easy_init();
		if (handle == NULL)
			return PB_ENOMEM;
	}
	h = curl_slist_append(NULL, body != NULL ? "Content-Type: application/json" :
	    "Accept: application/json");
	if (h == NULL)
		return PB_ENOMEM;
	curl_easy_reset(handle);
	(void)curl_easy_setopt(handle, CURLOPT_URL, url);
	(void)curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(handle, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		(void)curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	(void)curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	(void)curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	(void)curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(handle, CURLOPT_WRITEDATA, out);
	(void)curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(handle);
	if (rc == CURLE_OK)
		(void)curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return PB_ETIMEOUT;
	return rc == CURLE_OK ? PB_OK : PB_ESYSTEM;
}

enum pb_err
nchan_publish(const char *base, const char *id, const char *body, size_t len,
    int64_t timeout_ms, long *status)
{
	struct buf answer;
	enum pb_err err;

	buf_init(&answer, ANSWER_MAX);
	err = call(base, id, body, len, timeout_ms, &answer, status);
	buf_free(&answer);
	/* nchan answers 201 (created), 202 (queued: no subscriber yet) or 200. */
	if (err == PB_OK && (*status < 200 || *status > 299))
		err = PB_ESYSTEM;
	return err;
}

enum pb_err
nchan_messages(const char *base, const char *id, int64_t timeout_ms, int64_t *messages)
{
	struct json_object *o = NULL;
	struct buf answer;
	long status = 0;
	enum pb_err err;

	*messages = 0;
	buf_init(&answer, ANSWER_MAX);
	err = call(base, id, NULL, 0, timeout_ms, &answer, &status);
	/* nchan's channel info: 404 for no channel, else {"messages": N, ...}. */
	if (err == PB_OK && status != 404) {
		if (status != 200 || json_parse(buf_cstr(&answer), answer.len, 4, &o) != PB_OK ||
		    !json_get_int64(o, "messages", messages))
			err = PB_ESYSTEM;
	}
	json_object_put(o);
	buf_free(&answer);
	return err;
}
