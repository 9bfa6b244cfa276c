/*
 * Accounts (DESIGN §5, §6): signup, login with throttling, and access tokens.
 *
 * Signup validates name, email and password, hashes the password with Argon2id, inserts
 * the user and its create_customer job in one transaction (the UNIQUE key on the
 * normalised email decides between concurrent signups), then asks services/customers to
 * create the Stripe customer within the inline budget; that step never fails a signup.
 *
 * Login answers the same PB_EAUTH for an unknown email and for a wrong password, and
 * spends one Argon2id verification either way. Attempts are counted in the login_throttle
 * table (shared by every worker and host) BEFORE the password is checked, under row locks,
 * so a burst of concurrent guesses is counted one by one, in two records:
 *
 * Per (email address, client), the client being its IP address (an IPv6 client's /64, which one
 * subscriber usually holds whole; accounts_client_key):
 *   - attempts 1 to ACCOUNTS_THROTTLE_FREE of a streak pass freely;
 *   - each further one blocks that client for 1 s, doubling per attempt, never more than
 *     ACCOUNTS_THROTTLE_CAP_S: while blocked, its attempts are refused (PB_ERATE) without
 *     being counted or checked, so guessing harder does not lengthen the block;
 *   - a streak ends after ACCOUNTS_THROTTLE_IDLE_S without a counted attempt, and a
 *     successful login from that client ends it at once.
 * A guesser at one client thus gets 13 guesses in its first 4.5 minutes, then one per 5
 * minutes; the most it can count in any hour is about 52 (bursts of 12 or 13, each
 * followed by the 15 idle minutes a new streak needs). The owner, logging in from another
 * IP address, is not slowed down at all.
 *
 * Per email address across all clients, a ceiling for guessing spread over many addresses:
 *   - at most ACCOUNTS_THROTTLE_EMAIL_MAX counted attempts in a window of
 *     ACCOUNTS_THROTTLE_EMAIL_WINDOW_S from its first; the attempt that reaches it blocks
 *     the address for every client until the window ends;
 *   - a successful login takes its own count back (it was counted before the check), so
 *     the owner's own logins never fill the ceiling.
 * 100 an hour is about twice what one client can reach, so one guesser never locks the
 * owner out; several together can, for the rest of that hour, and then all of them share
 * 100 guesses an hour (2,400 a day) however many addresses they use.
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

#include "util/err.h"

struct app;
struct arena;
struct user;	/* repo/users.h */
struct throttle;	/* repo/throttle.h: only the pure throttle steps below read one */

#define ACCOUNTS_NAME_MAX 200		/* characters (code points) */
#define ACCOUNTS_EMAIL_MAX 254		/* bytes */
#define ACCOUNTS_EMAIL_LOCAL_MAX 64	/* bytes before the '@' */
#define ACCOUNTS_PASSWORD_MIN 12	/* characters (code points) */
#define ACCOUNTS_PASSWORD_MAX 128	/* bytes; longer is refused before any hashing */

/* Per (address, client). */
#define ACCOUNTS_THROTTLE_FREE 4	/* attempts of a streak that are never blocked */
#define ACCOUNTS_THROTTLE_CAP_S 300	/* the longest block */
#define ACCOUNTS_THROTTLE_IDLE_S 900	/* a streak ends after this long without attempts */
/* Per address, whatever the client. */
#define ACCOUNTS_THROTTLE_EMAIL_MAX 100	/* counted attempts per window */
#define ACCOUNTS_THROTTLE_EMAIL_WINDOW_S 3600	/* from the window's first attempt */

#define ACCOUNTS_CLIENT_KEY_MAX 45	/* = THROTTLE_CLIENT_MAX */
#define ACCOUNTS_EMAIL_TAG_LEN 16	/* hex digits */

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

/*
 * A user as the layers above services see it: the profile, never the password hash or
 * the token version. Strings live in the arena the call was given.
 */
struct account {
	uint64_t id;
	const char *name;
	const char *email;
	const char *role;		/* "user" or "admin" */
	bool is_email_verified;
	const char *stripe_customer_id;	/* NULL until created */
	int64_t created_at;		/* microseconds since the epoch, UTC */
};

