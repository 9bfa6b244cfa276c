/*
 * Accounts: field rules, signup, login with the throttle per (email address, client) and
 * per email address, and tokens (see accounts.h for the policy). Log lines never carry an
 * email address a client typed at login, only its keyed tag (accounts_email_tag). Passwords are only ever borrowed from the caller: hashing
 * and verification read them in place, and nothing here copies one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "repo/db.h"
#include "repo/payments.h"
#include "repo/throttle.h"
#include "repo/users.h"
#include "services/accounts.h"
#include "services/app.h"
#include "services/customers.h"
#include "util/arena.h"
#include "util/conf.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/jwt.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/password.h"
#include "util/rand.h"
#include "util/secure.h"
#include "util/timeutil.h"

#define US_PER_S 1000000LL
/* Finished streaks are purged now and then by failing logins, a batch at a time. */
#define PURGE_IDLE_US (24LL * 3600 * US_PER_S)
#define PURGE_BATCH 1000
#define PURGE_ONE_IN 64

static const char msg_required[] = "is required";
static const char msg_email[] = "must be a valid email address";

/* ---- field rules ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void
accounts_trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

/* Decodes the code point at s[*i] of text already checked with utf8_valid; advances *i. */
static uint32_t
next_cp(const char *text, size_t *i)
{
	const unsigned char *s = (const unsigned char *)text + *i;

	if (s[0] < 0x80) {
		*i += 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		*i += 2;
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	}
	if (s[0] < 0xf0) {
		*i += 3;
		return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	*i += 4;
	return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

/* Unicode's control characters (general category Cc): C0, DEL and C1. */
static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Counts the code points of valid UTF-8; sets *control when one is a control character. */
static size_t
count_cps(const char *s, size_t len, bool *control)
{
	size_t n = 0;

	*control = false;
	for (size_t i = 0; i < len; n++) {
		if (is_control(next_cp(s, &i)))
			*control = true;
	}
	return n;
}

const char *
accounts_check_name(const char *s, size_t len)
{
	bool control;
	size_t n;

	if (!utf8_valid(s, len))
		return "must be valid UTF-8";
	n = count_cps(s, len, &control);
	if (n == 0)
		return "must not be empty";
	if (control)
		return "must not contain control characters";
	if (n > ACCOUNTS_NAME_MAX)
		return "must be at most 200 characters";
	return NULL;
}

/* A dot-separated part of an address: no empty label, so no leading, trailing or double dot. */
static bool
dotted_ok(const char *s, size_t len, bool hyphen_rules)
{
	size_t start = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (i == start)
			return false;
		if (hyphen_rules && (s[start] == '-' || s[i - 1] == '-'))
			return false;
		start = i + 1;
	}
	return true;
}

const char *
accounts_check_email(const char *s, size_t len)
{
	const char *at = NULL;
	size_t local, i = 0;

	if (len == 0)
		return "must not be empty";
	if (len > ACCOUNTS_EMAIL_MAX)
		return "must be at most 254 bytes";
	if (!utf8_valid(s, len))
		return msg_email;
	while (i < len) {
		size_t here = i;
		uint32_t cp = next_cp(s, &i);

		if (cp == ' ' || is_control(cp))
			return "must not contain spaces or control characters";
		/* Specials that only quoted local parts may hold: we take dot-atoms only. */
		if (cp < 0x80 && strchr("\"(),:;<>[\\]", (int)cp) != NULL)
			return msg_email;
		if (cp == '@') {
			if (at != NULL)
				return msg_email;
			at = s + here;
		}
	}
	if (at == NULL)
		return msg_email;
	local = (size_t)(at - s);
	if (local > ACCOUNTS_EMAIL_LOCAL_MAX || !dotted_ok(s, local, false))
		return msg_email;
	/* The domain needs a dot: "user@localhost" is not an address mail reaches. */
	if (memchr(at + 1, '.', len - local - 1) == NULL ||
	    !dotted_ok(at + 1, len - local - 1, true))
		return msg_email;
	return NULL;
}

const char *
accounts_check_password(const char *s, size_t len)
{
	bool control;

	if (len > ACCOUNTS_PASSWORD_MAX)
		return "must be at most 128 bytes";
	if (!utf8_valid(s, len))
		return "must be valid UTF-8";
	if (count_cps(s, len, &control) < ACCOUNTS_PASSWORD_MIN)
		return "must be at least 12 characters";
	return NULL;
}

bool
accounts_signup_check(const struct accounts_signup *in, struct accounts_problems *p)
{
	const char *s;
	size_t len;

	memset(p, 0, sizeof(*p));
	if (in->name != NULL) {
		s = in->name;
		len = strlen(s);
		accounts_trim(&s, &len);
		p->name = accounts_check_name(s, len);
	}
	if (in->email != NULL) {
		s = in->email;
		len = strlen(s);
		accounts_trim(&s, &len);
		p->email = accounts_check_email(s, len);
	}
	if (in->password != NULL)
		p->password = accounts_check_password(in->password, in->password_len);
	return p->name == NULL && p->email == NULL && p->password == NULL;
}

int64_t
accounts_throttle_block_us(uint32_t failures)
{
	const int64_t cap = ACCOUNTS_THROTTLE_CAP_S * US_PER_S;
	uint32_t shift;
	int64_t block;

	if (failures <= ACCOUNTS_THROTTLE_FREE)
		return 0;
	shift = failures - ACCOUNTS_THROTTLE_FREE - 1;
	/* 2^9 s is past the cap already: stop shifting long before it could overflow. */
	if (shift >= 9)
		return cap;
	block = US_PER_S << shift;
	return block < cap ? block : cap;
}

void
accounts_throttle_client_step(const struct throttle *t, struct accounts_throttle_step *out)
{
	out->restart = t->failures == 0 || t->idle_us >= ACCOUNTS_THROTTLE_IDLE_S * US_PER_S;
	out->failures = out->restart ? 1 :
	    (t->failures < UINT32_MAX - 1 ? t->failures + 1 : t->failures);
	out->block_us = accounts_throttle_block_us(out->failures);
}

void
accounts_throttle_email_step(const struct throttle *t, struct accounts_throttle_step *out)
{
	const int64_t window = ACCOUNTS_THROTTLE_EMAIL_WINDOW_S * US_PER_S;

	out->restart = t->failures == 0 || t->age_us >= window;
	out->failures = out->restart ? 1 :
	    (t->failures < UINT32_MAX - 1 ? t->failures + 1 : t->failures);
	out->block_us = 0;
	if (out->failures >= ACCOUNTS_THROTTLE_EMAIL_MAX) {
		/* Until the window ends, and at least a second so that Retry-After is >= 1. */
		out->block_us = out->restart ? window : window - t->age_us;
		if (out->block_us < US_PER_S)
			out->block_us = US_PER_S;
	}
}

void
accounts_client_key(const char *remote_addr, char *out, size_t outlen)
{
	unsigned char a6[16];
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	int n = -1;

	if (inet_pton(AF_INET, remote_addr, &a4) == 1) {
		if (inet_ntop(AF_INET, &a4, text, sizeof(text)) != NULL)
			n = snprintf(out, outlen, "%s", text);
	} else if (inet_pton(AF_INET6, remote_addr, a6) == 1) {
		static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			memcpy(&a4, a6 + 12, 4);
			if (inet_ntop(AF_INET, &a4, text, sizeof(text)) != NULL)
				n = snprintf(out, outlen, "%s", text);
		} else {
			/* One subscriber gets a /64 or more: a key per address would be free. */
			memset(a6 + 8, 0, 8);
			if (inet_ntop(AF_INET6, a6, text, sizeof(text)) != NULL)
				n = snprintf(out, outlen, "%s/64", text);
		}
	}
	if (n < 0 || (size_t)n >= outlen || (size_t)n > ACCOUNTS_CLIENT_KEY_MAX)
		(void)snprintf(out, outlen, "%s", "unknown");
}

