/*
 * paybridgectl products: the catalog (services/catalog.h for the rules).
 *
 *   products add --slug S --name N --amount A --currency C [--description D]
 *                [--interval day|week|month|year [--interval-count N]]
 *                [--stripe-product prod_... --stripe-price price_...]
 *   products list [--json] [--all]        active ones, or all with --all, by id
 *   products update ID|SLUG [the fields of add] [--interval none] [--active]
 *   products archive ID|SLUG              no longer for sale (kept: orders point at it)
 *   products sync-to-stripe [--json] [--limit N]
 *
 * --amount is in minor units (1999 for 19.99). --interval-count alone means recurring
 * (and then needs an interval); --interval none makes a product one-time. A change of
 * amount, currency or interval makes the Stripe price stale: sync-to-stripe makes a new
 * one. --active brings an archived product back. ID|SLUG is an id when a product has it,
 * else a slug.
 *
 * Output: add, update and archive say what they did in one line on stdout; list prints
 * a table (or {"products":[...]} with --json, each product with its Stripe ids and
 * times); sync-to-stripe prints a line per product and a summary (or one JSON document).
 * Problems go to stderr, one line each, naming the flag. Exit 0 done, 1 refused or
 * failed (nothing written), 64 usage.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "services/app.h"
#include "services/catalog.h"
#include "stripe/client.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/strnum.h"
#include "util/timeutil.h"

#define SHOWN_MAX 60			/* bytes of a name in the table */
#define MESSAGE_MAX 200			/* bytes of a Stripe message */
#define ARENA_MAX ((size_t)4 * 1024 * 1024)

/* Every flag of every subcommand; which ones a subcommand takes is its option table. */
struct args {
	const char *slug, *name, *description, *currency, *interval;
	const char *stripe_product, *stripe_price;
	bool has_amount, has_count, active, json, all;
	long long amount, count, limit;
};

enum { O_SLUG = 1, O_NAME, O_DESC, O_AMOUNT, O_CURRENCY, O_INTERVAL, O_COUNT, O_SPROD,
	O_SPRICE, O_ACTIVE, O_JSON, O_ALL, O_LIMIT };

#define FIELD_OPTIONS \
	{ "slug", required_argument, NULL, O_SLUG }, \
	{ "name", required_argument, NULL, O_NAME }, \
	{ "description", required_argument, NULL, O_DESC }, \
	{ "amount", required_argument, NULL, O_AMOUNT }, \
	{ "currency", required_argument, NULL, O_CURRENCY }, \
	{ "interval", required_argument, NULL, O_INTERVAL }, \
	{ "interval-count", required_argument, NULL, O_COUNT }, \
	{ "stripe-product", required_argument, NULL, O_SPROD }, \
	{ "stripe-price", required_argument, NULL, O_SPRICE }

static const struct option add_opts[] = { FIELD_OPTIONS, { NULL, 0, NULL, 0 } };
static const struct option update_opts[] = {
	FIELD_OPTIONS, { "active", no_argument, NULL, O_ACTIVE }, { NULL, 0, NULL, 0 },
};
static const struct option list_opts[] = {
	{ "json", no_argument, NULL, O_JSON }, { "all", no_argument, NULL, O_ALL },
	{ NULL, 0, NULL, 0 },
};
static const struct option sync_opts[] = {
	{ "json", no_argument, NULL, O_JSON }, { "limit", required_argument, NULL, O_LIMIT },
	{ NULL, 0, NULL, 0 },
};
static const struct option no_opts[] = { { NULL, 0, NULL, 0 } };

