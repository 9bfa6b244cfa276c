/*
 * base64url without padding (RFC 4648 §5). Decoding refuses everything but the one
 * canonical encoding of a byte string, so a token cannot be varied without changing its
 * bytes (RFC 4648 §3.5: unused trailing bits must be zero).
 */
#include "config.h"

#include <stdint.h>

#include "util/base64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Returns the 6-bit value of c, or -1 when c is not in the alphabet. */
static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t
base64url_encoded_len(size_t n)
{
	static const size_t tail[3] = { 0, 2, 3 };

	return n / 3 * 4 + tail[n % 3];
}

size_t
base64url_decoded_max(size_t n)
{
	return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

enum pb_err
base64url_encode(const void *in, size_t n, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t o = 0, i = 0;

	/* n can only be that large in theory; refuse rather than let the length wrap. */
	if (n > (SIZE_MAX - 4) / 4 * 3 || outlen < base64url_encoded_len(n) + 1) {
		if (outlen > 0)
			out[0] = '\0';
		return PB_ETOOBIG;
	}
	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[p[i] >> 2];
		out[o++] = alphabet[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

		out[o++] = alphabet[v >> 10];
		out[o++] = alphabet[(v >> 4) & 63];
		out[o++] = alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
	return PB_OK;
}

enum pb_err
base64url_decode(const char *in, size_t n, void *out, size_t outlen, size_t *outn)
{
	unsigned char *q = out;
	uint32_t acc = 0;
	size_t o = 0, bits = 0;

	*outn = 0;
	/* One leftover character carries 6 bits, never a whole byte: no encoder makes it. */
	if (n % 4 == 1)
		return PB_EINVAL;
	if (base64url_decoded_max(n) > outlen) {
		/* Report a bad encoding before a short buffer: the input is the caller's fault. */
		for (size_t i = 0; i < n; i++)
			if (value((unsigned char)in[i]) < 0)
				return PB_EINVAL;
		return PB_ETOOBIG;
	}
	for (size_t i = 0; i < n; i++) {
		int v = value((unsigned char)in[i]);

		if (v < 0)
			return PB_EINVAL;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			q[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* 2 or 4 bits are left over after a partial group; they must be zero. */
	if ((acc & ((1u << bits) - 1)) != 0)
		return PB_EINVAL;
	*outn = o;
	return PB_OK;
}
