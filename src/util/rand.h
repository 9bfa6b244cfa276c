/* Randomness from the kernel (getrandom), safe to use after fork. */
#ifndef PB_UTIL_RAND_H
#define PB_UTIL_RAND_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define RAND_UUID_LEN 37	/* 36 characters and the NUL */

/* Fills p with n random bytes. PB_ESYSTEM if the kernel refuses. */
enum pb_err rand_bytes(void *p, size_t n);

/* Writes a random RFC 4122 version 4 UUID, lower case, into out[RAND_UUID_LEN]. */
enum pb_err rand_uuid4(char out[RAND_UUID_LEN]);

/* Writes 2*nbytes lower-case hex digits of randomness and a NUL into out. */
enum pb_err rand_hex(char *out, size_t nbytes);

/* Returns a uniformly random integer in [0, bound); 0 when bound is 0. */
uint64_t rand_below(uint64_t bound);

#endif
