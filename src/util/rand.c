#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "util/hex.h"
#include "util/rand.h"

enum pb_err
rand_bytes(void *p, size_t n)
{
	unsigned char *out = p;
	ssize_t got;

	while (n > 0) {
		got = getrandom(out, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return PB_ESYSTEM;
		}
		out += got;
		n -= (size_t)got;
	}
	return PB_OK;
}

enum pb_err
rand_uuid4(char out[RAND_UUID_LEN])
{
	unsigned char b[16];
	char h[33];
	enum pb_err err = rand_bytes(b, sizeof(b));

	if (err != PB_OK)
		return err;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	hex_encode(b, sizeof(b), h);
	(void)snprintf(out, RAND_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
	return PB_OK;
}

enum pb_err
rand_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	enum pb_err err;
	size_t n;

	while (nbytes > 0) {
		n = nbytes < sizeof(b) ? nbytes : sizeof(b);
		err = rand_bytes(b, n);
		if (err != PB_OK)
			return err;
		hex_encode(b, n, out);
		out += 2 * n;
		nbytes -= n;
	}
	*out = '\0';
	return PB_OK;
}

uint64_t
rand_below(uint64_t bound)
{
	uint64_t x, limit;

	if (bound == 0)
		return 0;
	/* Reject the top sliver so every result is equally likely. */
	limit = UINT64_MAX - UINT64_MAX % bound;
	do {
		if (rand_bytes(&x, sizeof(x)) != PB_OK)
			return 0;
	} while (x >= limit);
	return x % bound;
}
