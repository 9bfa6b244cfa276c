/*
 * paybridgectl events: nothing missed (DESIGN §5). Deliveries Stripe gave up on are found
 * in /v1/events and run through the webhook path (services/events_sync.h).
 *
 *   events sync [--since TIME] [--rate N[/s]]
 *                       every event after the saved cursor (or since TIME: ISO 8601 or
 *                       a Unix time) not recorded yet is applied, oldest first; the
 *                       cursor moves past what applied and stops before a failure
 *   events replay ID    retrieves one event and applies it (a duplicate changes nothing)
 *   events list [--failed] [--limit N]
 *                       newest first: id, type, created, source, status, attempts, the
 *                       last error; a table on a terminal, tab-separated otherwise
 *
 * The sync takes the lease the jobs workers take (one sync at a time on every host), so
 * it says who has it and exits 1 when another sync runs. Stripe list calls are paced at
 * --rate a second (util/pace.h, as the backfill's). SIGINT or SIGTERM stops it between
 * events with the cursor saved. Progress goes to stderr on a terminal, the summary to
 * stdout. Exit 0 done, 1 any failure (an event, Stripe, the database, the lease), 64 usage.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "repo/events.h"
#include "services/app.h"
#include "services/events_sync.h"
#include "services/outbox.h"
#include "services/webhooks.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pace.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define DEFAULT_RATE 5			/* list calls a second, each up to 100 events */
#define MAX_RATE 100
#define LIST_DEFAULT 50
#define LIST_MAX 10000
#define ARENA_ROW 4096			/* arena bytes allowed per listed event */
#define ERROR_SHOWN 60			/* bytes of last_error in the table */
#define SHOWN_MAX 255			/* bytes of an id or type shown */
#define BAR_REDRAW_US 100000LL

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

/* "2026-11-23T10:00:01Z", or "-" for 0. */
static void
format_unix(int64_t s, char out[TIME_ISO8601_LEN])
{
	if (s <= 0) {
		(void)snprintf(out, TIME_ISO8601_LEN, "-");
		return;
	}
	time_iso8601(s * 1000000, out, TIME_ISO8601_LEN);
	if (strlen(out) > 19) {
		out[19] = 'Z';
		out[20] = '\0';
	}
}

/* What Stripe said, when the error was Stripe's. */
static void
stripe_said(struct ctl *ctl, struct app *app, const char *what, enum pb_err err)
{
	const struct stripe_error *e = stripe_last_error(app->stripe);
	struct buf b;

	buf_init(&b, 2048);
	if ((err == PB_ESTRIPE || err == PB_ETIMEOUT || err == PB_ENOTFOUND) && e != NULL &&
	    e->err != PB_OK && e->message[0] != '\0' &&
	    buf_appendf(&b, "%s: %s (Stripe: ", what, pb_strerror(err)) == PB_OK &&
	    ctl_append_shown(&b, e->message, 200) == PB_OK && buf_appendc(&b, ')') == PB_OK)
		ctl_errx(ctl, "%s", buf_cstr(&b));
	else
		ctl_errx(ctl, "%s: %s", what, pb_strerror(err));
	buf_free(&b);
}

struct sync_view {
	bool tty;
	bool shown;
	int64_t drawn_us;
};

static void
draw(const struct events_sync_stats *st, struct sync_view *v, bool force)
{
	int64_t now = time_mono_us();

	if (!v->tty || (!force && v->shown && now - v->drawn_us < BAR_REDRAW_US))
		return;
	/* One write per redraw, so nothing lands in the middle of the line. */
	fprintf(stderr, "\r\033[Kevents sync: %" PRIu64 " page(s), fetched %" PRIu64
	    ", applied %" PRIu64 ", duplicate %" PRIu64 ", failed %" PRIu64, st->pages,
	    st->fetched, st->applied, st->duplicate, st->failed);
	fflush(stderr);
	v->shown = true;
	v->drawn_us = now;
}

static void
on_progress(void *arg, const struct events_sync_stats *st)
{
	draw(st, arg, false);
}

