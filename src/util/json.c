#include "config.h"

#include <string.h>

#include "util/json.h"

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

enum pb_err
json_parse(const char *s, size_t len, int max_depth, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t used;

	*out = NULL;
	if (len > INT32_MAX || !utf8_valid(s, len))
		return PB_EINVAL;
	tok = json_tokener_new_ex(max_depth);
	if (tok == NULL)
		return PB_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, s, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return PB_EINVAL;
	}
	for (; used < len; used++) {
		if (strchr(" \t\r\n", s[used]) == NULL || s[used] == '\0') {
			json_object_put(obj);
			return PB_EINVAL;
		}
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