/* Parses argv[1..argc) with opts into g; -1 on a usage error (said when it can be). */
static int
parse(struct ctl *ctl, int argc, char **argv, const struct option *opts, struct args *g)
{
	int ch;

	memset(g, 0, sizeof(*g));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case O_SLUG: g->slug = optarg; break;
		case O_NAME: g->name = optarg; break;
		case O_DESC: g->description = optarg; break;
		case O_CURRENCY: g->currency = optarg; break;
		case O_INTERVAL: g->interval = optarg; break;
		case O_SPROD: g->stripe_product = optarg; break;
		case O_SPRICE: g->stripe_price = optarg; break;
		case O_ACTIVE: g->active = true; break;
		case O_JSON: g->json = true; break;
		case O_ALL: g->all = true; break;
		case O_AMOUNT:
			/* A negative amount parses: the catalog's rule says what is wrong with it. */
			if (strnum_parse(optarg, 10, INT64_MIN, INT64_MAX, &g->amount) != PB_OK) {
				ctl_errx(ctl, "--amount must be a whole number of minor units "
				    "(1999 for 19.99): '%s'", optarg);
				return -1;
			}
			g->has_amount = true;
			break;
		case O_COUNT:
			if (strnum_parse(optarg, 10, 0, UINT32_MAX, &g->count) != PB_OK) {
				ctl_errx(ctl, "--interval-count must be a whole number: '%s'", optarg);
				return -1;
			}
			g->has_count = true;
			break;
		case O_LIMIT:
			if (strnum_parse(optarg, 10, 1, INT64_MAX, &g->limit) != PB_OK) {
				ctl_errx(ctl, "--limit must be a positive number: '%s'", optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

/* Says each problem of pr on stderr, named by its flag. */
static void
report_problems(struct ctl *ctl, const struct catalog_problems *pr)
{
	const struct {
		const char *flag, *message;
	} all[] = {
		{ "--slug", pr->slug }, { "--name", pr->name },
		{ "--description", pr->description }, { "--amount", pr->amount },
		{ "--currency", pr->currency }, { "--interval", pr->interval },
		{ "--interval-count", pr->interval_count },
		{ "--stripe-product", pr->stripe_product_id },
		{ "--stripe-price", pr->stripe_price_id },
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i].message != NULL)
			ctl_errx(ctl, "%s %s", all[i].flag, all[i].message);
	}
	ctl_errx(ctl, "nothing was written");
}

/* The answer to a refused add or update: 1, with why on stderr. */
static int
refused(struct ctl *ctl, enum pb_err err, const struct catalog_problems *pr,
    const char *conflict, const struct args *g)
{
	if (err == PB_EFIELDS)
		report_problems(ctl, pr);
	else if (err == PB_ECONFLICT && conflict != NULL && strcmp(conflict, "slug") == 0)
		ctl_errx(ctl, "--slug '%s' is another product's; nothing was written",
		    g->slug != NULL ? g->slug : "?");
	else if (err == PB_ECONFLICT)
		ctl_errx(ctl, "the Stripe product or price is another product's; nothing was "
		    "written");
	else
		ctl_errx(ctl, "%s", pb_strerror(err));
	return CTL_EX_FAIL;
}

/* "1999 usd one-time" or "1999 usd every 3 month". */
static void
terms(const struct product *p, char *out, size_t len)
{
	if (p->recurring)
		(void)snprintf(out, len, "%" PRId64 " %s every %" PRIu32 " %s", p->amount,
		    p->currency, p->interval_count, p->interval != NULL ? p->interval : "?");
	else
		(void)snprintf(out, len, "%" PRId64 " %s one-time", p->amount, p->currency);
}

static int
add_cmd(struct ctl *ctl, struct app *app, const struct args *g)
{
	struct catalog_problems pr;
	struct product p;
	const char *conflict;
	char t[96];
	uint64_t id;
	enum pb_err err;

	memset(&p, 0, sizeof(p));
	p.slug = g->slug;
	p.name = g->name;
	p.description = g->description;
	p.currency = g->currency;
	p.amount = g->amount;
	/* --interval-count alone asks for a recurring product: it then lacks an interval. */
	p.recurring = (g->interval != NULL && strcmp(g->interval, "none") != 0) ||
	    (g->interval == NULL && g->has_count);
	p.interval = p.recurring ? g->interval : NULL;
	p.interval_count = g->has_count ? (uint32_t)g->count : p.recurring ? 1 : 0;
	p.stripe_product_id = g->stripe_product;
	p.stripe_price_id = g->stripe_price;
	if (!g->has_amount) {
		ctl_errx(ctl, "--amount is required (minor units: 1999 for 19.99)");
		return CTL_EX_FAIL;
	}
	err = catalog_create(app, &p, &pr, &conflict, &id);
	if (err != PB_OK)
		return refused(ctl, err, &pr, conflict, g);
	terms(&p, t, sizeof(t));
	printf("product %" PRIu64 " added: %s, %s\n", id, p.slug, t);
	return CTL_EX_OK;
}

/* The product ref names, or 1 with why. */
static int
find(struct ctl *ctl, struct app *app, struct arena *a, const char *ref, struct product *p)
{
	enum pb_err err = catalog_find(app, a, ref, p);

	if (err == PB_OK)
		return 0;
	if (err == PB_ENOTFOUND)
		ctl_errx(ctl, "no product with the id or slug '%s'", ref);
	else
		ctl_errx(ctl, "cannot read product '%s': %s", ref, pb_strerror(err));
	return -1;
}

static int
update_cmd(struct ctl *ctl, struct app *app, const char *ref, const struct args *g)
{
	struct catalog_problems pr;
	struct product_changes c;
	struct product p, after;
	const char *conflict;
	struct arena a;
	char t[96];
	enum pb_err err;
	int rc = CTL_EX_FAIL;

	memset(&c, 0, sizeof(c));
	c.slug = g->slug;
	c.name = g->name;
	c.description = g->description;
	c.currency = g->currency;
	c.set_amount = g->has_amount;
	c.amount = g->amount;
	c.set_kind = g->interval != NULL || g->has_count;
	c.recurring = g->interval == NULL || strcmp(g->interval, "none") != 0;
	c.interval = g->interval != NULL && c.recurring ? g->interval : NULL;
	c.interval_count = g->has_count ? (uint32_t)g->count : 0;
	c.set_active = g->active;
	c.active = true;
	c.set_stripe_product = g->stripe_product != NULL;
	c.stripe_product_id = g->stripe_product;
	c.set_stripe_price = g->stripe_price != NULL;
	c.stripe_price_id = g->stripe_price;
	if (!c.set_kind && !c.set_amount && !c.set_active && !c.set_stripe_product &&
	    !c.set_stripe_price && c.slug == NULL && c.name == NULL && c.description == NULL &&
	    c.currency == NULL) {
		ctl_errx(ctl, "nothing to change: give at least one field");
		return ctl_usage(ctl);
	}
	arena_init(&a, ARENA_MAX);
	if (find(ctl, app, &a, ref, &p) != 0)
		goto out;
	err = catalog_update(app, &a, p.id, &c, &pr, &conflict, &after);
	if (err != PB_OK) {
		rc = refused(ctl, err, &pr, conflict, g);
		goto out;
	}
	terms(&after, t, sizeof(t));
	printf("product %" PRIu64 " updated: %s, %s%s\n", after.id, after.slug, t,
	    after.active ? "" : " (archived)");
	if (p.stripe_price_id != NULL && after.stripe_price_id == NULL)
		printf("its Stripe price %s sells the old terms: run products sync-to-stripe\n",
		    p.stripe_price_id);
	rc = CTL_EX_OK;
out:
	arena_cleanup(&a);
	return rc;
}

static int
archive_cmd(struct ctl *ctl, struct app *app, const char *ref)
{
	struct product p;
	struct arena a;
	enum pb_err err;
	int rc = CTL_EX_FAIL;

	arena_init(&a, ARENA_MAX);
	if (find(ctl, app, &a, ref, &p) != 0)
		goto out;
	err = catalog_archive(app, p.id);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot archive product %" PRIu64 ": %s", p.id, pb_strerror(err));
		goto out;
	}
	printf("product %" PRIu64 " (%s) %s\n", p.id, p.slug,
	    p.active ? "archived" : "was archived already");
	rc = CTL_EX_OK;
out:
	arena_cleanup(&a);
	return rc;
}

