/*
 * services/reconcile, the pure part: each kind of drift seeded by hand in a set of
 * customers and pages of users, and what is found, in order.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/users.h"
#include "services/reconcile.h"
#include "unit.h"

#define MAX_FOUND 64

/* A finding as a line, so that a whole walk compares as a list of strings. */
struct found {
	char line[MAX_FOUND][256];
	size_t n;
	size_t stop_after;	/* 0: never; else PB_EBUSY after that many */
};

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static enum pb_err
collect(void *arg, struct reconcile_finding *f)
{
	struct found *fo = arg;

	if (fo->n == MAX_FOUND)
		return PB_ENOMEM;
	(void)snprintf(fo->line[fo->n], sizeof(fo->line[0]), "%s %" PRIu64 " %s adopt=%s ours=%s "
	    "stripe=%s", reconcile_kind_name(f->kind), f->user_id, or_dash(f->customer),
	    or_dash(f->adopt), or_dash(f->ours), or_dash(f->stripe));
	fo->n++;
	if (fo->stop_after != 0 && fo->n == fo->stop_after)
		return PB_EBUSY;
	return PB_OK;
}

static void
expect_lines(const struct found *fo, const char *const *want, size_t n)
{
	CU_ASSERT_EQUAL(fo->n, n);
	for (size_t i = 0; i < n && i < fo->n; i++) {
		if (strcmp(fo->line[i], want[i]) != 0) {
			fprintf(stderr, "\n  finding %zu:\n    got  %s\n    want %s\n", i, fo->line[i],
			    want[i]);
			CU_FAIL("a finding differs");
		}
	}
	for (size_t i = n; i < fo->n; i++)
		fprintf(stderr, "\n  extra finding: %s\n", fo->line[i]);
}

static void
add(struct reconcile_set *s, const char *id, const char *uid, const char *name,
    const char *email, int64_t created)
{
	CU_ASSERT_EQUAL_FATAL(reconcile_set_add(s, id, uid, name, email, created), PB_OK);
}

static struct user
user(uint64_t id, const char *name, const char *email, const char *customer)
{
	struct user u;

	memset(&u, 0, sizeof(u));
	u.id = id;
	u.name = name;
	u.email = email;
	u.stripe_customer_id = customer;
	return u;
}

static void
test_kind_names(void)
{
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_MISSING_CUSTOMER), "missing_customer");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_DANGLING_CUSTOMER),
	    "dangling_customer");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_ORPHAN), "orphan");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_DUPLICATE), "duplicate");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_NAME_DRIFT), "name_drift");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE_EMAIL_DRIFT), "email_drift");
	CU_ASSERT_STRING_EQUAL(reconcile_kind_name(RECONCILE__MAX), "unknown");
}

static void
test_parse_user_id(void)
{
	static const char *const bad[] = { "", "0", "007", "-1", "+1", " 1", "1 ", "1a", "0x10",
	    "18446744073709551616", "99999999999999999999" };
	uint64_t v;

	CU_ASSERT_TRUE(reconcile_parse_user_id("1", &v));
	CU_ASSERT_EQUAL(v, 1);
	CU_ASSERT_TRUE(reconcile_parse_user_id("4200", &v));
	CU_ASSERT_EQUAL(v, 4200);
	CU_ASSERT_TRUE(reconcile_parse_user_id("18446744073709551615", &v));
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	CU_ASSERT_FALSE(reconcile_parse_user_id(NULL, &v));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		CU_ASSERT_FALSE(reconcile_parse_user_id(bad[i], &v));
		CU_ASSERT_EQUAL(v, 0);
	}
}

