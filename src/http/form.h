/*
 * application/x-www-form-urlencoded and query strings: pairs split on '&', key and value
 * on the first '=', '+' as space, %XX escapes (an invalid or truncated escape is an
 * error, never passed through). Keys may use Stripe/PHP bracket syntax: "a[b][c]",
 * "list[]", "items[0][price]".
 */
#ifndef PB_HTTP_FORM_H
#define PB_HTTP_FORM_H

#include <stddef.h>

#include <json-c/json.h>

#include "util/arena.h"
#include "util/err.h"

#define FORM_FIELDS_MAX 256

struct form_field {
	const char *key;	/* decoded, NUL-terminated (may contain NUL: see key_len) */
	size_t key_len;
	const char *value;	/* decoded, NUL-terminated */
	size_t value_len;
};

struct form {
	struct form_field *fields;	/* in the arena, in the order sent */
	size_t n;
};

/*
 * Decodes s[0..len) into out, all in arena a. Empty pairs ("a=1&&b=2") are skipped.
 * PB_EINVAL on a bad escape, a key that is empty, or more than FORM_FIELDS_MAX pairs.
 */
enum pb_err form_parse(struct arena *a, const char *s, size_t len, struct form *out);

/* Returns the first value for key, or NULL. Borrowed from the form. */
const char *form_get(const struct form *f, const char *key);

/* Returns how many times key occurs. */
size_t form_count(const struct form *f, const char *key);

/*
 * Splits a bracket key into its segments: "a[b][]" -> "a", "b", "". At most max segments.
 * PB_EINVAL when brackets are unbalanced, nested ("a[[b]]"), text follows a ']' that is
 * not '[', or the base name is empty.
 */
enum pb_err form_key_split(struct arena *a, const char *key, size_t key_len,
    const char **segments, size_t max, size_t *n);

/*
 * Converts the form into one new JSON object (caller puts it): plain keys to strings,
 * a key repeated to an array of strings, "a[b]" to nested objects, "a[]" appending to an
 * array, "a[0][b]" to an array of objects by index (indexes must be 0..FORM_FIELDS_MAX and
 * dense). Depth at most max_depth, counted as json_parse counts it. PB_EINVAL on a
 * conflict ("a=1&a[b]=2"), too deep, or a key or value that is not UTF-8 or holds a NUL.
 */
enum pb_err form_to_json(struct arena *a, const struct form *f, int max_depth,
    struct json_object **out);

#endif