/* The tag key's derivation label: a key for this use only, not jwt_secret itself. */
static const char tag_label[] = "paybridge login email log tag v1";

enum pb_err
accounts_email_tag(const char *secret, const char *email, size_t len, char *out)
{
	unsigned char key[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	unsigned int keylen = 0, maclen = 0;
	char norm[ACCOUNTS_EMAIL_MAX];
	enum pb_err err = PB_ENOMEM;

	out[0] = '\0';
	accounts_trim(&email, &len);
	if (len > sizeof(norm))
		return PB_EINVAL;
	for (size_t i = 0; i < len; i++)
		norm[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)tag_label,
	    sizeof(tag_label) - 1, key, &keylen) == NULL ||
	    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)norm, len, mac,
	    &maclen) == NULL || maclen * 2 < ACCOUNTS_EMAIL_TAG_LEN)
		goto fail;
	hex_encode(mac, ACCOUNTS_EMAIL_TAG_LEN / 2, out);
	err = PB_OK;
fail:
	secure_wipe(key, sizeof(key));
	secure_wipe(norm, sizeof(norm));
	return err;
}

/* ---- tokens ---- */

enum pb_err
accounts_ready(const struct app *app)
{
	static bool logged;
	const char *secret = app->conf->jwt_secret;

	if (secret != NULL && strlen(secret) >= JWT_SECRET_MIN)
		return PB_OK;
	if (!logged) {
		log_error("jwt_secret is not set (or shorter than %d bytes): signup, login and "
		    "every authenticated route answer 503 until it is configured", JWT_SECRET_MIN);
		logged = true;
	}
	return PB_ECONFIG;
}

