/*
 * json_parse_why: one pass over the text that checks it and builds json-c's tree at once.
 * Until issue 15 every body was read three times (a UTF-8 check, an RFC 8259 grammar and
 * repeated-key check, then json-c's strict tokener, which alone lets through single quotes,
 * NaN, Infinity, "1.", "00", raw control characters and lone surrogate escapes, and keeps
 * the last of repeated keys). This pass accepts exactly what the three accepted together:
 *   - RFC 8259 in UTF-8 without overlong forms or surrogates, one value and white space;
 *   - json-c's depth rule: a value sits inside at most max_depth - 1 containers (scalars
 *     count: {"a":{"b":1}} is 3 deep), and never more than JSON_NEST_MAX containers are
 *     open, so the recursion is bounded before it gets deep;
 *   - numbers become what the tokener makes of them: an integer an int64, or a uint64 past
 *     INT64_MAX, clamped as strtoll and strtoull clamp; a fraction or an exponent a double
 *     (strtod) that keeps its text for serialising;
 *   - an object that repeats a key, compared as json-c stores it (decoded, cut at a NUL),
 *     is refused when it closes, naming the smallest key it repeats (the old check sorted
 *     each object's keys). json-c's own hash table finds the repeats: adding a member
 *     whose name is there already leaves the member count unchanged.
 * Where the three passes would have refused for several reasons the outcome is theirs too:
 * a repeat is named only when the whole text is UTF-8, and the depth rule (the tokener's,
 * the last pass) refuses only text that is otherwise fine. tests/fuzz/json_oracle.c keeps
 * the three passes to compare against. One difference, on purpose: the tokener decoded
 * an escaped pair for a character in U+xD800 to U+xDFFF of planes 1 to 16 to U+FFFD (its
 * surrogate test looks at 16 bits), so two such names that the repeated-key check told
 * apart became one member, the last; here they are decoded as the characters they are.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/json.h"

/* Deepest nesting of containers ever followed (json_max_depth is at most 256). */
#define JSON_NEST_MAX 1024
/* How much of a repeated key json_parse_why echoes, in bytes of UTF-8. */
#define ECHO_KEY_MAX 64

struct parser {
	const char *s;
	size_t len, i;		/* the text, and where the parse is */
	size_t max_depth;	/* json-c's: values inside max_depth containers are refused */
	size_t nest_max;	/* containers that may be open at once */
	bool too_deep;		/* json-c's depth rule is broken: refused if nothing else is */
	char *buf;		/* scratch: a key, an escaped string, a number's text */
	size_t bufcap;
	char *small;		/* the caller's stack buffer that buf starts as */
	char *dup;		/* the repeated key that refused the text (owned) */
};

