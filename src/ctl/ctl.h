/*
 * paybridgectl's shared internals. main.c parses the global options, loads the
 * configuration and dispatches to one command of its table; each command lives in its
 * own src/ctl/<name>_cmd.c and is declared here.
 *
 * Adding a command: write `int ctl_<name>(struct ctl *, int argc, char **argv)` in
 * src/ctl/<name>_cmd.c, declare it below, add a row to the table in main.c and the file
 * to src/ctl/local.mk. argv[0] is the command's name; to use getopt(3) on the rest, set
 * optind = 0 first (glibc's full reset). Print results on stdout, problems on stderr
 * with ctl_errx, and return one of the CTL_EX_* codes.
 */
#ifndef PB_CTL_CTL_H
#define PB_CTL_CTL_H

#include "util/buf.h"
#include "util/conf.h"
#include "util/err.h"

struct app;
struct db;
struct stripe;

enum {
	CTL_EX_OK = 0,
	CTL_EX_FAIL = 1,
	CTL_EX_USAGE = 64,		/* sysexits.h EX_USAGE */
	CTL_EX_CONFIG = CONF_EX_CONFIG,	/* 78 */
};

struct ctl {
	const char *conf_path;		/* the -c argument, or CONF_DEFAULT_PATH */
	struct conf conf;		/* loaded before the command runs */
	struct db *db;			/* NULL until ctl_db */
	const struct ctl_command *cmd;	/* the command being run */
};

struct ctl_command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage;		/* arguments after the name, for -h and errors */
	const char *summary;		/* one line */
};

/*
 * Returns this run's database handle, making it on first use (it connects lazily: the
 * first statement reports an unreachable server). Its statements may take up to 10
 * minutes. PB_OK or PB_ENOMEM (said on stderr).
 */
enum pb_err ctl_db(struct ctl *ctl, struct db **out);

/* Prints "paybridgectl: <command>: message" on stderr. */
void ctl_errx(const struct ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the current command's usage line on stderr and returns CTL_EX_USAGE. */
int ctl_usage(const struct ctl *ctl);

/*
 * Makes app->stripe, this run's Stripe client (free it with stripe_free), from the
 * configuration. Says why not on stderr (no stripe_secret_key, a bad base URL) and
 * returns -1 then; 0 when made.
 */
int ctl_stripe(struct ctl *ctl, struct app *app);

/*
 * Appends s for a terminal: at most max bytes in all (a cut, on a UTF-8 boundary, ends
 * with "..."), control bytes shown as '?', so text from users or Stripe cannot move the
 * cursor or forge lines.
 */
enum pb_err ctl_append_shown(struct buf *b, const char *s, size_t max);

/*
 * After a call that failed with err, appends what Stripe answered when it was Stripe
 * (PB_ESTRIPE, PB_ETIMEOUT): " (Stripe answered 402 card_declined: message)", or
 * " (no answer)"; nothing otherwise. The message is shown at most max bytes.
 */
enum pb_err ctl_append_stripe_answer(struct buf *b, const struct stripe *s, enum pb_err err,
    size_t max);

/* The commands. */
int ctl_migrate(struct ctl *ctl, int argc, char **argv);
int ctl_backfill_customers(struct ctl *ctl, int argc, char **argv);
int ctl_jobs(struct ctl *ctl, int argc, char **argv);
int ctl_events(struct ctl *ctl, int argc, char **argv);
int ctl_reconcile(struct ctl *ctl, int argc, char **argv);
int ctl_products(struct ctl *ctl, int argc, char **argv);

#endif