/* Every kind at once, users in two pages, and what must not be found. */
static void
test_every_kind(void)
{
	static const char *const want[] = {
		"name_drift 2 cus_b2 adopt=- ours=Bea Two stripe=Bea 2",
		"email_drift 3 cus_c3 adopt=- ours=c3@example.test stripe=C3@example.test",
		"missing_customer 4 - adopt=- ours=- stripe=-",
		"missing_customer 5 - adopt=cus_e5old ours=- stripe=-",
		"duplicate 5 cus_e5new adopt=- ours=cus_e5old stripe=-",
		"dangling_customer 6 cus_gone6 adopt=- ours=- stripe=-",
		/* page 2 */
		"dangling_customer 7 cus_gone7 adopt=cus_g7 ours=- stripe=-",
		"duplicate 8 cus_h8dup adopt=- ours=cus_h8 stripe=-",
		"name_drift 13 cus_m13 adopt=- ours=Mo stripe=-",
		"email_drift 13 cus_m13 adopt=- ours=m13@example.test stripe=m13@example.test ",
		"missing_customer 14 - adopt=cus_n14 ours=- stripe=-",
		"email_drift 14 cus_n14 adopt=- ours=n14@example.test stripe=old14@example.test",
		/* orphans, by user id: the odd metadata sorts first */
		"orphan 0 cus_bad adopt=- ours=- stripe=abc",
		"orphan 10 cus_t10 adopt=- ours=- stripe=10",
		"orphan 99 cus_orph99 adopt=- ours=- stripe=99",
	};
	struct reconcile_set s;
	struct found fo = { .n = 0 };
	struct user page1[6], page2[8];

	reconcile_set_init(&s);
	/* Newest first, as Stripe lists them; the set does not care. */
	add(&s, "cus_orph99", "99", "Nobody", "nobody@example.test", 90);
	add(&s, "cus_bad", "abc", "Odd", "odd@example.test", 89);
	add(&s, "cus_foreign", NULL, "Someone Else", "else@example.test", 88);
	add(&s, "cus_foreign2", "", "Someone Else", "else@example.test", 87);
	add(&s, "cus_t10", "10", "Closed", "", 86);
	add(&s, "cus_a1", "1", "Ann One", "a1@example.test", 80);
	add(&s, "cus_a1", "1", "Ann One", "a1@example.test", 80);	/* listed twice */
	add(&s, "cus_b2", "2", "Bea 2", "b2@example.test", 79);
	add(&s, "cus_c3", "3", "Cy Three", "C3@example.test", 78);
	add(&s, "cus_e5new", "5", "Eve Five", "e5@example.test", 77);
	add(&s, "cus_e5old", "5", "Eve Five", "e5@example.test", 76);
	add(&s, "cus_g7", "7", "Gil Seven", "g7@example.test", 75);
	add(&s, "cus_h8", "8", "Hal Eight", "h8@example.test", 74);
	add(&s, "cus_h8dup", "8", "Hal Eight", "h8@example.test", 73);
	/* Linked by user 11, naming user 12: user 11's, never 12's duplicate. */
	add(&s, "cus_x11", "12", "Ida Eleven", "i11@example.test", 72);
	add(&s, "cus_l12", "12", "Jo Twelve", "j12@example.test", 71);
	/* Stripe without a name is drift against ours; the email differs by a space. */
	add(&s, "cus_m13", "13", NULL, "m13@example.test ", 70);
	/* The customer to adopt differs: pushed once adopted. */
	add(&s, "cus_n14", "14", "Ned", "old14@example.test", 69);
	CU_ASSERT_EQUAL(s.foreign, 2);
	CU_ASSERT_EQUAL_FATAL(reconcile_set_seal(&s), PB_OK);
	CU_ASSERT_EQUAL(reconcile_set_add(&s, "cus_late", "1", NULL, NULL, 0), PB_EINVAL);

	page1[0] = user(1, "Ann One", "a1@example.test", "cus_a1");
	page1[1] = user(2, "Bea Two", "b2@example.test", "cus_b2");
	page1[2] = user(3, "Cy Three", "c3@example.test", "cus_c3");
	page1[3] = user(4, "Dan Four", "d4@example.test", NULL);
	page1[4] = user(5, "Eve Five", "e5@example.test", NULL);
	page1[5] = user(6, "Fay Six", "f6@example.test", "cus_gone6");
	page2[0] = user(7, "Gil Seven", "g7@example.test", "cus_gone7");
	page2[1] = user(8, "Hal Eight", "h8@example.test", "cus_h8");
	page2[2] = user(9, "Ike Nine", "i9@example.test", "cus_foreign");
	page2[3] = user(10, "", "", "cus_t10");
	page2[3].deleted = true;	/* a tombstone: as if absent */
	page2[4] = user(11, "Ida Eleven", "i11@example.test", "cus_x11");
	page2[5] = user(12, "Jo Twelve", "j12@example.test", "cus_l12");
	page2[6] = user(13, "Mo", "m13@example.test", "cus_m13");
	page2[7] = user(14, "Ned", "n14@example.test", NULL);
	CU_ASSERT_EQUAL(reconcile_match_users(&s, page1, 6, collect, &fo), PB_OK);
	CU_ASSERT_EQUAL(fo.n, 6);
	CU_ASSERT_EQUAL(reconcile_match_users(&s, page2, 8, collect, &fo), PB_OK);
	CU_ASSERT_EQUAL(reconcile_match_orphans(&s, collect, &fo), PB_OK);
	expect_lines(&fo, want, sizeof(want) / sizeof(want[0]));
	reconcile_set_cleanup(&s);
	reconcile_set_cleanup(&s);	/* twice is fine */
}

