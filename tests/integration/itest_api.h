/*
 * paybridge's own API from an integration test: JSON calls with a bearer token, a user
 * signed up for the test, calls straight to the Stripe emulator's API (what a dashboard
 * edit or Stripe.js would do), and polling a query until it gives the wanted value.
 * Failures of the transport fail the current test (CUnit's fatal asserts).
 */
#ifndef PB_TESTS_ITEST_API_H
#define PB_TESTS_ITEST_API_H

#include <stdbool.h>
#include <stddef.h>

#include "itest.h"

#define ITEST_PASSWORD "correct horse battery"
#define ITEST_WAIT_MS 20000

struct itest_user {
	long long id;
	char email[128];
	char token[1024];
	char customer[64];	/* "" when the signup answered without one */
};

/* A fresh address tag<pid>.<ms>.<n>@example.com. */
void itest_unique_email(char *out, size_t len, const char *tag);

/*
 * method base+path with token (NULL: none), extra header lines (NULL-terminated, may be
 * NULL) and a JSON body (NULL: none).
 */
void itest_api(const char *method, const char *base, const char *path, const char *token,
    const char *const *extra, const char *json, struct itest_response *r);

/* itest_api's status alone. */
long itest_api_status(const char *method, const char *base, const char *path,
    const char *token, const char *json);

/* Signs up a new user through base; 201 or the test fails. */
void itest_signup(const char *base, const char *tag, struct itest_user *u);

/* A call to the emulator's Stripe API (form-encoded) with the stack's secret key. */
void itest_stripe_call(const char *method, const char *path, const char *form,
    struct itest_response *r);

/* Polls the query's first cell until it is want (ITEST_WAIT_MS at most); says so if not. */
bool itest_wait_sql(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s, or "(null)": CUnit's string asserts call strcmp, which NULL would crash. */
static inline const char *
itest_s(const char *s)
{
	return s != NULL ? s : "(null)";
}

#define ITEST_STR_EQ(a, b) CU_ASSERT_STRING_EQUAL(itest_s(a), itest_s(b))
#define ITEST_STR_NE(a, b) CU_ASSERT_STRING_NOT_EQUAL(itest_s(a), itest_s(b))

/* Copies s (NULL: "") into out. */
void itest_copy(char *out, size_t len, const char *s);

#endif
