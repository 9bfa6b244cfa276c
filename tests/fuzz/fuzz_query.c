/*
 * libFuzzer target for the query strings handlers read: the input is a QUERY_STRING,
 * decoded by request_query as every handler does, then read by the list pagers
 * (handlers_page, _id, _stripe: ?limit and ?startingAfter) and the long-poll reader
 * (live_parse_wait: ?wait and ?after). Checked: a page accepted has 1 <= limit <= 100 and
 * a cursor of at most 255 bytes; one refused says why in fields; a wait accepted is 0
 * (none) or 1..LIVE_WAIT_MAX seconds with a known status, one refused names its field.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/handlers_private.h"
#include "http/request.h"
#include "services/live.h"
#include "services/payments.h"

#define QUERY_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The invariants of a pager's answer. */
static void
check_page(enum pb_err err, size_t limit, const char *after, struct json_object *fields)
{
	if (err == PB_OK) {
		if (fields != NULL || limit < 1 || limit > HANDLERS_PAGE_MAX ||
		    (after != NULL && (after[0] == '\0' || strlen(after) > 255)))
			abort();
	} else if (err == PB_EFIELDS) {
		if (fields == NULL || json_object_object_length(fields) == 0)
			abort();
	} else if (err != PB_EINVAL) {
		abort();	/* a query is either malformed or read */
	}
	json_object_put(fields);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char qs[QUERY_MAX + sizeof("QUERY_STRING=")];
	char method[] = "REQUEST_METHOD=GET", uri[] = "REQUEST_URI=/v1/orders";
	char *envp[] = { method, uri, qs, NULL };
	struct json_object *fields = NULL;
	struct request req;
	struct arena a;
	struct form q;
	const char *after, *field;
	size_t limit;
	uint64_t after_id;
	int seconds;

	if (size > QUERY_MAX || memchr(data, '\0', size) != NULL)
		return 0;	/* a FastCGI parameter is a C string */
	memcpy(qs, "QUERY_STRING=", 13);
	memcpy(qs + 13, data, size);
	qs[13 + size] = '\0';
	arena_init(&a, 4 * 1024 * 1024);
	if (request_init(&req, &a, envp, NULL, NULL) != PB_OK)
		abort();
	check_page(handlers_page(&req, &limit, &after, &fields), limit, after, fields);
	fields = NULL;
	check_page(handlers_page_id(&req, &limit, &after_id, &fields), limit, NULL, fields);
	fields = NULL;
	after = NULL;
	{
		enum pb_err err = handlers_page_stripe(&req, &limit, &after, &fields);

		if (err == PB_OK && after != NULL && !payments_id_valid(after))
			abort();
		check_page(err, limit, after, fields);
	}
	if (request_query(&req, &q) == PB_OK) {
		const char *wait = form_get(&q, "wait"), *st = form_get(&q, "after");

		field = NULL;
		seconds = -1;
		if (live_parse_wait(wait, st, &seconds, &field)) {
			if (seconds < 0 || seconds > LIVE_WAIT_MAX || (wait == NULL && seconds != 0) ||
			    (wait != NULL && seconds < 1) ||
			    (st != NULL && !live_status_known(st)))
				abort();
		} else if (field == NULL ||
		    (strcmp(field, "wait") != 0 && strcmp(field, "after") != 0)) {
			abort();
		}
	}
	arena_cleanup(&a);
	return 0;
}
