# The manuals render cleanly, and the shipped example policy is valid and
# grants nothing. Included by the top-level Makefile.am.
DOCS_TESTS = tests/docs/man-pages.sh tests/docs/example-policy.sh
TESTS += $(DOCS_TESTS)
EXTRA_DIST += $(DOCS_TESTS)
# The pages are generated; the tests read them from the build tree.
check_DATA = $(man5_MANS)
