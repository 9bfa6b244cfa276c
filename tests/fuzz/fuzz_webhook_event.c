/*
 * libFuzzer target for Stripe event parsing: the event JSON as a delivery carries it,
 * through the same strict parser and webhook_event_parse as the webhook path. Checked:
 * an accepted event has a non-empty id of at most 255 bytes, a type, created >= 0 and an
 * object under data.object; classifying its type never fails.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/webhooks_internal.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root = NULL;
	struct wh_event e;
	const char *why;

	if (json_parse((const char *)data, size, 64, &root) != PB_OK)
		return 0;
	if (webhook_event_parse(root, &e, &why) == PB_OK) {
		if (e.id == NULL || e.id[0] == '\0' || strlen(e.id) > 255 || e.type == NULL ||
		    e.created < 0 || e.object == NULL ||
		    !json_object_is_type(e.object, json_type_object))
			abort();
		if ((unsigned)webhook_event_class(e.type) >= METRICS_EVC__MAX)
			abort();
	} else if (why == NULL) {
		abort();
	}
	json_object_put(root);
	return 0;
}
