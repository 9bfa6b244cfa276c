#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/secure.h"

bool
secure_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

bool
secure_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Compare a against itself when lengths differ, so the work stays the same. */
	bool same = secure_equal(a, la == lb ? b : a, la);

	return same && la == lb;
}

void
secure_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void
secure_free_str(char *s)
{
	if (s == NULL)
		return;
	secure_wipe(s, strlen(s));
	free(s);
}
