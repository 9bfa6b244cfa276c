#include "config.h"

#include <curl/curl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "repo/db.h"
#include "server/child.h"
#include "services/outbox.h"
#include "stripe/client.h"
#include "util/conf.h"
#include "util/log.h"

volatile sig_atomic_t child_stop;

static void
on_stop(int sig)
{
	(void)sig;
	child_stop = 1;
}

void
child_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sa.sa_flags = 0;	/* no SA_RESTART: accept() and read() must return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void
child_set_name(const char *name)
{
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

void
child_hold_stop(bool hold)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* Closes [lo, hi]; falls back to one close() each where close_range is missing. */
static void
close_span(unsigned lo, unsigned hi)
{
	long max;

	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (unsigned fd = lo; fd <= hi && fd < (unsigned)max; fd++)
		(void)close((int)fd);
}

void
child_close_inherited(const int *keep, size_t n)
{
	unsigned lo = 3;

	/* Ascending order without sorting: take the smallest kept fd not yet passed. */
	for (;;) {
		unsigned next = ~0U;

		for (size_t i = 0; i < n; i++) {
			if (keep[i] >= (int)lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		}
		if (next == ~0U)
			break;
		if (next > lo)
			close_span(lo, next - 1);
		lo = next + 1;
	}
	close_span(lo, ~0U);
}

enum pb_err
child_app_init(const struct conf *c, int64_t started_us, struct app *app)
{
	enum pb_err err;

	memset(app, 0, sizeof(*app));
	app->conf = c;
	app->started_us = started_us;
	outbox_set_host(c->host_id);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("libcurl initialisation failed");
		return PB_ESYSTEM;
	}
	/* db_new never fails because the server is down: readyz reports that instead. */
	err = db_new(c, &app->db);
	if (err != PB_OK) {
		log_warnx("database handle: %s", pb_strerror(err));
		goto fail;
	}
	err = stripe_new(c, &app->stripe);
	if (err != PB_OK) {
		log_warnx("Stripe client: %s", pb_strerror(err));
		goto fail;
	}
	return PB_OK;
fail:
	child_app_free(app);
	return err;
}

void
child_app_free(struct app *app)
{
	if (app->stripe != NULL)
		stripe_free(app->stripe);
	if (app->db != NULL)
		db_free(app->db);
	app->stripe = NULL;
	app->db = NULL;
	curl_global_cleanup();
}
