/* Signed Stripe deliveries (see itest_sign.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "itest_sign.h"

void
itest_sign(const char *secret, long long t, const char *body, size_t len, char out[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char prefix[32];
	HMAC_CTX *ctx;
	int n;

	out[0] = '\0';
	n = snprintf(prefix, sizeof(prefix), "%lld.", t);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	ctx = HMAC_CTX_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	HMAC_Init_ex(ctx, secret, (int)strlen(secret), EVP_sha256(), NULL);
	HMAC_Update(ctx, (const unsigned char *)prefix, (size_t)n);
	HMAC_Update(ctx, (const unsigned char *)body, len);
	HMAC_Final(ctx, mac, &maclen);
	HMAC_CTX_free(ctx);
#pragma GCC diagnostic pop
	for (unsigned i = 0; i < maclen && i < 32; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

const char *
itest_webhook_secret(void)
{
	static char s[256];
	const char *v = itest_env("PAYBRIDGE_STRIPE_WEBHOOK_SECRETS"), *colon;

	(void)snprintf(s, sizeof(s), "%.*s", (int)strcspn(v, ","), v);
	colon = strchr(s, ':');
	return colon != NULL ? colon + 1 : s;
}

void
itest_deliver_raw(const char *base, const char *body, size_t len, const char *header,
    struct itest_response *r)
{
	char url[512], sig[512];
	const char *h[3] = { "Content-Type: application/json; charset=utf-8", NULL, NULL };

	if (header != NULL) {
		(void)snprintf(sig, sizeof(sig), "Stripe-Signature: %s", header);
		h[1] = sig;
	}
	(void)snprintf(url, sizeof(url), "%s/v1/webhooks/stripe", base);
	CU_ASSERT_FATAL(itest_request("POST", url, h, body, len, r));
}

void
itest_deliver_at(const char *base, const char *body, size_t len, long long t,
    struct itest_response *r)
{
	char hex[65], header[128];

	itest_sign(itest_webhook_secret(), t, body, len, hex);
	(void)snprintf(header, sizeof(header), "t=%lld,v1=%s", t, hex);
	itest_deliver_raw(base, body, len, header, r);
}
