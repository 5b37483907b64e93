# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl check against a real daemon, without one, and on a kernel
# that seems older (a seccomp filter). Included by the top-level Makefile.am.
CHECK_TESTS = tests/integration/ctl-check.sh
TESTS += $(CHECK_TESTS)
EXTRA_DIST += $(CHECK_TESTS)

# Runs a command with chosen system calls failing as on an older kernel.
check_PROGRAMS += tests/helpers/seccomp-deny
tests_helpers_seccomp_deny_SOURCES = tests/helpers/seccomp-deny.c common/kernel.h
