#include "config.h"

#include <string.h>

#include "util/hex.h"
#include "util/json.h"

/* Deepest nesting of containers the syntax check follows (json_max_depth is at most 256). */
#define JSON_NEST_MAX 1024

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

/*
 * Checks s[0..len) against the RFC 8259 grammar: exactly one value and white space.
 * json-c's JSON_TOKENER_STRICT still lets through single-quoted keys, NaN, Infinity, "1.",
 * "00", raw control characters in strings and lone surrogate escapes; nothing that fails
 * here reaches it.
 */
static bool
json_syntax_valid(const char *s, size_t len, int max_depth)
{
	enum { VALUE, VALUE_OR_END, KEY, KEY_OR_END, AFTER } st = VALUE;
	char stack[JSON_NEST_MAX];
	size_t i = 0, depth = 0;
	bool ok;

	for (;;) {
		skip_ws(s, len, &i);
		if (st == AFTER) {
			if (depth == 0)
				return i == len;
			if (i == len)
				return false;
			if (s[i] == ',') {
				st = stack[depth - 1] == '{' ? KEY : VALUE;
			} else if ((s[i] == '}' && stack[depth - 1] == '{') ||
			    (s[i] == ']' && stack[depth - 1] == '[')) {
				depth--;
			} else {
				return false;
			}
			i++;
			continue;
		}
		if (i == len)
			return false;
		if ((st == VALUE_OR_END && s[i] == ']') || (st == KEY_OR_END && s[i] == '}')) {
			depth--;
			i++;
			st = AFTER;
			continue;
		}
		if (st == KEY || st == KEY_OR_END) {
			if (s[i] != '"' || !skip_string(s, len, &i))
				return false;
			skip_ws(s, len, &i);
			if (i == len || s[i] != ':')
				return false;
			i++;
			st = VALUE;
			continue;
		}
		switch (s[i]) {
		case '{':
		case '[':
			if (depth == sizeof(stack) || max_depth < 0 || depth >= (size_t)max_depth)
				return false;
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
			return false;
		st = AFTER;
	}
}

enum pb_err
json_parse(const char *s, size_t len, int max_depth, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;

	*out = NULL;
	if (len > INT32_MAX || !utf8_valid(s, len) || !json_syntax_valid(s, len, max_depth))
		return PB_EINVAL;
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
