/*
 * paybridgectl reconcile: what our users and Stripe's customers disagree about, and the
 * safe repairs (DESIGN §5, services/reconcile.h for the walk, the kinds and the rules).
 *
 *   reconcile [--json] [--fix [--delete-orphans]] [--rate N[/s]] [--budget-ms N]
 *
 * Without --fix it changes nothing. --fix repairs missing and dangling customers (adopt
 * or create) and name or email drift (ours wins), each at once; orphans and duplicates
 * are deleted in Stripe only with --delete-orphans, which needs --fix (alone it would
 * be a second, destructive mode for one flag's sake). Stripe calls (list pages,
 * confirmations, repairs) are spaced at --rate a second (util/pace.h, default 10);
 * each repair has --budget-ms. SIGINT or SIGTERM stops it between steps; a second one
 * kills it at once.
 *
 * Findings go to stdout as they are found: a table on a terminal; otherwise one
 * tab-separated line each (kind, user, customer, fixed, detail) without a header; with
 * --json one document at the end of the walk,
 *   {"findings":[{"kind","user_id","customer","adopt","ours","stripe","fixed","note"}...],
 *    "counts":{"<kind>":N...},"foreign_customers":N,"customers_seen":N,"users_seen":N,
 *    "fixed":N,"failed":N,"complete":true|false[,"error":"..."]}
 * written as the walk goes, so memory does not grow with the findings. Progress and the
 * summary go to stderr (a line redrawn on a terminal, a plain line every PLAIN_SECONDS
 * otherwise). Text from users or Stripe is shown through ctl_append_shown in the table
 * and escaped in JSON.
 *
 * Exit 0 when nothing was found or everything found was fixed; 1 when findings remain,
 * a step failed or it was interrupted; 64 usage.
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
#include "services/app.h"
#include "services/reconcile.h"
#include "stripe/client.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/log.h"
#include "util/pace.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define DEFAULT_RATE 10
#define MAX_RATE 1000
#define SHOWN_MAX 120			/* bytes of a name, email or message in the table */
#define ID_SHOWN 64			/* bytes of a customer id in the table */
#define LINE_MAX_BYTES (16 * 1024)
#define BAR_REDRAW_US 100000LL
#define BAR_WIDTH 30
#define PLAIN_SECONDS 5

static volatile sig_atomic_t interrupted;

struct view {
	struct ctl *ctl;
	struct app *app;
	bool json;
	bool tty_out;			/* stdout is a terminal: a table */
	bool tty_err;			/* stderr is a terminal: a redrawn line */
	bool header_shown;
	bool bar_shown;
	uint64_t nfindings;		/* written so far (for the JSON commas) */
	int64_t started_us;
	int64_t drawn_us;
	struct buf line;
};

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
clear_bar(struct view *v)
{
	if (v->bar_shown) {
		fputs("\r\033[K", stderr);
		v->bar_shown = false;
	}
}

/* The terminal's progress line, in one write so nothing lands in its middle. */
static void
draw_bar(struct view *v, const struct reconcile_stats *st, int64_t now)
{
	char line[256];
	uint64_t total = 0;
	size_t filled = 0;
	int pct = 100;

	for (int k = 0; k < RECONCILE__MAX; k++)
		total += st->found[k];
	if (st->phase == RECONCILE_LISTING) {
		(void)snprintf(line, sizeof(line), "\r\033[Kreconcile: listing Stripe customers: %"
		    PRIu64 " (%" PRIu64 " page(s), %.1f s)", st->customers, st->pages,
		    (double)(now - v->started_us) / 1e6);
	} else {
		if (st->users_total > 0) {
			uint64_t done = st->users < st->users_total ? st->users : st->users_total;

			pct = (int)(done * 100 / st->users_total);
			filled = (size_t)(done * BAR_WIDTH / st->users_total);
		}
		(void)snprintf(line, sizeof(line), "\r\033[K[%.*s%.*s] %" PRIu64 "/%" PRIu64
		    " users %3d%%, %" PRIu64 " finding(s), %" PRIu64 " fixed",
		    (int)filled, "==============================", (int)(BAR_WIDTH - filled),
		    "                              ", st->users, st->users_total, pct, total,
		    st->fixed);
	}
	fputs(line, stderr);
	fflush(stderr);
	v->bar_shown = true;
	v->drawn_us = now;
}

