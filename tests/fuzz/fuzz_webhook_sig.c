/*
 * libFuzzer target for the Stripe-Signature parser and verifier. The input is split at
 * its first NUL into header and body (no NUL: all header, empty body). Checked:
 *   - a header longer than the bound, or one with no t, is never OK;
 *   - OK needs a v1 entry; the matching label is one of the configured ones, and every
 *     well-formed header has both secrets tried;
 *   - the header we sign ourselves for the body always verifies, and stops verifying
 *     when the body changes.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stripe/webhook.h"

#define SECRETS "old:whsec_fuzz_old,new:whsec_fuzz"
#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t hlen = nul != NULL ? (size_t)(nul - (const char *)data) : size;
	const char *body = nul != NULL ? nul + 1 : "";
	size_t blen = nul != NULL ? size - hlen - 1 : 0;
	struct stripe_webhook_check c;
	char *h, sig[STRIPE_SIG_HEX_LEN], mine[128];
	enum stripe_webhook_result r;

	h = malloc(hlen + 1);
	if (h == NULL)
		return 0;
	memcpy(h, data, hlen);
	h[hlen] = '\0';
	r = stripe_webhook_check(SECRETS, h, body, blen, 300, NOW, &c);
	if (r == STRIPE_WEBHOOK_OK) {
		if (strlen(h) > STRIPE_SIG_HEADER_MAX || strstr(h, "t=") == NULL ||
		    strstr(h, "v1=") == NULL)
			abort();
		if (strcmp(c.label, "old") != 0 && strcmp(c.label, "new") != 0)
			abort();
	}
	/* Past the header, every configured secret was tried (and named). */
	if (r != STRIPE_WEBHOOK_MALFORMED && c.nlabels != 2)
		abort();
	if (stripe_webhook_sign("whsec_fuzz", NOW, body, blen, sig) != PB_OK)
		abort();
	(void)snprintf(mine, sizeof(mine), "t=%lld,v1=%s", NOW, sig);
	if (stripe_webhook_check(SECRETS, mine, body, blen, 300, NOW, &c) != STRIPE_WEBHOOK_OK ||
	    strcmp(c.label, "new") != 0)
		abort();
	if (blen > 0 && stripe_webhook_verify(SECRETS, mine, body, blen - 1, 300, NOW) ==
	    STRIPE_WEBHOOK_OK)
		abort();
	free(h);
	return 0;
}
