/*
 * Shared by the files of src/stripe only: the call helpers each resource file is built
 * on, and readers for the JSON Stripe answers with. Not part of the module's contract.
 */
#ifndef PB_STRIPE_INTERNAL_H
#define PB_STRIPE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "stripe/client.h"

#define STRIPE_PATH_MAX 512
#define STRIPE_LIST_DEFAULT 100
#define STRIPE_LIST_CAP 10000	/* the most items one list call collects */

/* Fills out (a typed struct) from obj, taking a reference. */
typedef enum pb_err (*stripe_parse_fn)(struct json_object *obj, void *out);

/*
 * Records a failure that happened without a Stripe error answer (bad argument, unexpected
 * answer) as the last error, and returns err.
 */
enum pb_err stripe_fail(struct stripe *s, enum pb_err err, const char *message);

/*
 * Sends one request (stripe_request) to prefix + escaped id + suffix (id NULL: prefix
 * alone) and parses the answer into out with parse. A failed form (f->err) is refused
 * before anything is sent. out must be zeroed by the caller.
 */
enum pb_err stripe_call(struct stripe *s, const char *method, const char *prefix,
    const char *id, const char *suffix, const struct stripe_form *form,
    const char *idempotency_key, stripe_parse_fn parse, void *out);

/*
 * GETs path with query (may be NULL) page after page (starting_after, from start when
 * not NULL, or Stripe's search "page" cursor when search is set) until max items or the
 * end, then parses each
 * item with parse into a new array of elem_size structs (*items, calloc'd, *n long).
 * *has_more tells whether Stripe has more past what was fetched.
 */
enum pb_err stripe_list(struct stripe *s, const char *path, const struct stripe_form *query,
    const char *start, size_t max, bool search, stripe_parse_fn parse, size_t elem_size, void **items,
    size_t *n, bool *has_more);

/* Readers: NULL/0/false when key is absent, null or of another type. Borrowed. */
const char *stripe_json_str(struct json_object *o, const char *key);
int64_t stripe_json_int(struct json_object *o, const char *key);
bool stripe_json_bool(struct json_object *o, const char *key);
struct json_object *stripe_json_obj(struct json_object *o, const char *key);
/* An expandable field: the string itself, or the "id" of the expanded object. */
const char *stripe_json_id(struct json_object *o, const char *key);

/*
 * Checks that obj is a JSON object whose "object" is kind and that has a string id,
 * then takes a reference: *raw = obj, *id = its id. PB_ESTRIPE otherwise.
 */
enum pb_err stripe_json_begin(struct json_object *obj, const char *kind,
    struct json_object **raw, const char **id);

#endif
