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

check_PROGRAMS += tests/unit/test-lib-tree
TESTS += tests/unit/test-lib-tree
tests_unit_test_lib_tree_SOURCES = tests/unit/test-lib-tree.c tests/unit/check.h
tests_unit_test_lib_tree_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
tests_unit_test_lib_tree_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) -pthread
tests_unit_test_lib_tree_LDADD = client/libpidrestore-core.la -lpthread

check_PROGRAMS += tests/unit/test-lib-blob
TESTS += tests/unit/test-lib-blob
tests_unit_test_lib_blob_SOURCES = tests/unit/test-lib-blob.c tests/unit/check.h
tests_unit_test_lib_blob_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) -pthread
tests_unit_test_lib_blob_LDADD = client/libpidrestore-core.la -lpthread

check_PROGRAMS += tests/unit/test-json-read
TESTS += tests/unit/test-json-read
tests_unit_test_json_read_SOURCES = tests/unit/test-json-read.c tests/unit/check.h client/json-read.c client/json-read.h
tests_unit_test_json_read_CFLAGS = $(AM_CFLAGS)
