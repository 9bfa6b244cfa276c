/*
 * paybridge: the FastCGI server. Reads the configuration (failing fast with one line and
 * exit status 78), detaches unless -f, and hands over to the master.
 */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/master.h"
#include "util/conf.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: paybridge [-fnV] [-c file]\n");
}

/* Detaches from the terminal. stderr stays open: it is where the logs go. */
static int
daemonize(bool keep_stdin)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!keep_stdin)
		(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = CONF_DEFAULT_PATH;
	bool foreground = false, check = false, required = false;
	char err[CONF_ERR_MAX];
	enum log_level level;
	struct conf *c;
	int ch;

	while ((ch = getopt(argc, argv, "c:fnV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			required = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'V':
			printf("paybridge %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
			return 64;
		}
	}
	if (optind != argc) {
		usage();
		return 64;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		fprintf(stderr, "paybridge: out of memory\n");
		return 1;
	}
	if (conf_load(c, path, required, err, sizeof(err)) != PB_OK) {
		fprintf(stderr, "paybridge: %s\n", err);
		free(c);
		return CONF_EX_CONFIG;
	}
	if (check) {
		printf("paybridge: configuration OK\n");
		conf_free(c);
		free(c);
		return 0;
	}
	if (log_level_parse(c->log_level, &level) == 0)
		log_set_level(level);
	if (!foreground && daemonize(strcmp(c->listen, "fd:0") == 0) != 0) {
		perror("paybridge: daemonize");
		conf_free(c);
		free(c);
		return 1;
	}
	return master_run(c, path, required);
}
