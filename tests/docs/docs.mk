# SPDX-License-Identifier: LGPL-2.1-or-later
# The manuals render cleanly and keep up with the programs, the example of
# libpidrestore(3) is the program that is built and runs against a real
# daemon, the shipped example policy is valid and grants nothing, and the
# daemon's modules keep their layout (no include cycle, no overlong file).
# Included by the top-level Makefile.am.
DOCS_TESTS = \
	tests/docs/man-pages.sh \
	tests/docs/man-links.sh \
	tests/docs/spdx.sh \
	tests/docs/layout.sh \
	tests/docs/man-sync.sh \
	tests/docs/completions.sh \
	tests/docs/man-example.sh \
	tests/docs/example-program.sh \
	tests/docs/example-policy.sh
TESTS += $(DOCS_TESTS)
EXTRA_DIST += $(DOCS_TESTS)
# The pages are generated; the tests read them from the build tree.
check_DATA += $(man1_MANS) $(man3_MANS) $(man5_MANS) $(man8_MANS)

# libpidrestore's queries (stats, check, policy), kill_report and the first
# version of pidrestore_wait_event, from a program built with the public
# header only against the shared library, run by tests/docs/api-program.sh.
DOCS_TESTS += tests/docs/api-program.sh
check_PROGRAMS += tests/docs/api-program
tests_docs_api_program_SOURCES = tests/docs/api-program.c
tests_docs_api_program_CPPFLAGS = -I$(top_srcdir)/client
tests_docs_api_program_LDADD = client/libpidrestore.la