/* ---- list ------------------------------------------------------------------------------ */

static enum pb_err
table_row(struct buf *b, const struct product *p)
{
	char amount[24], every[32];
	enum pb_err err;

	(void)snprintf(amount, sizeof(amount), "%" PRId64, p->amount);
	if (p->recurring)
		(void)snprintf(every, sizeof(every), "%" PRIu32 " %s", p->interval_count,
		    p->interval != NULL ? p->interval : "?");
	else
		(void)snprintf(every, sizeof(every), "one-time");
	err = buf_appendf(b, "%-6" PRIu64 " %-24s %10s %-4s %-10s %-6s %-20s %-32s ", p->id,
	    p->slug, amount, p->currency, every, p->active ? "yes" : "no",
	    p->stripe_product_id != NULL ? p->stripe_product_id : "-",
	    p->stripe_price_id != NULL ? p->stripe_price_id : "-");
	if (err == PB_OK)
		err = ctl_append_shown(b, p->name, SHOWN_MAX);
	return err;
}

static int
list_cmd(struct ctl *ctl, struct app *app, const struct args *g)
{
	struct json_object *o;
	struct product *items;
	struct arena a;
	struct buf line;
	uint64_t after = 0, shown = 0;
	bool more = true;
	size_t n;
	enum pb_err err = PB_OK;

	arena_init(&a, ARENA_MAX);
	buf_init(&line, 4096);
	if (g->json)
		fputs("{\"products\":[", stdout);
	else
		printf("%-6s %-24s %10s %-4s %-10s %-6s %-20s %-32s %s\n", "ID", "SLUG", "AMOUNT",
		    "CUR", "INTERVAL", "ACTIVE", "STRIPE_PRODUCT", "STRIPE_PRICE", "NAME");
	/* A page at a time: memory stays one page whatever the catalog's size. */
	while (more && err == PB_OK) {
		arena_reset(&a);
		err = catalog_list(app, &a, !g->all, after, CATALOG_PAGE_MAX, &items, &n, &more);
		for (size_t i = 0; i < n && err == PB_OK; i++) {
			buf_reset(&line);
			if (g->json) {
				o = catalog_product_json_new(&items[i], true);
				if (o == NULL)
					err = PB_ENOMEM;
				else
					printf("%s%s", shown > 0 ? "," : "",
					    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
				json_object_put(o);
			} else {
				err = table_row(&line, &items[i]);
				if (err == PB_OK)
					printf("%s\n", buf_cstr(&line));
			}
			shown++;
		}
		if (n > 0)
			after = items[n - 1].id;
	}
	if (g->json)
		fputs("]}\n", stdout);
	buf_free(&line);
	arena_cleanup(&a);
	if (err != PB_OK) {
		ctl_errx(ctl, "cannot list products: %s", pb_strerror(err));
		return CTL_EX_FAIL;
	}
	return CTL_EX_OK;
}

/* ---- sync-to-stripe ----------------------------------------------------------------------- */

struct sync_view {
	struct ctl *ctl;
	struct app *app;
	bool json;
	uint64_t n;
};

/* "product 5 (pro): create price failed: ... (Stripe answered ...)" on stderr. */
static void
sync_failure(struct sync_view *v, const struct catalog_sync_item *it)
{
	struct buf b;
	enum pb_err err;

	buf_init(&b, 2048);
	err = buf_appendf(&b, "product %" PRIu64 " (%s): %s failed: %s", it->product->id,
	    it->product->slug, it->step != NULL ? it->step : "sync", pb_strerror(it->err));
	if (err == PB_OK && it->err == PB_ECONFLICT && it->step != NULL &&
	    strncmp(it->step, "store", 5) == 0)
		err = buf_appends(&b, " (the product changed meanwhile: run it again)");
	/*
	 * Whatever the failed call was mapped to (a refused parameter, a missing product),
	 * Stripe's own words say more; after a database step the last call worked and
	 * nothing is added.
	 */
	if (err == PB_OK && it->step != NULL && strncmp(it->step, "store", 5) != 0)
		err = ctl_append_stripe_answer(&b, v->app->stripe, PB_ESTRIPE, MESSAGE_MAX);
	ctl_errx(v->ctl, "%s", err == PB_OK ? buf_cstr(&b) : "a product failed");
	buf_free(&b);
}

static void
sync_json_item(const struct catalog_sync_item *it, bool first)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return;
	json_object_object_add(o, "productId", json_object_new_int64((int64_t)it->product->id));
	json_object_object_add(o, "slug", json_object_new_string(it->product->slug));
	json_object_object_add(o, "stripeProductId", it->stripe_product_id != NULL ?
	    json_object_new_string(it->stripe_product_id) : NULL);
	json_object_object_add(o, "stripePriceId", it->stripe_price_id != NULL ?
	    json_object_new_string(it->stripe_price_id) : NULL);
	json_object_object_add(o, "replacedPriceId", it->replaced_price_id != NULL &&
	    it->price_created ? json_object_new_string(it->replaced_price_id) : NULL);
	json_object_object_add(o, "productCreated", json_object_new_boolean(it->product_created));
	json_object_object_add(o, "priceCreated", json_object_new_boolean(it->price_created));
	json_object_object_add(o, "error", it->err != PB_OK ?
	    json_object_new_string(pb_strerror(it->err)) : NULL);
	printf("%s%s", first ? "" : ",", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void
on_sync(void *arg, const struct catalog_sync_item *it)
{
	struct sync_view *v = arg;

	if (it->err != PB_OK)
		sync_failure(v, it);
	if (v->json) {
		sync_json_item(it, v->n == 0);
	} else if (it->err == PB_OK) {
		printf("product %" PRIu64 " (%s): %s%s %s, %s%s %s%s%s\n", it->product->id,
		    it->product->slug, it->product_created ? "created " : "", "Stripe product",
		    it->stripe_product_id, it->price_created ? "created " : "", "price",
		    it->stripe_price_id, it->replaced_price_id != NULL ? " replacing " : "",
		    it->replaced_price_id != NULL ? it->replaced_price_id : "");
	}
	fflush(stdout);
	v->n++;
}

static int
sync_cmd(struct ctl *ctl, struct app *app, const struct args *g)
{
	struct catalog_sync_opts o = { (uint64_t)g->limit, on_sync, NULL };
	struct catalog_sync_stats st;
	struct sync_view v = { ctl, app, g->json, 0 };
	enum pb_err err;

	if (ctl_stripe(ctl, app) != 0)
		return CTL_EX_FAIL;
	o.arg = &v;
	if (v.json)
		fputs("{\"items\":[", stdout);
	err = catalog_sync_to_stripe(app, &o, &st);
	if (v.json)
		printf("],\"seen\":%" PRIu64 ",\"productsCreated\":%" PRIu64 ",\"pricesCreated\":%"
		    PRIu64 ",\"pricesReplaced\":%" PRIu64 ",\"inSync\":%" PRIu64 ",\"failed\":%"
		    PRIu64 ",\"complete\":%s}\n", st.seen, st.products_created, st.prices_created,
		    st.prices_replaced, st.in_sync, st.failed, st.complete ? "true" : "false");
	else
		printf("sync-to-stripe: %" PRIu64 " product(s): %" PRIu64 " Stripe product(s) "
		    "created, %" PRIu64 " price(s) created, %" PRIu64 " replaced, %" PRIu64
		    " in sync, %" PRIu64 " failed%s\n", st.seen, st.products_created,
		    st.prices_created, st.prices_replaced, st.in_sync, st.failed,
		    st.complete ? "" : " (not every product was looked at)");
	stripe_free(app->stripe);
	app->stripe = NULL;
	if (err != PB_OK) {
		/* What was done is stored, and each product's keys are the same next time. */
		ctl_errx(ctl, "stopped (%s): run it again once that is fixed", pb_strerror(err));
		return CTL_EX_FAIL;
	}
	return st.failed == 0 ? CTL_EX_OK : CTL_EX_FAIL;
}

/* ---- the command ---------------------------------------------------------------------- */

int
ctl_products(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	const char *ref = NULL;
	struct app app = { .conf = &ctl->conf };
	struct args g;
	int rc;

	/* argv[1] (or the ID|SLUG after it) plays the command's name for getopt_long. */
	if (strcmp(sub, "add") == 0)
		rc = parse(ctl, argc - 1, argv + 1, add_opts, &g);
	else if (strcmp(sub, "list") == 0)
		rc = parse(ctl, argc - 1, argv + 1, list_opts, &g);
	else if (strcmp(sub, "sync-to-stripe") == 0)
		rc = parse(ctl, argc - 1, argv + 1, sync_opts, &g);
	else if ((strcmp(sub, "update") == 0 || strcmp(sub, "archive") == 0) && argc >= 3 &&
	    argv[2][0] != '-') {
		ref = argv[2];
		rc = parse(ctl, argc - 2, argv + 2, sub[0] == 'u' ? update_opts : no_opts, &g);
	} else
		rc = -1;
	if (rc != 0)
		return ctl_usage(ctl);
	if (ctl_db(ctl, &app.db) != PB_OK)
		return CTL_EX_FAIL;
	app.started_us = time_real_us();
	if (strcmp(sub, "add") == 0)
		return add_cmd(ctl, &app, &g);
	if (strcmp(sub, "list") == 0)
		return list_cmd(ctl, &app, &g);
	if (strcmp(sub, "update") == 0)
		return update_cmd(ctl, &app, ref, &g);
	if (strcmp(sub, "archive") == 0)
		return archive_cmd(ctl, &app, ref);
	return sync_cmd(ctl, &app, &g);
}
