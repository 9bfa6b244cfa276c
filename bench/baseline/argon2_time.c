/*
 * argon2_time: the time of one Argon2id hash at a given cost, alone, for bench/run's
 * signup scenario (docs/BENCHMARKS.md): what a signup spends in the hash, measured apart
 * from everything else the request does.
 *
 *   argon2_time MEMORY_KIB ITERATIONS PARALLELISM [COUNT]
 *
 * Hashes a fixed password COUNT times (default 20) with a fresh salt each and prints the
 * median and the fastest wall time in milliseconds: "median_ms min_ms".
 */
#include "config.h"

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
arg(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 10);
	return *s != '\0' && *end == '\0' && *out >= lo && *out <= hi ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const char pw[] = "correct horse battery staple";
	unsigned long m, t, p, n = 20;
	unsigned char salt[16];
	char encoded[256];
	double ms[1000];
	struct timespec a, b;
	unsigned long i;

	if ((argc != 4 && argc != 5) || arg(argv[1], 8, 4UL * 1024 * 1024, &m) != 0 ||
	    arg(argv[2], 1, 100, &t) != 0 || arg(argv[3], 1, 64, &p) != 0 ||
	    (argc == 5 && arg(argv[4], 1, 1000, &n) != 0)) {
		fprintf(stderr, "usage: argon2_time MEMORY_KIB ITERATIONS PARALLELISM [COUNT]\n");
		return 64;
	}
	for (i = 0; i < n; i++) {
		int rc;

		memset(salt, (int)i, sizeof(salt));
		(void)clock_gettime(CLOCK_MONOTONIC, &a);
		rc = argon2id_hash_encoded((uint32_t)t, (uint32_t)m, (uint32_t)p, pw,
		    sizeof(pw) - 1, salt, sizeof(salt), 32, encoded, sizeof(encoded));
		(void)clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc != ARGON2_OK) {
			fprintf(stderr, "argon2_time: %s\n", argon2_error_message(rc));
			return 1;
		}
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	}
	qsort(ms, n, sizeof(ms[0]), cmp_double);
	printf("%.1f %.1f\n", n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2, ms[0]);
	return 0;
}
