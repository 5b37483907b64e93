# SPDX-License-Identifier: LGPL-2.1-or-later
# Unit tests of libpidrestore against a daemon played by the test itself.
check_PROGRAMS += tests/unit/test-lib-tree
TESTS += tests/unit/test-lib-tree
tests_unit_test_lib_tree_SOURCES = tests/unit/test-lib-tree.c tests/unit/check.h
tests_unit_test_lib_tree_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS) -pthread
tests_unit_test_lib_tree_LDADD = client/libpidrestore-core.la -lpthread
