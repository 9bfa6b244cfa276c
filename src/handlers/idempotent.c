#include "config.h"

#include "handlers/idempotent.h"
#include "http/request.h"
#include "http/response.h"
#include "services/idempotency.h"
#include "util/log.h"

enum pb_err
handlers_idempotent(struct app *app, struct request *req, struct response *resp,
    idempotent_work work)
{
	const char *key = request_header(req, "Idempotency-Key");
	enum idem_start start;
	struct idem idem;
	enum pb_err err, ferr;

	err = idem_begin(app, req->arena, (uint64_t)req->user_id, key, req->request_id,
	    req->method_name, req->path, req->body, req->body_len, &idem, &start);
	if (err == PB_EINVAL)
		return response_error(resp, PB_EINVAL, "invalid_idempotency_key",
		    "Idempotency-Key must be 1 to 255 printable ASCII characters", NULL);
	if (err != PB_OK)
		return err;
	switch (start) {
	case IDEM_REPLAY:
		err = response_raw(resp, idem.replay_status, "application/json", idem.replay_body,
		    idem.replay_len);
		if (err == PB_OK)
			err = response_header(resp, "Idempotent-Replayed", "true");
		return err;
	case IDEM_REUSED:
		return response_error(resp, PB_ECONFLICT, "idempotency_key_reused",
		    "this Idempotency-Key was used with another request", NULL);
	case IDEM_IN_USE:
		err = response_error(resp, PB_ECONFLICT, "idempotency_key_in_use",
		    "a request with this Idempotency-Key is still being processed", NULL);
		if (err == PB_OK)
			err = response_header(resp, "Retry-After", "1");
		return err;
	case IDEM_RUN:
		break;
	}
	/* Stripe calls end a second before the request does: the key is always settled. */
	err = work(app, req, resp, &idem);
	if (err != PB_OK) {
		response_reset(resp);
		(void)response_error(resp, err, NULL, NULL, NULL);
	}
	ferr = idem_finish(app, &idem, resp->status, resp->body.data, resp->body.len);
	if (ferr != PB_OK)
		/* The answer still goes out; a repeat waits out the key as in flight. */
		log_event(LOGL_WARN, "idempotency key not settled", (const struct log_kv[]){
		    LOG_STR("error", pb_strerror(ferr)) }, 1);
	return PB_OK;
}
