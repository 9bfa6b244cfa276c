/* SHA-256 of a few pieces of text, in hex: request fingerprints and checksums. */
#ifndef PB_UTIL_DIGEST_H
#define PB_UTIL_DIGEST_H

#include <stddef.h>

#include "util/err.h"

#define DIGEST_HEX_LEN 65	/* 64 hex digits and the NUL */

struct digest_part {
	const void *p;
	size_t len;
};

/* Writes the SHA-256 of parts[0..n), one after the other, as hex into out. */
enum pb_err digest_sha256_hex(const struct digest_part *parts, size_t n,
    char out[DIGEST_HEX_LEN]);

#endif