static void
plain_progress(struct view *v, const struct reconcile_stats *st, int64_t now)
{
	uint64_t total = 0;

	for (int k = 0; k < RECONCILE__MAX; k++)
		total += st->found[k];
	if (st->phase == RECONCILE_LISTING)
		fprintf(stderr, "reconcile: listed %" PRIu64 " Stripe customer(s) in %" PRIu64
		    " page(s)\n", st->customers, st->pages);
	else
		fprintf(stderr, "reconcile: %" PRIu64 "/%" PRIu64 " users matched, %" PRIu64
		    " finding(s), %" PRIu64 " fixed\n", st->users, st->users_total, total,
		    st->fixed);
	v->drawn_us = now;
}

static void
on_progress(void *arg, const struct reconcile_stats *st)
{
	struct view *v = arg;
	int64_t now = time_mono_us();

	if (st->phase == RECONCILE_DONE)
		return;
	if (v->tty_err) {
		if (!v->bar_shown || now - v->drawn_us >= BAR_REDRAW_US)
			draw_bar(v, st, now);
	} else if (now - v->drawn_us >= PLAIN_SECONDS * 1000000LL) {
		plain_progress(v, st, now);
	}
}

/* Whatever a Stripe call logs starts on a line of its own; the next progress redraws. */
static void
on_calling(void *arg)
{
	clear_bar(arg);
}

/* ---- one finding ------------------------------------------------------------------ */

/* The detail column: what is wrong, then what the repair did. */
static enum pb_err
detail(struct buf *b, const struct reconcile_finding *f)
{
	enum pb_err err = PB_OK;

	switch (f->kind) {
	case RECONCILE_MISSING_CUSTOMER:
		err = buf_appends(b, "no customer");
		break;
	case RECONCILE_DANGLING_CUSTOMER:
		err = buf_appends(b, f->stripe == NULL ? "not listed by Stripe" :
		    strcmp(f->stripe, "deleted") == 0 ? "deleted in Stripe" :
		    "Stripe has no such customer");
		break;
	case RECONCILE_ORPHAN:
		err = buf_appends(b, "metadata user_id ");
		if (err == PB_OK)
			err = ctl_append_shown(b, f->stripe != NULL ? f->stripe : "?", SHOWN_MAX);
		if (err == PB_OK)
			err = buf_appends(b, " names no live user");
		break;
	case RECONCILE_DUPLICATE:
		err = buf_appends(b, "the user keeps ");
		if (err == PB_OK)
			err = ctl_append_shown(b, f->ours != NULL ? f->ours : "?", ID_SHOWN);
		break;
	case RECONCILE_NAME_DRIFT:
	case RECONCILE_EMAIL_DRIFT:
		err = buf_appends(b, "ours \"");
		if (err == PB_OK)
			err = ctl_append_shown(b, f->ours != NULL ? f->ours : "", SHOWN_MAX);
		if (err == PB_OK)
			err = buf_appends(b, f->stripe != NULL ? "\", Stripe \"" : "\", Stripe none");
		if (err == PB_OK && f->stripe != NULL)
			err = ctl_append_shown(b, f->stripe, SHOWN_MAX);
		if (err == PB_OK && f->stripe != NULL)
			err = buf_appendc(b, '"');
		break;
	case RECONCILE__MAX:
		break;
	}
	if (err == PB_OK && f->adopt != NULL) {
		err = buf_appends(b, "; adopt ");
		if (err == PB_OK)
			err = ctl_append_shown(b, f->adopt, ID_SHOWN);
	}
	if (err == PB_OK && f->fix != RECONCILE_FIX_NONE) {
		err = buf_appends(b, " => ");
		if (err == PB_OK)
			err = buf_appends(b, f->fix_note != NULL ? f->fix_note :
			    pb_strerror(f->fix_err));
	}
	return err;
}

/* One column: padded on a terminal, then a space or a tab. */
static enum pb_err
cell(struct buf *b, bool tty, const char *s, size_t max, int width)
{
	size_t before = b->len;
	enum pb_err err = ctl_append_shown(b, s != NULL && s[0] != '\0' ? s : "-", max);

	while (err == PB_OK && tty && b->len - before < (size_t)width)
		err = buf_appendc(b, ' ');
	if (err == PB_OK)
		err = buf_appendc(b, tty ? ' ' : '\t');
	return err;
}

static const char *
fixed_word(enum reconcile_fix fix)
{
	return fix == RECONCILE_FIX_DONE ? "yes" : fix == RECONCILE_FIX_FAILED ? "no" : "-";
}

static const int widths[] = { 17, 8, 22, 5 };

