/*
 * application/x-www-form-urlencoded: parsing into decoded pairs, bracket keys, conversion
 * to one JSON object. Percent-encoding itself is util/pct.h.
 *
 * Keys are percent-decoded first and split on brackets afterwards, as PHP and Stripe do:
 * "a%5Bb%5D=1" is the same field as "a[b]=1". The bracket grammar is strict where PHP
 * guesses ("a[b]c", "a[", "a[[b]]" are errors, not silently repaired), because a form
 * that reaches us malformed was not written by a browser.
 *
 * form_to_json first builds a small tree in the arena, so that the kind of every node
 * (string, repeated string, object, "[]" list, "[0]" indexed list) is known and a conflict
 * or an index gap is found before any json-c object exists; the tree is then converted
 * in one pass. Depth counts like json-c's: the top object is level 1 and every value,
 * strings included, one more than its container, so a form is accepted at max_depth
 * exactly when the same body sent as JSON would be.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "http/form.h"
#include "util/json.h"
#include "util/pct.h"

/* Decodes s[0..n) into a new NUL-terminated string in the arena. */
static enum pb_err
decode(struct arena *a, const char *s, size_t n, const char **out, size_t *outlen)
{
	char *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return PB_ENOMEM;
	if (!pct_decode(s, n, true, p, outlen))
		return PB_EINVAL;
	p[*outlen] = '\0';
	*out = p;
	return PB_OK;
}

enum pb_err
form_parse(struct arena *a, const char *s, size_t len, struct form *out)
{
	size_t npairs = 0, pos, end;
	enum pb_err err;

	out->fields = NULL;
	out->n = 0;
	/* Count first, so the table is one allocation and the limit costs nothing. */
	for (pos = 0; pos < len; pos = end + 1) {
		const char *amp = memchr(s + pos, '&', len - pos);

		end = amp != NULL ? (size_t)(amp - s) : len;
		if (end > pos && ++npairs > FORM_FIELDS_MAX)
			return PB_EINVAL;
	}
	if (npairs == 0)
		return PB_OK;
	out->fields = arena_calloc(a, npairs, sizeof(*out->fields));
	if (out->fields == NULL)
		return PB_ENOMEM;
	for (pos = 0; pos < len; pos = end + 1) {
		const char *amp = memchr(s + pos, '&', len - pos);
		const char *eq;
		struct form_field *f;
		size_t klen;

		end = amp != NULL ? (size_t)(amp - s) : len;
		if (end == pos)
			continue;
		eq = memchr(s + pos, '=', end - pos);
		klen = eq != NULL ? (size_t)(eq - (s + pos)) : end - pos;
		f = &out->fields[out->n];
		err = decode(a, s + pos, klen, &f->key, &f->key_len);
		if (err == PB_OK && (f->key_len == 0 || memchr(f->key, '\0', f->key_len) != NULL))
			err = PB_EINVAL;
		if (err == PB_OK && eq != NULL)
			err = decode(a, eq + 1, (size_t)(s + end - (eq + 1)), &f->value, &f->value_len);
		else if (err == PB_OK)
			f->value = "";
		if (err != PB_OK)
			goto fail;
		out->n++;
	}
	return PB_OK;
fail:
	out->fields = NULL;
	out->n = 0;
	return err;
}

const char *
form_get(const struct form *f, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < f->n; i++) {
		if (f->fields[i].key_len == len && memcmp(f->fields[i].key, key, len) == 0)
			return f->fields[i].value;
	}
	return NULL;
}

size_t
form_count(const struct form *f, const char *key)
{
	size_t len = strlen(key), n = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (f->fields[i].key_len == len && memcmp(f->fields[i].key, key, len) == 0)
			n++;
	}
	return n;
}

