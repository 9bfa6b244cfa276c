/*
 * The catalog's rules and its reads and writes (see catalog.h); the Stripe mirror is in
 * catalog_sync.c. Every rule is checked here before the row reaches MariaDB, whose CHECK
 * constraints only back them up: a client or an operator gets a message per field, never
 * a database error.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "repo/db.h"
#include "services/accounts.h"
#include "services/app.h"
#include "services/catalog.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/strnum.h"
#include "util/timeutil.h"

/* The longest period Stripe accepts for a recurring price: three years. */
static const struct {
	const char *name;
	uint32_t max_count;
} intervals[] = {
	{ "day", 1095 }, { "week", 156 }, { "month", 36 }, { "year", 3 },
};

#define NINTERVALS (sizeof(intervals) / sizeof(intervals[0]))

const char *
catalog_check_slug(const char *s)
{
	size_t n;

	if (s == NULL)
		return "is required";
	n = strlen(s);
	if (n == 0 || n > CATALOG_SLUG_MAX)
		return "must be 1 to 100 characters";
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return "may only hold a-z, 0-9 and -";
	}
	return NULL;
}

const char *
catalog_check_name(const char *s)
{
	if (s == NULL)
		return "is required";
	/* The same rule as a user's name: 1 to 200 characters of UTF-8, no controls. */
	return accounts_check_name(s, strlen(s));
}

const char *
catalog_check_description(const char *s)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > CATALOG_DESCRIPTION_MAX)
		return "must be at most 4000 bytes";
	if (!utf8_valid(s, n))
		return "must be valid UTF-8";
	/* Line breaks and tabs are text in a description; other controls are not. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
			return "must not contain control characters";
	}
	return NULL;
}

const char *
catalog_check_amount(int64_t amount)
{
	if (amount < 0)
		return "must be 0 or more (minor units, e.g. cents)";
	if (amount > CATALOG_AMOUNT_MAX)
		return "must be at most 99999999";
	return NULL;
}

const char *
catalog_check_currency(const char *s)
{
	if (s == NULL)
		return "is required";
	if (strlen(s) != 3)
		return "must be three lower-case letters (ISO 4217, e.g. usd)";
	for (size_t i = 0; i < 3; i++) {
		if (s[i] < 'a' || s[i] > 'z')
			return "must be three lower-case letters (ISO 4217, e.g. usd)";
	}
	return NULL;
}

const char *
catalog_check_stripe_id(const char *s, const char *prefix)
{
	size_t n, plen = strlen(prefix);

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n <= plen || n > CATALOG_STRIPE_ID_MAX || strncmp(s, prefix, plen) != 0)
		return strcmp(prefix, "prod_") == 0 ? "must be a Stripe product id (prod_...)" :
		    "must be a Stripe price id (price_...)";
	for (size_t i = plen; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_'))
			return "may only hold letters, digits and _";
	}
	return NULL;
}

/* The recurring terms: an interval and a count for recurring, neither for one-time. */
static void
check_terms(const struct product *p, struct catalog_problems *pr)
{
	size_t i;

	if (!p->recurring) {
		if (p->interval != NULL)
			pr->interval = "must not be set for a one-time product";
		if (p->interval_count != 0)
			pr->interval_count = "must not be set for a one-time product";
		return;
	}
	if (p->interval == NULL) {
		pr->interval = "is required for a recurring product (day, week, month or year)";
		return;
	}
	for (i = 0; i < NINTERVALS && strcmp(p->interval, intervals[i].name) != 0; i++)
		;
	if (i == NINTERVALS)
		pr->interval = "must be day, week, month or year";
	else if (p->interval_count < 1)
		pr->interval_count = "must be at least 1";
	else if (p->interval_count > intervals[i].max_count)
		pr->interval_count = "must not make a period longer than three years";
}

bool
catalog_check(const struct product *p, struct catalog_problems *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->slug = catalog_check_slug(p->slug);
	pr->name = catalog_check_name(p->name);
	pr->description = catalog_check_description(p->description);
	pr->amount = catalog_check_amount(p->amount);
	pr->currency = catalog_check_currency(p->currency);
	check_terms(p, pr);
	pr->stripe_product_id = catalog_check_stripe_id(p->stripe_product_id, "prod_");
	pr->stripe_price_id = catalog_check_stripe_id(p->stripe_price_id, "price_");
	return pr->slug == NULL && pr->name == NULL && pr->description == NULL &&
	    pr->amount == NULL && pr->currency == NULL && pr->interval == NULL &&
	    pr->interval_count == NULL && pr->stripe_product_id == NULL &&
	    pr->stripe_price_id == NULL;
}

