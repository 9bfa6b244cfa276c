/*
 * JSON Web Tokens (RFC 7519), HS256 only: the algorithm is pinned, never read from the
 * token to choose how to verify. paybridge both issues and checks its tokens, so the
 * verifier accepts exactly what jwt_sign makes:
 *   header  {"alg":"HS256","typ":"JWT"}   (members other than alg and typ are refused)
 *   claims  {"sub":"<user id>","iat":N,"exp":N,"token_version":N,"role":"user"}
 * The signature is checked in constant time before any claim is read. exp is checked with
 * no leeway (issuer and verifier are the same service on synchronised clocks); iat may be
 * at most JWT_IAT_SKEW seconds ahead of now. token_version is only carried here: the
 * services layer compares it with the user's row, which is how tokens get revoked.
 */
#ifndef PB_UTIL_JWT_H
#define PB_UTIL_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define JWT_SECRET_MIN 32	/* bytes; RFC 7518 §3.2: a key at least as long as the hash */
#define JWT_TOKEN_MAX 4096	/* longest token accepted or made, without the NUL */
#define JWT_ROLE_MAX 16		/* longest role, without the NUL */
#define JWT_IAT_SKEW 60		/* seconds iat may be ahead of the verifier's clock */

struct jwt_claims {
	int64_t sub;		/* user id, > 0; a decimal string in the token */
	int64_t iat;		/* issued at, Unix seconds */
	int64_t exp;		/* expires at, Unix seconds; refused from then on */
	int64_t token_version;	/* >= 0 */
	char role[JWT_ROLE_MAX + 1];	/* 1..JWT_ROLE_MAX of [a-z0-9_] */
};

/*
 * Writes the signed token for c into out (NUL-terminated). PB_ECONFIG when secret_len <
 * JWT_SECRET_MIN, PB_EINVAL when c does not satisfy the rules above (sub > 0,
 * token_version >= 0, iat >= 0, exp > iat, role well-formed), PB_ETOOBIG when out cannot
 * hold the token (JWT_TOKEN_MAX + 1 always can), PB_ESYSTEM when OpenSSL fails. out[0] is
 * NUL on any error. Copies nothing; the secret is only read.
 */
enum pb_err jwt_sign(const char *secret, size_t secret_len, const struct jwt_claims *c,
    char *out, size_t outlen);

/*
 * Verifies the NUL-terminated token at time now (Unix seconds) and fills *out.
 * PB_OK when it is well-formed, signed with secret, current and complete; PB_EAUTH for
 * every other token, whatever the reason (the reason goes to log_debug only);
 * PB_ECONFIG when secret_len < JWT_SECRET_MIN; PB_ESYSTEM when OpenSSL fails. *out is
 * zeroed unless PB_OK.
 */
enum pb_err jwt_verify(const char *secret, size_t secret_len, const char *token, int64_t now,
    struct jwt_claims *out);

#endif
