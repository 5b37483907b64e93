# SPDX-License-Identifier: LGPL-2.1-or-later
# The unit files under a real systemd, and their confinement rating. Included
# by the top-level Makefile.am; integration.mk sets up the harness (and runs
# units.sh and systemd-units.sh).

SYSTEMD_TESTS = tests/integration/unit-security.sh
TESTS += $(SYSTEMD_TESTS)
EXTRA_DIST += $(SYSTEMD_TESTS)

# The session keyring a process finds: spawned and forked children compared.
check_PROGRAMS += tests/helpers/session-keyring
tests_helpers_session_keyring_SOURCES = tests/helpers/session-keyring.c
