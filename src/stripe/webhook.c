#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif

#include "stripe/webhook.h"
#include "util/hex.h"
#include "util/secure.h"
#include "util/strnum.h"

#define SIG_LEN ((size_t)32)	/* bytes of HMAC-SHA256 */
#define SIG_MAX 16		/* v1 entries considered; Stripe sends one or two */

struct parsed {
	long long t;
	unsigned char v1[SIG_MAX][SIG_LEN];
	size_t nv1;
};

static bool
decode_sig(const char *s, size_t n, unsigned char out[SIG_LEN])
{
	if (n != 2 * SIG_LEN)
		return false;
	return hex_decode(s, SIG_LEN, out);
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Parses "t=...,v1=...,v1=...,v0=...". Exactly one t (decimal), at least one v1 (64 hex
 * digits); other schemes are skipped, as Stripe may add new ones.
 */
static bool
parse_header(const char *h, struct parsed *p)
{
	bool have_t = false;
	const char *item = h;

	memset(p, 0, sizeof(*p));
	if (h == NULL || strlen(h) > STRIPE_SIG_HEADER_MAX)
		return false;
	for (;;) {
		size_t n = strcspn(item, ","), kn, vn;
		const char *k = item, *eq, *v;

		trim(&k, &n);
		eq = memchr(k, '=', n);
		if (eq == NULL || eq == k)
			return false;
		kn = (size_t)(eq - k);
		v = eq + 1;
		vn = n - kn - 1;
		if (kn == 1 && k[0] == 't') {
			char num[24];

			if (have_t || vn == 0 || vn >= sizeof(num))
				return false;
			memcpy(num, v, vn);
			num[vn] = '\0';
			if (strnum_parse(num, 10, 0, 9999999999LL, &p->t) != PB_OK)
				return false;
			have_t = true;
		} else if (kn == 2 && k[0] == 'v' && k[1] == '1') {
			if (p->nv1 == SIG_MAX || !decode_sig(v, vn, p->v1[p->nv1]))
				return false;
			p->nv1++;
		}
		item += strcspn(item, ",");
		if (*item == '\0')
			break;
		item++;
	}
	return have_t && p->nv1 > 0;
}

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/*
 * The HMAC-SHA256 context every signature starts from, made once per process: fetching the
 * implementation and making a key object for each request (the EVP_PKEY route) cost
 * OpenSSL 3 some 70,000 instructions, about as much as hashing a 3 KB event
 * (docs/BENCHMARKS.md). Workers fork from the master and run one request at a time.
 */
static EVP_MAC_CTX *
hmac_template(void)
{
	static EVP_MAC_CTX *tmpl;
	static char digest[] = "SHA256";
	EVP_MAC *mac;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	if (tmpl != NULL)
		return tmpl;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		return NULL;
	tmpl = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);	/* the context keeps its own reference */
	if (tmpl != NULL && EVP_MAC_CTX_set_params(tmpl, params) != 1) {
		EVP_MAC_CTX_free(tmpl);
		tmpl = NULL;
	}
	return tmpl;
}

/* HMAC-SHA256 of "<t>.<body>" with key; streamed, so the body is never copied. */
static bool
hmac(const char *key, size_t keylen, long long t, const char *body, size_t len,
    unsigned char out[SIG_LEN])
{
	EVP_MAC_CTX *tmpl = hmac_template(), *ctx;
	char prefix[32];
	size_t outlen = 0;
	int plen;
	bool ok;

	plen = snprintf(prefix, sizeof(prefix), "%lld.", t);
	if (tmpl == NULL || plen < 0 || (size_t)plen >= sizeof(prefix))
		return false;
	ctx = EVP_MAC_CTX_dup(tmpl);
	if (ctx == NULL)
		return false;
	ok = EVP_MAC_init(ctx, (const unsigned char *)key, keylen, NULL) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)plen) == 1 &&
	    EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
	    EVP_MAC_final(ctx, out, &outlen, SIG_LEN) == 1 && outlen == SIG_LEN;
	EVP_MAC_CTX_free(ctx);	/* wipes the keyed state */
	return ok;
}
#else
/* HMAC-SHA256 of "<t>.<body>" with key; streamed, so the body is never copied. */
static bool
hmac(const char *key, size_t keylen, long long t, const char *body, size_t len,
    unsigned char out[SIG_LEN])
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	char prefix[32];
	size_t outlen = SIG_LEN;
	int plen;
	bool ok = false;

	plen = snprintf(prefix, sizeof(prefix), "%lld.", t);
	if (plen < 0 || (size_t)plen >= sizeof(prefix) || keylen > INT32_MAX)
		return false;
	pkey = EVP_PKEY_new_mac_key(EVP_PKEY_HMAC, NULL, (const unsigned char *)key,
	    (int)keylen);
	ctx = EVP_MD_CTX_new();
	if (pkey == NULL || ctx == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSignUpdate(ctx, prefix, (size_t)plen) != 1 ||
	    EVP_DigestSignUpdate(ctx, body, len) != 1 ||
	    EVP_DigestSignFinal(ctx, out, &outlen) != 1 || outlen != SIG_LEN)
		goto out;
	ok = true;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}