/* Nothing to find: every user has its one customer, with the same name and email. */
static void
test_in_sync(void)
{
	struct reconcile_set s;
	struct found fo = { .n = 0 };
	struct user u[3];

	reconcile_set_init(&s);
	add(&s, "cus_1", "1", "Zo\xc3\xab", "z@example.test", 2);
	add(&s, "cus_2", "2", "Ann", "a@example.test", 1);
	add(&s, "cus_3", "3", NULL, "c@example.test", 1);
	add(&s, "cus_f", NULL, NULL, NULL, 0);
	CU_ASSERT_EQUAL_FATAL(reconcile_set_seal(&s), PB_OK);
	u[0] = user(1, "Zo\xc3\xab", "z@example.test", "cus_1");
	u[1] = user(2, "Ann", "a@example.test", "cus_2");
	/* An empty name here and none in Stripe are the same. */
	u[2] = user(3, "", "c@example.test", "cus_3");
	CU_ASSERT_EQUAL(reconcile_match_users(&s, u, 3, collect, &fo), PB_OK);
	CU_ASSERT_EQUAL(reconcile_match_orphans(&s, collect, &fo), PB_OK);
	CU_ASSERT_EQUAL(fo.n, 0);
	reconcile_set_cleanup(&s);
}

/* Byte for byte: case, and composed against decomposed accents, are drift. */
static void
test_byte_for_byte(void)
{
	static const char *const want[] = {
		"name_drift 1 cus_1 adopt=- ours=ann stripe=Ann",
		"name_drift 2 cus_2 adopt=- ours=Zo\xc3\xab stripe=Zoe\xcc\x88",
		"email_drift 3 cus_3 adopt=- ours=A@example.test stripe=a@example.test",
	};
	struct reconcile_set s;
	struct found fo = { .n = 0 };
	struct user u[3];

	reconcile_set_init(&s);
	add(&s, "cus_1", "1", "Ann", "a@example.test", 0);
	add(&s, "cus_2", "2", "Zoe\xcc\x88", "z@example.test", 0);
	add(&s, "cus_3", "3", "Cy", "a@example.test", 0);
	CU_ASSERT_EQUAL_FATAL(reconcile_set_seal(&s), PB_OK);
	u[0] = user(1, "ann", "a@example.test", "cus_1");
	u[1] = user(2, "Zo\xc3\xab", "z@example.test", "cus_2");
	u[2] = user(3, "Cy", "A@example.test", "cus_3");
	CU_ASSERT_EQUAL(reconcile_match_users(&s, u, 3, collect, &fo), PB_OK);
	CU_ASSERT_EQUAL(reconcile_match_orphans(&s, collect, &fo), PB_OK);
	expect_lines(&fo, want, sizeof(want) / sizeof(want[0]));
	reconcile_set_cleanup(&s);
}

