/*
 * Argon2id password hashes in PHC strings. libargon2 does the hashing, the encoding and
 * the constant-time comparison; this file chooses the parameters, parses stored strings
 * strictly before handing them over (so a malformed row is told apart from a wrong
 * password, and a corrupt row cannot ask for gigabytes), and keeps the per-process dummy
 * hash that makes unknown emails cost the same as known ones.
 */
#include "config.h"

#include <string.h>

#include <argon2.h>

#include "util/log.h"
#include "util/password.h"
#include "util/rand.h"
#include "util/secure.h"

#define PHC_PREFIX "$argon2id$v=19$"
/* Bounds on what a stored string may hold; what we make (16 and 32) sits inside them. */
#define SALT_MIN 8
#define SALT_MAX 64
#define HASH_MIN 16
#define HASH_MAX 64

struct phc {
	uint32_t m, t, p;
	size_t saltlen, hashlen;	/* decoded bytes */
};

static uint64_t verifications;

static struct {
	bool ready;
	struct password_params params;
	char phc[PASSWORD_PHC_MAX];
} dummy;

static bool
params_valid(const struct password_params *p)
{
	return p->memory_kib >= PASSWORD_MIN_MEMORY_KIB &&
	    p->memory_kib <= PASSWORD_MAX_MEMORY_KIB &&
	    p->iterations >= PASSWORD_MIN_ITERATIONS && p->iterations <= PASSWORD_MAX_ITERATIONS &&
	    p->parallelism >= PASSWORD_MIN_PARALLELISM &&
	    p->parallelism <= PASSWORD_MAX_PARALLELISM;
}

enum pb_err
password_params_from_conf(const struct conf *c, struct password_params *out)
{
	struct password_params p;

	if (c->argon2_memory_kib < PASSWORD_MIN_MEMORY_KIB ||
	    c->argon2_memory_kib > PASSWORD_MAX_MEMORY_KIB ||
	    c->argon2_iterations < PASSWORD_MIN_ITERATIONS ||
	    c->argon2_iterations > PASSWORD_MAX_ITERATIONS ||
	    c->argon2_parallelism < PASSWORD_MIN_PARALLELISM ||
	    c->argon2_parallelism > PASSWORD_MAX_PARALLELISM)
		return PB_ECONFIG;
	p.memory_kib = (uint32_t)c->argon2_memory_kib;
	p.iterations = (uint32_t)c->argon2_iterations;
	p.parallelism = (uint32_t)c->argon2_parallelism;
	*out = p;
	return PB_OK;
}

/*
 * Parses "<key>=<decimal>" at *s, where the number has no sign and no leading zero and
 * lies in [min, max]; advances *s past it.
 */
