/*
 * Internals shared by the files of src/http: percent-decoding, used by forms (where '+'
 * is a space) and by the router (where it is not). Not part of any public contract.
 */
#ifndef PB_HTTP_PRIVATE_H
#define PB_HTTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes s[0..n) into out (room for n bytes at least; the result is never longer) and
 * stores its length in *outlen. With plus_space, '+' becomes ' '. Returns false on an
 * invalid or truncated %XX escape, in which case out holds nothing useful.
 */
bool http_pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t *outlen);

#endif