static int
sync_cmd(struct ctl *ctl, struct app *app, bool has_since, int64_t since, long long rate)
{
	char owner[160], until[TIME_ISO8601_LEN];
	struct sigaction sa, old_int, old_term;
	struct sync_view view = { .tty = isatty(STDERR_FILENO) == 1 };
	struct events_sync_opts o = { .has_since = has_since, .since = since, .rate = rate,
	    .stop = &interrupted, .progress = on_progress, .progress_arg = &view };
	struct events_sync_stats st;
	enum log_level level;
	enum pb_err err;
	int64_t t0 = time_mono_us();

	(void)snprintf(owner, sizeof(owner), "paybridgectl@%s", outbox_owner());
	o.owner = owner;
	/* A line per event would scroll the progress line away; warnings still show. */
	if (view.tty && log_level_parse(ctl->conf.log_level, &level) == 0 && level == LOGL_INFO)
		log_set_level(LOGL_WARN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;	/* a second one kills it at once */
	interrupted = 0;
	(void)sigaction(SIGINT, &sa, &old_int);
	(void)sigaction(SIGTERM, &sa, &old_term);
	err = events_sync_run(app, &o, &st);
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGTERM, &old_term, NULL);
	if (view.shown) {
		draw(&st, &view, true);
		fputc('\n', stderr);
	}
	if (err == PB_EBUSY && st.pages == 0) {
		format_unix(st.holder_until, until);
		ctl_errx(ctl, "another sync is running (%s holds the lease until %s): try again "
		    "later", st.holder[0] != '\0' ? st.holder : "?", until);
		return CTL_EX_FAIL;
	}
	printf("fetched %" PRIu64 ", applied %" PRIu64 ", duplicate %" PRIu64 ", failed %"
	    PRIu64 ", elapsed %.1f s\n", st.fetched, st.applied, st.duplicate, st.failed,
	    (double)(time_mono_us() - t0) / 1e6);
	if (st.cursor[0] != '\0')
		printf("cursor %s\n", st.cursor);
	fflush(stdout);
	if (st.failed > 0)
		ctl_errx(ctl, "event %s failed: %s; the sync stopped before it, run it again to "
		    "retry from there", st.failed_id, st.failed_error != NULL ?
		    st.failed_error : "?");
	if (err == PB_EBUSY)
		ctl_errx(ctl, "the lease was lost to %s: stopped", st.holder);
	else if (err == PB_ECONFIG)
		ctl_errx(ctl, "no Stripe client");
	else if (err != PB_OK)
		stripe_said(ctl, app, "the sync stopped", err);
	else if (st.stopped)
		ctl_errx(ctl, "interrupted: run it again to resume from the cursor");
	return err == PB_OK && st.failed == 0 && !st.stopped ? CTL_EX_OK : CTL_EX_FAIL;
}

static int
replay_cmd(struct ctl *ctl, struct app *app, const char *id)
{
	struct webhook_result res;
	struct arena a;
	enum pb_err err;
	int rc = CTL_EX_FAIL;

	arena_init(&a, 8 * 1024 * 1024);
	err = events_replay(app, &a, id, &res);
	if (err == PB_ENOTFOUND) {
		stripe_said(ctl, app, "Stripe has no such event", err);
	} else if (err == PB_EINVAL) {
		ctl_errx(ctl, "event refused: %s (%s)", res.message != NULL ? res.message : "?",
		    res.code != NULL ? res.code : "?");
	} else if (err != PB_OK) {
		stripe_said(ctl, app, "cannot replay the event", err);
	} else if (res.outcome == METRICS_EVO_DUPLICATE) {
		printf("event %s was applied before: nothing changed (duplicate)\n", id);
		rc = CTL_EX_OK;
	} else if (res.outcome == METRICS_EVO_APPLIED) {
		printf("event %s applied (source replay)\n", id);
		rc = CTL_EX_OK;
	} else if (res.outcome == METRICS_EVO_IGNORED) {
		printf("event %s recorded (source replay): nothing to change\n", id);
		rc = CTL_EX_OK;
	} else {
		ctl_errx(ctl, "event %s failed: its effects were rolled back and the failure "
		    "recorded (events list --failed)", id);
	}
	arena_cleanup(&a);
	return rc;
}

/* One column of a row: padded in a table, then a tab or a space between columns. */
static enum pb_err
cell(struct buf *b, bool tty, const char *s, size_t max, int width, bool last)
{
	size_t before = b->len;
	enum pb_err err = ctl_append_shown(b, s != NULL && s[0] != '\0' ? s : "-", max);

	while (err == PB_OK && tty && !last && b->len - before < (size_t)width)
		err = buf_appendc(b, ' ');
	if (err == PB_OK && !last)
		err = buf_appendc(b, tty ? ' ' : '\t');
	return err;
}

