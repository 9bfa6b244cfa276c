/*
 * Our own POST endpoints' Idempotency-Key (DESIGN §5): the same key with the same request
 * replays the first answer, status and body; with another request it is refused; a repeat
 * while the first is still running is refused too, so the work runs once. Answers of 500
 * and up are not kept: the work did not happen (or may be retried safely, since what it
 * sends Stripe carries a key derived from the caller's, see op_key), and a repeat runs it
 * again. Keys live IDEM_TTL_S; the jobs worker prunes older ones.
 */
#ifndef PB_SERVICES_IDEMPOTENCY_H
#define PB_SERVICES_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct app;
struct arena;

#define IDEM_KEY_MAX 255
#define IDEM_TTL_S (24 * 3600)
#define IDEM_OP_KEY_MAX 48

enum idem_start {
	IDEM_RUN,	/* do the work, then idem_finish */
	IDEM_REPLAY,	/* answer replay_status with replay_body */
	IDEM_REUSED,	/* the key came with another request: 409 idempotency_key_reused */
	IDEM_IN_USE,	/* the first request with the key is running: 409 idempotency_key_in_use */
};

struct idem {
	uint64_t row_id;	/* 0: the caller sent no key, nothing is kept */
	/*
	 * Names this piece of work wherever it needs a key of its own (Stripe's
	 * Idempotency-Key): derived from the user and the caller's key, so every repeat of
	 * the request asks Stripe for the same object; without a key, from the request id.
	 */
	char op_key[IDEM_OP_KEY_MAX];
	int replay_status;
	const char *replay_body;	/* in the arena */
	size_t replay_len;
};

/* Whether key is 1..IDEM_KEY_MAX printable ASCII characters, as a key must be. */
bool idem_key_ok(const char *key);

/*
 * Starts the request of user_id (method, path and body fingerprint it) under the
 * caller's key (NULL when none was sent; then *start is IDEM_RUN and nothing is stored).
 * PB_EINVAL for a key that is empty, longer than IDEM_KEY_MAX or not printable ASCII.
 */
enum pb_err idem_begin(struct app *app, struct arena *a, uint64_t user_id, const char *key,
    const char *request_id, const char *method, const char *path, const char *body,
    size_t len, struct idem *out, enum idem_start *start);

/* Keeps the answer for repeats (status < 500), or forgets the key (500 and up). */
enum pb_err idem_finish(struct app *app, const struct idem *idem, int status,
    const char *body, size_t len);

/* Deletes up to limit keys older than IDEM_TTL_S; *deleted says how many. */
enum pb_err idem_prune(struct app *app, uint64_t limit, uint64_t *deleted);

#endif
