/* The listening socket the master opens once and every worker accepts on. */
#ifndef PB_SERVER_LISTEN_H
#define PB_SERVER_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct conf;

struct listener {
	int fd;
	bool owns_path;		/* we created a unix socket file and remove it at exit */
	char path[108];		/* the unix socket path, "" for TCP and inherited sockets */
};

/*
 * Opens what conf->listen names: "unix:/path" (a stale socket file is replaced, one that
 * still answers is refused; mode and group applied), "host:port", or "fd:0" (a listening
 * socket inherited from systemd or spawn-fcgi). On failure writes one line into err.
 */
enum pb_err listen_open(const struct conf *c, struct listener *l, char *err, size_t errlen);

/*
 * Removes the socket file we created, so that new connections are refused (a web server
 * then tries its next upstream server) while those already queued can still be accepted.
 * Returns false when there was no such file (TCP, an inherited socket, already removed).
 * Also done by listen_close; once removed, a successor may bind the path, and it is not
 * removed again.
 */
bool listen_unlink(struct listener *l);

/* Closes the socket and removes a socket file we created. */
void listen_close(struct listener *l);

#endif
