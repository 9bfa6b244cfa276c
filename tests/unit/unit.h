/*
 * Shared by the unit test programs: each tests/unit/test_<module>.c defines its tests
 * and a table, then calls unit_main(). The exit status is the number of failures (capped),
 * and CUnit prints its usual run summary, which script/test adds up.
 */
#ifndef PB_TESTS_UNIT_H
#define PB_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn) { #fn, fn }

static inline int
unit_main(const char *suite_name, const struct unit_test *tests, size_t n)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (suite == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (CU_basic_run_tests() != CUE_SUCCESS)
		goto fail;
	failed = CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() != n) {
		fprintf(stderr, "%s: ran %u of %zu tests\n", suite_name,
		    CU_get_number_of_tests_run(), n);
		failed++;
	}
	CU_cleanup_registry();
	return failed > 100 ? 100 : (int)failed;
fail:
	fprintf(stderr, "%s: CUnit error: %s\n", suite_name, CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

#define UNIT_MAIN(suite, table)                                                  \
	int main(void)                                                           \
	{                                                                        \
		return unit_main(suite, table, sizeof(table) / sizeof(table[0])); \
	}

#endif
