# SPDX-License-Identifier: LGPL-2.1-or-later
# The placeholder, driven directly as the daemon would drive it (root only).
check_PROGRAMS += tests/unit/test-holder
TESTS += tests/unit/test-holder
tests_unit_test_holder_SOURCES = tests/unit/test-holder.c daemon/holder-proto.h
tests_unit_test_holder_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon \
	-DHOLDER_BUILD_PATH=\"$(abs_top_builddir)/daemon/holder/pidrestore-holder\"
# The test runs the holder binary, so it must be built first.
EXTRA_tests_unit_test_holder_DEPENDENCIES = daemon/holder/pidrestore-holder
