/*
 * paybridgectl migrate: the schema migrations embedded in this binary.
 *
 *   migrate up [VERSION]     apply every pending migration, or those up to VERSION
 *   migrate down [VERSION]   revert the newest applied migration, or with VERSION every
 *                            one above it, until the database is at VERSION (0: all)
 *   migrate status           list each migration: applied or pending, checksum ok or
 *                            CHANGED; also versions the binary does not know
 *
 * up and down are idempotent and refuse (exit 1) when an applied migration differs from
 * this binary's copy or the database is newer than the binary; status exits 1 then too.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "repo/db.h"
#include "repo/migrate.h"
#include "util/arena.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define STATUS_ARENA_MAX (1024 * 1024)

static int
parse_version(const struct ctl *ctl, const char *s, long long min, unsigned *out)
{
	long long v;

	if (strnum_parse(s, 10, min, UINT_MAX, &v) != PB_OK) {
		ctl_errx(ctl, "VERSION must be a number from %lld: '%s'", min, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int
status_cmd(struct ctl *ctl, struct db *db)
{
	char err[512], when[TIME_ISO8601_LEN];
	struct migrate_status *st;
	struct arena a;
	size_t n, pending = 0, bad = 0;
	unsigned cur = 0;
	enum pb_err rc;

	arena_init(&a, STATUS_ARENA_MAX);
	rc = migrate_status(db, &a, migrate_embedded, migrate_embedded_count, &st, &n, err,
	    sizeof(err));
	if (rc != PB_OK) {
		ctl_errx(ctl, "%s", err[0] != '\0' ? err : pb_strerror(rc));
		arena_cleanup(&a);
		return CTL_EX_FAIL;
	}
	printf("%-8s %-24s %-8s %-9s %s\n", "VERSION", "NAME", "STATE", "CHECKSUM", "APPLIED");
	for (size_t i = 0; i < n; i++) {
		const char *sum = "-", *note = "";

		if (st[i].state == MIGRATE_APPLIED) {
			sum = "ok";
		} else if (st[i].state == MIGRATE_CHANGED) {
			sum = "CHANGED";
		} else if (st[i].state == MIGRATE_UNKNOWN) {
			sum = "?";
			note = "  (not in this binary: the database is newer)";
		}
		if (st[i].applied_at_us != 0)
			time_iso8601(st[i].applied_at_us, when, sizeof(when));
		else
			(void)snprintf(when, sizeof(when), "-");
		printf("%04u     %-24s %-8s %-9s %s%s\n", st[i].version, st[i].name,
		    st[i].state == MIGRATE_PENDING ? "pending" : "applied", sum, when, note);
		if (st[i].state == MIGRATE_PENDING)
			pending++;
		else
			cur = st[i].version;
		if (st[i].state == MIGRATE_CHANGED || st[i].state == MIGRATE_UNKNOWN)
			bad++;
	}
	printf("database at version %u, %zu pending\n", cur, pending);
	arena_cleanup(&a);
	if (bad > 0) {
		ctl_errx(ctl, "%zu applied migration(s) differ from or are unknown to this binary: "
		    "up and down will refuse", bad);
		return CTL_EX_FAIL;
	}
	return CTL_EX_OK;
}

int
ctl_migrate(struct ctl *ctl, int argc, char **argv)
{
	char err[512];
	struct db *db;
	unsigned version = 0;
	enum pb_err rc;
	const char *sub;

	if (argc < 2 || argc > 3)
		return ctl_usage(ctl);
	sub = argv[1];
	if (strcmp(sub, "status") == 0 && argc != 2)
		return ctl_usage(ctl);
	if (strcmp(sub, "up") != 0 && strcmp(sub, "down") != 0 && strcmp(sub, "status") != 0)
		return ctl_usage(ctl);
	if (argc == 3 && parse_version(ctl, argv[2], strcmp(sub, "up") == 0 ? 1 : 0,
	    &version) != 0)
		return CTL_EX_USAGE;
	if (ctl_db(ctl, &db) != PB_OK)
		return CTL_EX_FAIL;
	if (strcmp(sub, "status") == 0)
		return status_cmd(ctl, db);
	err[0] = '\0';
	if (strcmp(sub, "up") == 0)
		rc = migrate_up(db, migrate_embedded, migrate_embedded_count, version, stdout,
		    err, sizeof(err));
	else
		rc = migrate_down(db, migrate_embedded, migrate_embedded_count, argc == 2,
		    version, stdout, err, sizeof(err));
	if (rc != PB_OK) {
		ctl_errx(ctl, "%s", err[0] != '\0' ? err : pb_strerror(rc));
		return CTL_EX_FAIL;
	}
	return CTL_EX_OK;
}
