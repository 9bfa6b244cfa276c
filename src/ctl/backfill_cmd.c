/*
 * paybridgectl backfill-customers: gives every live user without a Stripe customer one,
 * through the same create_customer job as a signup (metadata source "backfill"), so the
 * customer made here is the very one a signup retry, a payment path or the jobs worker
 * would have made: never a second one.
 *
 *   backfill-customers [--rate N[/s]] [--limit N] [--dry-run] [--budget-ms N]
 *
 * It keeps no state: it walks the users still without a customer in id order, so a run
 * that was interrupted, limited or that failed for some users resumes by running it
 * again. Stripe calls are spaced evenly at --rate per second on the monotonic clock
 * (users found to have a customer meanwhile cost neither a call nor a wait). SIGINT or
 * SIGTERM stops it after the current user; a second one kills it at once. It gives up
 * after FAILURES_IN_A_ROW consecutive failures: Stripe or the database is down, and
 * waiting out every remaining user's budget would help nobody.
 *
 * Progress goes to stderr (a bar on a terminal, a line every PLAIN_EVERY users or
 * PLAIN_SECONDS otherwise), the summary to stdout. Exit 0 when every user it took up has
 * a customer, 1 when any failed, it was interrupted or it gave up.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "repo/users.h"
#include "services/app.h"
#include "services/customers.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pace.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define DEFAULT_RATE 10
#define MAX_RATE 1000
#define PAGE 200			/* user ids read per query */
#define ARENA_MAX (256 * 1024)
#define FAILURES_IN_A_ROW 20
#define PLAIN_EVERY 100			/* users between two plain progress lines */
#define PLAIN_SECONDS 5
#define BAR_REDRAW_US 100000LL
#define BAR_WIDTH 30
#define SHOWN_MAX 120			/* bytes of a name or message shown on one line */

/* Set by the first SIGINT or SIGTERM; SA_RESETHAND lets a second one kill the process. */
static volatile sig_atomic_t interrupted;

struct run {
	struct ctl *ctl;
	struct app app;
	struct arena a;			/* one user's row; reset per user */
	bool dry_run;
	bool tty;			/* stderr is a terminal: draw a bar */
	bool bar_shown;			/* the bar is on the current line of stderr */
	long long rate;			/* Stripe calls a second */
	int64_t budget_ms;
	uint64_t limit;			/* 0: none */
	uint64_t total;			/* users expected, for the percentage and ETA */

	uint64_t seen, created, had, failed, gone, would;
	unsigned streak;		/* failures in a row */
	enum { GO_ON, STOP_SIGNAL, STOP_FAILURES } stop;	/* why the walk ended early */
	struct pace pace;		/* of the Stripe calls */
	int64_t started_us;		/* monotonic */
	int64_t drawn_us;		/* last bar or progress line */
	uint64_t drawn_seen;
};

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
catch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART needed: the wait below loops, libcurl and MariaDB retry EINTR. */
	sa.sa_flags = SA_RESETHAND;
	(void)sigaction(SIGINT, &sa, old_int);
	(void)sigaction(SIGTERM, &sa, old_term);
}

static void
format_duration(char *out, size_t outlen, int64_t s)
{
	if (s >= 3600)
		(void)snprintf(out, outlen, "%" PRId64 ":%02" PRId64 ":%02" PRId64, s / 3600,
		    s / 60 % 60, s % 60);
	else
		(void)snprintf(out, outlen, "%" PRId64 ":%02" PRId64, s / 60, s % 60);
}

/* Users per second so far, and the seconds left at that pace (-1: not known yet). */
static void
pace(const struct run *r, int64_t now, double *rate, int64_t *eta)
{
	double elapsed = (double)(now - r->started_us) / 1e6;

	*rate = elapsed > 0 ? (double)r->seen / elapsed : 0;
	*eta = -1;
	if (r->seen >= r->total)
		*eta = 0;
	else if (*rate > 0)
		*eta = (int64_t)((double)(r->total - r->seen) / *rate + 0.5);
}