#endif

/* A label is 1..STRIPE_WEBHOOK_LABEL_MAX of [A-Za-z0-9_.-]. */
static bool
label_ok(const char *s, size_t n)
{
	if (n == 0 || n > STRIPE_WEBHOOK_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/*
 * One entry of the secrets list: *key and *keylen give the secret, label written (NUL-terminated)
 * into label. false for an entry that verifies nothing (empty, or a bad label).
 */
static bool
split_entry(const char *e, size_t n, size_t pos, const char **key, size_t *keylen,
    char label[STRIPE_WEBHOOK_LABEL_MAX + 1])
{
	const char *colon = memchr(e, ':', n);

	if (colon == NULL) {
		(void)snprintf(label, STRIPE_WEBHOOK_LABEL_MAX + 1, "secret%zu", pos);
		*key = e;
		*keylen = n;
	} else {
		size_t ln = (size_t)(colon - e);

		if (!label_ok(e, ln))
			return false;
		memcpy(label, e, ln);
		label[ln] = '\0';
		*key = colon + 1;
		*keylen = n - ln - 1;
		trim(key, keylen);
	}
	return *keylen > 0;
}

enum stripe_webhook_result
stripe_webhook_check(const char *secrets, const char *header, const char *body, size_t len,
    long long tolerance_s, int64_t now_s, struct stripe_webhook_check *out)
{
	struct parsed p;
	unsigned char mac[SIG_LEN];
	const char *s = secrets;
	bool any_secret = false, match = false;
	size_t pos = 0;
	long long age;

	memset(out, 0, sizeof(*out));
	out->missing = header == NULL;
	if (!parse_header(header, &p)) {
		out->result = STRIPE_WEBHOOK_MALFORMED;
		return out->result;
	}
	out->have_t = true;
	out->skew_s = (long long)now_s - p.t;
	while (s != NULL && *s != '\0' && out->nlabels < STRIPE_WEBHOOK_SECRETS_MAX) {
		size_t n = strcspn(s, ","), keylen;
		const char *entry = s, *key;
		bool this_match = false;

		trim(&entry, &n);
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
		if (n == 0)
			continue;
		pos++;
		if (!split_entry(entry, n, pos, &key, &keylen, out->labels[out->nlabels]))
			continue;
		any_secret = true;
		if (!hmac(key, keylen, p.t, body, len, mac)) {
			secure_wipe(mac, sizeof(mac));
			out->result = STRIPE_WEBHOOK_ERROR;
			return out->result;
		}
		/* Every pair is compared, so timing says nothing about which one matched. */
		for (size_t i = 0; i < p.nv1; i++)
			this_match |= secure_equal(mac, p.v1[i], SIG_LEN);
		if (this_match && !match)
			memcpy(out->label, out->labels[out->nlabels], sizeof(out->label));
		match |= this_match;
		out->nlabels++;
	}
	secure_wipe(mac, sizeof(mac));
	if (!any_secret)
		out->result = STRIPE_WEBHOOK_NO_SECRET;
	else if (!match)
		out->result = STRIPE_WEBHOOK_NO_MATCH;
	else {
		age = out->skew_s >= 0 ? out->skew_s : -out->skew_s;
		out->result = now_s < 0 || age > tolerance_s ? STRIPE_WEBHOOK_EXPIRED :
		    STRIPE_WEBHOOK_OK;
	}
	if (out->result != STRIPE_WEBHOOK_OK && out->result != STRIPE_WEBHOOK_EXPIRED)
		out->label[0] = '\0';
	return out->result;
}

enum stripe_webhook_result
stripe_webhook_verify(const char *secrets, const char *header, const char *body, size_t len,
    long long tolerance_s, int64_t now_s)
{
	struct stripe_webhook_check c;

	return stripe_webhook_check(secrets, header, body, len, tolerance_s, now_s, &c);
}

enum pb_err
stripe_webhook_secrets_valid(const char *secrets, char *why, size_t whylen)
{
	const char *s = secrets;
	size_t pos = 0;

	while (s != NULL && *s != '\0') {
		size_t n = strcspn(s, ","), keylen;
		const char *entry = s, *key;
		char label[STRIPE_WEBHOOK_LABEL_MAX + 1];

		trim(&entry, &n);
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
		if (n == 0)
			continue;
		pos++;
		if (pos > STRIPE_WEBHOOK_SECRETS_MAX) {
			(void)snprintf(why, whylen, "at most %d secrets", STRIPE_WEBHOOK_SECRETS_MAX);
			return PB_EINVAL;
		}
		if (!split_entry(entry, n, pos, &key, &keylen, label)) {
			(void)snprintf(why, whylen,
			    "entry %zu: a label is 1-%d of A-Z a-z 0-9 _ . - before ':', then the secret",
			    pos, STRIPE_WEBHOOK_LABEL_MAX);
			return PB_EINVAL;
		}
	}
	return PB_OK;
}

const char *
stripe_webhook_reason(enum stripe_webhook_result r)
{
	static const char *const names[STRIPE_WEBHOOK__MAX] = {
		[STRIPE_WEBHOOK_OK] = "ok",
		[STRIPE_WEBHOOK_MALFORMED] = "malformed",
		[STRIPE_WEBHOOK_NO_MATCH] = "no_match",
		[STRIPE_WEBHOOK_EXPIRED] = "expired",
		[STRIPE_WEBHOOK_NO_SECRET] = "no_secret",
		[STRIPE_WEBHOOK_ERROR] = "error",
	};

	return (unsigned)r < STRIPE_WEBHOOK__MAX ? names[r] : "unknown";
}

const char *
stripe_webhook_strerror(enum stripe_webhook_result r)
{
	static const char *const text[STRIPE_WEBHOOK__MAX] = {
		[STRIPE_WEBHOOK_OK] = "signature verified",
		[STRIPE_WEBHOOK_MALFORMED] = "missing or malformed Stripe-Signature header",
		[STRIPE_WEBHOOK_NO_MATCH] = "no valid signature",
		[STRIPE_WEBHOOK_EXPIRED] = "timestamp outside the tolerance",
		[STRIPE_WEBHOOK_NO_SECRET] = "no webhook secret configured",
		[STRIPE_WEBHOOK_ERROR] = "signature could not be computed",
	};

	return (unsigned)r < STRIPE_WEBHOOK__MAX ? text[r] : "unknown result";
}

enum pb_err
stripe_webhook_err(enum stripe_webhook_result r)
{
	switch (r) {
	case STRIPE_WEBHOOK_OK:
		return PB_OK;
	case STRIPE_WEBHOOK_NO_SECRET:
		return PB_ECONFIG;
	case STRIPE_WEBHOOK_ERROR:
		return PB_ENOMEM;
	case STRIPE_WEBHOOK_MALFORMED:
	case STRIPE_WEBHOOK_NO_MATCH:
	case STRIPE_WEBHOOK_EXPIRED:
	case STRIPE_WEBHOOK__MAX:
		break;
	}
	return PB_EINVAL;
}

enum pb_err
stripe_webhook_sign(const char *secret, long long t, const char *body, size_t len,
    char out[STRIPE_SIG_HEX_LEN])
{
	unsigned char mac[SIG_LEN];

	out[0] = '\0';
	if (!hmac(secret, strlen(secret), t, body, len, mac))
		return PB_ENOMEM;
	hex_encode(mac, SIG_LEN, out);
	secure_wipe(mac, sizeof(mac));
	return PB_OK;
}