/* After a PB_ECONFLICT: the slug when another product has it, else a Stripe id. */
static const char *
conflict_of(struct db *db, const char *slug, uint64_t self)
{
	struct arena a;
	struct product other;
	const char *what = "Stripe id";

	arena_init(&a, (size_t)64 * 1024);
	if (slug != NULL && repo_products_get_by_slug(db, &a, slug, &other) == PB_OK &&
	    other.id != self)
		what = "slug";
	arena_cleanup(&a);
	return what;
}

enum pb_err
catalog_create(struct app *app, const struct product *p, struct catalog_problems *pr,
    const char **conflict, uint64_t *id)
{
	struct product in = *p;
	enum pb_err err;

	*conflict = NULL;
	*id = 0;
	/* "No description" has one spelling in the table: NULL. */
	if (in.description != NULL && in.description[0] == '\0')
		in.description = NULL;
	if (!catalog_check(&in, pr))
		return PB_EFIELDS;
	err = repo_products_insert(app->db, &in, id);
	if (err == PB_ECONFLICT)
		*conflict = conflict_of(app->db, in.slug, 0);
	return err;
}

/* ---- update -------------------------------------------------------------------------- */

struct update_tx {
	struct arena *a;
	uint64_t id;
	const struct product_changes *c;
	struct catalog_problems *pr;
	struct product *out;
};

/* Whether a and b are sold on the same terms (a Stripe price is good for both). */
static bool
same_terms(const struct product *a, const struct product *b)
{
	return a->amount == b->amount && strcmp(a->currency, b->currency) == 0 &&
	    a->recurring == b->recurring && a->interval_count == b->interval_count &&
	    (a->interval == NULL ? b->interval == NULL :
		b->interval != NULL && strcmp(a->interval, b->interval) == 0);
}

/* The row with c merged in, as catalog.h says; w receives what to write. */
static void
merge(const struct product *cur, const struct product_changes *c, struct product *m,
    struct product_changes *w)
{
	*m = *cur;
	*w = *c;
	if (c->slug != NULL)
		m->slug = c->slug;
	if (c->name != NULL)
		m->name = c->name;
	if (c->description != NULL)
		m->description = c->description[0] != '\0' ? c->description : NULL;
	if (c->currency != NULL)
		m->currency = c->currency;
	if (c->set_amount)
		m->amount = c->amount;
	if (c->set_kind) {
		if (c->recurring && !cur->recurring) {
			m->interval = c->interval;
			m->interval_count = c->interval_count != 0 ? c->interval_count : 1;
		} else if (c->recurring) {
			m->interval = c->interval != NULL ? c->interval : cur->interval;
			m->interval_count = c->interval_count != 0 ? c->interval_count :
			    cur->interval_count;
		} else {
			m->interval = c->interval;
			m->interval_count = c->interval_count;
		}
		m->recurring = c->recurring;
		w->interval = m->interval;
		w->interval_count = m->interval_count;
	}
	if (c->set_active)
		m->active = c->active;
	if (c->set_stripe_product)
		m->stripe_product_id = c->stripe_product_id;
	if (c->set_stripe_price) {
		m->stripe_price_id = c->stripe_price_id;
	} else if (!same_terms(cur, m)) {
		/* Prices are immutable: the old one sells other terms; the sync makes a new one. */
		m->stripe_price_id = NULL;
		w->set_stripe_price = true;
		w->stripe_price_id = NULL;
	}
}

static enum pb_err
update_in_tx(struct db *db, void *arg)
{
	struct update_tx *u = arg;
	struct product cur, merged;
	struct product_changes w;
	enum pb_err err;

	err = repo_products_lock(db, u->a, u->id, &cur);
	if (err != PB_OK)
		return err;
	merge(&cur, u->c, &merged, &w);
	if (!catalog_check(&merged, u->pr))
		return PB_EFIELDS;
	err = repo_products_update(db, u->id, &w);
	if (err == PB_OK)
		err = repo_products_get(db, u->a, u->id, u->out);
	return err;
}

enum pb_err
catalog_update(struct app *app, struct arena *a, uint64_t id, const struct product_changes *c,
    struct catalog_problems *pr, const char **conflict, struct product *out)
{
	struct update_tx u = { a, id, c, pr, out };
	enum pb_err err;

	*conflict = NULL;
	memset(pr, 0, sizeof(*pr));
	memset(out, 0, sizeof(*out));
	err = db_tx(app->db, update_in_tx, &u);
	if (err == PB_ECONFLICT)
		*conflict = conflict_of(app->db, c->slug, id);
	return err;
}