static void
clear_bar(struct run *r)
{
	if (r->bar_shown) {
		fputs("\r\033[K", stderr);
		r->bar_shown = false;
	}
}

/* The terminal's bar: written in one piece so nothing else lands in its middle. */
static void
draw_bar(struct run *r, int64_t now)
{
	char line[256], eta_s[32];
	size_t filled = 0;
	double rate;
	int64_t eta;
	int pct = 100, len;

	pace(r, now, &rate, &eta);
	if (r->total > 0) {
		uint64_t done = r->seen < r->total ? r->seen : r->total;

		pct = (int)(done * 100 / r->total);
		filled = (size_t)(done * BAR_WIDTH / r->total);
	}
	if (eta < 0)
		(void)snprintf(eta_s, sizeof(eta_s), "--:--");
	else
		format_duration(eta_s, sizeof(eta_s), eta);
	len = snprintf(line, sizeof(line), "\r\033[K[%.*s%.*s] %" PRIu64 "/%" PRIu64
	    " %3d%% %6.1f/s ETA %s", (int)filled, "==============================",
	    (int)(BAR_WIDTH - filled), "                              ", r->seen, r->total,
	    pct, rate, eta_s);
	if (len > 0 && (size_t)len < sizeof(line) && r->failed > 0)
		(void)snprintf(line + len, sizeof(line) - (size_t)len, " failed %" PRIu64,
		    r->failed);
	fputs(line, stderr);
	fflush(stderr);
	r->bar_shown = true;
	r->drawn_us = now;
}

static void
plain_progress(struct run *r, int64_t now)
{
	char eta_s[32];
	double rate;
	int64_t eta;

	pace(r, now, &rate, &eta);
	if (eta < 0)
		(void)snprintf(eta_s, sizeof(eta_s), "unknown");
	else
		format_duration(eta_s, sizeof(eta_s), eta);
	fprintf(stderr, "backfill-customers: %" PRIu64 "/%" PRIu64 " users: %" PRIu64
	    " created, %" PRIu64 " already had one, %" PRIu64 " failed; %.1f/s, ETA %s\n",
	    r->seen, r->total, r->created, r->had, r->failed, rate, eta_s);
	r->drawn_us = now;
	r->drawn_seen = r->seen;
}

static void
progress(struct run *r, bool force)
{
	int64_t now = time_mono_us();

	if (r->dry_run)
		return;
	if (r->tty) {
		if (force || now - r->drawn_us >= BAR_REDRAW_US || !r->bar_shown)
			draw_bar(r, now);
	} else if (force ? r->seen != r->drawn_seen :
	    r->seen - r->drawn_seen >= PLAIN_EVERY ||
	    now - r->drawn_us >= PLAIN_SECONDS * 1000000LL) {
		plain_progress(r, now);
	}
}

/* Says on stderr why one user failed, with what Stripe answered when it was Stripe. */
static void
report_failure(struct run *r, uint64_t user_id, enum pb_err err)
{
	struct buf b;
	enum pb_err berr;

	clear_bar(r);
	buf_init(&b, 1024);
	berr = buf_appendf(&b, "user %" PRIu64 ": %s", user_id, pb_strerror(err));
	if (berr == PB_OK)
		berr = ctl_append_stripe_answer(&b, r->app.stripe, err, SHOWN_MAX);
	if (berr == PB_OK)
		ctl_errx(r->ctl, "%s", buf_cstr(&b));
	else
		ctl_errx(r->ctl, "user %" PRIu64 ": %s", user_id, pb_strerror(err));
	buf_free(&b);
}