/* An error from the callback stops the matching and comes back. */
static void
test_emit_stops(void)
{
	struct reconcile_set s;
	struct found fo = { .n = 0, .stop_after = 2 };
	struct user u[3];

	reconcile_set_init(&s);
	CU_ASSERT_EQUAL(reconcile_set_add(&s, "", "1", NULL, NULL, 0), PB_EINVAL);
	CU_ASSERT_EQUAL(reconcile_set_add(&s, NULL, "1", NULL, NULL, 0), PB_EINVAL);
	u[0] = user(1, "A", "a@example.test", NULL);
	u[1] = user(2, "B", "b@example.test", NULL);
	u[2] = user(3, "C", "c@example.test", NULL);
	/* Not sealed yet. */
	CU_ASSERT_EQUAL(reconcile_match_users(&s, u, 3, collect, &fo), PB_EINVAL);
	CU_ASSERT_EQUAL(reconcile_match_orphans(&s, collect, &fo), PB_EINVAL);
	CU_ASSERT_PTR_NULL(reconcile_set_find(&s, "cus_1"));
	CU_ASSERT_EQUAL_FATAL(reconcile_set_seal(&s), PB_OK);	/* empty is fine */
	CU_ASSERT_PTR_NULL(reconcile_set_find(&s, "cus_1"));
	CU_ASSERT_EQUAL(reconcile_match_users(&s, u, 3, collect, &fo), PB_EBUSY);
	CU_ASSERT_EQUAL(fo.n, 2);
	reconcile_set_cleanup(&s);
}

/* Many customers: the array grows, the pool takes chunks, one string bigger than one. */
static void
test_many(void)
{
	enum { N = 5000 };
	struct reconcile_set s;
	struct found fo = { .n = 0 };
	struct reconcile_customer *c;
	char id[32], uid[24], *big;
	size_t bigsize = 300 * 1024;

	big = malloc(bigsize + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'n', bigsize);
	big[bigsize] = '\0';
	reconcile_set_init(&s);
	for (int i = N; i >= 1; i--) {
		(void)snprintf(id, sizeof(id), "cus_%08d", i);
		(void)snprintf(uid, sizeof(uid), "%d", i);
		add(&s, id, uid, i == 77 ? big : "Name", "n@example.test", i);
	}
	CU_ASSERT_EQUAL_FATAL(reconcile_set_seal(&s), PB_OK);
	CU_ASSERT_EQUAL(s.n, N);
	for (int i = 1; i <= N; i++) {
		(void)snprintf(id, sizeof(id), "cus_%08d", i);
		c = reconcile_set_find(&s, id);
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_STRING_EQUAL(c->id, id);
		CU_ASSERT_EQUAL(c->user_id, (uint64_t)i);
	}
	c = reconcile_set_find(&s, "cus_00000077");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(strlen(c->name), bigsize);
	CU_ASSERT_PTR_NULL(reconcile_set_find(&s, "cus_00000000"));
	CU_ASSERT_PTR_NULL(reconcile_set_find(&s, "cus_99999999"));
	/* The users never came: every one an orphan, in user id order. */
	CU_ASSERT_EQUAL(reconcile_match_orphans(&s, collect, &fo), PB_ENOMEM);
	CU_ASSERT_EQUAL(fo.n, MAX_FOUND);
	CU_ASSERT_STRING_EQUAL(fo.line[0], "orphan 1 cus_00000001 adopt=- ours=- stripe=1");
	reconcile_set_cleanup(&s);
	free(big);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_kind_names),
	UNIT_TEST(test_parse_user_id),
	UNIT_TEST(test_every_kind),
	UNIT_TEST(test_in_sync),
	UNIT_TEST(test_byte_for_byte),
	UNIT_TEST(test_emit_stops),
	UNIT_TEST(test_many),
};

UNIT_MAIN("reconcile", tests)
