/*
 * HS256 JWTs. Verification order matters: shape and length first (cheap, bounded), then
 * the HMAC over "<header>.<payload>" compared in constant time, and only then are the
 * header and the claims decoded and parsed, so nothing an attacker wrote is interpreted
 * before the signature proves we wrote it. The header is still checked after that:
 * a token whose header names another algorithm is refused even when the MAC matches.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/base64url.h"
#include "util/json.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/secure.h"
#include "util/strnum.h"

#define SIG_LEN 32		/* HMAC-SHA256 */
#define SIG_B64_LEN 43		/* base64url_encoded_len(SIG_LEN) */
#define PART_MAX 3072		/* base64url_decoded_max(JWT_TOKEN_MAX) */
#define JSON_DEPTH 4		/* our header and claims are flat objects */
#define CLAIMS_JSON_MAX 256	/* the longest claims jwt_sign writes, with room */

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static bool
role_valid(const char *r, size_t n)
{
	if (n == 0 || n > JWT_ROLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '_'))
			return false;
	return true;
}

static enum pb_err
hmac_sha256(const char *key, size_t keylen, const char *data, size_t n,
    unsigned char out[SIG_LEN])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return PB_ECONFIG;
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, n, out,
	    &outlen) == NULL || outlen != SIG_LEN)
		return PB_ESYSTEM;
	return PB_OK;
}

enum pb_err
jwt_sign(const char *secret, size_t secret_len, const struct jwt_claims *c, char *out,
    size_t outlen)
{
	unsigned char sig[SIG_LEN];
	char claims[CLAIMS_JSON_MAX];
	size_t clen, pos, hlen, plen, need;
	enum pb_err err;
	int n;

	if (outlen > 0)
		out[0] = '\0';
	if (secret == NULL || secret_len < JWT_SECRET_MIN)
		return PB_ECONFIG;
	if (c->sub <= 0 || c->token_version < 0 || c->iat < 0 || c->exp <= c->iat ||
	    !role_valid(c->role, strnlen(c->role, sizeof(c->role))))
		return PB_EINVAL;
	/* role holds only [a-z0-9_], so it needs no JSON escaping. */
	n = snprintf(claims, sizeof(claims),
	    "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"token_version\":%lld,\"role\":\"%s\"}",
	    (long long)c->sub, (long long)c->iat, (long long)c->exp,
	    (long long)c->token_version, c->role);
	if (n < 0 || (size_t)n >= sizeof(claims))
		return PB_EINVAL;
	clen = (size_t)n;
	hlen = base64url_encoded_len(sizeof(header_json) - 1);
	plen = base64url_encoded_len(clen);
	need = hlen + 1 + plen + 1 + SIG_B64_LEN + 1;
	if (need > outlen || need > JWT_TOKEN_MAX + 1)
		return PB_ETOOBIG;

	/* The sizes were checked above, so these encodings cannot run short. */
	err = base64url_encode(header_json, sizeof(header_json) - 1, out, outlen);
	if (err != PB_OK)
		goto fail;
	pos = hlen;
	out[pos++] = '.';
	err = base64url_encode(claims, clen, out + pos, outlen - pos);
	if (err != PB_OK)
		goto fail;
	pos += plen;
	err = hmac_sha256(secret, secret_len, out, pos, sig);
	if (err != PB_OK)
		goto fail;
	out[pos++] = '.';
	err = base64url_encode(sig, sizeof(sig), out + pos, outlen - pos);
	if (err != PB_OK)
		goto fail;
	secure_wipe(sig, sizeof(sig));
	return PB_OK;
fail:
	secure_wipe(sig, sizeof(sig));
	out[0] = '\0';
	return err;
}

/* Returns the string member key of obj when it holds no NUL byte, else NULL. Borrowed. */
static const char *
get_str(struct json_object *obj, const char *key, size_t *len)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return strlen(s) == *len ? s : NULL;
}

/* Decodes one base64url segment and parses it as a JSON object. NULL when it is not. */
static const char *
decode_object(const char *seg, size_t n, struct json_object **out)
{
	char raw[PART_MAX];
	size_t rawlen;
	struct json_object *obj = NULL;
	const char *why = NULL;

	*out = NULL;
	if (base64url_decode(seg, n, raw, sizeof(raw), &rawlen) != PB_OK)
		why = "segment is not base64url";
	else if (json_parse(raw, rawlen, JSON_DEPTH, &obj) != PB_OK)
		why = "segment is not JSON";
	else if (!json_object_is_type(obj, json_type_object))
		why = "segment is not a JSON object";
	if (why != NULL) {
		json_object_put(obj);
		return why;
	}
	*out = obj;
	return NULL;
}

