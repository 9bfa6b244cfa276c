#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "handlers/dispatch.h"
#include "http/request.h"
#include "http/response.h"
#include "repo/db.h"
#include "server/child.h"
#include "server/park.h"
#include "server/scoreboard.h"
#include "server/seats.h"
#include "server/worker.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

/* Headroom over the body limit for everything else a request allocates. */
#define ARENA_OVERHEAD (4 * 1024 * 1024)
#define ACCEPT_ERRORS_MAX 100
#define DRAIN_MAX (2 * 1024 * 1024)	/* unread body read past before a kept connection is reused */
#define STOP_QUIET_MS 200	/* a draining worker leaves after this long with nothing to do */

static ssize_t
fcgi_read(void *ctx, char *p, size_t n)
{
	FCGX_Request *fr = ctx;
	int got;

	if (n > INT32_MAX)
		n = INT32_MAX;
	got = FCGX_GetStr(p, (int)n, fr->in);
	if (got < 0 || FCGX_GetError(fr->in) != 0)
		return -1;
	return got;
}

/*
 * Reads what is left of the request body. A request answered without reading its body (a
 * 404, a shed POST) leaves stdin records on a kept connection, and libfcgi would read the
 * next request from inside them. Past a bound, the connection is closed instead.
 */
static void
drain_body(FCGX_Request *fr)
{
	char sink[8192];
	size_t left = DRAIN_MAX;
	int got;

	if (fr->in == NULL || !fr->keepConnection)
		return;
	while ((got = FCGX_GetStr(sink, (int)sizeof(sink), fr->in)) > 0) {
		if ((size_t)got >= left) {
			fr->keepConnection = 0;
			return;
		}
		left -= (size_t)got;
	}
}

static void
write_response(FCGX_Request *fr, const struct buf *out)
{
	/* A client gone mid-response shows up here as an error; the worker carries on. */
	if (FCGX_PutStr(out->data, (int)out->len, fr->out) < 0)
		log_debug("client went away before the response was written");
}

/* Answers one request, then counts and logs it. */
static void
serve(struct app *app, FCGX_Request *fr, struct arena *arena)
{
	int64_t start = time_mono_us(), dur;
	struct request req;
	struct response resp;
	struct buf out;
	size_t route;
	enum pb_err err;

	response_init(&resp);
	buf_init(&out, RESPONSE_BODY_MAX + RESPONSE_HEADERS_MAX);
	/* Even when this fails, the request has an id and its strings are set (request.h). */
	err = request_init(&req, arena, fr->envp, fcgi_read, fr);
	log_set_request_id(req.request_id);
	if (err != PB_OK) {
		route = dispatch_route_count();
		(void)response_error(&resp, err, NULL, "the web server sent an incomplete request",
		    NULL);
	} else if (app->conf->queue_timeout_ms > 0 &&
	    req.queued_us > app->conf->queue_timeout_ms * 1000) {
		/* Its client is about to be told to give up: do nothing it could not see. */
		route = dispatch_route_count();
		metrics_add(METRIC_REQUESTS_SHED, 1);
		(void)response_error(&resp, PB_EBUSY, NULL,
		    "the request waited too long for a worker; retry shortly", NULL);
	} else {
		/* One deadline from the web server's arrival time bounds all the request does. */
		int64_t deadline = req.start_us + app->conf->request_timeout * 1000000 -
		    req.queued_us;

		db_set_deadline(app->db, deadline);
		app->deadline_us = deadline - APP_ANSWER_RESERVE_MS * 1000;
		if (app->stripe != NULL)
			stripe_set_deadline(app->stripe, app->deadline_us);
		route = dispatch(app, &req, &resp);
		app->deadline_us = 0;
		db_set_deadline(app->db, 0);
		if (app->stripe != NULL)
			stripe_set_deadline(app->stripe, 0);
	}
	if (response_serialize(&resp, req.request_id, err == PB_OK && req.method == HTTP_HEAD,
	    &out) != PB_OK) {
		/* A failed serialisation leaves out empty; answer 500 instead. */
		response_reset(&resp);
		(void)response_error(&resp, PB_ENOMEM, NULL, NULL, NULL);
		(void)response_serialize(&resp, req.request_id, false, &out);
	}
	write_response(fr, &out);
	dur = time_mono_us() - start;
	metrics_request(route, resp.status, dur);
	log_event(LOGL_INFO, "request", (const struct log_kv[]){
		LOG_STR("method", req.method_name),
		LOG_STR("path", req.path),
		LOG_STR("route", dispatch_route_name(route)),
		LOG_NUM("status", resp.status),
		LOG_NUM("duration_us", dur),
		LOG_NUM("queued_us", req.queued_us),
		LOG_NUM("bytes", out.len),
	}, 7);
	log_set_request_id(NULL);
	buf_free(&out);
	response_free(&resp);
}