void
accounts_from_user(struct account *out, const struct user *u)
{
	*out = (struct account){
		.id = u->id,
		.name = u->name,
		.email = u->email,
		.role = u->role,
		.is_email_verified = u->is_email_verified,
		.stripe_customer_id = u->stripe_customer_id,
		.created_at = u->created_at,
	};
}

/* Signs a token for user u into the arena and fills s with it and u's profile. */
static enum pb_err
issue(const struct app *app, struct arena *a, const struct user *u,
    struct accounts_session *s)
{
	const char *secret = app->conf->jwt_secret;
	struct jwt_claims c;
	char *token;
	int64_t now = time_real_us() / US_PER_S;
	enum pb_err err;
	int n;

	memset(&c, 0, sizeof(c));
	if (u->id == 0 || u->id > INT64_MAX || u->role == NULL)
		return PB_EINVAL;
	c.sub = (int64_t)u->id;
	c.iat = now;
	c.exp = now + app->conf->jwt_ttl;
	c.token_version = u->token_version;
	n = snprintf(c.role, sizeof(c.role), "%s", u->role);
	if (n < 0 || (size_t)n >= sizeof(c.role))
		return PB_EINVAL;
	token = arena_alloc(a, JWT_TOKEN_MAX + 1);
	if (token == NULL)
		return PB_ENOMEM;
	err = jwt_sign(secret, strlen(secret), &c, token, JWT_TOKEN_MAX + 1);
	if (err != PB_OK)
		return err;
	accounts_from_user(&s->user, u);
	s->token = token;
	s->expires_in = app->conf->jwt_ttl;
	return PB_OK;
}

enum pb_err
accounts_authenticate(struct app *app, struct arena *a, const char *token,
    struct account *out)
{
	const char *secret = app->conf->jwt_secret;
	struct jwt_claims c;
	struct user u;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	err = accounts_ready(app);
	if (err != PB_OK)
		return err;
	err = jwt_verify(secret, strlen(secret), token, time_real_us() / US_PER_S, &c);
	if (err != PB_OK)
		return err;
	err = repo_users_get(app->db, a, (uint64_t)c.sub, &u);
	if (err == PB_ENOTFOUND) {
		log_debug("auth: token for user %" PRId64 ", who is gone", c.sub);
		return PB_EAUTH;
	}
	if (err != PB_OK)
		return err;
	/* A password change or a deletion bumps the version: older tokens are revoked. */
	if ((int64_t)u.token_version != c.token_version) {
		log_debug("auth: token version %" PRId64 " of user %" PRId64 " is revoked",
		    c.token_version, c.sub);
		return PB_EAUTH;
	}
	accounts_from_user(out, &u);
	return PB_OK;
}