static bool
parse_num(const char **s, char key, uint32_t min, uint32_t max, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	size_t n = 0;

	if (p[0] != key || p[1] != '=')
		return false;
	p += 2;
	if (p[0] == '0')
		return false;
	while (p[n] >= '0' && p[n] <= '9') {
		v = v * 10 + (uint64_t)(p[n] - '0');
		if (++n > 10)
			return false;
	}
	if (n == 0 || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	*s = p + n;
	return true;
}

static int
b64value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Checks that s[0..n) is canonical unpadded standard base64 (PHC's encoding) and returns
 * the number of bytes it decodes to, or 0 when it is not.
 */
static size_t
b64_decoded_len(const char *s, size_t n)
{
	int last = 0;

	if (n == 0 || n % 4 == 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		last = b64value((unsigned char)s[i]);
		if (last < 0)
			return 0;
	}
	/* The bits past the last whole byte must be zero. */
	if ((n % 4 == 2 && (last & 15) != 0) || (n % 4 == 3 && (last & 3) != 0))
		return 0;
	return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

/* Parses a whole argon2id v=19 PHC string with parameters libargon2 and we accept. */
static bool
phc_parse(const char *s, struct phc *out)
{
	const char *salt, *hash;
	size_t len = strnlen(s, PASSWORD_PHC_MAX);

	if (len >= PASSWORD_PHC_MAX || strncmp(s, PHC_PREFIX, strlen(PHC_PREFIX)) != 0)
		return false;
	s += strlen(PHC_PREFIX);
	/* libargon2 needs m >= 8 * p; t of 1 is weak but verifiable, and then rehashed. */
	if (!parse_num(&s, 'm', 8, PASSWORD_MAX_MEMORY_KIB, &out->m) || *s++ != ',' ||
	    !parse_num(&s, 't', 1, PASSWORD_MAX_ITERATIONS, &out->t) || *s++ != ',' ||
	    !parse_num(&s, 'p', 1, PASSWORD_MAX_PARALLELISM, &out->p) || *s++ != '$' ||
	    out->m < 8 * out->p)
		return false;
	salt = s;
	hash = strchr(salt, '$');
	if (hash == NULL)
		return false;
	hash++;
	out->saltlen = b64_decoded_len(salt, (size_t)(hash - 1 - salt));
	out->hashlen = b64_decoded_len(hash, strlen(hash));
	return out->saltlen >= SALT_MIN && out->saltlen <= SALT_MAX &&
	    out->hashlen >= HASH_MIN && out->hashlen <= HASH_MAX;
}

static enum pb_err
argon2_err(int rc, const char *what)
{
	switch (rc) {
	case ARGON2_OK:
		return PB_OK;
	case ARGON2_VERIFY_MISMATCH:
		return PB_EAUTH;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return PB_ENOMEM;
	case ARGON2_DECODING_FAIL:
	case ARGON2_DECODING_LENGTH_FAIL:
		return PB_EINVAL;
	default:
		log_error("argon2 %s: %s", what, argon2_error_message(rc));
		return PB_ESYSTEM;
	}
}

enum pb_err
password_hash(const struct password_params *params, const char *pw, size_t len, char *out,
    size_t outlen)
{
	unsigned char salt[PASSWORD_SALT_LEN];
	enum pb_err err;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (len > PASSWORD_MAX_LEN)
		return PB_EFIELDS;
	if (!params_valid(params))
		return PB_ECONFIG;
	if (outlen < argon2_encodedlen(params->iterations, params->memory_kib,
	    params->parallelism, PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id))
		return PB_ETOOBIG;
	err = rand_bytes(salt, sizeof(salt));
	if (err != PB_OK)
		return err;
	rc = argon2id_hash_encoded(params->iterations, params->memory_kib, params->parallelism,
	    pw, len, salt, sizeof(salt), PASSWORD_HASH_LEN, out, outlen);
	err = argon2_err(rc, "hash");
	if (err != PB_OK)
		out[0] = '\0';
	return err;
}

/* The one place that runs libargon2's verification, so that the counter is exact. */
static enum pb_err
verify(const char *phc, const char *pw, size_t len)
{
	verifications++;
	return argon2_err(argon2id_verify(phc, pw, len), "verify");
}

enum pb_err
password_verify(const char *phc, const char *pw, size_t len)
{
	struct phc parsed;

	if (len > PASSWORD_MAX_LEN)
		return PB_EFIELDS;
	if (phc == NULL || !phc_parse(phc, &parsed)) {
		log_debug("password: stored hash is not an argon2id PHC string we accept");
		return PB_EINVAL;
	}
	return verify(phc, pw, len);
}

enum pb_err
password_dummy_prepare(const struct password_params *params)
{
	unsigned char secret[32];
	enum pb_err err;

	if (dummy.ready && memcmp(&dummy.params, params, sizeof(*params)) == 0)
		return PB_OK;
	dummy.ready = false;
	/* A random password nobody knows, so no input can ever match the dummy hash. */
	err = rand_bytes(secret, sizeof(secret));
	if (err == PB_OK)
		err = password_hash(params, (const char *)secret, sizeof(secret), dummy.phc,
		    sizeof(dummy.phc));
	secure_wipe(secret, sizeof(secret));
	if (err != PB_OK)
		return err;
	dummy.params = *params;
	dummy.ready = true;
	return PB_OK;
}

enum pb_err
password_verify_dummy(const struct password_params *params, const char *pw, size_t len)
{
	enum pb_err err;

	if (len > PASSWORD_MAX_LEN)
		return PB_EFIELDS;
	err = password_dummy_prepare(params);
	if (err != PB_OK)
		return err;
	err = verify(dummy.phc, pw, len);
	return err == PB_OK || err == PB_EAUTH ? PB_EAUTH : err;
}

bool
password_needs_rehash(const char *phc, const struct password_params *params)
{
	struct phc parsed;

	if (phc == NULL || !phc_parse(phc, &parsed))
		return true;
	return parsed.m != params->memory_kib || parsed.t != params->iterations ||
	    parsed.p != params->parallelism || parsed.saltlen != PASSWORD_SALT_LEN ||
	    parsed.hashlen != PASSWORD_HASH_LEN;
}

uint64_t
password_verifications(void)
{
	return verifications;
}
