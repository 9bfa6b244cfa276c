#include "config.h"

#include <stddef.h>
#include <string.h>

#include "services/webhook_rules.h"

struct rank {
	const char *status;
	int rank;
	bool terminal;
};

/*
 * Ranks follow each object's life cycle; statuses Stripe may move between both ways
 * (requires_payment_method after a failed attempt) simply rank by how far a payment got.
 * Terminal statuses rank highest, so a tie can only move towards them.
 */
static const struct rank pi_ranks[] = {
	{ "requires_payment_method", 1, false },
	{ "requires_confirmation", 2, false },
	{ "requires_action", 3, false },
	{ "processing", 4, false },
	{ "requires_capture", 5, false },
	{ "canceled", 6, true },
	{ "succeeded", 7, true },
	{ NULL, 0, false },
};

static const struct rank session_ranks[] = {
	{ "open", 1, false },
	{ "expired", 2, true },
	{ "complete", 3, true },
	{ NULL, 0, false },
};

static const struct rank sub_ranks[] = {
	{ "incomplete", 1, false },
	{ "trialing", 2, false },
	{ "active", 3, false },
	{ "past_due", 4, false },
	{ "unpaid", 5, false },
	{ "paused", 5, false },
	{ "incomplete_expired", 6, true },
	{ "canceled", 7, true },
	{ NULL, 0, false },
};

static const struct rank *const tables[WEBHOOK_OBJ__MAX] = {
	[WEBHOOK_OBJ_PAYMENT_INTENT] = pi_ranks,
	[WEBHOOK_OBJ_CHECKOUT_SESSION] = session_ranks,
	[WEBHOOK_OBJ_SUBSCRIPTION] = sub_ranks,
};

static const struct rank *
find(enum webhook_object o, const char *status)
{
	const struct rank *r;

	if ((unsigned)o >= WEBHOOK_OBJ__MAX || status == NULL)
		return NULL;
	for (r = tables[o]; r->status != NULL; r++) {
		if (strcmp(r->status, status) == 0)
			return r;
	}
	return NULL;
}

int
webhook_rank(enum webhook_object o, const char *status)
{
	const struct rank *r = find(o, status);

	return r != NULL ? r->rank : 0;
}

bool
webhook_terminal(enum webhook_object o, const char *status)
{
	const struct rank *r = find(o, status);

	return r != NULL && r->terminal;
}

const char *
webhook_terminal_set(enum webhook_object o)
{
	static char sets[WEBHOOK_OBJ__MAX][128];
	char *set;
	size_t n = 0;

	if ((unsigned)o >= WEBHOOK_OBJ__MAX)
		return NULL;
	set = sets[o];
	if (set[0] != '\0')
		return set;
	for (const struct rank *r = tables[o]; r->status != NULL; r++) {
		size_t len = strlen(r->status);

		if (!r->terminal)
			continue;
		if (n + len + 2 > sizeof(sets[o]))
			return NULL;	/* never with these tables; a partial set would be wrong */
		if (n > 0)
			set[n++] = ',';
		memcpy(set + n, r->status, len);
		n += len;
		set[n] = '\0';
	}
	return set;
}

bool
webhook_should_apply(enum webhook_object o, const char *cur_status, int64_t cur_created,
    const char *new_status, int64_t new_created, bool fresh_read)
{
	int cur_rank, new_rank;

	if (webhook_terminal(o, cur_status))
		return false;
	if (new_created != cur_created)
		return new_created > cur_created;
	cur_rank = webhook_rank(o, cur_status);
	new_rank = webhook_rank(o, new_status);
	/*
	 * Same second: the later stage wins. At the same stage an event changes nothing, but
	 * our own read does: what Stripe answered to a request made now includes whatever
	 * that second's events said (a cancel at period end keeps `active`, and was lost
	 * when it came in the second the subscription was created).
	 */
	return new_rank > cur_rank || (fresh_read && new_rank == cur_rank);
}