enum work {
	WORK_STOP,
	WORK_KEPT,	/* the kept-open connection has a request */
	WORK_HANDOFF,	/* the master has a parked connection with a request */
	WORK_NEW,	/* the listening socket has a connection */
};

/*
 * What a worker waits on, in one epoll set: the listening socket and the hand-off socket,
 * which every worker shares, and the connection it keeps open, if any. A hand-off wakes
 * one idle worker (EPOLLEXCLUSIVE), which therefore always acts on it; a new connection
 * wakes every idle worker and one wins it (docs/ARCHITECTURE.md).
 */
struct waiter {
	int ep;
	int listen_fd;
	int hand;
	int watched;	/* the kept connection registered in ep, or -1 */
	bool tcp;	/* TCP_NODELAY for accepted connections */
	bool turn;	/* when both shared sockets are ready, which goes first */
	bool drain_queue;	/* stopping, accept what the listening socket has queued */
	bool draining;		/* the server stops: serve what arrives, then leave */
};

static enum pb_err
waiter_open(struct waiter *w, int listen_fd, int hand, bool drain_queue)
{
	struct epoll_event l = { .events = EPOLLIN, .data.fd = listen_fd };
	struct epoll_event h = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = hand };
	struct sockaddr_storage sa = { .ss_family = AF_UNSPEC };
	socklen_t salen = sizeof(sa);

	*w = (struct waiter){ .listen_fd = listen_fd, .hand = hand, .watched = -1,
			      .drain_queue = drain_queue };
	w->tcp = getsockname(listen_fd, (struct sockaddr *)&sa, &salen) == 0 &&
	    (sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, listen_fd, &l) != 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, hand, &h) != 0) {
		log_warn("worker: epoll");
		if (w->ep >= 0)
			close(w->ep);
		return PB_ESYSTEM;
	}
	return PB_OK;
}

/*
 * Stops watching the kept connection fd before it is handed away. Closing alone would not
 * do: the descriptor stays registered while the master holds the same open file, and its
 * events would then be reported under a number this worker may reuse.
 */
static void
waiter_forget(struct waiter *w, int fd)
{
	if (fd < 0 || fd != w->watched)
		return;
	(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL);
	w->watched = -1;
}

/*
 * Watches the kept connection from the first wait on it, not from when it is taken: under
 * pressure most connections are served once and parked at the next wait, never watched.
 * Returns false when even the first look found shared work waiting (*n events in ev), so
 * that the connection can go without ever having been registered, or with *n < 0 when it
 * was interrupted (errno EINTR) or the connection cannot be watched (the worker leaves).
 */
static bool
waiter_watch(struct waiter *w, int kept, struct epoll_event *ev, int nev, int *n,
    const sigset_t *open)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = kept };

	if (w->watched != kept)
		w->watched = -1;	/* closed with the connection it was */
	if (kept < 0 || w->watched == kept)
		return true;
	*n = epoll_pwait(w->ep, ev, nev, 0, open);
	if (*n != 0)
		return false;	/* work, or a signal, which the caller must see before waiting */
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, kept, &e) != 0) {
		/* Unwatched, its next request would wait for nobody: leave, parking it. */
		log_warn("worker: epoll_ctl");
		*n = -1;
		errno = EIO;
		return false;
	}
	w->watched = kept;
	return true;
}

