/*
 * Percent-encoding (RFC 3986 §2.1), the one copy: forms and query strings decode with it
 * (src/http), and Stripe parameters and URL path segments encode with it (src/stripe).
 */
#ifndef PB_UTIL_PCT_H
#define PB_UTIL_PCT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Appends s[0..len) to b with every byte but ALPHA DIGIT - . _ ~ written as %XX (upper
 * case hex; a space is %20, never '+'), so the result is safe as a form key or value and
 * as a URL path segment. PB_OK, or buf_append's error (PB_ETOOBIG past b's maximum,
 * PB_ENOMEM), after which b is freed as buf_append leaves it.
 */
enum pb_err pct_encode(struct buf *b, const char *s, size_t len);

/*
 * Decodes s[0..n) into out (room for n bytes at least; the result is never longer) and
 * stores its length in *outlen. With plus_space, '+' becomes ' ' (forms and queries; not
 * paths). Returns false on an invalid or truncated %XX escape, in which case out holds
 * nothing useful. The result may contain NUL bytes; out is not NUL-terminated.
 */
bool pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t *outlen);

#endif
