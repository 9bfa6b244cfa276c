/* paybridge: the FastCGI server. Parses arguments and hands over to the master. */
#include "config.h"

#include <stdio.h>

#include "util/conf.h"

int
main(int argc, char *argv[])
{
	char err[CONF_ERR_MAX];
	struct conf c;

	(void)argc;
	(void)argv;
	if (conf_load(&c, CONF_DEFAULT_PATH, false, err, sizeof(err)) != PB_OK) {
		fprintf(stderr, "paybridge: %s\n", err);
		return CONF_EX_CONFIG;
	}
	conf_free(&c);
	return 0;
}
