# SPDX-License-Identifier: LGPL-2.1-or-later
# Unit tests of libpidrestore against a daemon played by the test itself.
check_PROGRAMS += tests/unit/test-lib-tree
TESTS += tests/unit/test-lib-tree
tests_unit_test_lib_tree_SOURCES = tests/unit/test-lib-tree.c tests/unit/check.h
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
