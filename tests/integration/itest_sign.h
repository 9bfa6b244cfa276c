/*
 * Signed Stripe deliveries for the integration tests: events signed here as Stripe signs
 * them (t=<time>,v1=<hex HMAC-SHA256 of "<time>.<body>">), with the stack's secret, and
 * POSTed to a web server's /v1/webhooks/stripe.
 */
#ifndef PB_TESTS_ITEST_SIGN_H
#define PB_TESTS_ITEST_SIGN_H

#include <stddef.h>

#include "itest.h"

/* The stack's first webhook secret (PAYBRIDGE_STRIPE_WEBHOOK_SECRETS, without a label). */
const char *itest_webhook_secret(void);

/* Writes the hex HMAC-SHA256 of "<t>.<body>" under secret into out (64 digits and NUL). */
void itest_sign(const char *secret, long long t, const char *body, size_t len, char out[65]);

/* POSTs body to base's webhook URL with header as its Stripe-Signature (NULL: none). */
void itest_deliver_raw(const char *base, const char *body, size_t len, const char *header,
    struct itest_response *r);

/* POSTs body signed at time t with the stack's secret. */
void itest_deliver_at(const char *base, const char *body, size_t len, long long t,
    struct itest_response *r);

#endif
