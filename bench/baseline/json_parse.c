/*
 * json_parse: the cost of parsing one request body, alone, for issue 15's one-pass parser.
 *
 *   json_parse [--oracle] FILE [COUNT]
 *
 * Parses FILE COUNT times (default 1000) at the webhook's depth, 64, with json_parse, or
 * with the three-pass parser it replaced (tests/fuzz/json_oracle.c) under --oracle, and
 * prints the fastest and the median wall time of one parse in microseconds. Wall times
 * are noisy on a shared machine; instructions are not:
 *
 *   valgrind --tool=callgrind --toggle-collect=parse_all bench/baseline/json_parse FILE 100
 *
 * counts only the parses (divide the total by COUNT).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"
#include "util/json.h"

#include "../../tests/fuzz/json_oracle.h"

#define DEPTH 64	/* EVENT_JSON_DEPTH */
#define ROUND 10	/* parses a timed round */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Parses s[0..len) count times; false when one refuses it. Not inlined: callgrind's mark. */
__attribute__((noinline)) static bool
parse_all(const char *s, size_t len, long count, bool oracle)
{
	struct json_object *o;
	enum pb_err err;

	for (long i = 0; i < count; i++) {
		if (oracle)
			err = json_parse_why_oracle(s, len, DEPTH, &o, NULL, 0);
		else
			err = json_parse(s, len, DEPTH, &o);
		if (err != PB_OK)
			return false;
		json_object_put(o);
	}
	return true;
}

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	bool oracle = argc > 1 && strcmp(argv[1], "--oracle") == 0;
	long count = 1000, rounds;
	char chunk[4096], *end;
	double *t;
	struct buf b;
	FILE *f;
	size_t n;

	argv += oracle;
	argc -= oracle;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: json_parse [--oracle] FILE [COUNT]\n");
		return 64;
	}
	if (argc == 3) {
		count = strtol(argv[2], &end, 10);
		if (*end != '\0' || count < 1 || count > 100000000) {
			fprintf(stderr, "json_parse: bad COUNT %s\n", argv[2]);
			return 64;
		}
	}
	f = fopen(argv[1], "r");
	if (f == NULL) {
		perror(argv[1]);
		return 1;
	}
	buf_init(&b, 1 << 26);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) != PB_OK) {
			fprintf(stderr, "json_parse: %s is too big\n", argv[1]);
			fclose(f);
			return 1;
		}
	}
	fclose(f);
	rounds = (count + ROUND - 1) / ROUND;
	t = calloc((size_t)rounds, sizeof(*t));
	if (t == NULL)
		return 1;
	for (long r = 0; r < rounds; r++) {
		long k = r < rounds - 1 || count % ROUND == 0 ? ROUND : count % ROUND;
		double start = now_us();

		if (!parse_all(buf_cstr(&b), b.len, k, oracle)) {
			fprintf(stderr, "json_parse: %s is refused\n", argv[1]);
			return 1;
		}
		t[r] = (now_us() - start) / (double)k;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
	printf("%zu bytes: %.2f us fastest, %.2f us median a parse (%s, %ld parses)\n", b.len,
	    t[0], t[rounds / 2], oracle ? "the three passes" : "json_parse", count);
	free(t);
	buf_free(&b);
	return 0;
}
