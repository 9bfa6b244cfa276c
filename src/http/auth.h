/*
 * Bearer authentication (RFC 6750 §2.1): "Authorization: Bearer <token>". This module
 * only extracts and verifies the token; whether its token_version still matches the
 * user's row is decided by the services layer, which then sets req->user_id and
 * req->user_role. Every failure is PB_EAUTH, so clients learn nothing about why.
 */
#ifndef PB_HTTP_AUTH_H
#define PB_HTTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "http/request.h"
#include "util/err.h"
#include "util/jwt.h"

/*
 * Stores in *token the credentials of the request's Authorization header: the scheme
 * "Bearer" in any case, one space, then one token of RFC 6750 b64token characters
 * ([A-Za-z0-9-._~+/] then any '=') of at most JWT_TOKEN_MAX bytes, and nothing after it.
 * *token is borrowed from the request (lives as long as its parameters). PB_EAUTH (and
 * *token NULL) when the header is missing, another scheme, empty or malformed.
 */
enum pb_err auth_bearer(const struct request *req, const char **token);

/*
 * auth_bearer, then jwt_verify with secret at time now (Unix seconds) into *claims.
 * PB_OK or PB_EAUTH; PB_ECONFIG or PB_ESYSTEM as jwt_verify returns them. *claims is
 * zeroed unless PB_OK. Does not touch req.
 */
enum pb_err auth_verify(const struct request *req, const char *secret, size_t secret_len,
    int64_t now, struct jwt_claims *claims);

#endif