static enum pb_err
table_row(struct view *v, const struct reconcile_finding *f)
{
	char user[24];
	enum pb_err err;

	if (f->user_id != 0)
		(void)snprintf(user, sizeof(user), "%" PRIu64, f->user_id);
	else
		(void)snprintf(user, sizeof(user), "-");
	err = cell(&v->line, v->tty_out, reconcile_kind_name(f->kind), SHOWN_MAX, widths[0]);
	if (err == PB_OK)
		err = cell(&v->line, v->tty_out, user, SHOWN_MAX, widths[1]);
	if (err == PB_OK)
		err = cell(&v->line, v->tty_out, f->customer, ID_SHOWN, widths[2]);
	if (err == PB_OK)
		err = cell(&v->line, v->tty_out, fixed_word(f->fix), SHOWN_MAX, widths[3]);
	if (err == PB_OK)
		err = detail(&v->line, f);
	return err;
}

static enum pb_err
json_str_or_null(struct buf *b, const char *key, const char *s)
{
	enum pb_err err = buf_appendf(b, ",\"%s\":", key);

	if (err == PB_OK)
		err = s != NULL ? json_escape(b, s, strlen(s)) : buf_appends(b, "null");
	return err;
}

static enum pb_err
json_row(struct view *v, const struct reconcile_finding *f)
{
	struct buf *b = &v->line;
	enum pb_err err;

	err = buf_appendf(b, "%s{\"kind\":\"%s\",\"user_id\":", v->nfindings > 0 ? "," : "",
	    reconcile_kind_name(f->kind));
	if (err == PB_OK)
		err = f->user_id != 0 ? buf_appendf(b, "%" PRIu64, f->user_id) :
		    buf_appends(b, "null");
	if (err == PB_OK)
		err = json_str_or_null(b, "customer", f->customer);
	if (err == PB_OK)
		err = json_str_or_null(b, "adopt", f->adopt);
	if (err == PB_OK)
		err = json_str_or_null(b, "ours", f->ours);
	if (err == PB_OK)
		err = json_str_or_null(b, "stripe", f->stripe);
	if (err == PB_OK)
		err = buf_appendf(b, ",\"fixed\":%s", f->fix == RECONCILE_FIX_DONE ? "true" :
		    f->fix == RECONCILE_FIX_FAILED ? "false" : "null");
	if (err == PB_OK)
		err = json_str_or_null(b, "note", f->fix == RECONCILE_FIX_NONE ? NULL :
		    f->fix_note != NULL ? f->fix_note : pb_strerror(f->fix_err));
	if (err == PB_OK)
		err = buf_appendc(b, '}');
	return err;
}

/* Says on stderr why a repair failed, with what Stripe answered when it was Stripe. */
static void
report_failure(struct view *v, const struct reconcile_finding *f)
{
	bool deletion = f->kind == RECONCILE_ORPHAN || f->kind == RECONCILE_DUPLICATE;
	struct buf b;
	enum pb_err err;

	buf_init(&b, 2048);
	/* A deletion is about a customer; every other repair about a user. */
	if (deletion) {
		err = buf_appends(&b, "customer ");
		if (err == PB_OK)
			err = ctl_append_shown(&b, f->customer != NULL ? f->customer : "?",
			    ID_SHOWN);
	} else {
		err = buf_appendf(&b, "user %" PRIu64, f->user_id);
	}
	if (err == PB_OK)
		err = buf_appendf(&b, ": %s: %s", reconcile_kind_name(f->kind),
		    f->fix_note != NULL ? f->fix_note : pb_strerror(f->fix_err));
	if (err == PB_OK && f->fix_note != NULL && f->fix_err != PB_OK)
		err = buf_appendf(&b, ": %s", pb_strerror(f->fix_err));
	if (err == PB_OK)
		err = ctl_append_stripe_answer(&b, v->app->stripe, f->fix_err, SHOWN_MAX);
	if (err == PB_OK && f->fix_err != PB_OK && !deletion)
		err = buf_appends(&b, "; its job retries on its own, or run it again");
	ctl_errx(v->ctl, "%s", err == PB_OK ? buf_cstr(&b) : "a repair failed");
	buf_free(&b);
}

