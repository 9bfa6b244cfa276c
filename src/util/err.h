/*
 * One error enumeration for the whole program. Functions return these; only main() and
 * the master decide to exit. Each value maps to one HTTP status and one stable,
 * snake_case code string that clients may switch on.
 */
#ifndef PB_UTIL_ERR_H
#define PB_UTIL_ERR_H

enum pb_err {
	PB_OK = 0,
	PB_ENOMEM,	/* allocation failed */
	PB_EINVAL,	/* malformed input: 400 */
	PB_EFIELDS,	/* well-formed input with invalid fields: 422 */
	PB_EAUTH,	/* missing or bad credentials: 401 */
	PB_EFORBIDDEN,	/* authenticated but not allowed: 403 */
	PB_ENOTFOUND,	/* no such resource: 404 */
	PB_EMETHOD,	/* resource exists, method does not: 405 */
	PB_ECONFLICT,	/* duplicate key, state conflict: 409 */
	PB_ETOOBIG,	/* over a size limit: 413 */
	PB_EMEDIA,	/* unsupported content type: 415 */
	PB_ERATE,	/* throttled: 429 */
	PB_EDB,		/* database unavailable or failed: 503 */
	PB_EDEADLOCK,	/* deadlock or lock wait timeout: retry the transaction */
	PB_ESTRIPE,	/* Stripe refused or failed: 502 */
	PB_ETIMEOUT,	/* a deadline passed: 504 */
	PB_EBUSY,	/* overloaded: shed before doing anything, 503 */
	PB_ESYSTEM,	/* a system call failed: 500 */
	PB_ECONFIG,	/* invalid configuration */
	PB_E__MAX
};

/* Returns a static, human-readable sentence for err. */
const char *pb_strerror(enum pb_err err);

/* Returns the HTTP status that err maps to (500 for anything internal). */
int pb_err_status(enum pb_err err);

/* Returns the static snake_case code string that err maps to in error bodies. */
const char *pb_err_code(enum pb_err err);

#endif
