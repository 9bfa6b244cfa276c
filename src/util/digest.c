#include "config.h"

#include <openssl/evp.h>

#include "util/digest.h"
#include "util/hex.h"

enum pb_err
digest_sha256_hex(const struct digest_part *parts, size_t n, char out[DIGEST_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	out[0] = '\0';
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return PB_ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; ok == 1 && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
	if (ok == 1)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (ok != 1 || mdlen != 32)
		return PB_ENOMEM;
	hex_encode(md, mdlen, out);
	return PB_OK;
}