enum pb_err
accounts_get(struct app *app, struct arena *a, uint64_t caller_id, const char *caller_role,
    uint64_t id, struct account *out)
{
	struct user u;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	/* Refused before looking: a non-admin learns nothing about which ids exist. */
	if (id != caller_id && (caller_role == NULL || strcmp(caller_role, "admin") != 0))
		return PB_EFORBIDDEN;
	err = repo_users_get(app->db, a, id, &u);
	if (err == PB_OK)
		accounts_from_user(out, &u);
	return err;
}

/* ---- signup ---- */

struct signup_tx {
	struct app *app;
	const char *name, *email, *hash;
	uint64_t id;
	struct customers_claim claim;	/* the create_customer job, handed to the inline run */
};

/*
 * The user and its create_customer job commit together, or neither does; so does the
 * adoption of what the address bought as a guest (guest_payments.h).
 */
static enum pb_err
signup_tx(struct db *db, void *arg)
{
	struct signup_tx *t = arg;
	uint64_t adopted = 0;
	enum pb_err err;

	/* PB_ECONFLICT here is the UNIQUE key on the normalised email: it is taken. */
	err = repo_users_insert(db, t->name, t->email, t->hash, &t->id);
	if (err == PB_OK)
		err = repo_pay_adopt_guest(db, t->id, t->email, &adopted);
	if (err != PB_OK)
		return err;
	return customers_enqueue(t->app, db, t->id, t->name, t->email,
	    CUSTOMER_SOURCE_REGISTRATION, &t->claim);
}

/* Copies s trimmed into the arena. */
static char *
trimmed(struct arena *a, const char *s)
{
	size_t len = strlen(s);

	accounts_trim(&s, &len);
	return arena_strndup(a, s, len);
}

enum pb_err
accounts_register(struct app *app, struct arena *a, const struct accounts_signup *in,
    struct accounts_problems *p, struct accounts_session *out)
{
	struct password_params params;
	struct signup_tx tx;
	struct user u;
	char hash[PASSWORD_PHC_MAX], customer[CUSTOMER_ID_MAX + 1];
	enum pb_err err, cerr;

	memset(p, 0, sizeof(*p));
	memset(out, 0, sizeof(*out));
	err = accounts_ready(app);
	if (err != PB_OK)
		return err;
	if (!accounts_signup_check(in, p) || in->name == NULL || in->email == NULL ||
	    in->password == NULL) {
		p->name = in->name == NULL ? msg_required : p->name;
		p->email = in->email == NULL ? msg_required : p->email;
		p->password = in->password == NULL ? msg_required : p->password;
		return PB_EFIELDS;
	}
	err = password_params_from_conf(app->conf, &params);
	if (err != PB_OK)
		return err;
	memset(&tx, 0, sizeof(tx));
	tx.app = app;
	tx.name = trimmed(a, in->name);
	tx.email = trimmed(a, in->email);
	if (tx.name == NULL || tx.email == NULL)
		return PB_ENOMEM;
	/* The length was checked above: a long password never reaches Argon2. */
	err = password_hash(&params, in->password, in->password_len, hash, sizeof(hash));
	if (err != PB_OK)
		return err;
	tx.hash = hash;
	err = db_tx(app->db, signup_tx, &tx);
	secure_wipe(hash, sizeof(hash));
	if (err != PB_OK)
		return err;
	log_event(LOGL_INFO, "user registered", (const struct log_kv[]){
	    LOG_NUM("user_id", tx.id) }, 1);

