/*
 * The test oracle for json_parse_why: the three-pass parser paybridge used until the
 * one-pass parser of src/util/json_parse.c replaced it (issue 15), kept unchanged but for
 * names: the whole text checked as UTF-8, then against the RFC 8259 grammar with repeated
 * keys found by sorting each object's keys, then parsed by json-c's strict tokener.
 * fuzz_json and test_json compare the two on every input: the same outcome, message and
 * tree. Test code only: it is slower than what replaced it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/json.h"

#include "json_oracle.h"

/* Deepest nesting of containers the syntax check follows (json_max_depth is at most 256). */
#define JSON_NEST_MAX 1024
/* How much of a repeated key json_parse_why echoes, in bytes of UTF-8. */
#define ECHO_KEY_MAX 64

static bool
oracle_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Steps *i over the string that starts there; false when it is not RFC 8259. */
static bool
skip_string(const char *s, size_t len, size_t *i)
{
	bool want_low = false;	/* a high surrogate escape must be followed by a low one */
	size_t k = *i + 1;

	while (k < len) {
		unsigned char c = (unsigned char)s[k];

		if (c != '\\' && want_low)
			return false;
		if (c == '"') {
			*i = k + 1;
			return true;
		}
		if (c < 0x20)
			return false;	/* control characters must be escaped */
		if (c != '\\') {
			k++;
			continue;
		}
		if (k + 1 >= len)
			return false;
		c = (unsigned char)s[k + 1];
		if (c == 'u') {
			unsigned v = 0;

			if (len - k < 6)
				return false;
			for (size_t j = 2; j < 6; j++) {
				int h = hex_value((unsigned char)s[k + j]);

				if (h < 0)
					return false;
				v = v << 4 | (unsigned)h;
			}
			if (want_low != (v >= 0xdc00 && v <= 0xdfff))
				return false;
			want_low = v >= 0xd800 && v <= 0xdbff;
			k += 6;
		} else if (c != '\0' && strchr("\"\\/bfnrt", c) != NULL && !want_low) {
			k += 2;
		} else {
			return false;
		}
	}
	return false;
}

/* Steps *i over digits; false when there is none. */
static bool
skip_digits(const char *s, size_t len, size_t *i)
{
	size_t k = *i;

	while (k < len && is_digit(s[k]))
		k++;
	if (k == *i)
		return false;
	*i = k;
	return true;
}

/* Steps *i over an RFC 8259 number: no '+', no leading zeros, no "1.", no NaN. */
static bool
skip_number(const char *s, size_t len, size_t *i)
{
	size_t k = *i;

	if (k < len && s[k] == '-')
		k++;
	if (k < len && s[k] == '0')
		k++;
	else if (!skip_digits(s, len, &k))
		return false;
	if (k < len && s[k] == '.') {
		k++;
		if (!skip_digits(s, len, &k))
			return false;
	}
	if (k < len && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (!skip_digits(s, len, &k))
			return false;
	}
	*i = k;
	return true;
}

static bool
skip_literal(const char *s, size_t len, size_t *i, const char *lit)
{
	size_t n = strlen(lit);

	if (len - *i < n || memcmp(s + *i, lit, n) != 0)
		return false;
	*i += n;
	return true;
}

static void
skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
		(*i)++;
}

/* ---- duplicate keys ---- */

/*
 * A key as json-c stores it: escapes decoded, and cut at the first NUL because json-c
 * keeps member names as C strings ({"a\u0000x":1,"a":2} is one member to it).
 */
struct key {
	const char *p;
	size_t n;
};

/*
 * The keys of the objects open during the syntax check, innermost object's last: each
 * object's run is sorted when it closes, so finding a repeat costs O(k log k) for k keys
 * and no hash table. Keys without a backslash point into the text; the others are decoded
 * into `decoded`, made once at the text's length (decoding never lengthens a string).
 */
struct keyset {
	struct key *v;
	size_t n, cap;
	char *decoded;
	size_t used;
	struct key dup;		/* the repeated key, when dup.p != NULL */
};

static void
keyset_free(struct keyset *ks)
{
	free(ks->v);
	free(ks->decoded);
	memset(ks, 0, sizeof(*ks));
}

/* The value of the 4 hex digits at s, which the syntax check has seen. */
static uint32_t
hex4(const char *s)
{
	uint32_t v = 0;

	for (int j = 0; j < 4; j++)
		v = v << 4 | (uint32_t)hex_value((unsigned char)s[j]);
	return v;
}

