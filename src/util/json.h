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

/* Room for json_parse_why's message: the longest it writes fits. */
#define JSON_WHY_MAX 512

/*
 * Parses exactly one JSON value from s[0..len) with nesting at most max_depth (every
 * value is a level, scalars too: {"a":{"b":1}} is 3 deep; below 1 nothing parses); only
 * white space may follow it. On PB_OK *out is a new reference (may be NULL for the JSON
 * literal null). PB_EINVAL when malformed, too deep, not valid UTF-8, or when an object
 * repeats a key at any depth: keys are compared decoded, as json-c stores them
 * ("a" and "\u0061" are one key; so are "a" and "a\u0000b", since json-c cuts names at
 * a NUL). One pass, linear in len (json_parse.c). PB_ENOMEM.
 */
enum pb_err json_parse(const char *s, size_t len, int max_depth, struct json_object **out);

/*
 * json_parse, and when it refuses a repeated key, writes `duplicate key "<key>"` into
 * why[0..whysize) (the key JSON-escaped, cut to 64 bytes with "..." after); "" for any
 * other outcome, or when the message does not fit (JSON_WHY_MAX always does). why may be
 * NULL. The message holds client text: escaped, but still for the client, not for logs.
 */
enum pb_err json_parse_why(const char *s, size_t len, int max_depth, struct json_object **out,
    char *why, size_t whysize);

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

/*
 * Building objects: each adds member k to o and returns false when out of memory. json_add
 * takes ownership of v (put when it cannot be added; NULL is a failure); a NULL s adds
 * JSON null; a real_us of 0 adds null, else an ISO 8601 UTC time.
 */
bool json_add(struct json_object *o, const char *k, struct json_object *v);
bool json_add_str(struct json_object *o, const char *k, const char *s);
bool json_add_int(struct json_object *o, const char *k, int64_t v);
bool json_add_time(struct json_object *o, const char *k, int64_t real_us);

/* Returns true when s[0..len) is valid UTF-8 without overlong forms or surrogates. */
bool utf8_valid(const char *s, size_t len);

#endif