static void
on_report(void *arg, const struct reconcile_finding *f)
{
	struct view *v = arg;
	enum pb_err err;

	clear_bar(v);
	if (f->fix == RECONCILE_FIX_FAILED)
		report_failure(v, f);
	buf_reset(&v->line);
	err = v->json ? json_row(v, f) : table_row(v, f);
	if (err != PB_OK) {
		/* Out of room for one line: say which, never half of it. */
		ctl_errx(v->ctl, "cannot show a %s finding: %s", reconcile_kind_name(f->kind),
		    pb_strerror(err));
		return;
	}
	if (!v->json && v->tty_out && !v->header_shown) {
		printf("%-*s %-*s %-*s %-*s %s\n", widths[0], "KIND", widths[1], "USER",
		    widths[2], "CUSTOMER", widths[3], "FIXED", "DETAIL");
		v->header_shown = true;
	}
	if (v->json)
		fputs(buf_cstr(&v->line), stdout);
	else
		printf("%s\n", buf_cstr(&v->line));
	fflush(stdout);
	v->nfindings++;
}

/* ---- the end ---------------------------------------------------------------------- */

static void
json_end(struct view *v, const struct reconcile_stats *st, enum pb_err walked)
{
	struct buf *b = &v->line;
	enum pb_err err;

	buf_reset(b);
	err = buf_appends(b, "],\"counts\":{");
	for (int k = 0; k < RECONCILE__MAX && err == PB_OK; k++)
		err = buf_appendf(b, "%s\"%s\":%" PRIu64, k > 0 ? "," : "",
		    reconcile_kind_name((enum reconcile_kind)k), st->found[k]);
	if (err == PB_OK)
		err = buf_appendf(b, "},\"foreign_customers\":%" PRIu64 ",\"customers_seen\":%"
		    PRIu64 ",\"users_seen\":%" PRIu64 ",\"fixed\":%" PRIu64 ",\"failed\":%" PRIu64
		    ",\"complete\":%s", st->foreign, st->customers, st->users, st->fixed,
		    st->failed, st->stop == RECONCILE_COMPLETE ? "true" : "false");
	if (err == PB_OK && walked != PB_OK) {
		char why[256];

		(void)snprintf(why, sizeof(why), "%s failed: %s", st->failed_step != NULL ?
		    st->failed_step : "the walk", pb_strerror(walked));
		err = buf_appends(b, ",\"error\":");
		if (err == PB_OK)
			err = json_escape(b, why, strlen(why));
	}
	if (err == PB_OK)
		err = buf_appends(b, "}\n");
	/* Short and ours past the findings: this cannot fail but for memory. */
	fputs(err == PB_OK ? buf_cstr(b) : "]}\n", stdout);
	fflush(stdout);
}

static void
summary(struct view *v, const struct reconcile_stats *st, enum pb_err walked)
{
	struct buf b;
	uint64_t total = 0;
	enum pb_err err;

	clear_bar(v);
	for (int k = 0; k < RECONCILE__MAX; k++)
		total += st->found[k];
	buf_init(&b, 2048);
	err = buf_appendf(&b, "reconcile: %" PRIu64 " Stripe customer(s) (%" PRIu64
	    " foreign), %" PRIu64 " user(s): ", st->customers, st->foreign, st->users);
	if (err == PB_OK && total == 0)
		err = buf_appends(&b, "nothing found");
	for (int k = 0, first = 1; k < RECONCILE__MAX && err == PB_OK; k++) {
		if (st->found[k] == 0)
			continue;
		err = buf_appendf(&b, "%s%" PRIu64 " %s", first ? "" : ", ", st->found[k],
		    reconcile_kind_name((enum reconcile_kind)k));
		first = 0;
	}
	if (err == PB_OK && total > 0)
		err = buf_appendf(&b, "; fixed %" PRIu64 ", not fixed %" PRIu64, st->fixed,
		    total - st->fixed);
	if (err == PB_OK)
		err = buf_appendf(&b, "; elapsed %.1f s",
		    (double)(time_mono_us() - v->started_us) / 1e6);
	fprintf(stderr, "%s\n", err == PB_OK ? buf_cstr(&b) : "reconcile: done");
	buf_free(&b);
	if (walked != PB_OK) {
		buf_init(&b, 2048);
		err = buf_appendf(&b, "%s failed: %s", st->failed_step != NULL ?
		    st->failed_step : "the walk", pb_strerror(walked));
		if (err == PB_OK)
			err = ctl_append_stripe_answer(&b, v->app->stripe, walked, SHOWN_MAX);
		if (err == PB_OK)
			err = buf_appends(&b, "; nothing after it was looked at");
		ctl_errx(v->ctl, "%s", err == PB_OK ? buf_cstr(&b) : "the walk failed");
		buf_free(&b);
	} else if (st->stop == RECONCILE_STOP_SIGNAL) {
		ctl_errx(v->ctl, "interrupted: what was found so far is above; run it again");
	} else if (st->stop == RECONCILE_STOP_FAILURES) {
		ctl_errx(v->ctl, "stopped after %d failed repairs in a row: is Stripe reachable? "
		    "Run it again", RECONCILE_FAILURES_IN_A_ROW);
	}
}

