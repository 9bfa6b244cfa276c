/*
 * libFuzzer harness for jwt_verify (and base64url_decode on the way). A random token
 * almost never gets past the HMAC, so the first byte picks what the rest is:
 *   0: a token, verified as is;
 *   1: "<header JSON>\n<claims JSON>", encoded and signed here with the fixed secret, so
 *      the header and claims parsers see arbitrary JSON behind a valid signature;
 *   2: "<header b64>.<claims b64>", signed here, so the segment decoder sees arbitrary text.
 * Invariants checked: a canonical base64url decoding re-encodes to its input; an accepted
 * token has claims jwt_sign would make, and signing them again verifies to the same claims.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/base64url.h"
#include "util/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
#define SECRET_LEN (sizeof(secret) - 1)
#define NOW 1700000000LL
#define BUF (JWT_TOKEN_MAX * 2 + 128)

/* Appends ".<base64url HMAC-SHA256 of tok>" to tok (of length n, in a BUF array). */
static void
sign(char *tok, size_t n)
{
	unsigned char mac[32];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)SECRET_LEN, (const unsigned char *)tok, n, mac,
	    &maclen) == NULL || maclen != sizeof(mac))
		abort();
	tok[n] = '.';
	if (base64url_encode(mac, sizeof(mac), tok + n + 1, BUF - n - 1) != PB_OK)
		abort();
}

static void
check_base64url(const uint8_t *data, size_t size)
{
	unsigned char raw[BUF];
	char back[BUF * 2];
	size_t n;

	if (base64url_decode((const char *)data, size, raw, sizeof(raw), &n) != PB_OK)
		return;
	if (base64url_encode(raw, n, back, sizeof(back)) != PB_OK || strlen(back) != size ||
	    memcmp(back, data, size) != 0)
		abort();
}

static void
check_accepted(const struct jwt_claims *c)
{
	struct jwt_claims again;
	char tok[JWT_TOKEN_MAX + 1];

	if (c->sub <= 0 || c->token_version < 0 || c->iat < 0 || c->exp <= c->iat ||
	    NOW >= c->exp || c->iat - JWT_IAT_SKEW > NOW || c->role[0] == '\0')
		abort();
	if (jwt_sign(secret, SECRET_LEN, c, tok, sizeof(tok)) != PB_OK ||
	    jwt_verify(secret, SECRET_LEN, tok, NOW, &again) != PB_OK ||
	    again.sub != c->sub || again.iat != c->iat || again.exp != c->exp ||
	    again.token_version != c->token_version || strcmp(again.role, c->role) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[BUF];
	struct jwt_claims c;
	const uint8_t *nl;
	size_t n, hn;
	int mode;

	if (size == 0 || size > JWT_TOKEN_MAX + 8)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	check_base64url(data, size);
	switch (mode) {
	case 0:
		memcpy(tok, data, size);
		tok[size] = '\0';
		break;
	case 1:
		nl = memchr(data, '\n', size);
		hn = nl == NULL ? size : (size_t)(nl - data);
		if (base64url_encode(data, hn, tok, BUF) != PB_OK)
			abort();
		n = strlen(tok);
		tok[n++] = '.';
		if (nl != NULL) {
			if (base64url_encode(nl + 1, size - hn - 1, tok + n, BUF - n) != PB_OK)
				abort();
			n += strlen(tok + n);
		}
		sign(tok, n);
		break;
	default:
		memcpy(tok, data, size);
		sign(tok, size);
		break;
	}
	if (jwt_verify(secret, SECRET_LEN, tok, NOW, &c) == PB_OK)
		check_accepted(&c);
	return 0;
}
