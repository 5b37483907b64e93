# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's limits against floods (DESIGN §10): connections over all users
# and per user, the request rate per connection, idle connections, and a real
# flood from one user while another is served. Included by the top-level
# Makefile.am; integration.mk sets up the harness.
LIMITS_TESTS = \
	tests/integration/conn-limits.sh \
	tests/integration/conn-idle.sh \
	tests/integration/conn-rate.sh \
	tests/integration/flood.sh \
	tests/integration/limits-nproc.sh \
	tests/integration/limits-slices.sh \
	tests/integration/limits-default.sh \
	tests/integration/limits-subuids.sh \
	tests/integration/limits-fds.sh \
	tests/integration/cgroup-deep.sh \
	tests/integration/hello-name.sh
TESTS += $(LIMITS_TESTS)
EXTRA_DIST += $(LIMITS_TESTS) tests/integration/limits-lib.sh

# Many raw connections and pipelined requests at once.
check_PROGRAMS += tests/helpers/flood-client
tests_helpers_flood_client_SOURCES = tests/helpers/flood-client.c
nodist_tests_helpers_flood_client_SOURCES = proto/pidrestore.pb-c.h
tests_helpers_flood_client_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_helpers_flood_client_LDADD = proto/libwire.la
