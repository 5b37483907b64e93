# SPDX-License-Identifier: LGPL-2.1-or-later
# What a distribution meets: its default build flags, make install under a
# prefix of its choosing, and the files installed there. Included by the
# top-level Makefile.am.
DIST_TESTS = \
	tests/dist/distro-flags.sh \
	tests/dist/install-layout.sh \
	tests/dist/ctl-static.sh \
	tests/dist/holder-search.sh \
	tests/dist/debian-package.sh
TESTS += $(DIST_TESTS)
EXTRA_DIST += $(DIST_TESTS)
