# The public catalog through the whole stack (issue 9): tests/integration/run.sh BUILD
# tests/integration/test_products. paybridgectl products: tests/integration/run-products.sh.
noinst_PROGRAMS += tests/integration/test_products
tests_integration_test_products_SOURCES = tests/integration/test_products.c \
	tests/integration/itest.c tests/integration/itest.h tests/unit/unit.h
tests_integration_test_products_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) -pthread
tests_integration_test_products_LDADD = $(CUNIT_LIBS) $(CURL_LIBS) $(JSONC_LIBS) -lpthread