/* Writes cp as UTF-8 at out; returns the bytes written (1 to 4). */
static size_t
utf8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the inside of a string that skip_string accepted (so every escape is whole and
 * every high surrogate escape has its low one) into out; returns the length.
 */
static size_t
decode_string(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	uint32_t cp;

	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': out[o++] = '\b'; i += 2; continue;
		case 'f': out[o++] = '\f'; i += 2; continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u': break;
		default: out[o++] = s[i + 1]; i += 2; continue;	/* '"', '\\' or '/' */
		}
		cp = hex4(s + i + 2);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(s + i + 2) - 0xdc00);
			i += 6;
		}
		o += utf8_put(cp, out + o);
	}
	return o;
}

/* Adds the key whose quoted text is s[0..n) (quotes excluded) of the whole text of len. */
static enum pb_err
keyset_add(struct keyset *ks, const char *s, size_t n, size_t len)
{
	struct key k = { s, n };

	if (ks->n == ks->cap) {
		size_t cap = ks->cap == 0 ? 16 : ks->cap * 2;
		struct key *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return PB_ENOMEM;
		v = realloc(ks->v, cap * sizeof(*v));
		if (v == NULL)
			return PB_ENOMEM;
		ks->v = v;
		ks->cap = cap;
	}
	if (memchr(s, '\\', n) != NULL) {
		char *nul;

		if (ks->decoded == NULL) {
			ks->decoded = malloc(len);
			if (ks->decoded == NULL)
				return PB_ENOMEM;
		}
		k.p = ks->decoded + ks->used;
		k.n = decode_string(s, n, ks->decoded + ks->used);
		ks->used += k.n;
		nul = memchr(k.p, '\0', k.n);
		if (nul != NULL)
			k.n = (size_t)(nul - k.p);
	}
	ks->v[ks->n++] = k;
	return PB_OK;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	if (c != 0)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

/* The object whose keys start at v[base] closes: false (and ks->dup) when one repeats. */
static bool
keyset_close(struct keyset *ks, size_t base)
{
	struct key *v = ks->v + base;
	size_t k = ks->n - base;

	if (k > 1)
		qsort(v, k, sizeof(*v), key_cmp);
	for (size_t i = 1; i < k; i++) {
		if (key_cmp(&v[i - 1], &v[i]) == 0) {
			ks->dup = v[i];
			return false;
		}
	}
	ks->n = base;
	return true;
}

/*
 * Checks s[0..len) against the RFC 8259 grammar: exactly one value and white space, and
 * no object that repeats a key (RFC 8259 §4 leaves repeats to the parser; json-c keeps
 * the last silently, so {"email":a,"email":b} would mean b to us and perhaps a to a proxy
 * or log reader that checked the text first). json-c's JSON_TOKENER_STRICT still lets through single-quoted keys,
 * NaN, Infinity, "1.", "00", raw control characters in strings and lone surrogate escapes;
 * nothing that fails here reaches it. PB_EINVAL when the text is refused (with ks->dup set when
 * for a repeated key), PB_ENOMEM.
 */
static enum pb_err
json_syntax_check(const char *s, size_t len, int max_depth, struct keyset *ks)
{
	enum { VALUE, VALUE_OR_END, KEY, KEY_OR_END, AFTER } st = VALUE;
	char stack[JSON_NEST_MAX];
	size_t base[JSON_NEST_MAX];	/* for an object: where its keys start in ks->v */
	size_t i = 0, depth = 0, start;
	enum pb_err err;
	bool ok;

	for (;;) {
		skip_ws(s, len, &i);
		if (st == AFTER) {
			if (depth == 0)
				return i == len ? PB_OK : PB_EINVAL;
			if (i == len)
				return PB_EINVAL;
			if (s[i] == ',') {
				st = stack[depth - 1] == '{' ? KEY : VALUE;
			} else if (s[i] == '}' && stack[depth - 1] == '{') {
				if (!keyset_close(ks, base[depth - 1]))
					return PB_EINVAL;
				depth--;
			} else if (s[i] == ']' && stack[depth - 1] == '[') {
				depth--;
			} else {
				return PB_EINVAL;
			}
			i++;
			continue;
		}
		if (i == len)
			return PB_EINVAL;
		if ((st == VALUE_OR_END && s[i] == ']') || (st == KEY_OR_END && s[i] == '}')) {
			depth--;	/* an empty object has no keys to compare */
			i++;
			st = AFTER;
			continue;
		}
		if (st == KEY || st == KEY_OR_END) {
			start = i;
			if (s[i] != '"' || !skip_string(s, len, &i))
				return PB_EINVAL;
			err = keyset_add(ks, s + start + 1, i - start - 2, len);
			if (err != PB_OK)
				return err;
			skip_ws(s, len, &i);
			if (i == len || s[i] != ':')
				return PB_EINVAL;
			i++;
			st = VALUE;
			continue;
		}
		switch (s[i]) {
		case '{':
		case '[':
			if (depth == sizeof(stack) || max_depth < 0 || depth >= (size_t)max_depth)
				return PB_EINVAL;
			base[depth] = ks->n;
			stack[depth++] = s[i];
			st = s[i] == '{' ? KEY_OR_END : VALUE_OR_END;
			i++;
			continue;
		case '"':
			ok = skip_string(s, len, &i);
			break;
		case 't':
			ok = skip_literal(s, len, &i, "true");
			break;
		case 'f':
			ok = skip_literal(s, len, &i, "false");
			break;
		case 'n':
			ok = skip_literal(s, len, &i, "null");
			break;
		default:
			ok = skip_number(s, len, &i);
			break;
		}
		if (!ok)
			return PB_EINVAL;
		st = AFTER;
	}
}

/* Writes `duplicate key "<k>"` into why, the key cut to ECHO_KEY_MAX bytes and escaped. */
static void
describe_dup(const struct key *k, char *why, size_t whysize)
{
	size_t n = k->n;
	struct buf b;
	int w;

	if (n > ECHO_KEY_MAX) {
		n = ECHO_KEY_MAX;
		/* Back to the start of a character, so the echo stays UTF-8. */
		while (n > 0 && ((unsigned char)k->p[n] & 0xc0) == 0x80)
			n--;
	}
	buf_init(&b, JSON_WHY_MAX);
	if (buf_appends(&b, "duplicate key ") != PB_OK || json_escape(&b, k->p, n) != PB_OK ||
	    (n < k->n && buf_appends(&b, "...") != PB_OK)) {
		buf_free(&b);
		w = snprintf(why, whysize, "duplicate key");
	} else {
		w = snprintf(why, whysize, "%s", buf_cstr(&b));
		buf_free(&b);
	}
	if (w < 0 || (size_t)w >= whysize)
		why[0] = '\0';	/* a cut message could end inside an escape: say nothing */
}

enum pb_err
json_parse_why_oracle(const char *s, size_t len, int max_depth, struct json_object **out, char *why,
    size_t whysize)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	struct keyset ks;
	enum pb_err err;

	*out = NULL;
	if (why != NULL && whysize > 0)
		why[0] = '\0';
	if (len > INT32_MAX || !oracle_utf8_valid(s, len))
		return PB_EINVAL;
	memset(&ks, 0, sizeof(ks));
	err = json_syntax_check(s, len, max_depth, &ks);
	if (err == PB_EINVAL && ks.dup.p != NULL && why != NULL && whysize > 0)
		describe_dup(&ks.dup, why, whysize);
	keyset_free(&ks);
	if (err != PB_OK)
		return err;
	tok = json_tokener_new_ex(max_depth);
	if (tok == NULL)
		return PB_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* A number or literal at the very end waits for more: a NUL says there is none. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	json_tokener_free(tok);
	/* The grammar was checked above, so json-c fails only on depth or memory. */
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return PB_EINVAL;
	}
	*out = obj;
	return PB_OK;
}

