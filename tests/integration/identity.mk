# SPDX-License-Identifier: LGPL-2.1-or-later
# Who a requester is (DESIGN §6): an identity taken once and consistent, and
# claims only from the context the reservation was made in. Included by the
# top-level Makefile.am; integration.mk sets up the harness.
IDENTITY_TESTS = \
	tests/integration/identity-setuid.sh \
	tests/integration/claim-context.sh
TESTS += $(IDENTITY_TESTS)
EXTRA_DIST += $(IDENTITY_TESTS)

# A requester that becomes another program after it connected.
check_PROGRAMS += tests/helpers/exec-after-connect
tests_helpers_exec_after_connect_SOURCES = tests/helpers/exec-after-connect.c
nodist_tests_helpers_exec_after_connect_SOURCES = proto/pidrestore.pb-c.h
tests_helpers_exec_after_connect_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_helpers_exec_after_connect_LDADD = proto/libwire.la
