/*
 * libFuzzer target for Stripe's error answers: bytes 0-1 the HTTP status (big-endian,
 * taken modulo 600), byte 2 how long the Request-Id header is, then the header and the
 * body, through stripe_error_parse, stripe_error_map and stripe_error_public_message.
 * Checked: the result is the mapping of the parsed error and one of the errors a call
 * may return; every field is terminated within its array and valid UTF-8 (Stripe's JSON
 * is, so a cut must fall between characters: the message may reach a customer); the
 * public message is non-empty and is Stripe's own only for a card error.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/client.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_field(const char *f, size_t cap, bool utf8)
{
	size_t n = strnlen(f, cap);

	if (n == cap || (utf8 && !utf8_valid(f, n)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stripe_error e;
	char rid[256];
	const char *msg;
	size_t rlen;
	int status;
	enum pb_err err;

	if (size < 3)
		return 0;
	status = ((data[0] << 8) | data[1]) % 600;
	rlen = data[2];
	if (rlen > size - 3)
		rlen = size - 3;
	memcpy(rid, data + 3, rlen);
	rid[rlen] = '\0';
	memset(&e, 0x5a, sizeof(e));	/* whatever was there before must not matter */
	err = stripe_error_parse(status, (const char *)data + 3 + rlen, size - 3 - rlen,
	    rlen > 0 ? rid : NULL, &e);
	if (err != e.err || err != stripe_error_map(&e) || e.status != status || e.timed_out)
		abort();
	switch (err) {
	case PB_ESTRIPE: case PB_ETIMEOUT: case PB_ECONFLICT: case PB_EFIELDS: case PB_ENOTFOUND:
	case PB_EINVAL:
		break;
	default:
		abort();
	}
	check_field(e.type, sizeof(e.type), true);
	check_field(e.code, sizeof(e.code), true);
	check_field(e.decline_code, sizeof(e.decline_code), true);
	check_field(e.param, sizeof(e.param), true);
	check_field(e.message, sizeof(e.message), true);
	check_field(e.request_id, sizeof(e.request_id), false);
	msg = stripe_error_public_message(&e);
	if (msg == NULL || msg[0] == '\0')
		abort();
	if (msg == e.message && strcmp(e.type, "card_error") != 0)
		abort();
	return 0;
}
