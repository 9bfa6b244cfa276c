/*
 * The former json_parse_why, kept as a test oracle (json_oracle.c), and the comparison
 * fuzz_json and test_json make with it.
 */
#ifndef PB_TESTS_JSON_ORACLE_H
#define PB_TESTS_JSON_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "util/err.h"

/* json_parse_why as it was before the one-pass parser: the same contract (util/json.h). */
enum pb_err json_parse_why_oracle(const char *s, size_t len, int max_depth,
    struct json_object **out, char *why, size_t whysize);

/*
 * Parses s[0..len) with json_parse_why and the oracle: true when both give the same
 * error, the same message and trees of the same types, values, member order and
 * serialisation (JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE, as json_append). Tells stderr
 * both outcomes when they differ.
 */
bool json_oracle_agrees(const char *s, size_t len, int max_depth);

/* The former utf8_valid. */
bool json_oracle_utf8_valid(const char *s, size_t len);

#endif
