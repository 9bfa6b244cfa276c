/*
 * Reconciliation, the pure part (see reconcile.h): the set of live Stripe customers a
 * walk keeps, and the matching of users against it. No I/O here, so that
 * tests/unit/test_reconcile.c can seed every kind of drift by hand.
 *
 * The set is one array sorted by (user id, created, id), so that the customers naming a
 * user are one run found by binary search (the oldest first: the one to adopt), and an
 * array of pointers into it sorted by id for the user's own customer. Strings go into
 * a pool of large chunks: one malloc per POOL_CHUNK bytes instead of four per customer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "repo/users.h"
#include "services/reconcile.h"

#define POOL_CHUNK (256 * 1024)
#define FIRST_CAP 1024

struct reconcile_chunk {
	struct reconcile_chunk *next;
	size_t used, size;
	char data[];
};

static const char *const kind_names[RECONCILE__MAX] = {
	[RECONCILE_MISSING_CUSTOMER] = "missing_customer",
	[RECONCILE_DANGLING_CUSTOMER] = "dangling_customer",
	[RECONCILE_ORPHAN] = "orphan",
	[RECONCILE_DUPLICATE] = "duplicate",
	[RECONCILE_NAME_DRIFT] = "name_drift",
	[RECONCILE_EMAIL_DRIFT] = "email_drift",
};

const char *
reconcile_kind_name(enum reconcile_kind kind)
{
	return kind < RECONCILE__MAX ? kind_names[kind] : "unknown";
}

void
reconcile_set_init(struct reconcile_set *s)
{
	memset(s, 0, sizeof(*s));
}

void
reconcile_set_cleanup(struct reconcile_set *s)
{
	struct reconcile_chunk *c, *next;

	for (c = s->pool; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(s->v);
	free(s->by_id);
	memset(s, 0, sizeof(*s));
}

/* A copy of str in the pool; NULL stays NULL. *err set to PB_ENOMEM on failure. */
static const char *
pool_dup(struct reconcile_set *s, const char *str, enum pb_err *err)
{
	struct reconcile_chunk *c = s->pool;
	size_t len;
	char *p;

	if (str == NULL || *err != PB_OK)
		return NULL;
	len = strlen(str) + 1;
	if (c == NULL || c->size - c->used < len) {
		size_t size = len > POOL_CHUNK ? len : POOL_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (c == NULL) {
			*err = PB_ENOMEM;
			return NULL;
		}
		c->size = size;
		c->used = 0;
		c->next = s->pool;
		s->pool = c;
	}
	p = c->data + c->used;
	memcpy(p, str, len);
	c->used += len;
	return p;
}

bool
reconcile_parse_user_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	*out = 0;
	if (s == NULL || s[0] < '1' || s[0] > '9')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

enum pb_err
reconcile_set_add(struct reconcile_set *s, const char *id, const char *user_id,
    const char *name, const char *email, int64_t created)
{
	struct reconcile_customer *c;
	enum pb_err err = PB_OK;

	bool foreign = user_id == NULL || user_id[0] == '\0';

	if (s->sealed || id == NULL || id[0] == '\0')
		return PB_EINVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? FIRST_CAP : s->cap * 2;
		void *v;

		if (cap < s->cap || cap > SIZE_MAX / sizeof(*s->v))
			return PB_ENOMEM;
		v = realloc(s->v, cap * sizeof(*s->v));
		if (v == NULL)
			return PB_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	c = &s->v[s->n];
	memset(c, 0, sizeof(*c));
	c->id = pool_dup(s, id, &err);
	c->created = created;
	/*
	 * A foreign customer is kept by id alone: a user linked to one is not dangling, and
	 * nothing else about it matters to us.
	 */
	c->foreign = foreign;
	if (!foreign) {
		c->user_id_text = pool_dup(s, user_id, &err);
		c->name = pool_dup(s, name, &err);
		c->email = pool_dup(s, email, &err);
		(void)reconcile_parse_user_id(user_id, &c->user_id);
	}
	if (err != PB_OK)
		return err;	/* what was copied stays in the pool until cleanup */
	s->n++;
	if (foreign)
		s->foreign++;
	return PB_OK;
}

