/*
 * Shared by the unit test programs: each tests/unit/test_<module>.c defines its tests
 * and a table, then calls unit_main(). The exit status is the number of failures (capped),
 * and CUnit prints its usual run summary, which script/test adds up.
 */
#ifndef PB_TESTS_UNIT_H
#define PB_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }

/*
 * Runs tests[0..n) as one suite; when names is non-empty (argv after the program name),
 * only the tests named there.
 */
static inline int
unit_main_only(const char *suite_name, const struct unit_test *tests, size_t n,
    char *const *names, size_t nnames)
{
	CU_pSuite suite;
	unsigned failed;
	size_t added = 0;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (suite == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (k < nnames && strcmp(names[k], tests[i].name) != 0)
			k++;
		if (nnames > 0 && k == nnames)
			continue;
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
		added++;
	}
	if (added == 0 || added < nnames) {
		fprintf(stderr, "%s: a test named on the command line does not exist\n", suite_name);
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() != added) {
		fprintf(stderr, "%s: ran %u of %zu tests\n", suite_name,
		    CU_get_number_of_tests_run(), added);
		failed++;
	}
	CU_cleanup_registry();
	return failed > 100 ? 100 : (int)failed;
fail:
	fprintf(stderr, "%s: CUnit error: %s\n", suite_name, CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

static inline int
unit_main(const char *suite_name, const struct unit_test *tests, size_t n)
{
	return unit_main_only(suite_name, tests, n, NULL, 0);
}

#define UNIT_MAIN(suite, table)                                                  \
	int main(void)                                                           \
	{                                                                        \
		return unit_main(suite, table, sizeof(table) / sizeof(table[0])); \
	}

#endif