/* ---- comparing the parsers ---- */

/* The 4 hex digits at s[0..n) in *v; false when there are not. */
static bool
hex4_ok(const char *s, size_t n, uint32_t *v)
{
	*v = 0;
	if (n < 4)
		return false;
	for (int j = 0; j < 4; j++) {
		int h = hex_value((unsigned char)s[j]);

		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	return true;
}

/*
 * The one place where json_parse_why departs from the three passes, on purpose: json-c
 * 0.16's tokener decodes an escaped surrogate pair for a character in U+xD800..U+xDFFF of
 * planes 1 to 16 (U+1D800, ..., U+10DFFF) to U+FFFD, because its surrogate test masks the
 * decoded character to 16 bits; two such member names that the repeated-key check told
 * apart then became one member, silently. json_parse_why decodes them as the characters
 * they are. So the oracle is given each such pair as the character's raw UTF-8, the same
 * JSON text, which json-c copies as it is. Returns a new text in *out (free it), or NULL
 * in *out when s has no such pair; false when out of memory.
 */
static bool
without_misread_pairs(const char *s, size_t len, char **out, size_t *outlen)
{
	char *t = NULL;
	size_t o = 0;
	bool in = false;
	uint32_t hi, lo, cp;

	*out = NULL;
	for (size_t i = 0; i < len; i++) {
		if (in && s[i] == '\\' && i + 12 <= len && s[i + 1] == 'u' &&
		    hex4_ok(s + i + 2, 4, &hi) && hi >= 0xd800 && hi <= 0xdbff &&
		    s[i + 6] == '\\' && s[i + 7] == 'u' && hex4_ok(s + i + 8, 4, &lo) &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
			if ((cp & 0xf800) == 0xd800) {
				if (t == NULL) {
					t = malloc(len);	/* 12 bytes become 4 */
					if (t == NULL)
						return false;
					memcpy(t, s, i);
					o = i;
				}
				o += utf8_put(cp, t + o);
				i += 11;
				continue;
			}
		}
		if (in && s[i] == '\\' && i + 1 < len) {
			if (t != NULL)
				t[o++] = s[i];
			i++;
		} else if (s[i] == '"') {
			in = !in;
		}
		if (t != NULL)
			t[o++] = s[i];
	}
	*out = t;
	*outlen = o;
	return true;
}

/* a and b hold the same values, types and member order (the doubles bit for bit). */
static bool
same_tree(struct json_object *a, struct json_object *b)
{
	struct json_object_iterator ia, ib, ea, eb;
	double x, y;

	if (a == NULL || b == NULL)
		return a == b;
	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_int:
		/* int64 and uint64 alike: the clamped values tell them apart */
		return json_object_get_int64(a) == json_object_get_int64(b) &&
		    json_object_get_uint64(a) == json_object_get_uint64(b);
	case json_type_double:
		x = json_object_get_double(a);
		y = json_object_get_double(b);
		return memcmp(&x, &y, sizeof(x)) == 0;
	case json_type_string:
		return json_object_get_string_len(a) == json_object_get_string_len(b) &&
		    memcmp(json_object_get_string(a), json_object_get_string(b),
		    (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array:
		if (json_object_array_length(a) != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			if (!same_tree(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
				return false;
		}
		return true;
	case json_type_object:
		if (json_object_object_length(a) != json_object_object_length(b))
			return false;
		ia = json_object_iter_begin(a);
		ib = json_object_iter_begin(b);
		ea = json_object_iter_end(a);
		eb = json_object_iter_end(b);
		while (!json_object_iter_equal(&ia, &ea) && !json_object_iter_equal(&ib, &eb)) {
			if (strcmp(json_object_iter_peek_name(&ia), json_object_iter_peek_name(&ib)) != 0 ||
			    !same_tree(json_object_iter_peek_value(&ia), json_object_iter_peek_value(&ib)))
				return false;
			json_object_iter_next(&ia);
			json_object_iter_next(&ib);
		}
		return json_object_iter_equal(&ia, &ea) && json_object_iter_equal(&ib, &eb);
	case json_type_null:
		return true;
	}
	return false;
}

/* Serialised as paybridge serialises (json_append), or "" for NULL. */
static const char *
text(struct json_object *o)
{
	if (o == NULL)
		return "";
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
}

bool
json_oracle_agrees(const char *s, size_t len, int max_depth)
{
	struct json_object *now = (struct json_object *)1, *then = (struct json_object *)1;
	char why_now[JSON_WHY_MAX], why_then[JSON_WHY_MAX];
	enum pb_err err_now, err_then;
	char *fixed;
	size_t fixedlen;
	bool same;

	if (!without_misread_pairs(s, len, &fixed, &fixedlen))
		return false;
	err_now = json_parse_why(s, len, max_depth, &now, why_now, sizeof(why_now));
	err_then = json_parse_why_oracle(fixed != NULL ? fixed : s, fixed != NULL ? fixedlen : len,
	    max_depth, &then, why_then, sizeof(why_then));
	free(fixed);
	same = err_now == err_then && strcmp(why_now, why_then) == 0 && same_tree(now, then) &&
	    strcmp(text(now), text(then)) == 0;
	if (!same) {
		fprintf(stderr, "json_parse_why: %d \"%s\" %s\n", (int)err_now, why_now, text(now));
		fprintf(stderr, "the oracle:     %d \"%s\" %s\n", (int)err_then, why_then,
		    text(then));
	}
	if (err_now != PB_OK && now != NULL)
		same = false;	/* a refusal leaves *out NULL */
	json_object_put(now);
	json_object_put(then);
	return same;
}

bool
json_oracle_utf8_valid(const char *s, size_t len)
{
	return oracle_utf8_valid(s, len);
}