/* ---- flags -------------------------------------------------------------------------- */

struct args {
	struct reconcile_opts o;
	bool json;
};

static int
parse_args(struct ctl *ctl, int argc, char **argv, struct args *g)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "fix", no_argument, NULL, 'f' },
		{ "delete-orphans", no_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "budget-ms", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	long long v;
	int ch;

	g->o.rate = DEFAULT_RATE;
	g->o.budget_ms = ctl->conf.customer_inline_budget_ms > 0 ?
	    ctl->conf.customer_inline_budget_ms : 2000;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			g->json = true;
			break;
		case 'f':
			g->o.fix = true;
			break;
		case 'd':
			g->o.delete_orphans = true;
			break;
		case 'r':
			if (pace_parse_rate(optarg, MAX_RATE, &g->o.rate) != PB_OK) {
				ctl_errx(ctl, "--rate must be N or N/s with N from 1 to %d: '%s'",
				    MAX_RATE, optarg);
				return -1;
			}
			break;
		case 'b':
			if (strnum_parse(optarg, 10, 100, 300000, &v) != PB_OK) {
				ctl_errx(ctl, "--budget-ms must be a number from 100 to 300000: '%s'",
				    optarg);
				return -1;
			}
			g->o.budget_ms = v;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (g->o.delete_orphans && !g->o.fix) {
		ctl_errx(ctl, "--delete-orphans needs --fix");
		return -1;
	}
	return 0;
}

int
ctl_reconcile(struct ctl *ctl, int argc, char **argv)
{
	struct sigaction sa, old_int, old_term;
	struct reconcile_stats st;
	struct app app;
	struct args g;
	struct view v;
	enum log_level level;
	enum pb_err err;
	uint64_t total = 0;
	int status = CTL_EX_FAIL;

	memset(&g, 0, sizeof(g));
	if (parse_args(ctl, argc, argv, &g) != 0)
		return ctl_usage(ctl);
	memset(&app, 0, sizeof(app));
	if (ctl_db(ctl, &app.db) != PB_OK)
		return CTL_EX_FAIL;
	app.conf = &ctl->conf;
	app.started_us = time_real_us();
	if (ctl_stripe(ctl, &app) != 0)
		return CTL_EX_FAIL;
	memset(&v, 0, sizeof(v));
	v.ctl = ctl;
	v.app = &app;
	v.json = g.json;
	v.tty_out = isatty(STDOUT_FILENO) == 1;
	v.tty_err = isatty(STDERR_FILENO) == 1;
	v.started_us = v.drawn_us = time_mono_us();
	buf_init(&v.line, LINE_MAX_BYTES);
	/* A line per Stripe request would scroll the progress line away; warnings still show. */
	if (v.tty_err && log_level_parse(ctl->conf.log_level, &level) == 0 &&
	    level == LOGL_INFO)
		log_set_level(LOGL_WARN);
	if (!v.tty_err)
		fprintf(stderr, "reconcile: listing Stripe customers, at most %lld call(s)/s%s\n",
		    g.o.rate, g.o.fix ? g.o.delete_orphans ? "; fixing, deleting orphans and "
		    "duplicates" : "; fixing" : "");
	g.o.stop = &interrupted;
	g.o.report = on_report;
	g.o.progress = on_progress;
	g.o.calling = on_calling;
	g.o.arg = &v;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;	/* a second one kills it at once */
	interrupted = 0;
	(void)sigaction(SIGINT, &sa, &old_int);
	(void)sigaction(SIGTERM, &sa, &old_term);
	if (v.json) {
		fputs("{\"findings\":[", stdout);
		fflush(stdout);
	}
	err = reconcile_run(&app, &g.o, &st);
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGTERM, &old_term, NULL);
	if (v.json)
		json_end(&v, &st, err);
	summary(&v, &st, err);
	for (int k = 0; k < RECONCILE__MAX; k++)
		total += st.found[k];
	if (err == PB_OK && st.stop == RECONCILE_COMPLETE && st.fixed == total)
		status = CTL_EX_OK;
	buf_free(&v.line);
	stripe_free(app.stripe);
	return status;
}