static int
list_cmd(struct ctl *ctl, struct db *db, bool failed_only, size_t max)
{
	static const int w[] = { 30, 34, 20, 7, 8, 8 };
	char created[TIME_ISO8601_LEN], attempts[16];
	struct event_summary *v;
	struct arena a;
	struct buf line;
	bool tty = isatty(STDOUT_FILENO) == 1;
	size_t n;
	enum pb_err err;
	int rc = CTL_EX_OK;

	arena_init(&a, (max + 1) * ARENA_ROW + 64 * 1024);
	err = repo_events_list(db, &a, failed_only, max, &v, &n);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot list events: %s", pb_strerror(err));
		arena_cleanup(&a);
		return CTL_EX_FAIL;
	}
	if (tty)
		printf("%-*s %-*s %-*s %-*s %-*s %-*s %s\n", w[0], "ID", w[1], "TYPE", w[2],
		    "CREATED", w[3], "SOURCE", w[4], "STATUS", w[5], "ATTEMPTS", "LAST_ERROR");
	buf_init(&line, 2048);
	for (size_t i = 0; i < n && rc == CTL_EX_OK; i++) {
		const struct event_summary *e = &v[i];

		format_unix(e->created, created);
		(void)snprintf(attempts, sizeof(attempts), "%" PRIu32, e->attempts);
		buf_reset(&line);
		err = cell(&line, tty, e->id, SHOWN_MAX, w[0], false);
		if (err == PB_OK)
			err = cell(&line, tty, e->type, SHOWN_MAX, w[1], false);
		if (err == PB_OK)
			err = cell(&line, tty, created, SHOWN_MAX, w[2], false);
		if (err == PB_OK)
			err = cell(&line, tty, e->source, SHOWN_MAX, w[3], false);
		if (err == PB_OK)
			err = cell(&line, tty, e->applied ? "applied" : "failed", SHOWN_MAX, w[4],
			    false);
		if (err == PB_OK)
			err = cell(&line, tty, attempts, SHOWN_MAX, w[5], false);
		if (err == PB_OK)
			err = cell(&line, tty, e->last_error, tty ? ERROR_SHOWN : 500, 0, true);
		if (err != PB_OK) {
			ctl_errx(ctl, "cannot format an event: %s", pb_strerror(err));
			rc = CTL_EX_FAIL;
			break;
		}
		printf("%s\n", buf_cstr(&line));
	}
	buf_free(&line);
	if (rc == CTL_EX_OK && n == max)
		fprintf(stderr, "(the newest %zu shown; --limit shows more)\n", n);
	arena_cleanup(&a);
	return rc;
}

struct args {
	const char *sub;
	bool has_since;
	int64_t since;
	long long rate;
	bool failed;
	size_t max;
	const char *id;
};

/* The subcommand's options; -1 on a usage error (said when it helps). */
static int
parse_args(struct ctl *ctl, int argc, char **argv, struct args *g)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "failed", no_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	bool is_sync = strcmp(g->sub, "sync") == 0, is_list = strcmp(g->sub, "list") == 0;
	long long v;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if ((ch == 's' || ch == 'r') && !is_sync)
			return -1;
		if ((ch == 'f' || ch == 'l') && !is_list)
			return -1;
		switch (ch) {
		case 's':
			if (time_parse(optarg, &g->since) != PB_OK) {
				ctl_errx(ctl, "--since must be ISO 8601 (2026-01-31T12:00:00Z) or a "
				    "Unix time: '%s'", optarg);
				return -1;
			}
			g->has_since = true;
			break;
		case 'r':
			if (pace_parse_rate(optarg, MAX_RATE, &g->rate) != PB_OK) {
				ctl_errx(ctl, "--rate must be N or N/s with N from 1 to %d: '%s'",
				    MAX_RATE, optarg);
				return -1;
			}
			break;
		case 'f':
			g->failed = true;
			break;
		case 'l':
			if (strnum_parse(optarg, 10, 1, LIST_MAX, &v) != PB_OK) {
				ctl_errx(ctl, "--limit must be a number from 1 to %d: '%s'", LIST_MAX,
				    optarg);
				return -1;
			}
			g->max = (size_t)v;
			break;
		default:
			return -1;
		}
	}
	if (strcmp(g->sub, "replay") == 0) {
		if (optind + 1 != argc || argv[optind][0] == '\0' ||
		    strlen(argv[optind]) > EVENTS_SYNC_ID_MAX)
			return -1;
		g->id = argv[optind];
		return 0;
	}
	return optind == argc ? 0 : -1;
}

int
ctl_events(struct ctl *ctl, int argc, char **argv)
{
	struct args g = { .rate = DEFAULT_RATE, .max = LIST_DEFAULT };
	struct app app = { .conf = &ctl->conf };
	int rc;

	if (argc < 2)
		return ctl_usage(ctl);
	g.sub = argv[1];
	if (strcmp(g.sub, "sync") != 0 && strcmp(g.sub, "replay") != 0 &&
	    strcmp(g.sub, "list") != 0)
		return ctl_usage(ctl);
	/* argv[1] plays the command's name for getopt_long. */
	if (parse_args(ctl, argc - 1, argv + 1, &g) != 0)
		return ctl_usage(ctl);
	if (ctl_db(ctl, &app.db) != PB_OK)
		return CTL_EX_FAIL;
	if (strcmp(g.sub, "list") == 0)
		return list_cmd(ctl, app.db, g.failed, g.max);
	app.started_us = time_real_us();
	if (ctl_stripe(ctl, &app) != 0)
		return CTL_EX_FAIL;
	if (strcmp(g.sub, "sync") == 0)
		rc = sync_cmd(ctl, &app, g.has_since, g.since, g.rate);
	else
		rc = replay_cmd(ctl, &app, g.id);
	stripe_free(app.stripe);
	return rc;
}
