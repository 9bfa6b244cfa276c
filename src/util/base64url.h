/*
 * base64url (RFC 4648 §5): the URL- and filename-safe alphabet, as JWTs use it.
 * Output never carries '=' padding. Decoding is strict so that every byte string has
 * exactly one accepted encoding: padding, characters outside the alphabet (white space
 * included), a length of 1 mod 4, and non-zero unused trailing bits are all refused.
 */
#ifndef PB_UTIL_BASE64URL_H
#define PB_UTIL_BASE64URL_H

#include <stddef.h>

#include "util/err.h"

/* Returns the number of characters (without the NUL) that n bytes encode to. */
size_t base64url_encoded_len(size_t n);

/* Returns an upper bound of the bytes that n characters decode to. */
size_t base64url_decoded_max(size_t n);

/*
 * Encodes in[0..n) into out as a NUL-terminated string. PB_ETOOBIG (out untouched beyond
 * outlen, and out[0] set to NUL when outlen > 0) when outlen < base64url_encoded_len(n) + 1.
 */
enum pb_err base64url_encode(const void *in, size_t n, char *out, size_t outlen);

/*
 * Decodes in[0..n) into out[0..outlen) and stores the number of bytes in *outn.
 * PB_EINVAL when in is not canonical unpadded base64url (see above); PB_ETOOBIG when the
 * decoded bytes do not fit in outlen. On error *outn is 0 and out's content is
 * unspecified (the caller wipes it if it held secrets).
 */
enum pb_err base64url_decode(const char *in, size_t n, void *out, size_t outlen, size_t *outn);

#endif
