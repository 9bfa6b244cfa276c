#include "config.h"

#include <stdio.h>
#include <string.h>

#include "stripe/form.h"
#include "util/json.h"
#include "util/pct.h"

void
stripe_form_init(struct stripe_form *f)
{
	buf_init(&f->b, STRIPE_FORM_MAX);
	f->err = PB_OK;
}

void
stripe_form_free(struct stripe_form *f)
{
	buf_free(&f->b);
	f->err = PB_OK;
}

/*
 * Checks that key is name("[" seg "]")* with a non-empty name and segments free of
 * brackets, and appends it with each segment escaped and the brackets literal.
 */
static enum pb_err
append_key(struct buf *b, const char *key)
{
	const char *p = key, *open, *close;
	size_t n;
	enum pb_err err;

	n = strcspn(p, "[]");
	if (n == 0 || p[n] == ']')
		return PB_EINVAL;
	err = pct_encode(b, p, n);
	p += n;
	while (err == PB_OK && *p != '\0') {
		if (*p != '[')
			return PB_EINVAL;
		open = p + 1;
		close = open + strcspn(open, "[]");
		if (*close != ']')
			return PB_EINVAL;
		err = buf_appendc(b, '[');
		if (err == PB_OK)
			err = pct_encode(b, open, (size_t)(close - open));
		if (err == PB_OK)
			err = buf_appendc(b, ']');
		p = close + 1;
	}
	return err;
}

/* Appends "&" if needed and the pair, keeping f sticky on failure. */
static enum pb_err
add_pair(struct stripe_form *f, const char *parent, const char *sub, const char *value)
{
	struct buf tmp;
	size_t vlen;
	enum pb_err err;

	if (f->err != PB_OK)
		return f->err;
	vlen = strlen(value);
	/* An empty sub would read as "append to an array", not as a named entry. */
	if (!utf8_valid(value, vlen) ||
	    (sub != NULL && (sub[0] == '\0' || strpbrk(sub, "[]") != NULL))) {
		f->err = PB_EINVAL;
		return f->err;
	}
	/* Build the pair aside so that a bad key leaves nothing half-written in f. */
	buf_init(&tmp, STRIPE_FORM_MAX);
	err = f->b.len > 0 ? buf_appendc(&tmp, '&') : PB_OK;
	if (err == PB_OK)
		err = append_key(&tmp, parent);
	if (err == PB_OK && sub != NULL) {
		err = buf_appendc(&tmp, '[');
		if (err == PB_OK)
			err = pct_encode(&tmp, sub, strlen(sub));
		if (err == PB_OK)
			err = buf_appendc(&tmp, ']');
	}
	if (err == PB_OK)
		err = buf_appendc(&tmp, '=');
	if (err == PB_OK)
		err = pct_encode(&tmp, value, vlen);
	if (err == PB_OK)
		err = buf_append(&f->b, tmp.data, tmp.len);
	buf_free(&tmp);
	if (err != PB_OK)
		f->err = err;
	return err;
}

enum pb_err
stripe_form_add(struct stripe_form *f, const char *key, const char *value)
{
	return add_pair(f, key, NULL, value);
}

enum pb_err
stripe_form_add_sub(struct stripe_form *f, const char *parent, const char *sub,
    const char *value)
{
	return add_pair(f, parent, sub, value);
}

enum pb_err
stripe_form_add_int(struct stripe_form *f, const char *key, long long v)
{
	char num[32];

	(void)snprintf(num, sizeof(num), "%lld", v);
	return add_pair(f, key, NULL, num);
}

enum pb_err
stripe_form_add_bool(struct stripe_form *f, const char *key, bool v)
{
	return add_pair(f, key, NULL, v ? "true" : "false");
}

enum pb_err
stripe_form_add_kv(struct stripe_form *f, const char *parent, const struct stripe_kv *kv,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (kv[i].key == NULL || kv[i].value == NULL) {
			if (f->err == PB_OK)
				f->err = PB_EINVAL;
			return f->err;
		}
		(void)add_pair(f, parent, kv[i].key, kv[i].value);
	}
	return f->err;
}

const char *
stripe_form_text(const struct stripe_form *f)
{
	return buf_cstr(&f->b);
}

size_t
stripe_form_len(const struct stripe_form *f)
{
	return f->b.len;
}