	/*
	 * The row, read once: for the answer, and for the inline run, which gets it and the
	 * job just queued rather than reading either back.
	 */
	err = repo_users_get(app->db, a, tx.id, &u);
	if (err == PB_OK) {
		/* Within the budget; a failure leaves the job to the jobs worker. */
		cerr = customers_create_now(app, a, &tx.claim, &u,
		    app->conf->customer_inline_budget_ms, customer, sizeof(customer));
	} else {
		/* The account exists; answer with what we know rather than fail the signup. */
		log_warnx("signup: user %" PRIu64 " committed but not read back (%s)", tx.id,
		    pb_err_code(err));
		memset(&u, 0, sizeof(u));
		u.id = tx.id;
		u.name = tx.name;
		u.email = tx.email;
		u.role = "user";
		u.created_at = time_real_us();
		/* Unread, the row cannot vouch for the run: the jobs worker reads it later. */
		cerr = err;
	}
	if (cerr != PB_OK)
		log_event(LOGL_INFO, "Stripe customer left to the jobs worker",
		    (const struct log_kv[]){ LOG_NUM("user_id", tx.id),
			LOG_STR("reason", pb_err_code(cerr)) }, 2);
	if (u.stripe_customer_id == NULL && cerr == PB_OK)
		u.stripe_customer_id = arena_strdup(a, customer);
	return issue(app, a, &u, out);
}

/* ---- login ---- */

struct admit_tx {
	struct arena *a;
	const char *email;
	const char *client;	/* accounts_client_key of the caller */
	int64_t blocked_us;	/* > 0: refused, for this much longer */
	const char *blocked_by;	/* then "client" or "email": which record refused */
	struct accounts_throttle_step cl;	/* what this attempt did to the client's record */
	struct accounts_throttle_step all;	/* and to the address's, across clients */
};

/*
 * Counts this attempt before the password is checked, under the row locks of both
 * records (the address's first, as throttle.h asks), so that concurrent attempts are
 * counted one by one; a successful login takes it back after.
 */
static enum pb_err
admit_tx(struct db *db, void *arg)
{
	struct admit_tx *x = arg;
	struct throttle all, cl;
	enum pb_err err;

	x->blocked_us = 0;
	x->blocked_by = NULL;
	memset(&x->cl, 0, sizeof(x->cl));
	memset(&x->all, 0, sizeof(x->all));
	err = repo_throttle_lock(db, x->a, x->email, THROTTLE_ALL_CLIENTS, &all);
	if (err == PB_OK)
		err = repo_throttle_lock(db, x->a, x->email, x->client, &cl);
	if (err != PB_OK)
		return err;
	/* Refused attempts are not counted anywhere: guessing harder changes nothing. */
	if (cl.blocked_us > 0 || all.blocked_us > 0) {
		x->blocked_by = cl.blocked_us >= all.blocked_us ? "client" : "email";
		x->blocked_us = cl.blocked_us >= all.blocked_us ? cl.blocked_us : all.blocked_us;
		return PB_OK;
	}
	accounts_throttle_client_step(&cl, &x->cl);
	accounts_throttle_email_step(&all, &x->all);
	err = repo_throttle_record(db, x->email, x->client, x->cl.failures, x->cl.restart,
	    x->cl.block_us);
	if (err == PB_OK)
		err = repo_throttle_record(db, x->email, THROTTLE_ALL_CLIENTS, x->all.failures,
		    x->all.restart, x->all.block_us);
	return err;
}

