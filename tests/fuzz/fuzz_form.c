/*
 * libFuzzer target for form decoding: form_parse, form_key_split, form_to_json, and
 * util/pct's pct_encode, with two properties checked on every input that parses:
 *   - encoding each decoded key and value and parsing the result gives them back;
 *   - a form accepted at some depth gives JSON that json_parse accepts at that depth.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/pct.h"

#define FUZZ_DEPTH 8

static void
check_round_trip(struct arena *a, const struct form *f)
{
	struct form back;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < f->n; i++) {
		if ((i > 0 && buf_appendc(&b, '&') != PB_OK) ||
		    pct_encode(&b, f->fields[i].key, f->fields[i].key_len) != PB_OK ||
		    buf_appendc(&b, '=') != PB_OK ||
		    pct_encode(&b, f->fields[i].value, f->fields[i].value_len) != PB_OK)
			abort();
	}
	if (form_parse(a, buf_cstr(&b), b.len, &back) != PB_OK || back.n != f->n)
		abort();
	for (size_t i = 0; i < f->n; i++) {
		if (back.fields[i].key_len != f->fields[i].key_len ||
		    back.fields[i].value_len != f->fields[i].value_len ||
		    memcmp(back.fields[i].key, f->fields[i].key, f->fields[i].key_len) != 0 ||
		    memcmp(back.fields[i].value, f->fields[i].value, f->fields[i].value_len) != 0)
			abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct form f;
	struct json_object *obj = NULL, *back = NULL;
	const char *segs[FUZZ_DEPTH];
	size_t nseg;
	const char *s;
	size_t len;

	arena_init(&a, 8 * 1024 * 1024);
	if (form_parse(&a, (const char *)data, size, &f) != PB_OK)
		goto out;
	check_round_trip(&a, &f);
	for (size_t i = 0; i < f.n; i++) {
		(void)form_key_split(&a, f.fields[i].key, f.fields[i].key_len, segs, FUZZ_DEPTH,
		    &nseg);
		if (form_get(&f, f.fields[i].key) == NULL && memchr(f.fields[i].key, '\0',
		    f.fields[i].key_len) == NULL)
			abort();
	}
	if (form_to_json(&a, &f, FUZZ_DEPTH, &obj) != PB_OK) {
		if (obj != NULL)
			abort();
		goto out;
	}
	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	if (s == NULL || json_parse(s, len, FUZZ_DEPTH, &back) != PB_OK)
		abort();
	json_object_put(back);
	json_object_put(obj);
out:
	arena_cleanup(&a);
	return 0;
}
