/*
 * Password hashing with Argon2id (libargon2), stored as PHC strings:
 *   $argon2id$v=19$m=19456,t=2,p=1$<salt, 16 bytes>$<hash, 32 bytes>
 * (salt and hash in unpadded standard base64, as the PHC format says). Verification runs
 * in constant time inside libargon2. A login for an unknown email should still cost one
 * verification: password_verify_dummy does that against a hash made once per process.
 * Passwords are never copied here, so there is nothing of them to wipe; the caller wipes
 * its own buffers. Not thread-safe (the dummy hash and the counter are per process; the
 * workers are processes).
 */
#ifndef PB_UTIL_PASSWORD_H
#define PB_UTIL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/conf.h"
#include "util/err.h"

#define PASSWORD_MAX_LEN 128	/* longest password accepted, in bytes */
#define PASSWORD_PHC_MAX 256	/* longest PHC string accepted, NUL included (a VARCHAR(255)) */
#define PASSWORD_SALT_LEN 16
#define PASSWORD_HASH_LEN 32

/* The OWASP floor (m=19 MiB, t=2, p=1) is the least we hash with; conf.c enforces the same. */
#define PASSWORD_MIN_MEMORY_KIB 19456
#define PASSWORD_MIN_ITERATIONS 2
#define PASSWORD_MIN_PARALLELISM 1
#define PASSWORD_MAX_MEMORY_KIB (UINT32_C(4) * 1024 * 1024)
#define PASSWORD_MAX_ITERATIONS 100
#define PASSWORD_MAX_PARALLELISM 64

struct password_params {
	uint32_t memory_kib;
	uint32_t iterations;
	uint32_t parallelism;
};

/*
 * Fills *out from the argon2_* keys of c. PB_ECONFIG when a value is outside
 * [PASSWORD_MIN_*, PASSWORD_MAX_*] (out untouched).
 */
enum pb_err password_params_from_conf(const struct conf *c, struct password_params *out);

/*
 * Hashes pw[0..len) with a fresh random salt and writes the PHC string into out.
 * PB_EFIELDS when len > PASSWORD_MAX_LEN (nothing hashed), PB_ECONFIG when params are
 * outside the allowed range, PB_ETOOBIG when out cannot hold the string (PASSWORD_PHC_MAX
 * always can), PB_ESYSTEM when no randomness, PB_ENOMEM when libargon2 cannot allocate.
 * out[0] is NUL on any error.
 */
enum pb_err password_hash(const struct password_params *params, const char *pw, size_t len,
    char *out, size_t outlen);

/*
 * Verifies pw[0..len) against the PHC string phc (as stored). PB_OK on a match, PB_EAUTH
 * on a mismatch, PB_EFIELDS when len > PASSWORD_MAX_LEN (nothing verified), PB_EINVAL when
 * phc is not a well-formed argon2id v=19 PHC string (nothing verified), PB_ENOMEM when
 * libargon2 cannot allocate. Accepted: decimal parameters without leading zeros, m in
 * [8p, PASSWORD_MAX_MEMORY_KIB], t in [1, 100], p in [1, 64] (weaker than we hash with, so
 * that old hashes still verify and get rehashed), canonical unpadded base64 salt of 8..64
 * bytes and hash of 16..64 bytes, shorter than PASSWORD_PHC_MAX.
 */
enum pb_err password_verify(const char *phc, const char *pw, size_t len);

/*
 * Spends one verification, as password_verify would for a real user, against a hash of a
 * random secret made with params the first time (and again whenever params change). Call
 * it when no user matches the email, so that response time does not say whether the email
 * is registered. Returns PB_EAUTH after that verification, or PB_EFIELDS, PB_ECONFIG,
 * PB_ESYSTEM, PB_ENOMEM as password_hash does. password_dummy_prepare makes the hash ahead
 * of time (call it at worker start) so that the first unknown email does not cost a hash
 * as well; it returns what password_hash returns.
 */
enum pb_err password_verify_dummy(const struct password_params *params, const char *pw,
    size_t len);
enum pb_err password_dummy_prepare(const struct password_params *params);

/*
 * Returns true when phc was not made with exactly params, 16 bytes of salt and 32 of hash
 * (the caller then stores a fresh password_hash after a successful verification), and
 * when phc cannot be parsed.
 */
bool password_needs_rehash(const char *phc, const struct password_params *params);

/* Returns how many real Argon2id verifications this process has run (for tests). */
uint64_t password_verifications(void);

#endif