enum pb_err
form_key_split(struct arena *a, const char *key, size_t key_len, const char **segments,
    size_t max, size_t *n)
{
	const char *open = memchr(key, '[', key_len);
	size_t pos, base = open != NULL ? (size_t)(open - key) : key_len;

	*n = 0;
	if (base == 0 || max == 0 || memchr(key, ']', base) != NULL ||
	    memchr(key, '\0', key_len) != NULL)
		return PB_EINVAL;
	segments[0] = arena_strndup(a, key, base);
	if (segments[0] == NULL)
		return PB_ENOMEM;
	*n = 1;
	for (pos = base; pos < key_len;) {
		const char *close;
		size_t start = pos + 1;

		if (key[pos] != '[')
			return PB_EINVAL;	/* text after ']' */
		close = memchr(key + start, ']', key_len - start);
		if (close == NULL ||
		    memchr(key + start, '[', (size_t)(close - (key + start))) != NULL)
			return PB_EINVAL;	/* unbalanced or nested */
		if (*n == max)
			return PB_EINVAL;
		segments[*n] = arena_strndup(a, key + start, (size_t)(close - (key + start)));
		if (segments[*n] == NULL)
			return PB_ENOMEM;
		(*n)++;
		pos = (size_t)(close - key) + 1;
	}
	return PB_OK;
}

enum node_kind {
	NODE_STRING,	/* one value */
	NODE_REPEAT,	/* the same full key sent more than once: an array of strings */
	NODE_OBJECT,	/* "a[b]" */
	NODE_APPEND,	/* "a[]": every occurrence adds an element */
	NODE_INDEX,	/* "a[0]": elements by index */
};

struct node {
	enum node_kind kind;
	const char *name;	/* key in an object parent */
	size_t index;		/* position in an indexed parent */
	const char *value;	/* NODE_STRING */
	size_t value_len;
	struct node *first, *last, *next;
	size_t count;
};

/* Returns the kind of container that a segment addresses into. */
static enum pb_err
container_kind(const char *seg, enum node_kind *kind, size_t *index)
{
	size_t len = strlen(seg), v = 0;

	if (len == 0) {
		*kind = NODE_APPEND;
		return PB_OK;
	}
	if (strspn(seg, "0123456789") != len) {
		*kind = NODE_OBJECT;
		return PB_OK;
	}
	/* "01" could mean 1 or a key named "01": refuse to guess. */
	if (len > 1 && seg[0] == '0')
		return PB_EINVAL;
	for (size_t i = 0; i < len; i++) {
		v = v * 10 + (size_t)(seg[i] - '0');
		if (v > FORM_FIELDS_MAX)
			return PB_EINVAL;
	}
	*kind = NODE_INDEX;
	*index = v;
	return PB_OK;
}

