/*
 * When a Stripe event may change a stored row (docs/ARCHITECTURE.md, "Webhooks"). Each
 * row keeps the `created` of the event that last changed it. An event changes the row
 * when the row's status is not terminal and the event is newer, or as old to the second
 * and its status ranks higher in the object's life cycle. Stripe's `created` has a
 * resolution of one second, and several events of one object often share it
 * (payment_intent.processing and .succeeded); the rank makes the outcome the same in
 * whichever order they arrive, and never a step back. Pure functions, no I/O.
 */
#ifndef PB_SERVICES_WEBHOOK_RULES_H
#define PB_SERVICES_WEBHOOK_RULES_H

#include <stdbool.h>
#include <stdint.h>

enum webhook_object {
	WEBHOOK_OBJ_PAYMENT_INTENT,
	WEBHOOK_OBJ_CHECKOUT_SESSION,
	WEBHOOK_OBJ_SUBSCRIPTION,
	WEBHOOK_OBJ__MAX
};

/* The rank of status in o's life cycle, 1 and up; 0 for a status we do not know. */
int webhook_rank(enum webhook_object o, const char *status);

/* Whether status is terminal for o: a row in it never changes status again. */
bool webhook_terminal(enum webhook_object o, const char *status);

/*
 * o's terminal statuses as one comma-separated list ("canceled,succeeded"), for SQL's
 * FIND_IN_SET; NULL for an unknown o. A static string.
 */
const char *webhook_terminal_set(enum webhook_object o);

/*
 * Whether an event of new_created carrying new_status may change a row now in cur_status
 * changed by an event of cur_created. fresh_read: not an event but Stripe's answer to our
 * own request, which wins a tie of the same second and the same rank.
 */
bool webhook_should_apply(enum webhook_object o, const char *cur_status, int64_t cur_created,
    const char *new_status, int64_t new_created, bool fresh_read);

#endif