static void
list_dry(const struct user *u)
{
	struct buf b;
	enum pb_err err;

	buf_init(&b, 1024);
	err = buf_appendf(&b, "would create a customer for user %" PRIu64 " <", u->id);
	if (err == PB_OK)
		err = ctl_append_shown(&b, u->email, SHOWN_MAX);
	if (err == PB_OK)
		err = buf_appends(&b, "> ");
	if (err == PB_OK)
		err = ctl_append_shown(&b, u->name, SHOWN_MAX);
	if (err == PB_OK)
		printf("%s\n", buf_cstr(&b));
	else
		printf("would create a customer for user %" PRIu64 "\n", u->id);
	buf_free(&b);
}

/* One user: a customer now, or counted as already having one, gone or failed. */
static void
one_user(struct run *r, uint64_t user_id)
{
	char customer[CUSTOMER_ID_MAX + 1];
	struct user u;
	enum pb_err err;

	arena_reset(&r->a);
	/* Read again: a signup retry or the jobs worker may have made it since the page. */
	err = repo_users_get(r->app.db, &r->a, user_id, &u);
	if (err == PB_ENOTFOUND) {
		r->gone++;
		return;
	}
	if (err == PB_OK && u.stripe_customer_id != NULL) {
		r->seen++;
		r->had++;
		r->streak = 0;
		return;
	}
	if (err == PB_OK && r->dry_run) {
		r->seen++;
		r->would++;
		list_dry(&u);
		return;
	}
	if (err == PB_OK) {
		if (!pace_wait(&r->pace, &interrupted))
			return;
		clear_bar(r);	/* whatever the call logs starts on a line of its own */
		err = customers_get_or_create(&r->app, user_id, CUSTOMER_SOURCE_BACKFILL,
		    r->budget_ms, customer, sizeof(customer));
	}
	r->seen++;
	if (err == PB_OK) {
		r->created++;
		r->streak = 0;
	} else {
		r->failed++;
		r->streak++;
		report_failure(r, user_id, err);
	}
}

/* Walks the users without a customer; PB_OK unless listing them failed. */
static enum pb_err
walk(struct run *r)
{
	struct arena page;
	uint64_t *ids, after = 0;
	size_t n;
	enum pb_err err;

	arena_init(&page, ARENA_MAX);
	for (;;) {
		arena_reset(&page);
		err = repo_users_without_customer(r->app.db, &page, after, PAGE, &ids, &n);
		if (err != PB_OK) {
			clear_bar(r);
			ctl_errx(r->ctl, "cannot list users without a customer: %s",
			    pb_strerror(err));
			break;
		}
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			if (r->limit > 0 && r->seen >= r->limit)
				goto out;
			after = ids[i];
			one_user(r, ids[i]);
			progress(r, false);
			if (interrupted)
				r->stop = STOP_SIGNAL;
			else if (r->streak >= FAILURES_IN_A_ROW)
				r->stop = STOP_FAILURES;
			if (r->stop != GO_ON)
				goto out;
		}
	}
out:
	arena_cleanup(&page);
	return err;
}

static void
summary(struct run *r, enum pb_err walked)
{
	double elapsed = (double)(time_mono_us() - r->started_us) / 1e6;

	/* The last state of the bar stays on screen above the summary. */
	if (r->tty && !r->dry_run) {
		draw_bar(r, time_mono_us());
		fputc('\n', stderr);
		r->bar_shown = false;
	} else {
		progress(r, true);
	}
	if (r->dry_run) {
		printf("dry run: %" PRIu64 " user(s) would get a customer, %" PRIu64
		    " already had one; nothing was sent to Stripe\n", r->would, r->had);
	} else {
		printf("created %" PRIu64 ", already had one %" PRIu64 ", failed %" PRIu64,
		    r->created, r->had, r->failed);
		if (r->gone > 0)
			printf(", deleted meanwhile %" PRIu64, r->gone);
		printf(", elapsed %.1f s\n", elapsed);
	}
	fflush(stdout);
	if (r->stop == STOP_SIGNAL)
		ctl_errx(r->ctl, "interrupted: run it again to resume");
	else if (r->stop == STOP_FAILURES)
		ctl_errx(r->ctl, "stopped after %d failures in a row: is Stripe reachable? "
		    "Run it again to resume", FAILURES_IN_A_ROW);
	else if (r->failed > 0 && walked == PB_OK)
		ctl_errx(r->ctl, "%" PRIu64 " user(s) still have no customer: their jobs retry "
		    "on their own, or run it again", r->failed);
}

