/*
 * paybridgectl: the operator's tool. `paybridgectl [-c FILE] COMMAND [ARGS]`: loads the
 * configuration like the server does (the file is optional unless -c names one) and runs
 * one command from the table below. Exit status: 0 done, 1 failed, 64 usage, 78
 * configuration.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "repo/db.h"
#include "services/app.h"
#include "services/outbox.h"
#include "stripe/client.h"
#include "util/log.h"

static const struct ctl_command commands[] = {
	{ "migrate", ctl_migrate, "up [VERSION] | down [VERSION] | status",
	    "apply, revert or list the database schema migrations" },
	{ "backfill-customers", ctl_backfill_customers,
	    "[--rate N/s] [--limit N] [--dry-run] [--budget-ms N]",
	    "create the Stripe customers of users that have none, resumable, rate-limited" },
	{ "jobs", ctl_jobs, "list [--status pending|running|done|dead] [--limit N] | "
	    "retry ID | drop ID", "list the Stripe outbox jobs, retry or drop one" },
	{ "events", ctl_events, "sync [--since TIME] [--rate N/s] | replay ID | "
	    "list [--failed] [--limit N]",
	    "apply the Stripe events not received yet, replay one, list what came in" },
	{ "reconcile", ctl_reconcile,
	    "[--json] [--fix [--delete-orphans]] [--rate N/s] [--budget-ms N]",
	    "report users and Stripe customers that disagree; --fix repairs what is safe" },
	{ "products", ctl_products, "add --slug S --name N --amount A --currency C [FIELDS] | "
	    "list [--json] [--all] | update ID|SLUG FIELDS | archive ID|SLUG | "
	    "sync-to-stripe [--json] [--limit N]",
	    "the catalog: add, list, change or archive products; create their Stripe prices" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
#define CTL_DB_TIMEOUT 600	/* seconds a statement of paybridgectl may take */

static void
usage(FILE *f)
{
	fprintf(f, "usage: paybridgectl [-h] [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].usage,
		    commands[i].summary);
	fprintf(f, "\nFILE defaults to %s (optional); PAYBRIDGE_* variables override it.\n",
	    CONF_DEFAULT_PATH);
}

enum pb_err
ctl_db(struct ctl *ctl, struct db **out)
{
	enum pb_err rc;

	if (ctl->db == NULL) {
		/*
		 * The server's few-second statement timeouts are for requests; operator
		 * commands may wait on locks and run long DDL.
		 */
		if (ctl->conf.db_read_timeout < CTL_DB_TIMEOUT)
			ctl->conf.db_read_timeout = CTL_DB_TIMEOUT;
		if (ctl->conf.db_write_timeout < CTL_DB_TIMEOUT)
			ctl->conf.db_write_timeout = CTL_DB_TIMEOUT;
		outbox_set_host(ctl->conf.host_id);
		rc = db_new(&ctl->conf, &ctl->db);
		if (rc != PB_OK) {
			ctl_errx(ctl, "cannot set up the database handle: %s", pb_strerror(rc));
			return rc;
		}
	}
	*out = ctl->db;
	return PB_OK;
}

void
ctl_errx(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (ctl->cmd != NULL)
		fprintf(stderr, "paybridgectl: %s: ", ctl->cmd->name);
	else
		fprintf(stderr, "paybridgectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_usage(const struct ctl *ctl)
{
	fprintf(stderr, "usage: paybridgectl [-c FILE] %s %s\n", ctl->cmd->name,
	    ctl->cmd->usage);
	return CTL_EX_USAGE;
}

int
main(int argc, char *argv[])
{
	char err[CONF_ERR_MAX];
	enum log_level level;
	struct ctl ctl = { .conf_path = CONF_DEFAULT_PATH };
	bool required = false;
	int ch, status;

	log_set_role("ctl");
	/* '+': options end at the command, whose own options are its business. */
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			ctl.conf_path = optarg;
			required = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EX_OK;
		default:
			usage(stderr);
			return CTL_EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_EX_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name) == 0)
			ctl.cmd = &commands[i];
	}
	if (ctl.cmd == NULL) {
		fprintf(stderr, "paybridgectl: unknown command '%s' (try -h)\n", argv[0]);
		return CTL_EX_USAGE;
	}
	if (conf_load(&ctl.conf, ctl.conf_path, required, err, sizeof(err)) != PB_OK) {
		fprintf(stderr, "paybridgectl: %s\n", err);
		return CTL_EX_CONFIG;
	}
	if (log_level_parse(ctl.conf.log_level, &level) == 0)
		log_set_level(level);
	status = ctl.cmd->run(&ctl, argc, argv);
	db_free(ctl.db);
	conf_free(&ctl.conf);
	if (fflush(stdout) != 0 && status == CTL_EX_OK)
		status = CTL_EX_FAIL;
	return status;
}

int
ctl_stripe(struct ctl *ctl, struct app *app)
{
	enum pb_err err;

	if (ctl->conf.stripe_secret_key == NULL || ctl->conf.stripe_secret_key[0] == '\0') {
		ctl_errx(ctl, "stripe_secret_key is not set (PAYBRIDGE_STRIPE_SECRET_KEY)");
		return -1;
	}
	/* stripe_new initialises libcurl, and stripe_free releases it. */
	err = stripe_new(&ctl->conf, &app->stripe);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot make the Stripe client: %s", pb_strerror(err));
		return -1;
	}
	return 0;
}

enum pb_err
ctl_append_stripe_answer(struct buf *b, const struct stripe *s, enum pb_err err, size_t max)
{
	const struct stripe_error *e = s != NULL ? stripe_last_error(s) : NULL;
	enum pb_err berr;

	if ((err != PB_ESTRIPE && err != PB_ETIMEOUT) || e == NULL || e->err == PB_OK)
		return PB_OK;
	if (e->status == 0)
		return buf_appends(b, " (no answer)");
	berr = buf_appendf(b, " (Stripe answered %d%s%s", e->status,
	    e->code[0] != '\0' || e->type[0] != '\0' ? " " : "",
	    e->code[0] != '\0' ? e->code : e->type);
	if (berr == PB_OK && e->message[0] != '\0') {
		berr = buf_appends(b, ": ");
		if (berr == PB_OK)
			berr = ctl_append_shown(b, e->message, max);
	}
	if (berr == PB_OK)
		berr = buf_appendc(b, ')');
	return berr;
}

enum pb_err
ctl_append_shown(struct buf *b, const char *s, size_t max)
{
	size_t n = strlen(s), cut = n;
	enum pb_err err = PB_OK;

	if (n > max) {
		cut = max > 3 ? max - 3 : 0;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	for (size_t i = 0; i < cut && err == PB_OK; i++) {
		unsigned char c = (unsigned char)s[i];

		err = buf_appendc(b, (char)(c < 0x20 || c == 0x7F ? '?' : c));
	}
	if (err == PB_OK && cut < n)
		err = buf_appends(b, "...");
	return err;
}
