# SPDX-License-Identifier: LGPL-2.1-or-later
# Unit tests of libpidrestore: the library against a scripted daemon of the
# test's own (no real daemon, no PIDs taken). Included by the top-level
# Makefile.am.
check_PROGRAMS += tests/unit/test-lib-events
TESTS += tests/unit/test-lib-events
tests_unit_test_lib_events_SOURCES = tests/unit/test-lib-events.c tests/unit/check.h
tests_unit_test_lib_events_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
tests_unit_test_lib_events_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_unit_test_lib_events_LDADD = client/libpidrestore-core.la
