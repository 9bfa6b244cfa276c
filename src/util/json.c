#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/json.h"
#include "util/timeutil.h"

/* Deepest nesting of containers the syntax check follows (json_max_depth is at most 256). */
#define JSON_NEST_MAX 1024
/* How much of a repeated key json_parse_why echoes, in bytes of UTF-8. */
#define ECHO_KEY_MAX 64

bool
utf8_valid(const char *str, size_t len)
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
json_parse_why(const char *s, size_t len, int max_depth, struct json_object **out, char *why,
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
	if (len > INT32_MAX || !utf8_valid(s, len))
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

enum pb_err
json_parse(const char *s, size_t len, int max_depth, struct json_object **out)
{
	return json_parse_why(s, len, max_depth, out, NULL, 0);
}

enum pb_err
json_escape(struct buf *b, const char *s, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	enum pb_err err = buf_appendc(b, '"');
	size_t run = 0;

	for (size_t i = 0; err == PB_OK && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		err = buf_append(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = digits[c >> 4];
			esc[5] = digits[c & 0xf];
			n = 6;
			break;
		}
		if (err == PB_OK)
			err = buf_append(b, esc, n);
	}
	if (err == PB_OK)
		err = buf_append(b, s + run, len - run);
	if (err == PB_OK)
		err = buf_appendc(b, '"');
	return err;
}

const char *
json_get_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool
json_get_int64(struct json_object *obj, const char *key, int64_t *out)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

bool
json_get_bool(struct json_object *obj, const char *key, bool *out)
{
	struct json_object *v;

	if (obj == NULL || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

struct json_object *
json_get_path(struct json_object *obj, const char *path)
{
	char part[128];
	const char *p = path, *dot;
	size_t n;

	while (obj != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_is_type(obj, json_type_object) ||
		    !json_object_object_get_ex(obj, part, &obj))
			return NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return obj;
}

enum pb_err
json_append(struct buf *b, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (s == NULL)
		return PB_ENOMEM;
	return buf_append(b, s, len);
}

bool
json_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v == NULL)
		return false;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

bool
json_add_str(struct json_object *o, const char *k, const char *s)
{
	if (s == NULL)
		return json_object_object_add(o, k, NULL) == 0;
	return json_add(o, k, json_object_new_string(s));
}

bool
json_add_int(struct json_object *o, const char *k, int64_t v)
{
	return json_add(o, k, json_object_new_int64(v));
}

bool
json_add_time(struct json_object *o, const char *k, int64_t real_us)
{
	char t[TIME_ISO8601_LEN];

	if (real_us == 0)
		return json_add_str(o, k, NULL);
	time_iso8601(real_us, t, sizeof(t));
	return json_add_str(o, k, t);
}