/* Logs and counts a failed attempt, and now and then purges finished streaks. */
static void
login_failed(struct app *app, const struct admit_tx *x, const char *tag, const char *why)
{
	uint64_t purged = 0;

	if (x->cl.block_us > 0 || x->all.block_us > 0)
		log_event(LOGL_WARN, "repeated failed logins: blocked",
		    (const struct log_kv[]){ LOG_STR("email_tag", tag),
			LOG_STR("client", x->client),
			LOG_STR("scope", x->all.block_us > 0 ? "email" : "client"),
			LOG_NUM("failures", x->cl.failures),
			LOG_NUM("email_failures", x->all.failures),
			LOG_NUM("block_ms", (x->all.block_us > x->cl.block_us ? x->all.block_us :
			    x->cl.block_us) / 1000) }, 6);
	else
		log_event(LOGL_INFO, "login failed", (const struct log_kv[]){
		    LOG_STR("email_tag", tag), LOG_STR("client", x->client),
		    LOG_NUM("failures", x->cl.failures), LOG_NUM("email_failures", x->all.failures),
		    LOG_STR("reason", why) }, 5);
	if (rand_below(PURGE_ONE_IN) == 0 &&
	    repo_throttle_purge(app->db, PURGE_IDLE_US, PURGE_BATCH, &purged) == PB_OK &&
	    purged > 0)
		log_info("login throttle: purged %" PRIu64 " finished records", purged);
}

/*
 * The password was right: this client's streak ends here, and the address's ceiling takes
 * back the attempt it counted, which was no guess.
 */
static void
password_right(struct app *app, const struct admit_tx *x)
{
	enum pb_err err;

	err = repo_throttle_clear(app->db, x->email, x->client);
	if (err == PB_OK)
		err = repo_throttle_forgive(app->db, x->email, THROTTLE_ALL_CLIENTS,
		    ACCOUNTS_THROTTLE_EMAIL_MAX);
	if (err != PB_OK)
		log_warnx("login: could not clear the throttle records (%s)", pb_err_code(err));
}

/* Counts an attempt at x's records; PB_ERATE with *retry_after_s while they block it. */
static enum pb_err
admit(struct app *app, struct admit_tx *x, const char *tag, int64_t *retry_after_s)
{
	enum pb_err err;

	err = db_tx(app->db, admit_tx, x);
	if (err != PB_OK)
		return err;
	if (x->blocked_us == 0)
		return PB_OK;
	*retry_after_s = (x->blocked_us + US_PER_S - 1) / US_PER_S;
	metrics_add(METRIC_LOGIN_THROTTLED, 1);
	log_event(LOGL_WARN, "login throttled", (const struct log_kv[]){
	    LOG_STR("email_tag", tag), LOG_STR("client", x->client),
	    LOG_STR("scope", x->blocked_by), LOG_NUM("retry_after_s", *retry_after_s) }, 4);
	return PB_ERATE;
}

enum pb_err
accounts_login(struct app *app, struct arena *a, const char *email, const char *password,
    size_t password_len, const char *remote_addr, struct accounts_session *out,
    int64_t *retry_after_s)
{
	struct password_params params;
	struct admit_tx x;
	struct user u;
	char client[ACCOUNTS_CLIENT_KEY_MAX + 1], tag[ACCOUNTS_EMAIL_TAG_LEN + 1];
	size_t len;
	enum pb_err err;

	memset(out, 0, sizeof(*out));
	*retry_after_s = 0;
	err = accounts_ready(app);
	if (err != PB_OK)
		return err;
	err = password_params_from_conf(app->conf, &params);
	if (err != PB_OK)
		return err;
	/* The first login of a process pays for the dummy hash whatever the email. */
	err = password_dummy_prepare(&params);
	if (err != PB_OK)
		return err;
	len = strlen(email);
	accounts_trim(&email, &len);
	if (len == 0 || len > ACCOUNTS_EMAIL_MAX || !utf8_valid(email, len)) {
		/* No account has such an address; it costs the same all the same. */
		err = password_verify_dummy(&params, password, password_len);
		return err == PB_EAUTH || err == PB_EFIELDS ? PB_EAUTH : err;
	}
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.email = arena_strndup(a, email, len);
	if (x.email == NULL)
		return PB_ENOMEM;
	accounts_client_key(remote_addr != NULL ? remote_addr : "", client, sizeof(client));
	x.client = client;
	err = accounts_email_tag(app->conf->jwt_secret, x.email, len, tag);
	if (err != PB_OK)
		return err;
	err = admit(app, &x, tag, retry_after_s);
	if (err != PB_OK)
		return err;

	err = repo_users_get_by_email(app->db, a, x.email, &u);
	if (err == PB_ENOTFOUND) {
		err = password_verify_dummy(&params, password, password_len);
		if (err != PB_EAUTH && err != PB_EFIELDS)
			return err;
		login_failed(app, &x, tag, "unknown email");
		memset(out, 0, sizeof(*out));
		return PB_EAUTH;
	}
	if (err != PB_OK)
		return err;
	err = password_verify(u.password_hash, password, password_len);
	if (err == PB_EINVAL)
		log_error("user %" PRIu64 " has a stored password hash we cannot read",
		    u.id);
	if (err == PB_EAUTH || err == PB_EFIELDS || err == PB_EINVAL) {
		login_failed(app, &x, tag, "wrong password");
		memset(out, 0, sizeof(*out));
		return PB_EAUTH;
	}
	if (err != PB_OK)
		return err;

	password_right(app, &x);
	if (password_needs_rehash(u.password_hash, &params)) {
		char hash[PASSWORD_PHC_MAX];

		err = password_hash(&params, password, password_len, hash, sizeof(hash));
		if (err == PB_OK)
			err = repo_users_set_password_hash(app->db, u.id, hash);
		if (err == PB_OK)
			log_info("user %" PRIu64 ": password rehashed with the current parameters",
			    u.id);
		else
			log_warnx("user %" PRIu64 ": password rehash failed (%s)", u.id,
			    pb_err_code(err));
		secure_wipe(hash, sizeof(hash));
	}
	return issue(app, a, &u, out);
}

