/*
 * Runs a POST handler under the caller's Idempotency-Key (services/idempotency.h): a
 * repeat with the same request gets the first answer back, byte for byte, with
 * Idempotent-Replayed: true; another request under the key, or a repeat while the first
 * still runs, gets 409 (idempotency_key_reused, idempotency_key_in_use). A key that is not
 * 1..255 printable ASCII characters is a 400.
 */
#ifndef PB_HANDLERS_IDEMPOTENT_H
#define PB_HANDLERS_IDEMPOTENT_H

#include "http/router.h"

struct idem;

/* The work: answers in resp, or returns an error the wrapper answers (and keeps). */
typedef enum pb_err (*idempotent_work)(struct app *app, struct request *req,
    struct response *resp, const struct idem *idem);

enum pb_err handlers_idempotent(struct app *app, struct request *req, struct response *resp,
    idempotent_work work);

#endif