enum pb_err
catalog_archive(struct app *app, uint64_t id)
{
	return repo_products_archive(app->db, id);
}

enum pb_err
catalog_find(struct app *app, struct arena *a, const char *ref, struct product *out)
{
	long long id;
	enum pb_err err;

	if (strnum_parse(ref, 10, 1, LLONG_MAX, &id) == PB_OK) {
		err = repo_products_get(app->db, a, (uint64_t)id, out);
		if (err != PB_ENOTFOUND)
			return err;
	}
	if (catalog_check_slug(ref) != NULL)
		return PB_ENOTFOUND;
	return repo_products_get_by_slug(app->db, a, ref, out);
}

enum pb_err
catalog_list(struct app *app, struct arena *a, bool active_only, uint64_t after,
    size_t limit, struct product **items, size_t *n, bool *has_more)
{
	enum pb_err err;

	*items = NULL;
	*n = 0;
	*has_more = false;
	if (limit < 1 || limit > CATALOG_PAGE_MAX)
		return PB_EINVAL;
	/* One more than the page says whether another page follows, without a COUNT. */
	err = repo_products_list(app->db, a, active_only, after, limit + 1, items, n);
	if (err == PB_OK && *n > limit) {
		*n = limit;
		*has_more = true;
	}
	return err;
}

enum pb_err
catalog_get_active(struct app *app, struct arena *a, uint64_t id, struct product *out)
{
	enum pb_err err = repo_products_get(app->db, a, id, out);

	/* An archived product is not for sale: to a client it does not exist. */
	if (err == PB_OK && !out->active)
		err = PB_ENOTFOUND;
	return err;
}

/* ---- JSON -------------------------------------------------------------------------- */

/* A JSON string for s, or JSON null (*v NULL) when s is NULL; false when out of memory. */
static bool
str_or_null(const char *s, struct json_object **v)
{
	*v = s != NULL ? json_object_new_string(s) : NULL;
	return s == NULL || *v != NULL;
}

struct json_object *
catalog_product_json_new(const struct product *p, bool internal)
{
	char created[TIME_ISO8601_LEN], updated[TIME_ISO8601_LEN];
	struct member {
		const char *key;
		struct json_object *v;
		bool ok;
	} m[14];
	struct json_object *o;
	size_t n = 0, i;
	bool ok = true;

#define MEMBER(k, make) do { m[n].key = (k); m[n].ok = (make); n++; } while (0)
	MEMBER("id", (m[n].v = json_object_new_int64((int64_t)p->id)) != NULL);
	MEMBER("slug", str_or_null(p->slug, &m[n].v));
	MEMBER("name", str_or_null(p->name, &m[n].v));
	MEMBER("description", str_or_null(p->description, &m[n].v));
	MEMBER("amount", (m[n].v = json_object_new_int64(p->amount)) != NULL);
	MEMBER("currency", str_or_null(p->currency, &m[n].v));
	MEMBER("type", str_or_null(p->recurring ? "recurring" : "one_time", &m[n].v));
	MEMBER("interval", str_or_null(p->recurring ? p->interval : NULL, &m[n].v));
	if (p->recurring)
		MEMBER("intervalCount", (m[n].v = json_object_new_int64(p->interval_count)) != NULL);
	else
		MEMBER("intervalCount", (m[n].v = NULL, true));
	MEMBER("active", (m[n].v = json_object_new_boolean(p->active)) != NULL);
	if (internal) {
		time_iso8601(p->created_at, created, sizeof(created));
		time_iso8601(p->updated_at, updated, sizeof(updated));
		MEMBER("stripeProductId", str_or_null(p->stripe_product_id, &m[n].v));
		MEMBER("stripePriceId", str_or_null(p->stripe_price_id, &m[n].v));
		MEMBER("createdAt", str_or_null(created, &m[n].v));
		MEMBER("updatedAt", str_or_null(updated, &m[n].v));
	}
#undef MEMBER
	o = json_object_new_object();
	for (i = 0; i < n; i++)
		ok = ok && m[i].ok;
	for (i = 0; i < n && ok && o != NULL; i++) {
		/* json-c takes m[i].v when the add works; on failure it stays ours to put. */
		ok = json_object_object_add(o, m[i].key, m[i].v) == 0;
		if (ok)
			m[i].v = NULL;
	}
	for (i = 0; i < n; i++)
		json_object_put(m[i].v);
	if (!ok || o == NULL) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
