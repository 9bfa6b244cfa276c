/* Percent-encoding and decoding (see pct.h). */
#include "config.h"

#include "util/hex.h"
#include "util/pct.h"

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

enum pb_err
pct_encode(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	enum pb_err err = PB_OK;
	size_t run = 0;

	/* Runs of unreserved bytes go in one append each: values are mostly plain text. */
	for (size_t i = 0; err == PB_OK && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];

		if (unreserved(c))
			continue;
		err = buf_append(b, s + run, i - run);
		run = i + 1;
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 0x0f];
		if (err == PB_OK)
			err = buf_append(b, esc, sizeof(esc));
	}
	if (err == PB_OK)
		err = buf_append(b, s + run, len - run);
	return err;
}

bool
pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (n - i < 3)
				return false;
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	*outlen = o;
	return true;
}
