# SPDX-License-Identifier: LGPL-2.1-or-later
# The placeholder, driven directly as the daemon would drive it (root only).
check_PROGRAMS += tests/unit/test-holder
TESTS += tests/unit/test-holder
tests_unit_test_holder_SOURCES = tests/unit/test-holder.c daemon/holder-proto.h
tests_unit_test_holder_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon \
	-DHOLDER_BUILD_PATH=\"$(abs_top_builddir)/daemon/holder/pidrestore-holder\"
# The test runs the holder binary, so it must be built first.
EXTRA_tests_unit_test_holder_DEPENDENCIES = daemon/holder/pidrestore-holder

# The holder as a tree builder, driven as priv drives it (root only).
check_PROGRAMS += tests/unit/test-tree-holder
TESTS += tests/unit/test-tree-holder
tests_unit_test_tree_holder_SOURCES = tests/unit/test-tree-holder.c tests/unit/tree-ref.h \
	daemon/tree-proto.h daemon/plan-check.h
tests_unit_test_tree_holder_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/common \
	-I$(top_srcdir)/tests/unit \
	-DHOLDER_BUILD_PATH=\"$(abs_top_builddir)/daemon/holder/pidrestore-holder\"
EXTRA_tests_unit_test_tree_holder_DEPENDENCIES = daemon/holder/pidrestore-holder
