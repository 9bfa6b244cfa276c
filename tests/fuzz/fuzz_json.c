/*
 * libFuzzer target for json_parse_why, the strict JSON parser every body, token and
 * Stripe reply goes through. The input is the text itself. First it is compared with the
 * oracle, the three-pass parser the one-pass one replaced (json_oracle.c): at depth 16 and
 * at a depth of 1 to 4 (the input's length picks it), the same error, message and tree,
 * and the same utf8_valid. Then, parsed at depth 16, these properties are checked:
 *   - a refusal leaves *out NULL, and a message only for a repeated key, which names it
 *     in valid UTF-8 and fits JSON_WHY_MAX;
 *   - an accepted text has no repeated key: json-c's tree has as many members as the text
 *     has ':' outside strings (json-c would drop one member per repeat);
 *   - a text refused for a repeated key that json-c alone accepts really loses a member
 *     there (checked only without single quotes, which json-c takes as strings);
 *   - an accepted value serialises to text that is accepted again and equal.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#include "json_oracle.h"

#define FUZZ_DEPTH 16

/* Members of every object in the tree (depth is bounded by the parse). */
static size_t
members(struct json_object *o)
{
	size_t n = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v) {
			(void)k;
			n += 1 + members(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			n += members(json_object_array_get_idx(o, i));
	}
	return n;
}

/* ':' outside double-quoted strings: the members of a text that is JSON. */
static size_t
colons(const char *s, size_t len)
{
	bool in = false;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			in = !in;
		else if (!in && s[i] == ':')
			n++;
	}
	return n;
}

/* json-c alone, strict, as json_parse would call it but without our checks. */
static struct json_object *
jsonc_parse(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(FUZZ_DEPTH);
	struct json_object *o;

	if (tok == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) == json_tokener_continue)
		o = json_tokener_parse_ex(tok, "", 1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct json_object *o = (struct json_object *)1, *again = NULL, *plain;
	char why[JSON_WHY_MAX];
	struct buf b;
	size_t wlen;
	enum pb_err err;

	if (!json_oracle_agrees(s, size, FUZZ_DEPTH) ||
	    !json_oracle_agrees(s, size, 1 + (int)(size % 4)) ||
	    utf8_valid(s, size) != json_oracle_utf8_valid(s, size))
		abort();
	memset(why, 'x', sizeof(why));
	err = json_parse_why(s, size, FUZZ_DEPTH, &o, why, sizeof(why));
	wlen = strnlen(why, sizeof(why));
	if (wlen == sizeof(why))
		abort();	/* not terminated */
	if (err != PB_OK) {
		if (o != NULL || (err != PB_EINVAL && err != PB_ENOMEM))
			abort();
		if (wlen == 0)
			return 0;
		if (err != PB_EINVAL || strncmp(why, "duplicate key \"", 15) != 0 ||
		    !utf8_valid(why, wlen))
			abort();
		if (memchr(s, '\'', size) == NULL) {
			plain = jsonc_parse(s, size);
			if (plain != NULL && members(plain) >= colons(s, size))
				abort();	/* refused, yet json-c lost nothing */
			json_object_put(plain);
		}
		return 0;
	}
	if (wlen != 0 || members(o) != colons(s, size))
		abort();
	if (o == NULL)
		return 0;	/* the literal null */
	buf_init(&b, 1 << 22);
	if (json_append(&b, o) != PB_OK ||
	    json_parse(buf_cstr(&b), b.len, FUZZ_DEPTH, &again) != PB_OK ||
	    !json_object_equal(o, again))
		abort();
	buf_free(&b);
	json_object_put(again);
	json_object_put(o);
	return 0;
}