static int
parse_count(const struct ctl *ctl, const char *what, const char *s, long long min,
    long long max, long long *out)
{
	if (strnum_parse(s, 10, min, max, out) != PB_OK) {
		ctl_errx(ctl, "%s must be a number from %lld to %lld: '%s'", what, min, max, s);
		return -1;
	}
	return 0;
}

/* "N" or "N/s". */
static int
parse_rate(const struct ctl *ctl, const char *s, long long *out)
{
	if (pace_parse_rate(s, MAX_RATE, out) != PB_OK) {
		ctl_errx(ctl, "--rate must be N or N/s with N from 1 to %d: '%s'", MAX_RATE, s);
		return -1;
	}
	return 0;
}

static int
parse_args(struct run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "budget-ms", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	long long rate = DEFAULT_RATE, v;
	int ch;

	r->budget_ms = r->ctl->conf.customer_inline_budget_ms > 0 ?
	    r->ctl->conf.customer_inline_budget_ms : 2000;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (parse_rate(r->ctl, optarg, &rate) != 0)
				return -1;
			break;
		case 'l':
			if (parse_count(r->ctl, "--limit", optarg, 1, LLONG_MAX, &v) != 0)
				return -1;
			r->limit = (uint64_t)v;
			break;
		case 'n':
			r->dry_run = true;
			break;
		case 'b':
			if (parse_count(r->ctl, "--budget-ms", optarg, 100, 300000, &v) != 0)
				return -1;
			r->budget_ms = v;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	r->rate = rate;
	return 0;
}

int
ctl_backfill_customers(struct ctl *ctl, int argc, char **argv)
{
	struct sigaction old_int, old_term;
	struct run r = { .ctl = ctl };
	enum log_level level;
	enum pb_err err;
	int status = CTL_EX_FAIL;

	if (parse_args(&r, argc, argv) != 0)
		return ctl_usage(ctl);
	if (ctl_db(ctl, &r.app.db) != PB_OK)
		return CTL_EX_FAIL;
	r.app.conf = &ctl->conf;
	r.app.started_us = time_real_us();
	if (!r.dry_run && ctl_stripe(ctl, &r.app) != 0)
		return CTL_EX_FAIL;
	err = repo_users_count_without_customer(r.app.db, &r.total);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot count users without a customer: %s", pb_strerror(err));
		stripe_free(r.app.stripe);
		return CTL_EX_FAIL;
	}
	if (r.limit > 0 && r.total > r.limit)
		r.total = r.limit;
	r.tty = isatty(STDERR_FILENO) == 1;
	/* A line per Stripe request would scroll the bar away; warnings still show. */
	if (r.tty && !r.dry_run && log_level_parse(ctl->conf.log_level, &level) == 0 &&
	    level == LOGL_INFO)
		log_set_level(LOGL_WARN);
	arena_init(&r.a, ARENA_MAX);
	interrupted = 0;
	catch_signals(&old_int, &old_term);
	pace_init(&r.pace, r.rate);
	r.started_us = r.drawn_us = time_mono_us();
	if (!r.dry_run && !r.tty)
		fprintf(stderr, "backfill-customers: %" PRIu64 " user(s) without a customer, "
		    "at most %lld/s\n", r.total, r.rate);
	err = walk(&r);
	summary(&r, err);
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGTERM, &old_term, NULL);
	if (err == PB_OK && r.failed == 0 && r.stop == GO_ON)
		status = CTL_EX_OK;
	arena_cleanup(&r.a);
	stripe_free(r.app.stripe);
	return status;
}
