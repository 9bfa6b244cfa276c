#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "itest_api.h"

#define HEADERS_MAX 8

static int serial;

void
itest_copy(char *out, size_t len, const char *s)
{
	(void)snprintf(out, len, "%s", s != NULL ? s : "");
}

void
itest_unique_email(char *out, size_t len, const char *tag)
{
	(void)snprintf(out, len, "%s%d.%lld.%d@example.com", tag, (int)getpid(), itest_now_ms(),
	    __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
}

void
itest_api(const char *method, const char *base, const char *path, const char *token,
    const char *const *extra, const char *json, struct itest_response *r)
{
	char url[512], auth[1200];
	const char *h[HEADERS_MAX + 3] = { "Content-Type: application/json" };
	size_t n = 1;

	if (token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL && i < HEADERS_MAX; i++)
		h[n++] = extra[i];
	h[n] = NULL;
	(void)snprintf(url, sizeof(url), "%s%s", base, path);
	CU_ASSERT_FATAL(itest_request(method, url, h, json, json != NULL ? strlen(json) : 0, r));
}

long
itest_api_status(const char *method, const char *base, const char *path, const char *token,
    const char *json)
{
	struct itest_response r;
	long status;

	itest_api(method, base, path, token, NULL, json, &r);
	status = r.status;
	itest_response_free(&r);
	return status;
}

void
itest_signup(const char *base, const char *tag, struct itest_user *u)
{
	struct itest_response r;
	char body[512];

	memset(u, 0, sizeof(*u));
	itest_unique_email(u->email, sizeof(u->email), tag);
	(void)snprintf(body, sizeof(body),
	    "{\"name\":\"User %s\",\"email\":\"%s\",\"password\":\"" ITEST_PASSWORD "\"}", tag,
	    u->email);
	itest_api("POST", base, "/v1/users", NULL, NULL, body, &r);
	CU_ASSERT_EQUAL_FATAL(r.status, 201);
	u->id = itest_json_int(&r, "data.user.id", 0);
	itest_copy(u->token, sizeof(u->token), itest_json_str(&r, "data.access_token"));
	itest_copy(u->customer, sizeof(u->customer),
	    itest_json_str(&r, "data.user.stripeCustomerId"));
	itest_response_free(&r);
	CU_ASSERT_FATAL(u->id > 0 && u->token[0] != '\0');
}

void
itest_stripe_call(const char *method, const char *path, const char *form,
    struct itest_response *r)
{
	char url[512], auth[256];
	const char *h[3] = { "Content-Type: application/x-www-form-urlencoded", auth, NULL };

	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    itest_env("PAYBRIDGE_STRIPE_SECRET_KEY"));
	(void)snprintf(url, sizeof(url), "%s%s", itest_env("PB_EMULATOR_URL"), path);
	CU_ASSERT_FATAL(itest_request(method, url, h, form, form != NULL ? strlen(form) : 0, r));
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
