/*
 * bare_responder: the smallest honest libfcgi responder, the anchor paybridge's framework
 * cost is measured against (bench/run, docs/BENCHMARKS.md).
 *
 *   bare_responder SOCKET [WORKERS]
 *   bare_responder --body          print the body it answers (bench/run gives nginx's
 *                                  `return 200` anchor the same bytes) and exit
 *
 * It listens on the unix socket SOCKET (mode 0666, backlog 128, as paybridge's default
 * listen_backlog), forks WORKERS processes (default 8, paybridge's default `workers`)
 * that each run an FCGX_Accept_r loop on it, and answers every request with a fixed JSON
 * body of the size of paybridge's GET /v1/healthz. It does what paybridge's worker must
 * do at the least (accept, let libfcgi read the parameters, write one response, finish)
 * and nothing else: no routing, no arena, no JSON building, no logging, no metrics.
 * SIGTERM or SIGINT to the parent stops the workers and removes the socket; if a worker
 * dies, the rest are stopped too (a benchmark must not run on a shrunken pool unnoticed).
 */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS_DEFAULT 8
#define WORKERS_MAX 1024
#define LISTEN_BACKLOG 128

/*
 * Status, Content-Type and Content-Length like paybridge's answer: without a length nginx
 * would chunk the reply to the client, which is a different (slower) path. The body has
 * the shape and size of paybridge's healthz envelope.
 */
#define BODY "{\"success\":true,\"timestamp\":\"2025-01-01T00:00:00.000000Z\",\"data\":" \
	"{\"status\":\"ok\",\"version\":\"0.1.0\",\"uptime_s\":0,\"pid\":12345}}"
static const char response[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: %zu\r\n"
	"\r\n";

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
open_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		fprintf(stderr, "bare_responder: socket path too long: %s\n", path);
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "bare_responder: unlink %s: %s\n", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* 0666: nginx's workers may run as another user (www-data when started as root). */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0666) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "bare_responder: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One worker's life: returns the process exit status. */
static int
serve(int fd, const char *out, int outlen)
{
	FCGX_Request req;

	if (FCGX_InitRequest(&req, fd, 0) != 0) {
		fprintf(stderr, "bare_responder: FCGX_InitRequest failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		/* A client gone mid-response is its own problem, as in paybridge. */
		(void)FCGX_PutStr(out, outlen, req.out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	return 0;
}

static void
stop_all(const pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			(void)kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
}

int
main(int argc, char **argv)
{
	static pid_t pids[WORKERS_MAX];
	static char out[512];
	struct sigaction sa;
	long workers = WORKERS_DEFAULT, i;
	char *end;
	int fd, outlen, status, rc = 0;
	pid_t pid;

	if (argc == 2 && strcmp(argv[1], "--body") == 0)
		return fputs(BODY, stdout) == EOF || fflush(stdout) != 0;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bare_responder SOCKET [WORKERS] | --body\n");
		return 64;
	}
	if (argc == 3) {
		errno = 0;
		workers = strtol(argv[2], &end, 10);
		if (errno != 0 || end == argv[2] || *end != '\0' || workers < 1 ||
		    workers > WORKERS_MAX) {
			fprintf(stderr, "bare_responder: WORKERS must be 1..%d\n", WORKERS_MAX);
			return 64;
		}
	}
	outlen = snprintf(out, sizeof(out), response, sizeof(BODY) - 1);
	if (outlen < 0 || (size_t)outlen + sizeof(BODY) > sizeof(out))
		return 1;
	memcpy(out + outlen, BODY, sizeof(BODY) - 1);
	outlen += (int)sizeof(BODY) - 1;

	/* SIGPIPE ignored as in paybridge: nginx dropping a connection costs one write. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "bare_responder: FCGX_Init failed\n");
		return 1;
	}
	fd = open_socket(argv[1]);
	if (fd < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: wait() below must return when a stop signal arrives. */
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
		perror("bare_responder: sigaction");
		rc = 1;
		goto out;
	}
	for (i = 0; i < workers; i++) {
		pid = fork();
		if (pid < 0) {
			perror("bare_responder: fork");
			rc = 1;
			goto out;
		}
		if (pid == 0) {
			/* Workers die on the parent's SIGTERM, mid-request or not. */
			(void)signal(SIGTERM, SIG_DFL);
			(void)signal(SIGINT, SIG_DFL);
			_exit(serve(fd, out, outlen));
		}
		pids[i] = pid;
	}
	while (!stopping) {
		pid = wait(&status);
		if (pid > 0) {
			fprintf(stderr, "bare_responder: worker %ld exited (status %d); stopping\n",
			    (long)pid, status);
			for (i = 0; i < workers; i++)
				if (pids[i] == pid)
					pids[i] = 0;
			rc = 1;
			break;
		}
		if (errno != EINTR)
			break;
	}
out:
	stop_all(pids, workers);
	close(fd);
	(void)unlink(argv[1]);
	return rc;
}
