# The man pages: installed, and linted by `make check` when mandoc is available.
dist_man_MANS += man/paybridge.8 man/paybridgectl.8 man/paybridge.conf.5
EXTRA_DIST += man/lint.sh
if HAVE_MANDOC
TESTS += man/lint.sh
endif
