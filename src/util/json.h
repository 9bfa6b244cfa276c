/*
 * JSON helpers over json-c. Parsing is strict and bounded (depth and size); writing
 * escapes every string so that no input can break out of its quotes.
 * json-c reference rule: whoever creates or gets a reference puts it.
 */
#ifndef PB_UTIL_JSON_H
#define PB_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Parses exactly one JSON value from s[0..len) with nesting at most max_depth; only
 * white space may follow it. On PB_OK *out is a new reference (may be NULL for the JSON
 * literal null). PB_EINVAL when malformed, too deep, or not valid UTF-8.
 */
enum pb_err json_parse(const char *s, size_t len, int max_depth, struct json_object **out);

/* Appends s[0..len) as a quoted JSON string with every control character escaped. */
enum pb_err json_escape(struct buf *b, const char *s, size_t len);

/* Returns the string member key of obj, or NULL when absent or not a string. Borrowed. */
const char *json_get_str(struct json_object *obj, const char *key);

/* Stores the integer member key of obj in *out. false when absent or not an integer. */
bool json_get_int64(struct json_object *obj, const char *key, int64_t *out);

/* Stores the boolean member key in *out. false when absent or not a boolean. */
bool json_get_bool(struct json_object *obj, const char *key, bool *out);

/* Returns the member at a dotted path ("data.object.id"), or NULL. Borrowed. */
struct json_object *json_get_path(struct json_object *obj, const char *path);

/* Serialises obj compactly into b (no escaping of '/'). */
enum pb_err json_append(struct buf *b, struct json_object *obj);

/* Returns true when s[0..len) is valid UTF-8 without overlong forms or surrogates. */
bool utf8_valid(const char *s, size_t len);

#endif
