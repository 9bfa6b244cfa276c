#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "handlers/dispatch.h"
#include "http/request.h"
#include "http/response.h"
#include "server/child.h"
#include "server/scoreboard.h"
#include "server/worker.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/timeutil.h"

/* Headroom over the body limit for everything else a request allocates. */
#define ARENA_OVERHEAD (4 * 1024 * 1024)
#define ACCEPT_ERRORS_MAX 100

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
	} else {
		route = dispatch(app, &req, &resp);
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
		LOG_NUM("bytes", out.len),
	}, 6);
	log_set_request_id(NULL);
	buf_free(&out);
	response_free(&resp);
}

/*
 * Waits until there is work: the kept-open connection has a request, or the listening
 * socket a connection. Stop signals are delivered only here (ppoll unblocks them for the
 * wait), never while libfcgi reads or writes, so a stop cannot cut a request short.
 * Returns false when the worker should stop.
 */
static bool
wait_for_work(const FCGX_Request *fr, int listen_fd)
{
	struct pollfd p = { .fd = fr->ipcFd >= 0 ? fr->ipcFd : listen_fd, .events = POLLIN };
	sigset_t open;

	sigemptyset(&open);
	while (!child_stop) {
		if (ppoll(&p, 1, NULL, &open) > 0)
			return true;
		if (errno != EINTR)
			return false;
	}
	return false;
}

int
worker_run(const struct conf *c, int listen_fd, size_t slot, int64_t started_us)
{
	struct scoreboard_slot *sb = scoreboard_slot(slot);
	FCGX_Request fr;
	struct arena arena;
	struct app app;
	uint64_t served = 0;
	int errors = 0, rc;

	log_set_role("worker");
	child_signals();
	child_hold_stop(true);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		log_warnx("FastCGI initialisation failed");
		return 1;
	}
	if (child_app_init(c, started_us, &app) != PB_OK)
		return 1;
	arena_init(&arena, (size_t)c->max_body_bytes * 2 + ARENA_OVERHEAD);
	metrics_worker_start(METRICS_ROLE_WORKER);
	atomic_store(&sb->ready_us, time_mono_us());
	while (c->max_requests == 0 || served < (uint64_t)c->max_requests) {
		if (!wait_for_work(&fr, listen_fd))
			break;
		/*
		 * The listening socket is non-blocking (listen_open), so when another worker
		 * took the connection first libfcgi returns -EAGAIN instead of blocking.
		 */
		rc = FCGX_Accept_r(&fr);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK)
			continue;
		if (rc < 0) {
			if (++errors > ACCEPT_ERRORS_MAX) {
				/* Exit as a crash, so the master backs off before respawning. */
				log_warnx("accept keeps failing (%s); exiting", strerror(-rc));
				FCGX_Free(&fr, 1);
				arena_cleanup(&arena);
				child_app_free(&app);
				return 1;
			}
			time_sleep_us(10000);
			continue;
		}
		errors = 0;
		atomic_store(&sb->busy_since_us, time_mono_us());
		serve(&app, &fr, &arena);
		FCGX_Finish_r(&fr);
		arena_reset(&arena);
		atomic_store(&sb->busy_since_us, 0);
		atomic_store(&sb->served, ++served);
	}
	FCGX_Free(&fr, 1);
	atomic_store(&sb->exit_cause, child_stop ? METRICS_EXIT_STOPPED : METRICS_EXIT_RECYCLED);
	if (!child_stop)
		log_info("recycling after %llu requests", (unsigned long long)served);
	arena_cleanup(&arena);
	child_app_free(&app);
	return 0;
}
