/*
 * Accounts (DESIGN §5, §6): signup, login with throttling, and access tokens.
 *
 * Signup validates name, email and password, hashes the password with Argon2id, inserts
 * the user and its create_customer job in one transaction (the UNIQUE key on the
 * normalised email decides between concurrent signups), then asks services/customers to
 * create the Stripe customer within the inline budget; that step never fails a signup.
 *
 * Login answers the same PB_EAUTH for an unknown email and for a wrong password, and
 * spends one Argon2id verification either way. Attempts are counted per address in the
 * login_throttle table (shared by every worker and host) BEFORE the password is checked,
 * under a row lock, so a burst of concurrent guesses is counted one by one:
 *   - attempts 1 to ACCOUNTS_THROTTLE_FREE of a streak pass freely;
 *   - each further one blocks the address for 1 s, doubling per attempt, never more than
 *     ACCOUNTS_THROTTLE_CAP_S: while blocked, attempts are refused (PB_ERATE) without
 *     being counted or checked, so guessing harder does not lengthen the block;
 *   - a streak ends after ACCOUNTS_THROTTLE_IDLE_S without a counted attempt, and a
 *     successful login ends it at once.
 * The owner is therefore never refused for longer than the cap at a time, whatever an
 * attacker does, while a guesser who keeps going gets one guess per cap.
 *
 * Tokens are HS256 JWTs (util/jwt.h) carrying sub, iat, exp (conf jwt_ttl), role and the
 * user's token_version; a token is accepted only while that version matches the user's
 * row and the user is not deleted. Without jwt_secret every function here that needs it
 * returns PB_ECONFIG, which the handlers answer with 503.
 */
#ifndef PB_SERVICES_ACCOUNTS_H
#define PB_SERVICES_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/users.h"
#include "util/err.h"

struct app;
struct arena;

#define ACCOUNTS_NAME_MAX 200		/* characters (code points) */
#define ACCOUNTS_EMAIL_MAX 254		/* bytes */
#define ACCOUNTS_EMAIL_LOCAL_MAX 64	/* bytes before the '@' */
#define ACCOUNTS_PASSWORD_MIN 12	/* characters (code points) */
#define ACCOUNTS_PASSWORD_MAX 128	/* bytes; longer is refused before any hashing */

#define ACCOUNTS_THROTTLE_FREE 4	/* attempts of a streak that are never blocked */
#define ACCOUNTS_THROTTLE_CAP_S 300	/* the longest block */
#define ACCOUNTS_THROTTLE_IDLE_S 900	/* a streak ends after this long without attempts */

/* A signup as the client sent it; NULL for a field that is missing. Borrowed. */
struct accounts_signup {
	const char *name;
	const char *email;
	const char *password;
	size_t password_len;
};

/* One message per invalid field, NULL for a valid one (static strings). */
struct accounts_problems {
	const char *name;
	const char *email;
	const char *password;
};

/* A signed-in user: the profile and a fresh access token (both in the call's arena). */
struct accounts_session {
	struct user user;
	const char *token;
	int64_t expires_in;	/* seconds */
};

/*
 * Checks the fields of in that are not NULL (trimming name and email of surrounding
 * white space first, as accounts_register does) and writes a message for each invalid one
 * into *p. Returns true when every field checked is valid. Pure: no I/O.
 */
bool accounts_signup_check(const struct accounts_signup *in, struct accounts_problems *p);

/* The single-field rules behind accounts_signup_check: a message, or NULL when valid. */
const char *accounts_check_name(const char *s, size_t len);
const char *accounts_check_email(const char *s, size_t len);
const char *accounts_check_password(const char *s, size_t len);

/* Advances *s past leading white space and shortens *len past trailing white space. */
void accounts_trim(const char **s, size_t *len);

/*
 * How long an address is blocked after its streak reached `failures` counted attempts:
 * 0 up to ACCOUNTS_THROTTLE_FREE, then 1 s doubling per attempt, at most
 * ACCOUNTS_THROTTLE_CAP_S. In microseconds.
 */
int64_t accounts_throttle_block_us(uint32_t failures);

/* PB_OK when tokens can be issued; PB_ECONFIG (logged once per process) when not. */
enum pb_err accounts_ready(const struct app *app);

/*
 * Registers in and signs the new user in. PB_OK with *out filled; PB_EFIELDS with the
 * messages in *p; PB_ECONFLICT when the email is taken (without regard to case);
 * PB_ECONFIG without jwt_secret; PB_EDB and the like. The Stripe customer is created
 * within conf customer_inline_budget_ms when Stripe answers in time; otherwise
 * out->user.stripe_customer_id is NULL and the jobs worker finishes it later.
 */
enum pb_err accounts_register(struct app *app, struct arena *a,
    const struct accounts_signup *in, struct accounts_problems *p,
    struct accounts_session *out);

/*
 * Signs in with email and password[0..password_len). PB_OK with *out filled; PB_EAUTH for
 * any wrong email or password (one Argon2id verification spent either way); PB_ERATE
 * while the address is blocked, with *retry_after_s (>= 1) seconds to wait; PB_ECONFIG
 * without jwt_secret; PB_EDB and the like. Rehashes the stored password when the conf's
 * Argon2 parameters changed.
 */
enum pb_err accounts_login(struct app *app, struct arena *a, const char *email,
    const char *password, size_t password_len, struct accounts_session *out,
    int64_t *retry_after_s);

/*
 * Verifies an access token and loads its user into *out (strings in a). PB_EAUTH when
 * the token is not one we signed, has expired, or names a user that is deleted or whose
 * token_version has moved on; PB_ECONFIG without jwt_secret; PB_EDB and the like.
 */
enum pb_err accounts_authenticate(struct app *app, struct arena *a, const char *token,
    struct user *out);

/*
 * Reads user id for a caller (caller_id with caller_role): PB_EFORBIDDEN unless it is the
 * caller or the caller is an admin; PB_ENOTFOUND when absent or deleted.
 */
enum pb_err accounts_get(struct app *app, struct arena *a, uint64_t caller_id,
    const char *caller_role, uint64_t id, struct user *out);

#endif
