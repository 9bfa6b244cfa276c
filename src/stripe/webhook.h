/*
 * Stripe webhook signatures. Stripe signs each delivery with
 *   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * and may send several v1 entries (while an endpoint secret is being rolled) and a v0
 * entry (test mode, ignored). We accept the delivery when any v1 matches any of the
 * configured secrets (a comma-separated list, so secrets can be rotated without
 * downtime), compared in constant time, and t is within the tolerance of now, either way.
 * The signature is checked first: an unsigned request learns nothing about the clock.
 * A secret may carry a label ("old:whsec_...,new:whsec_..."), so metrics can count the
 * matches per secret during a rotation; an unlabelled secret is named by its position
 * ("secret1", "secret2", ...). Needs no client and does no I/O.
 */
#ifndef PB_STRIPE_WEBHOOK_H
#define PB_STRIPE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define STRIPE_SIG_HEADER_MAX 4096
#define STRIPE_SIG_HEX_LEN 65	/* 64 hex digits and the NUL */
#define STRIPE_WEBHOOK_LABEL_MAX 32	/* longest secret label, [A-Za-z0-9_.-] */
#define STRIPE_WEBHOOK_SECRETS_MAX 8	/* secrets considered; a rotation needs two */

enum stripe_webhook_result {
	STRIPE_WEBHOOK_OK,
	STRIPE_WEBHOOK_MALFORMED,	/* header absent, too long or unparsable */
	STRIPE_WEBHOOK_NO_MATCH,	/* no v1 signature matches any secret */
	STRIPE_WEBHOOK_EXPIRED,		/* a signature matches, t is outside the tolerance */
	STRIPE_WEBHOOK_NO_SECRET,	/* no secret configured: nothing can verify */
	STRIPE_WEBHOOK_ERROR,		/* the HMAC could not be computed (out of memory) */
	STRIPE_WEBHOOK__MAX
};

/*
 * Verifies header (the Stripe-Signature value; NULL when absent) against body[0..len)
 * with each secret in secrets (comma-separated, blanks around entries ignored; each
 * secret is used whole, "whsec_" prefix included, as Stripe's libraries do).
 * tolerance_s bounds |now_s - t|. All arguments are borrowed.
 */
enum stripe_webhook_result stripe_webhook_verify(const char *secrets, const char *header,
    const char *body, size_t len, long long tolerance_s, int64_t now_s);

/*
 * What stripe_webhook_check found, for logs and metrics: never the signature or a secret.
 * label names the secret that matched ("" when none did); skew_s is now - t (positive
 * when the signature is older than now) when have_t says a t was parsed.
 */
struct stripe_webhook_check {
	enum stripe_webhook_result result;
	bool missing;		/* no header at all (a MALFORMED result) */
	bool have_t;
	long long skew_s;
	char label[STRIPE_WEBHOOK_LABEL_MAX + 1];
	/* Every configured secret's label, in order, so counters can show unused ones. */
	char labels[STRIPE_WEBHOOK_SECRETS_MAX][STRIPE_WEBHOOK_LABEL_MAX + 1];
	size_t nlabels;
};

/*
 * stripe_webhook_verify with the details in *out (filled whatever the result). A secret
 * entry "label:whsec_..." is the secret after the first ':' under that label; an entry
 * whose label is empty, too long or has other characters verifies nothing. At most
 * STRIPE_WEBHOOK_SECRETS_MAX entries are used.
 */
enum stripe_webhook_result stripe_webhook_check(const char *secrets, const char *header,
    const char *body, size_t len, long long tolerance_s, int64_t now_s,
    struct stripe_webhook_check *out);

/*
 * Checks a stripe_webhook_secrets value: PB_OK, or PB_EINVAL with the problem in why
 * (never the secret). An empty value is valid (webhooks are then refused).
 */
enum pb_err stripe_webhook_secrets_valid(const char *secrets, char *why, size_t whylen);

/* A short snake_case name of r for metrics and logs ("no_match"). */
const char *stripe_webhook_reason(enum stripe_webhook_result r);

/* Returns a static sentence for r, safe to log and to show to the sender. */
const char *stripe_webhook_strerror(enum stripe_webhook_result r);

/*
 * Maps r onto pb_err: PB_OK; PB_EINVAL (400) for a malformed header, no matching
 * signature or an expired timestamp; PB_ECONFIG when no secret is configured;
 * PB_ENOMEM when the HMAC failed.
 */
enum pb_err stripe_webhook_err(enum stripe_webhook_result r);

/*
 * Writes the lower-case hex v1 signature of body for timestamp t with secret into out,
 * as Stripe computes it (for tests and tools that sign their own deliveries).
 * Returns PB_OK or PB_ENOMEM.
 */
enum pb_err stripe_webhook_sign(const char *secret, long long t, const char *body, size_t len,
    char out[STRIPE_SIG_HEX_LEN]);

#endif
