/*
 * The parking lot for idle FastCGI connections, so that no worker ever sits on an idle
 * kept-open connection while a new one waits (docs/ARCHITECTURE.md, "Kept connections").
 *
 * nginx (fastcgi_keep_conn) and Apache (enablereuse) keep connections open between
 * requests. A pre-forked worker serves one connection at a time, so a worker holding an
 * idle one serves nobody else; closing it is no answer either, because the web server
 * may be writing its next request into it at that moment, and a POST lost that way is a
 * 502 the web server will not retry. So a worker that finds work elsewhere (the listening
 * socket or the lot's hand-off queue) while its own connection is idle hands that
 * connection to the master instead (SCM_RIGHTS over a socketpair). The master watches
 * parked connections with epoll, closes those the web server closed, and passes each one
 * that receives a request back through the same socketpair, where whichever worker is
 * free takes it. A connection is never closed under the web server's feet, and no
 * request waits on a busy worker while another is free.
 *
 * One SOCK_SEQPACKET socketpair carries both directions: workers write parked fds on
 * their end (the master reads them on its end) and read hand-offs from their end (the
 * master writes them on its end). Both ends are non-blocking; every worker shares one
 * open file description of its end, so a hand-off goes to exactly one worker.
 */
#ifndef PB_SERVER_PARK_H
#define PB_SERVER_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct park {
	int lot;		/* the master's end of the socketpair */
	int hand;		/* the workers' end; the master keeps it for new workers */
	int epfd;		/* parked connections, in the master */
	size_t parked;		/* connections held in epfd */
	size_t max;		/* most connections the master holds at once */
	int fd_limit;		/* descriptors below this number: RLIMIT_NOFILE, capped */
	int *queue;		/* readable connections the socketpair had no room for */
	size_t nqueue;
	bool closing;		/* stopping: idle connections are closed, not kept */
};

/* Makes the socketpair and the epoll set, before the workers are forked. */
enum pb_err park_open(struct park *p);

/* The master at exit: closes every parked connection, then the lot. Safe on a zeroed park. */
void park_close(struct park *p);

/*
 * The master, when the lot or epfd is readable (or the lot writable while hand-offs are
 * queued): takes in parked connections (when lot_ready), drops the ones the web server
 * closed and hands out those with a request (when parked_ready), and sends what is queued.
 * Never blocks.
 */
void park_service(struct park *p, bool lot_ready, bool parked_ready);

/*
 * The master on stop: hands out the connections that have a request, queued ones
 * included, and closes the idle ones, and from now on each idle one parked.
 */
void park_drain(struct park *p);

/* True when park_service has hand-offs waiting for room (poll the lot for POLLOUT). */
bool park_backlogged(const struct park *p);

/*
 * A worker: gives its idle connection fd to the master and closes its own copy. When the
 * socketpair has no room (the master is far behind), the connection is just closed, with
 * the small race parking exists to avoid; paybridge_connections_park_dropped_total
 * counts it.
 */
void park_give(int hand, int fd);

/*
 * A worker: takes one connection handed out by the master. Returns the fd, or -1 when
 * another worker took it first (or nothing was there).
 */
int park_take(int hand);

#endif
