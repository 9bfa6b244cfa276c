/*
 * Stripe events, exactly once (DESIGN §5, docs/ARCHITECTURE.md "Webhooks"). A delivery
 * is verified (signature, tolerance, JSON, livemode), then the event row and the event's
 * effects are written in one transaction: a duplicate event id means the event was
 * applied before, and nothing changes. A failing effect rolls everything back; the
 * failure is recorded on its own and the caller answers 500, so Stripe retries. The sync
 * and replay paths (paybridgectl) run events through webhooks_process, the same path
 * without the signature.
 */
#ifndef PB_SERVICES_WEBHOOKS_H
#define PB_SERVICES_WEBHOOKS_H

#include <stddef.h>

#include "util/err.h"
#include "util/metrics.h"

struct app;
struct arena;

enum webhook_source {
	WEBHOOK_SOURCE_WEBHOOK,
	WEBHOOK_SOURCE_SYNC,
	WEBHOOK_SOURCE_REPLAY,
	WEBHOOK_SOURCE__MAX
};

struct webhook_result {
	enum metrics_event_outcome outcome;
	/* For a refusal (PB_EINVAL): a snake_case code and a sentence for the sender. */
	const char *code;
	const char *message;
	const char *event_id;	/* in the arena; NULL before the event was parsed */
};

/*
 * Verifies and processes one delivery: signature (the Stripe-Signature value, NULL when
 * absent) over body[0..len). Returns PB_OK with out->outcome APPLIED, DUPLICATE, IGNORED
 * (stored, nothing to change) or FAILED (rolled back and recorded: answer 500);
 * PB_EINVAL when refused (out->code: signature_invalid, invalid_event,
 * livemode_mismatch), with no database write; PB_EDB, PB_EDEADLOCK or PB_EBUSY with
 * out->outcome DEFERRED when the database could not take the event (nothing written:
 * answer 503, Stripe retries); PB_ECONFIG when no secret is configured.
 * All arguments are borrowed.
 */
enum pb_err webhooks_receive(struct app *app, struct arena *a, const char *signature,
    const char *body, size_t len, struct webhook_result *out);

/*
 * Processes one event's JSON as webhooks_receive does after verification (for sync and
 * replay, whose events come from Stripe's API). Same results, without signature refusals.
 */
enum pb_err webhooks_process(struct app *app, struct arena *a, const char *body, size_t len,
    enum webhook_source source, struct webhook_result *out);

/* "webhook", "sync", "replay". */
const char *webhooks_source_name(enum webhook_source s);

#endif
