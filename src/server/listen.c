#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/listen.h"
#include "util/conf.h"

static enum pb_err
open_unix(const struct conf *c, struct listener *l, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	struct group *gr;
	int fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >= (int)sizeof(sun.sun_path)) {
		(void)snprintf(err, errlen, "listen: socket path longer than %zu bytes",
		    sizeof(sun.sun_path) - 1);
		return PB_ECONFIG;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			(void)snprintf(err, errlen, "listen: %s exists and is not a socket", path);
			return PB_ECONFIG;
		}
		/* A socket file left by a crash is replaced; one with a live server is not. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			(void)snprintf(err, errlen, "listen: %s is in use by another server", path);
			return PB_ECONFIG;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) != 0) {
			(void)snprintf(err, errlen, "listen: cannot remove stale %s: %s", path,
			    strerror(errno));
			return PB_ESYSTEM;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail_errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		goto fail_errno;
	l->owns_path = true;
	(void)snprintf(l->path, sizeof(l->path), "%s", path);
	if (chmod(path, (mode_t)c->listen_mode) != 0)
		goto fail_errno;
	if (c->listen_group[0] != '\0') {
		gr = getgrnam(c->listen_group);
		if (gr == NULL) {
			(void)snprintf(err, errlen, "listen_group: no group named %s",
			    c->listen_group);
			close(fd);
			listen_close(l);
			return PB_ECONFIG;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
			goto fail_errno;
	}
	if (listen(fd, (int)c->listen_backlog) != 0)
		goto fail_errno;
	l->fd = fd;
	return PB_OK;
fail_errno:
	(void)snprintf(err, errlen, "listen: %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	l->fd = -1;
	listen_close(l);
	return PB_ESYSTEM;
}

static enum pb_err
open_tcp(const struct conf *c, struct listener *l, const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hlen = (size_t)(colon - spec);
	int fd = -1, one = 1, rc;

	if (hlen >= sizeof(host)) {
		(void)snprintf(err, errlen, "listen: host name too long");
		return PB_ECONFIG;
	}
	/* "[::1]:9000" names an IPv6 address in brackets. */
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']')
		(void)snprintf(host, sizeof(host), "%.*s", (int)(hlen - 2), spec + 1);
	else
		(void)snprintf(host, sizeof(host), "%.*s", (int)hlen, spec);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		(void)snprintf(err, errlen, "listen: %s: %s", spec, gai_strerror(rc));
		return PB_ECONFIG;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, (int)c->listen_backlog) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		(void)snprintf(err, errlen, "listen: %s: %s", spec, strerror(errno));
		return PB_ESYSTEM;
	}
	l->fd = fd;
	return PB_OK;
}

static enum pb_err
open_inherited(struct listener *l, char *err, size_t errlen)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
		(void)snprintf(err, errlen, "listen: fd:0 is not a listening socket");
		return PB_ECONFIG;
	}
	l->fd = 0;
	return PB_OK;
}

enum pb_err
listen_open(const struct conf *c, struct listener *l, char *err, size_t errlen)
{
	enum pb_err rc;
	int flags;

	l->fd = -1;
	l->owns_path = false;
	l->path[0] = '\0';
	if (strncmp(c->listen, "unix:", 5) == 0)
		rc = open_unix(c, l, c->listen + 5, err, errlen);
	else if (strcmp(c->listen, "fd:0") == 0)
		rc = open_inherited(l, err, errlen);
	else
		rc = open_tcp(c, l, c->listen, err, errlen);
	if (rc != PB_OK)
		return rc;
	/*
	 * Every worker polls this socket and then accepts; the losers of that race must get
	 * EAGAIN rather than block in accept(), where a stop signal could not reach them
	 * without also being able to interrupt a request.
	 */
	flags = fcntl(l->fd, F_GETFL);
	if (flags < 0 || fcntl(l->fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		(void)snprintf(err, errlen, "listen: O_NONBLOCK: %s", strerror(errno));
		listen_close(l);
		return PB_ESYSTEM;
	}
	return PB_OK;
}

bool
listen_unlink(struct listener *l)
{
	if (!l->owns_path)
		return false;
	(void)unlink(l->path);
	l->owns_path = false;
	return true;
}

void
listen_close(struct listener *l)
{
	if (l->fd > 0)
		close(l->fd);
	l->fd = -1;
	(void)listen_unlink(l);
}