/* Checks the header's members: alg exactly "HS256", typ "JWT" if present, nothing else. */
static const char *
check_header(struct json_object *h)
{
	const char *alg;
	size_t alen = 0;
	int members = 1;

	alg = get_str(h, "alg", &alen);
	if (alg == NULL || strcmp(alg, "HS256") != 0)
		return "alg is not HS256";
	if (json_object_object_get_ex(h, "typ", NULL)) {
		size_t tlen = 0;
		const char *typ = get_str(h, "typ", &tlen);

		if (typ == NULL || strcmp(typ, "JWT") != 0)
			return "typ is not JWT";
		members++;
	}
	/* crit, jku, kid and the like would ask us to understand something we do not. */
	if (json_object_object_length(h) != members)
		return "header has unknown members";
	return NULL;
}

static const char *
read_claims(struct json_object *p, int64_t now, struct jwt_claims *c)
{
	const char *sub, *role;
	size_t sublen = 0, rolelen = 0;
	long long id;

	sub = get_str(p, "sub", &sublen);
	if (sub == NULL || sub[0] == '0' || strnum_parse(sub, 10, 1, INT64_MAX, &id) != PB_OK)
		return "sub is not a positive integer string";
	c->sub = id;
	if (!json_get_int64(p, "exp", &c->exp))
		return "exp is missing or not an integer";
	if (!json_get_int64(p, "iat", &c->iat) || c->iat < 0)
		return "iat is missing or not a non-negative integer";
	if (!json_get_int64(p, "token_version", &c->token_version) || c->token_version < 0)
		return "token_version is missing or not a non-negative integer";
	role = get_str(p, "role", &rolelen);
	if (role == NULL || !role_valid(role, rolelen))
		return "role is missing or malformed";
	memcpy(c->role, role, rolelen);
	c->role[rolelen] = '\0';
	if (c->exp <= c->iat)
		return "exp is not after iat";
	if (now >= c->exp)
		return "expired";
	/* iat >= 0 above, so iat - JWT_IAT_SKEW cannot overflow. */
	if (c->iat - JWT_IAT_SKEW > now)
		return "iat is in the future";
	return NULL;
}

enum pb_err
jwt_verify(const char *secret, size_t secret_len, const char *token, int64_t now,
    struct jwt_claims *out)
{
	unsigned char sig[SIG_LEN + 1], mac[SIG_LEN];
	struct json_object *header = NULL, *payload = NULL;
	const char *dot1, *dot2, *why = NULL;
	size_t len, siglen = 0;
	enum pb_err err = PB_EAUTH;

	memset(out, 0, sizeof(*out));
	if (secret == NULL || secret_len < JWT_SECRET_MIN)
		return PB_ECONFIG;
	if (token == NULL) {
		why = "no token";
		goto fail;
	}
	len = strnlen(token, JWT_TOKEN_MAX + 1);
	if (len > JWT_TOKEN_MAX) {
		why = "too long";
		goto fail;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 == NULL ? NULL : memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
		why = "not three segments";
		goto fail;
	}
	if (dot1 == token || dot2 == dot1 + 1) {
		why = "empty segment";
		goto fail;
	}
	/* A 43-character canonical base64url signature is exactly 32 bytes. */
	if (len - (size_t)(dot2 + 1 - token) != SIG_B64_LEN ||
	    base64url_decode(dot2 + 1, SIG_B64_LEN, sig, sizeof(sig), &siglen) != PB_OK ||
	    siglen != SIG_LEN) {
		why = "signature is not 32 bytes of base64url";
		goto fail;
	}
	err = hmac_sha256(secret, secret_len, token, (size_t)(dot2 - token), mac);
	if (err != PB_OK)
		goto fail;
	err = PB_EAUTH;
	if (!secure_equal(mac, sig, SIG_LEN)) {
		why = "bad signature";
		goto fail;
	}

	why = decode_object(token, (size_t)(dot1 - token), &header);
	if (why == NULL)
		why = check_header(header);
	if (why == NULL)
		why = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload);
	if (why == NULL)
		why = read_claims(payload, now, out);
	if (why != NULL)
		goto fail;
	json_object_put(header);
	json_object_put(payload);
	secure_wipe(mac, sizeof(mac));
	return PB_OK;
fail:
	if (why != NULL)
		log_debug("jwt: token refused: %s", why);
	json_object_put(header);
	json_object_put(payload);
	secure_wipe(mac, sizeof(mac));
	memset(out, 0, sizeof(*out));
	return err;
}