static int
by_user(const void *pa, const void *pb)
{
	const struct reconcile_customer *a = pa, *b = pb;

	if (a->user_id != b->user_id)
		return a->user_id < b->user_id ? -1 : 1;
	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int
by_id(const void *pa, const void *pb)
{
	const struct reconcile_customer *const *a = pa, *const *b = pb;
	int c = strcmp((*a)->id, (*b)->id);

	/* Equal ids: the earlier in the array first, so that it is the copy kept. */
	if (c == 0)
		return *a < *b ? -1 : *a > *b;
	return c;
}

enum pb_err
reconcile_set_seal(struct reconcile_set *s)
{
	if (s->sealed)
		return PB_OK;
	if (s->n > 0) {
		qsort(s->v, s->n, sizeof(*s->v), by_user);
		s->by_id = calloc(s->n, sizeof(struct reconcile_customer *));
		if (s->by_id == NULL)
			return PB_ENOMEM;
		for (size_t i = 0; i < s->n; i++)
			s->by_id[i] = &s->v[i];
		qsort(s->by_id, s->n, sizeof(struct reconcile_customer *), by_id);
		/*
		 * A customer listed twice (pages that moved under the walk) would otherwise be
		 * its own duplicate.
		 */
		for (size_t i = 1; i < s->n; i++) {
			if (strcmp(s->by_id[i]->id, s->by_id[i - 1]->id) == 0)
				s->by_id[i]->repeat = true;
		}
	}
	s->sealed = true;
	return PB_OK;
}

struct reconcile_customer *
reconcile_set_find(const struct reconcile_set *s, const char *id)
{
	size_t lo = 0, hi = s->n;

	if (!s->sealed || id == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->by_id[mid]->id, id);

		if (c == 0) {
			/* The first copy: repeats sort after it. */
			while (mid > 0 && strcmp(s->by_id[mid - 1]->id, id) == 0)
				mid--;
			return s->by_id[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The run of customers naming user_id: v[*first .. *first + *count). */
static void
named_by(const struct reconcile_set *s, uint64_t user_id, size_t *first, size_t *count)
{
	size_t lo = 0, hi = s->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].user_id < user_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = lo;
	while (end < s->n && s->v[end].user_id == user_id)
		end++;
	*first = lo;
	*count = end - lo;
}

/* Byte for byte; Stripe's NULL (no name) equals nothing but an empty value. */
static bool
differ(const char *ours, const char *theirs)
{
	return strcmp(ours != NULL ? ours : "", theirs != NULL ? theirs : "") != 0;
}

static enum pb_err
emit_one(reconcile_emit_fn emit, void *arg, enum reconcile_kind kind, uint64_t user_id,
    const char *customer, const char *adopt, const char *ours, const char *stripe)
{
	struct reconcile_finding f = {
		.kind = kind,
		.user_id = user_id,
		.customer = customer,
		.adopt = adopt,
		.ours = ours,
		.stripe = stripe,
	};

	return emit(arg, &f);
}

static enum pb_err
match_one(struct reconcile_set *s, const struct user *u, reconcile_emit_fn emit, void *arg)
{
	struct reconcile_customer *own = NULL, *adopt = NULL, *keep;
	const char *keeps;
	size_t first, count;
	enum pb_err err = PB_OK;

	first = count = 0;
	if (u->id != 0)		/* 0 is where foreign customers and odd user ids sort */
		named_by(s, u->id, &first, &count);
	if (u->stripe_customer_id != NULL) {
		own = reconcile_set_find(s, u->stripe_customer_id);
		if (own != NULL)
			own->linked = true;
	}
	/*
	 * Without a live customer of its own, the oldest live one naming the user is the
	 * one to adopt; one another user links is that user's, never adopted.
	 */
	for (size_t i = first; i < first + count && own == NULL && adopt == NULL; i++) {
		if (!s->v[i].repeat && !s->v[i].linked)
			adopt = &s->v[i];
	}
	if (u->stripe_customer_id == NULL)
		err = emit_one(emit, arg, RECONCILE_MISSING_CUSTOMER, u->id, NULL,
		    adopt != NULL ? adopt->id : NULL, NULL, NULL);
	else if (own == NULL)
		err = emit_one(emit, arg, RECONCILE_DANGLING_CUSTOMER, u->id,
		    u->stripe_customer_id, adopt != NULL ? adopt->id : NULL, NULL, NULL);
	/*
	 * What the user keeps once repaired: its own customer, or the adopted one, whose
	 * name and email must then be ours too. Foreign customers are never touched, so
	 * their names are none of our business.
	 */
	keep = own != NULL ? own : adopt;
	keeps = keep != NULL ? keep->id : NULL;
	if (err == PB_OK && keep != NULL && !keep->foreign && differ(u->name, keep->name))
		err = emit_one(emit, arg, RECONCILE_NAME_DRIFT, u->id, keep->id, NULL, u->name,
		    keep->name);
	if (err == PB_OK && keep != NULL && !keep->foreign && differ(u->email, keep->email))
		err = emit_one(emit, arg, RECONCILE_EMAIL_DRIFT, u->id, keep->id, NULL, u->email,
		    keep->email);
	for (size_t i = first; i < first + count && err == PB_OK; i++) {
		struct reconcile_customer *c = &s->v[i];

		if (c->repeat)
			continue;
		c->named = true;
		if (c == own || c == adopt || c->linked)
			continue;
		err = emit_one(emit, arg, RECONCILE_DUPLICATE, u->id, c->id, NULL, keeps, NULL);
	}
	return err;
}

enum pb_err
reconcile_match_users(struct reconcile_set *s, const struct user *users, size_t n,
    reconcile_emit_fn emit, void *arg)
{
	enum pb_err err = PB_OK;

	if (!s->sealed)
		return PB_EINVAL;
	for (size_t i = 0; i < n && err == PB_OK; i++) {
		if (!users[i].deleted)
			err = match_one(s, &users[i], emit, arg);
	}
	return err;
}

enum pb_err
reconcile_match_orphans(struct reconcile_set *s, reconcile_emit_fn emit, void *arg)
{
	enum pb_err err = PB_OK;

	if (!s->sealed)
		return PB_EINVAL;
	for (size_t i = 0; i < s->n && err == PB_OK; i++) {
		const struct reconcile_customer *c = &s->v[i];

		if (!c->repeat && !c->foreign && !c->linked && !c->named)
			err = emit_one(emit, arg, RECONCILE_ORPHAN, c->user_id, c->id, NULL, NULL,
			    c->user_id_text);
	}
	return err;
}