/*
 * A stop: a worker retired by a reload leaves at once, its idle connection going on from
 * the lot. When the whole server stops nobody would serve that connection, and the web
 * server may be writing a request into it, or into a connection still queued on the
 * listening socket: a POST lost that way is a 502 it will not retry. So the worker drains:
 * it serves whatever arrives (closing each connection after its answer, which tells the
 * web server not to reuse it) until nothing has come for STOP_QUIET_MS. The master has
 * removed the socket file, so new connections go to the web server's other upstreams; the
 * queue of a socket inherited from systemd is the successor's, and of a TCP one unbounded,
 * so those are not accepted from.
 */
static void
begin_drain(struct waiter *w)
{
	w->draining = true;
	if (!w->drain_queue)
		(void)epoll_ctl(w->ep, EPOLL_CTL_DEL, w->listen_fd, NULL);
}

/* Gives a hand-off this worker may have been woken for back to the master. */
static void
pass_on_handoff(const struct waiter *w)
{
	int fd = park_take(w->hand);

	if (fd >= 0)
		park_give(w->hand, fd);
}

/*
 * Waits until there is work: the kept-open connection has a request (or was closed), the
 * master hands one out, or the listening socket has a connection. When both shared
 * sockets are ready they take turns, so neither queue starves; a hand-off comes before its
 * own connection, which comes before a new one (every idle worker was woken for that).
 * Stop signals are delivered only here (epoll_pwait unblocks them for the wait), never
 * while libfcgi reads or writes, so a stop cannot cut a request short.
 */
static enum work
wait_for_work(struct waiter *w, int kept)
{
	struct epoll_event ev[3];
	sigset_t open;
	bool handoff, fresh, own;
	int n;

	sigemptyset(&open);
	for (;;) {
		if (child_stop && !w->draining) {
			if (!scoreboard_stopping())
				return WORK_STOP;
			begin_drain(w);
		}
		if (waiter_watch(w, kept, ev, 3, &n, &open))
			n = epoll_pwait(w->ep, ev, 3, w->draining ? STOP_QUIET_MS : -1, &open);
		if (n == 0)
			return WORK_STOP;
		if (n < 0) {
			if (errno != EINTR)
				return WORK_STOP;
			continue;
		}
		handoff = fresh = own = false;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == kept) {
				own = true;
			} else if (ev[i].data.fd == w->hand) {
				if ((ev[i].events & (EPOLLERR | EPOLLHUP)) != 0)
					return WORK_STOP;	/* the master is gone */
				handoff = true;
			} else if (ev[i].data.fd == w->listen_fd) {
				fresh = true;
			}
		}
		/*
		 * A hand-off wakes one worker only (EPOLLEXCLUSIVE), which may be this one, so
		 * it is never just left for others: taken, or when the new connection's turn
		 * comes, given back to the master, who hands it out again (waking another).
		 * Its own connection, when ready too, goes to the master with its request and
		 * is handed straight on. The listening socket wakes every idle worker.
		 */
		if (handoff && fresh) {
			w->turn = !w->turn;
			if (w->turn)
				return WORK_HANDOFF;
			pass_on_handoff(w);
			return WORK_NEW;
		}
		if (handoff)
			return WORK_HANDOFF;
		if (own)
			return WORK_KEPT;
		if (fresh)
			return WORK_NEW;
	}
}

/*
 * Takes the connection the work is on, giving up an idle kept-open one to the master
 * (park.h); waiter_watch registers it when the worker first waits on it. Returns the new connection's fd; -1 with errno EAGAIN
 * when another worker was faster (the kept connection then stays), or with another errno
 * when accept failed. The listening socket is non-blocking (listen_open).
 */