/* A signed-in user: the profile and a fresh access token (both in the call's arena). */
struct accounts_session {
	struct account user;
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

/* What counting one more attempt does to a record. */
struct accounts_throttle_step {
	bool restart;		/* a new streak or window starts with this attempt */
	uint32_t failures;	/* the count, this attempt included */
	int64_t block_us;	/* the block this attempt sets (0: none), from now */
};

/*
 * The policy above as pure functions of a record that is not blocked: a client's streak,
 * and the address's window across clients. No I/O.
 */
void accounts_throttle_client_step(const struct throttle *t, struct accounts_throttle_step *out);
void accounts_throttle_email_step(const struct throttle *t, struct accounts_throttle_step *out);

/*
 * Writes the throttle key of a client address (REMOTE_ADDR) into out (at least
 * ACCOUNTS_CLIENT_KEY_MAX + 1 bytes): an IPv4 address as is, an IPv4-mapped IPv6 one as
 * IPv4, any other IPv6 address as its /64 ("2001:db8:1:2::/64"), and "unknown" for what
 * is none of these (empty, a unix socket), which all such requests then share.
 */
void accounts_client_key(const char *remote_addr, char *out, size_t outlen);

/*
 * Writes the log tag of an email address into out (ACCOUNTS_EMAIL_TAG_LEN + 1 bytes):
 * the first 16 hex digits of HMAC-SHA256 under a key derived from secret (jwt_secret), of
 * the address trimmed and with ASCII letters lower-cased. The same address gives the same
 * tag in every process, so log lines about it can be found together, but nobody without
 * the secret can tell which address it is or test guesses. PB_EINVAL for an address
 * longer than ACCOUNTS_EMAIL_MAX, PB_ENOMEM.
 */
enum pb_err accounts_email_tag(const char *secret, const char *email, size_t len, char *out);

/* The profile of row u as the layers above see it (strings borrowed from u). */
void accounts_from_user(struct account *out, const struct user *u);

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
 * Signs in with email and password[0..password_len), from remote_addr (the client's IP
 * address as the web server gave it; see accounts_client_key). PB_OK with *out filled;
 * PB_EAUTH for any wrong email or password (one Argon2id verification spent either way);
 * PB_ERATE while this client or the whole address is blocked, with *retry_after_s (>= 1)
 * seconds to wait; PB_ECONFIG without jwt_secret; PB_EDB and the like. Rehashes the
 * stored password when the conf's Argon2 parameters changed.
 */
enum pb_err accounts_login(struct app *app, struct arena *a, const char *email,
    const char *password, size_t password_len, const char *remote_addr,
    struct accounts_session *out, int64_t *retry_after_s);

/*
 * Changes user_id's password from current to password (password_len bytes), signed in
 * from remote_addr: the attempt counts in the login throttle as a login would. PB_OK with
 * a fresh token in *out, every other token of the user revoked (token_version bumped);
 * PB_EFIELDS with p->password when the new password breaks the rules; PB_EAUTH when
 * current is wrong; PB_ERATE with *retry_after_s; PB_ECONFLICT when another change won
 * meanwhile; PB_ENOTFOUND, PB_ECONFIG, PB_EDB and the like.
 */
enum pb_err accounts_change_password(struct app *app, struct arena *a, uint64_t user_id,
    const char *current, size_t current_len, const char *password, size_t password_len,
    const char *remote_addr, struct accounts_problems *p, struct accounts_session *out,
    int64_t *retry_after_s);

/*
 * Verifies an access token and loads its user into *out (strings in a). PB_EAUTH when
 * the token is not one we signed, has expired, or names a user that is deleted or whose
 * token_version has moved on; PB_ECONFIG without jwt_secret; PB_EDB and the like.
 */
enum pb_err accounts_authenticate(struct app *app, struct arena *a, const char *token,
    struct account *out);

/*
 * Reads user id for a caller (caller_id with caller_role): PB_EFORBIDDEN unless it is the
 * caller or the caller is an admin; PB_ENOTFOUND when absent or deleted.
 */
enum pb_err accounts_get(struct app *app, struct arena *a, uint64_t caller_id,
    const char *caller_role, uint64_t id, struct account *out);

#endif
