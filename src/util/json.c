/* Writing JSON, and reading members of json-c trees; parsing is in json_parse.c. */
#include "config.h"

#include <string.h>

#include "util/json.h"
#include "util/timeutil.h"

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
