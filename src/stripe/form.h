/*
 * Stripe request parameters in application/x-www-form-urlencoded, with Stripe's nested
 * bracket keys: metadata[user_id]=42, expand[]=customer, line_items[0][price]=price_1.
 *
 * Every byte of a value, and of each key segment, except ALPHA DIGIT - . _ ~ is
 * percent-encoded by util/pct.h (a space is %20, never +), so no value can add or change a parameter.
 * The brackets that give a key its structure are written literally, as stripe-ruby
 * sends them (stripe-python sends %5B %5D; Stripe decodes the key before it reads the
 * brackets, so both mean the same). A key segment may therefore not itself contain '['
 * or ']' (Stripe refuses such metadata keys anyway).
 *
 * The builder is sticky: the first failure is kept, later adds do nothing and return it,
 * so a caller may add everything and check once. Values must be valid UTF-8.
 */
#ifndef PB_STRIPE_FORM_H
#define PB_STRIPE_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define STRIPE_FORM_MAX ((size_t)256 * 1024)

struct stripe_form {
	struct buf b;		/* the encoded "k=v&k=v" text */
	enum pb_err err;	/* first failure, PB_OK while none */
};

/* A metadata entry or any other key/value pair handed to a call. Both borrowed. */
struct stripe_kv {
	const char *key;
	const char *value;
};

/* Makes an empty form. Allocates nothing. */
void stripe_form_init(struct stripe_form *f);

/* Frees the encoded text. The form may be initialised again. */
void stripe_form_free(struct stripe_form *f);

/*
 * Adds key=value. key is a bracket path: a non-empty name followed by any number of
 * "[segment]" groups; a segment may be empty ("expand[]") and may hold any byte but
 * '[' and ']'. value may be "" (Stripe reads an empty value as "unset"). Copies both.
 * Returns PB_OK, PB_EINVAL (bad key, value not UTF-8), PB_ETOOBIG past
 * STRIPE_FORM_MAX, PB_ENOMEM, or the error a previous add already failed with.
 */
enum pb_err stripe_form_add(struct stripe_form *f, const char *key, const char *value);

/* Adds parent[sub]=value, where sub is taken as one segment (e.g. a metadata key). */
enum pb_err stripe_form_add_sub(struct stripe_form *f, const char *parent, const char *sub,
    const char *value);

/* Adds key=<decimal v>. */
enum pb_err stripe_form_add_int(struct stripe_form *f, const char *key, long long v);

/* Adds key=true or key=false. */
enum pb_err stripe_form_add_bool(struct stripe_form *f, const char *key, bool v);

/* Adds parent[kv[i].key]=kv[i].value for each of the n pairs. */
enum pb_err stripe_form_add_kv(struct stripe_form *f, const char *parent,
    const struct stripe_kv *kv, size_t n);

/* Returns the encoded text ("" when empty). Borrowed from f. */
const char *stripe_form_text(const struct stripe_form *f);

/* Returns the length of the encoded text. */
size_t stripe_form_len(const struct stripe_form *f);

#endif