static int
take_connection(struct waiter *w, FCGX_Request *fr, enum work what)
{
	int fd;

	if (what == WORK_HANDOFF) {
		fd = park_take(w->hand);
		if (fd < 0 && errno != EPROTO)
			errno = EAGAIN;
	} else {
		fd = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR))
			errno = EAGAIN;
		if (fd >= 0 && w->tcp) {
			int one = 1;

			/* As libfcgi does: replies are written whole, so Nagle only delays. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
	}
	if (fd < 0)
		return -1;
	if (fr->ipcFd >= 0) {
		waiter_forget(w, fr->ipcFd);
		park_give(w->hand, fr->ipcFd);
		fr->ipcFd = -1;
	}
	return fd;
}

int
worker_run(const struct conf *c, int listen_fd, int hand, bool drain_queue, size_t slot,
    int64_t started_us)
{
	struct scoreboard_slot *sb = scoreboard_slot(slot);
	FCGX_Request fr;
	struct arena arena;
	struct app app;
	struct seats seats;
	struct waiters waiters;
	struct waiter wt;
	uint64_t served = 0;
	int errors = 0, status = 0, rc, fd;
	enum work w;

	log_set_role("worker");
	child_set_name("pb-worker");
	child_signals();
	child_hold_stop(true);
	/*
	 * libfcgi gets no listening socket: this loop accepts every connection itself and
	 * watches it, so libfcgi must never accept one behind its back (it would when a
	 * connection it was given turns out closed).
	 */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, -1, 0) != 0) {
		log_warnx("FastCGI initialisation failed");
		return 1;
	}
	if (waiter_open(&wt, listen_fd, hand, drain_queue) != PB_OK)
		return 1;
	if (child_app_init(c, started_us, &app) != PB_OK) {
		close(wt.ep);
		return 1;
	}
	seats_install(&seats, c, slot, app.db);
	waiters_install(&waiters, c, slot, &app);
	arena_init(&arena, (size_t)c->max_body_bytes * 2 + ARENA_OVERHEAD);
	metrics_worker_start(METRICS_ROLE_WORKER);
	atomic_store(&sb->ready_us, time_mono_us());
	while (c->max_requests == 0 || served < (uint64_t)c->max_requests) {
		w = wait_for_work(&wt, fr.ipcFd);
		if (w == WORK_STOP)
			break;
		if (w != WORK_KEPT) {
			fd = take_connection(&wt, &fr, w);
			if (fd < 0 && errno == EAGAIN)
				continue;
			if (fd < 0) {
				if (++errors > ACCEPT_ERRORS_MAX) {
					/* Exit as a crash, so the master backs off first. */
					log_warnx("accept keeps failing (%s); exiting",
					    strerror(errno));
					status = 1;
					break;
				}
				time_sleep_us(10000);
				continue;
			}
			/*
			 * FCGX_Accept_r first finishes the previous request, closing ipcFd
			 * unless keepConnection is set: it must not close this one.
			 */
			fr.ipcFd = fd;
			fr.keepConnection = 1;
		}
		/*
		 * libfcgi reads the request on the connection in hand. When the web server had
		 * closed it (or sent garbage), libfcgi closes it (which also takes it out of the
		 * epoll set) and fails trying to accept on its dummy listening socket.
		 */
		rc = FCGX_Accept_r(&fr);
		if (rc < 0) {
			if (fr.ipcFd >= 0) {
				waiter_forget(&wt, fr.ipcFd);
				FCGX_Free(&fr, 1);
			}
			continue;
		}
		errors = 0;
		atomic_store(&sb->busy_since_us, time_mono_us());
		serve(&app, &fr, &arena);
		drain_body(&fr);
		if (scoreboard_stopping()) {
			/* Closed after its answer: the web server will not send another. */
			waiter_forget(&wt, fr.ipcFd);
			fr.keepConnection = 0;
		}
		FCGX_Finish_r(&fr);
		arena_reset(&arena);
		atomic_store(&sb->busy_since_us, 0);
		atomic_store(&sb->served, ++served);
	}
	/* Leaving, it may have been the one worker woken for a hand-off (a stop signal). */
	pass_on_handoff(&wt);
	/* A recycled or retired worker's idle connection goes on serving from the lot. */
	if (fr.ipcFd >= 0) {
		waiter_forget(&wt, fr.ipcFd);
		park_give(hand, fr.ipcFd);
		fr.ipcFd = -1;
	}
	close(wt.ep);
	FCGX_Free(&fr, 1);
	atomic_store(&sb->exit_cause, child_stop ? METRICS_EXIT_STOPPED : METRICS_EXIT_RECYCLED);
	if (!child_stop && status == 0)
		log_info("recycling after %llu requests", (unsigned long long)served);
	arena_cleanup(&arena);
	child_app_free(&app);
	return status;
}