/* ---- password change ---- */

enum pb_err
accounts_change_password(struct app *app, struct arena *a, uint64_t user_id,
    const char *current, size_t current_len, const char *password, size_t password_len,
    const char *remote_addr, struct accounts_problems *p, struct accounts_session *out,
    int64_t *retry_after_s)
{
	struct password_params params;
	struct admit_tx x;
	struct user u;
	char client[ACCOUNTS_CLIENT_KEY_MAX + 1], tag[ACCOUNTS_EMAIL_TAG_LEN + 1];
	char hash[PASSWORD_PHC_MAX];
	enum pb_err err;

	memset(p, 0, sizeof(*p));
	memset(out, 0, sizeof(*out));
	*retry_after_s = 0;
	err = accounts_ready(app);
	if (err != PB_OK)
		return err;
	/* Refused before any guess is spent: the new password must be one we accept. */
	p->password = accounts_check_password(password, password_len);
	if (p->password != NULL)
		return PB_EFIELDS;
	err = password_params_from_conf(app->conf, &params);
	if (err != PB_OK)
		return err;
	err = repo_users_get(app->db, a, user_id, &u);
	if (err != PB_OK)
		return err;
	/* A stolen token must not make the current password cheaper to guess than a login. */
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.email = u.email;
	accounts_client_key(remote_addr != NULL ? remote_addr : "", client, sizeof(client));
	x.client = client;
	err = accounts_email_tag(app->conf->jwt_secret, u.email, strlen(u.email), tag);
	if (err == PB_OK)
		err = admit(app, &x, tag, retry_after_s);
	if (err != PB_OK)
		return err;
	err = password_verify(u.password_hash, current, current_len);
	if (err == PB_EAUTH || err == PB_EFIELDS || err == PB_EINVAL) {
		login_failed(app, &x, tag, "wrong current password");
		return PB_EAUTH;
	}
	if (err != PB_OK)
		return err;
	password_right(app, &x);
	err = password_hash(&params, password, password_len, hash, sizeof(hash));
	/* Only from the version just read: of two concurrent changes, one wins. */
	if (err == PB_OK)
		err = repo_users_set_password(app->db, u.id, hash, u.token_version);
	secure_wipe(hash, sizeof(hash));
	if (err != PB_OK)
		return err;
	log_event(LOGL_INFO, "password changed; other tokens revoked", (const struct log_kv[]){
	    LOG_NUM("user_id", u.id) }, 1);
	u.token_version++;
	return issue(app, a, &u, out);
}