/* Bytes a string holds as they are: printable ASCII but for '"' and '\\'. */
static const unsigned char str_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * The length (2 to 4) of the UTF-8 sequence at s[0..n), whose first byte is not ASCII;
 * 0 when it is none: truncated, overlong, a surrogate or past U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	uint32_t cp, min;
	size_t k;

	if ((c & 0xe0) == 0xc0) {
		k = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		k = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		k = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(s + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Stores the value of the 4 hex digits at s[0..n) in *v; false when they are not. */
static bool
hex4(const unsigned char *s, size_t n, uint32_t *v)
{
	*v = 0;
	if (n < 4)
		return false;
	for (int j = 0; j < 4; j++) {
		int h = hex_value(s[j]);

		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	return true;
}

/*
 * The length of the escape at s[0..n) (s[0] is '\\'): 2, 6, or 12 for a surrogate pair;
 * 0 when it is not RFC 8259's or is half a pair.
 */
static size_t
escape_len(const unsigned char *s, size_t n)
{
	uint32_t hi, lo;

	if (n < 2)
		return 0;
	switch (s[1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return 2;
	case 'u':
		break;
	default:
		return 0;
	}
	if (!hex4(s + 2, n - 2, &hi) || (hi >= 0xdc00 && hi <= 0xdfff))
		return 0;
	if (hi < 0xd800 || hi > 0xdbff)
		return 6;
	if (n < 12 || s[6] != '\\' || s[7] != 'u' || !hex4(s + 8, n - 8, &lo) || lo < 0xdc00 ||
	    lo > 0xdfff)
		return 0;
	return 12;
}

#define ONES UINT64_C(0x0101010101010101)

/*
 * Whether the 8 bytes at s are all str_plain, a word at a time: bodies carry long runs of
 * plain text (a Stripe event's metadata, descriptions), which byte by byte cost most of a
 * parse. In each byte of an ASCII word, x - 0x20 sets the top bit when x < 0x20 and
 * (x ^ c) - 1 when x is c; a top bit of the word itself is a byte past ASCII. A borrow
 * only runs on from a byte that matched already, so a word without any top bit is plain.
 */
static bool
plain8(const unsigned char *s)
{
	uint64_t w;

	memcpy(&w, s, sizeof(w));
	w = (w - ONES * 0x20) | ((w ^ (ONES * '"')) - ONES) | ((w ^ (ONES * '\\')) - ONES) | w;
	return (w & (ONES * 0x80)) == 0;
}

/*
 * Steps p->i over the string whose '"' is there, checking it; *esc says whether it has an
 * escape. false when it is not an RFC 8259 string in UTF-8.
 */
static bool
scan_string(struct parser *p, bool *esc)
{
	const unsigned char *s = (const unsigned char *)p->s;
	size_t len = p->len, k = p->i + 1, n;

	*esc = false;
	for (;;) {
		while (len - k >= 8 && plain8(s + k))
			k += 8;
		while (k < len && str_plain[s[k]])
			k++;
		if (k == len)
			return false;
		if (s[k] == '"')
			break;
		if (s[k] >= 0x80) {
			n = utf8_seq(s + k, len - k);
		} else if (s[k] == '\\') {
			n = escape_len(s + k, len - k);
			*esc = true;
		} else {
			return false;	/* control characters must be escaped */
		}
		if (n == 0)
			return false;
		k += n;
	}
	p->i = k + 1;
	return true;
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
 * Decodes the inside of a string that scan_string accepted (every escape whole, every
 * high surrogate escape followed by its low one) into out; returns the length, which is
 * never more than n.
 */
static size_t
decode_string(const char *str, size_t n, char *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, o = 0;
	uint32_t cp, lo;

	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = (char)s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': out[o++] = '\b'; i += 2; continue;
		case 'f': out[o++] = '\f'; i += 2; continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u': break;
		default: out[o++] = (char)s[i + 1]; i += 2; continue;	/* '"', '\\' or '/' */
		}
		(void)hex4(s + i + 2, n - i - 2, &cp);
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			/*
			 * json-c's tokener made U+FFFD of a pair whose low 16 bits look like a
			 * surrogate (U+1D800 to U+1DFFF, ..., U+10D800 to U+10DFFF): its
			 * surrogate test masks 16 bits. These are characters like any other.
			 */
			(void)hex4(s + i + 2, n - i - 2, &lo);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		o += utf8_put(cp, out + o);
	}
	return o;
}

/* Room for n bytes in p->buf, whose contents need not survive; NULL when out of memory. */
static char *
scratch(struct parser *p, size_t n)
{
	char *b;

	if (n <= p->bufcap)
		return p->buf;
	if (n < p->bufcap * 2)
		n = p->bufcap * 2;
	b = malloc(n);
	if (b == NULL)
		return NULL;
	if (p->buf != p->small)
		free(p->buf);
	p->buf = b;
	p->bufcap = n;
	return b;
}

/*
 * The string s[start..start+n) that scan_string accepted as a C string in p->buf,
 * decoded, so cut at its first NUL as json-c cuts member names; NULL when out of memory.
 */
static const char *
make_key(struct parser *p, size_t start, size_t n, bool esc)
{
	char *b = scratch(p, n + 1);

	if (b == NULL)
		return NULL;
	if (esc) {
		n = decode_string(p->s + start, n, b);
	} else {
		memcpy(b, p->s + start, n);
	}
	b[n] = '\0';
	return b;
}

static enum pb_err
make_string(struct parser *p, size_t start, size_t n, bool esc, struct json_object **out)
{
	const char *v = p->s + start;

	if (esc) {
		char *b = scratch(p, n);

		if (b == NULL)
			return PB_ENOMEM;
		n = decode_string(v, n, b);
		v = b;
	}
	/* n < len <= INT32_MAX */
	*out = json_object_new_string_len(v, (int)n);
	return *out != NULL ? PB_OK : PB_ENOMEM;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Steps *k over digits; false when there is none. */
static bool
skip_digits(const char *s, size_t len, size_t *k)
{
	size_t start = *k;

	while (*k < len && is_digit(s[*k]))
		(*k)++;
	return *k > start;
}

/*
 * Steps p->i over an RFC 8259 number (no '+', no leading zeros, no "1.", no NaN) and makes
 * of it what json-c's tokener does: strtoll, strtoull or strtod on its text, and a double
 * keeps the text. paybridge never calls setlocale, so strtod reads the '.' (the tokener
 * switches to the C locale around it for the same reason).
 */
static enum pb_err
parse_number(struct parser *p, struct json_object **out)
{
	const char *s = p->s;
	size_t len = p->len, start = p->i, k = start;
	bool neg = false, over = false, frac = false;
	uint64_t v = 0;
	char *text;
	double d;

	if (s[k] == '-') {
		neg = true;
		k++;
	}
	if (k < len && s[k] == '0') {
		k++;
	} else if (k < len && is_digit(s[k])) {
		for (; k < len && is_digit(s[k]); k++) {
			unsigned digit = (unsigned)(s[k] - '0');

			if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && digit > UINT64_MAX % 10))
				over = true;
			else
				v = v * 10 + digit;
		}
	} else {
		return PB_EINVAL;
	}
	if (k < len && s[k] == '.') {
		k++;
		if (!skip_digits(s, len, &k))
			return PB_EINVAL;
		frac = true;
	}
	if (k < len && (s[k] == 'e' || s[k] == 'E')) {
		k++;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (!skip_digits(s, len, &k))
			return PB_EINVAL;
		frac = true;
	}
	p->i = k;
	if (frac) {
		text = scratch(p, k - start + 1);
		if (text == NULL)
			return PB_ENOMEM;
		memcpy(text, s + start, k - start);
		text[k - start] = '\0';
		d = strtod(text, NULL);
		*out = json_object_new_double_s(d, text);
	} else if (neg) {
		/* strtoll clamps below INT64_MIN */
		if (over || v >= (uint64_t)INT64_MAX + 1)
			*out = json_object_new_int64(INT64_MIN);
		else
			*out = json_object_new_int64(-(int64_t)v);
	} else if (over) {
		*out = json_object_new_uint64(UINT64_MAX);	/* as strtoull clamps */
	} else if (v > (uint64_t)INT64_MAX) {
		*out = json_object_new_uint64(v);
	} else {
		*out = json_object_new_int64((int64_t)v);
	}
	return *out != NULL ? PB_OK : PB_ENOMEM;
}

static void
skip_ws(struct parser *p)
{
	const char *s = p->s;
	size_t i = p->i;

	while (i < p->len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
		i++;
	p->i = i;
}

/* Steps p->i over lit[0..n) when the text has it there. */
static bool
literal(struct parser *p, const char *lit, size_t n)
{
	if (p->len - p->i < n || memcmp(p->s + p->i, lit, n) != 0)
		return false;
	p->i += n;
	return true;
}

static enum pb_err parse_value(struct parser *p, size_t depth, struct json_object **out);

/*
 * Steps over the '[' or '{' at p->i and the white space after it; true when the container
 * is empty, its close stepped over too.
 */
static bool
open_empty(struct parser *p, char close)
{
	p->i++;
	skip_ws(p);
	if (p->i < p->len && p->s[p->i] == close) {
		p->i++;
		return true;
	}
	return false;
}

/*
 * Steps over what follows a member: white space and a ',' and white space (true), or
 * white space and the container's close (false, *err PB_OK); else false with PB_EINVAL.
 */
static bool
next_member(struct parser *p, char close, enum pb_err *err)
{
	char c;

	skip_ws(p);
	*err = PB_EINVAL;
	if (p->i == p->len)
		return false;
	c = p->s[p->i++];
	if (c == ',') {
		skip_ws(p);
		return true;
	}
	if (c == close)
		*err = PB_OK;
	return false;
}

/* The array whose '[' is at p->i, itself inside depth containers. */
static enum pb_err
parse_array(struct parser *p, size_t depth, struct json_object **out)
{
	struct json_object *a = json_object_new_array(), *v;
	enum pb_err err = PB_OK;

	if (a == NULL)
		return PB_ENOMEM;
	if (!open_empty(p, ']')) {
		do {
			err = parse_value(p, depth + 1, &v);
			if (err != PB_OK)
				goto fail;
			if (json_object_array_add(a, v) != 0) {
				json_object_put(v);
				err = PB_ENOMEM;
				goto fail;
			}
		} while (next_member(p, ']', &err));
		if (err != PB_OK)
			goto fail;
	}
	*out = a;
	return PB_OK;
fail:
	json_object_put(a);
	return err;
}

/*
 * The member at p->i of object o, inside depth containers, added to o. A name o has
 * already replaces the value (o is refused anyway) and goes to *dup when it is smaller
 * than the name there (owned).
 */
static enum pb_err
parse_member(struct parser *p, size_t depth, struct json_object *o, char **dup)
{
	struct json_object *v;
	const char *key;
	size_t start, n;
	int members;
	enum pb_err err;
	bool esc;

	if (p->i == p->len || p->s[p->i] != '"')
		return PB_EINVAL;
	start = p->i + 1;
	if (!scan_string(p, &esc))
		return PB_EINVAL;
	n = p->i - 1 - start;
	skip_ws(p);
	if (p->i == p->len || p->s[p->i] != ':')
		return PB_EINVAL;
	p->i++;
	skip_ws(p);
	err = parse_value(p, depth + 1, &v);
	if (err != PB_OK)
		return err;
	/* The name is made after the value, which may have used the scratch buffer. */
	key = make_key(p, start, n, esc);
	members = json_object_object_length(o);
	if (key == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return PB_ENOMEM;
	}
	if (json_object_object_length(o) == members && (*dup == NULL || strcmp(key, *dup) < 0)) {
		free(*dup);
		*dup = strdup(key);
		if (*dup == NULL)
			return PB_ENOMEM;
	}
	return PB_OK;
}

/*
 * The object whose '{' is at p->i, inside depth containers. Refused, with p->dup, when it
 * repeats a key; the text up to its '}' must be JSON for that, as for the sorting check.
 */
static enum pb_err
parse_object(struct parser *p, size_t depth, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	char *dup = NULL;	/* the smallest key repeated so far */
	enum pb_err err = PB_OK;

	if (o == NULL)
		return PB_ENOMEM;
	if (!open_empty(p, '}')) {
		do {
			err = parse_member(p, depth, o, &dup);
			if (err != PB_OK)
				goto fail;
		} while (next_member(p, '}', &err));
		if (err != PB_OK)
			goto fail;
	}
	if (dup != NULL) {
		p->dup = dup;
		json_object_put(o);
		return PB_EINVAL;
	}
	*out = o;
	return PB_OK;
fail:
	free(dup);
	json_object_put(o);
	return err;
}

/* The value at p->i (white space skipped), inside depth containers; *out NULL for null. */
static enum pb_err
parse_value(struct parser *p, size_t depth, struct json_object **out)
{
	size_t start;
	bool esc;

	*out = NULL;
	if (p->i == p->len)
		return PB_EINVAL;
	if (depth >= p->max_depth)
		p->too_deep = true;
	switch (p->s[p->i]) {
	case '{':
		return depth < p->nest_max ? parse_object(p, depth, out) : PB_EINVAL;
	case '[':
		return depth < p->nest_max ? parse_array(p, depth, out) : PB_EINVAL;
	case '"':
		start = p->i + 1;
		if (!scan_string(p, &esc))
			return PB_EINVAL;
		return make_string(p, start, p->i - 1 - start, esc, out);
	case 't':
		if (!literal(p, "true", 4))
			return PB_EINVAL;
		*out = json_object_new_boolean(1);
		return *out != NULL ? PB_OK : PB_ENOMEM;
	case 'f':
		if (!literal(p, "false", 5))
			return PB_EINVAL;
		*out = json_object_new_boolean(0);
		return *out != NULL ? PB_OK : PB_ENOMEM;
	case 'n':
		return literal(p, "null", 4) ? PB_OK : PB_EINVAL;
	default:
		return parse_number(p, out);
	}
}

/* Writes `duplicate key "<k>"` into why, the key cut to ECHO_KEY_MAX bytes and escaped. */
static void
describe_dup(const char *k, size_t len, char *why, size_t whysize)
{
	size_t n = len;
	struct buf b;
	int w;

	if (n > ECHO_KEY_MAX) {
		n = ECHO_KEY_MAX;
		/* Back to the start of a character, so the echo stays UTF-8. */
		while (n > 0 && ((unsigned char)k[n] & 0xc0) == 0x80)
			n--;
	}
	buf_init(&b, JSON_WHY_MAX);
	if (buf_appends(&b, "duplicate key ") != PB_OK || json_escape(&b, k, n) != PB_OK ||
	    (n < len && buf_appends(&b, "...") != PB_OK)) {
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
	char small[256];
	struct parser p;
	struct json_object *v = NULL;
	enum pb_err err;

	*out = NULL;
	if (why != NULL && whysize > 0)
		why[0] = '\0';
	if (len > INT32_MAX || max_depth < 1)
		return PB_EINVAL;
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.len = len;
	p.max_depth = (size_t)max_depth;
	p.nest_max = max_depth < JSON_NEST_MAX ? (size_t)max_depth : JSON_NEST_MAX;
	p.buf = p.small = small;
	p.bufcap = sizeof(small);
	skip_ws(&p);
	err = parse_value(&p, 0, &v);
	if (err == PB_OK) {
		skip_ws(&p);
		if (p.i != len || p.too_deep) {
			json_object_put(v);
			err = PB_EINVAL;
		}
	}
	if (p.dup != NULL) {
		/* The text up to p.i is JSON, so UTF-8; the old check refused the rest first. */
		if (why != NULL && whysize > 0 && utf8_valid(s + p.i, len - p.i))
			describe_dup(p.dup, strlen(p.dup), why, whysize);
		free(p.dup);
	}
	if (p.buf != p.small)
		free(p.buf);
	if (err == PB_OK)
		*out = v;
	return err;
}

enum pb_err
json_parse(const char *s, size_t len, int max_depth, struct json_object **out)
{
	return json_parse_why(s, len, max_depth, out, NULL, 0);
}