static struct node *
node_new(struct arena *a, struct node *parent, enum node_kind kind)
{
	struct node *n = arena_alloc(a, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	if (parent->last != NULL)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	parent->count++;
	return n;
}

/* Finds the child of parent that segment seg (or index) names; NULL when there is none. */
static struct node *
node_find(struct node *parent, const char *seg, size_t index)
{
	if (parent->kind == NODE_APPEND)
		return NULL;
	for (struct node *c = parent->first; c != NULL; c = c->next) {
		if (parent->kind == NODE_INDEX ? c->index == index : strcmp(c->name, seg) == 0)
			return c;
	}
	return NULL;
}

/* Adds one field, given as segments, under root. */
static enum pb_err
insert(struct arena *a, struct node *root, const char **segs, size_t nseg,
    const struct form_field *f)
{
	struct node *cur = root, *child;
	size_t next_index = 0;

	for (size_t i = 0; i < nseg; i++) {
		/* cur's kind was chosen from segs[i], so seg and index address into it. */
		size_t index = next_index;
		enum node_kind want = NODE_STRING;

		if (i + 1 < nseg) {
			enum pb_err err = container_kind(segs[i + 1], &want, &next_index);

			if (err != PB_OK)
				return err;
		}
		child = node_find(cur, segs[i], index);
		if (child == NULL) {
			child = node_new(a, cur, want);
			if (child == NULL)
				return PB_ENOMEM;
			child->name = segs[i];
			child->index = index;
			if (want == NODE_STRING) {
				child->value = f->value;
				child->value_len = f->value_len;
			}
		} else if (want == NODE_STRING) {
			struct node *v;

			if (child->kind != NODE_STRING && child->kind != NODE_REPEAT)
				return PB_EINVAL;
			if (child->kind == NODE_STRING) {
				/* Becomes a list whose first element is the old value. */
				v = arena_alloc(a, sizeof(*v));
				if (v == NULL)
					return PB_ENOMEM;
				*v = *child;
				v->next = NULL;
				child->kind = NODE_REPEAT;
				child->first = child->last = v;
				child->count = 1;
			}
			v = node_new(a, child, NODE_STRING);
			if (v == NULL)
				return PB_ENOMEM;
			v->value = f->value;
			v->value_len = f->value_len;
		} else if (child->kind != want) {
			return PB_EINVAL;	/* "a=1&a[b]=2", "a[b]=1&a[]=2", ... */
		}
		cur = child;
	}
	return PB_OK;
}

static enum pb_err to_json(struct arena *a, const struct node *n, int depth, int max_depth,
    struct json_object **out);

/* Converts the children of n into the elements of array arr, in index order if indexed. */
static enum pb_err
fill_array(struct arena *a, const struct node *n, int depth, int max_depth,
    struct json_object *arr)
{
	const struct node **slots = NULL;
	struct json_object *v;
	size_t i = 0;

	if (n->kind == NODE_INDEX) {
		/* Distinct indexes, all at most count-1: exactly 0..count-1, i.e. dense. */
		slots = arena_calloc(a, n->count, sizeof(const struct node *));
		if (slots == NULL)
			return PB_ENOMEM;
		for (const struct node *c = n->first; c != NULL; c = c->next) {
			if (c->index >= n->count)
				return PB_EINVAL;
			slots[c->index] = c;
		}
	}
	for (const struct node *c = n->first; c != NULL; c = c->next, i++) {
		enum pb_err err = to_json(a, slots != NULL ? slots[i] : c, depth + 1, max_depth,
		    &v);

		if (err != PB_OK)
			return err;
		if (json_object_array_add(arr, v) != 0) {
			json_object_put(v);
			return PB_ENOMEM;
		}
	}
	return PB_OK;
}

static enum pb_err
to_json(struct arena *a, const struct node *n, int depth, int max_depth,
    struct json_object **out)
{
	struct json_object *o, *v;
	enum pb_err err = PB_OK;

	*out = NULL;
	if (depth > max_depth)
		return PB_EINVAL;
	switch (n->kind) {
	case NODE_STRING:
		/* Handlers read strings as C strings: a NUL would cut them short unseen. */
		if (n->value_len > INT32_MAX || !utf8_valid(n->value, n->value_len) ||
		    memchr(n->value, '\0', n->value_len) != NULL)
			return PB_EINVAL;
		o = json_object_new_string_len(n->value, (int)n->value_len);
		if (o == NULL)
			return PB_ENOMEM;
		*out = o;
		return PB_OK;
	case NODE_OBJECT:
		o = json_object_new_object();
		if (o == NULL)
			return PB_ENOMEM;
		for (const struct node *c = n->first; err == PB_OK && c != NULL; c = c->next) {
			if (!utf8_valid(c->name, strlen(c->name))) {
				err = PB_EINVAL;
				break;
			}
			err = to_json(a, c, depth + 1, max_depth, &v);
			if (err == PB_OK && json_object_object_add_ex(o, c->name, v,
			    JSON_C_OBJECT_ADD_KEY_IS_NEW) != 0) {
				json_object_put(v);
				err = PB_ENOMEM;
			}
		}
		break;
	case NODE_REPEAT:
	case NODE_APPEND:
	case NODE_INDEX:
		o = json_object_new_array();
		if (o == NULL)
			return PB_ENOMEM;
		err = fill_array(a, n, depth, max_depth, o);
		break;
	default:
		return PB_EINVAL;
	}
	if (err != PB_OK) {
		json_object_put(o);
		return err;
	}
	*out = o;
	return PB_OK;
}

enum pb_err
form_to_json(struct arena *a, const struct form *f, int max_depth, struct json_object **out)
{
	struct node root = { .kind = NODE_OBJECT };
	const char **segs;
	size_t maxseg = 1, nseg;

	*out = NULL;
	if (max_depth < 1)
		return PB_EINVAL;
	/* A key of n bytes has at most n/2+1 segments; more than max_depth is too deep. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->fields[i].key_len / 2 + 1 > maxseg)
			maxseg = f->fields[i].key_len / 2 + 1;
	}
	if (maxseg > (size_t)max_depth)
		maxseg = (size_t)max_depth;
	segs = arena_calloc(a, maxseg, sizeof(*segs));
	if (segs == NULL)
		return PB_ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		enum pb_err err = form_key_split(a, f->fields[i].key, f->fields[i].key_len, segs,
		    maxseg, &nseg);

		if (err == PB_OK)
			err = insert(a, &root, segs, nseg, &f->fields[i]);
		if (err != PB_OK)
			return err;
	}
	return to_json(a, &root, 1, max_depth, out);
}
