/*
 * libFuzzer target for the configuration parser: conf_parse_text on arbitrary text (the
 * first byte chooses whether secrets are allowed), then conf_validate. Any error must
 * come with a one-line, NUL-terminated message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_message(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen);

	if (n == errlen || n == 0 || memchr(err, '\n', n) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_ERR_MAX];
	struct conf c;
	bool secrets;

	if (size == 0)
		return 0;
	secrets = (data[0] & 1) != 0;
	if (conf_defaults(&c) != PB_OK)
		return 0;
	memset(err, 0, sizeof(err));
	if (conf_parse_text(&c, "fuzz.conf", (const char *)data + 1, size - 1, secrets, err,
	    sizeof(err)) != PB_OK)
		check_message(err, sizeof(err));
	else if (conf_validate(&c, err, sizeof(err)) != PB_OK)
		check_message(err, sizeof(err));
	conf_free(&c);
	return 0;
}
