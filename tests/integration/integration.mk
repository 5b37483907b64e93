# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration tests: shell scripts that drive a real pidrestored, built from
# this tree, with real unprivileged users and real namespaces. Most need root
# and exit 77 (skip) without it. Included by the top-level Makefile.am.

INTEGRATION_TESTS = \
	tests/integration/spawn-root.sh \
	tests/integration/privsep.sh \
	tests/integration/deny-host.sh \
	tests/integration/own-userns.sh \
	tests/integration/bad-requests.sh \
	tests/integration/new-pidns.sh \
	tests/integration/new-pidns-nested.sh \
	tests/integration/transparency.sh \
	tests/integration/spawner.sh \
	tests/integration/exec-errors.sh \
	tests/integration/malformed.sh \
	tests/integration/bad-input.sh \
	tests/integration/socket-activation.sh \
	tests/integration/units.sh \
	tests/integration/systemd-units.sh \
	tests/integration/tree.sh \
	tests/integration/ctl-tree.sh \
	tests/integration/ctl-tree-list.sh \
	tests/integration/ctl-tree-claim-all.sh \
	tests/integration/tree-seccomp.sh \
	tests/integration/tree-refusals.sh \
	tests/integration/tree-limits.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/systemd-lib.sh

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = /usr/bin/env bash
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; top_srcdir='$(abs_top_srcdir)'; \
	export top_builddir top_srcdir;

# Programs for what a shell cannot do: a libpidrestore client that checks the
# returned pidfd, a client that sends raw and malformed packets, and a
# sd_notify listener.
check_PROGRAMS += \
	tests/helpers/spawn-pidfd \
	tests/helpers/raw-request \
	tests/helpers/notify-listen

tests_helpers_spawn_pidfd_SOURCES = tests/helpers/spawn-pidfd.c
tests_helpers_spawn_pidfd_LDADD = client/libpidrestore-core.la

tests_helpers_raw_request_SOURCES = tests/helpers/raw-request.c tests/helpers/raw-fds.c tests/helpers/raw-fds.h
nodist_tests_helpers_raw_request_SOURCES = proto/pidrestore.pb-c.h
tests_helpers_raw_request_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_helpers_raw_request_LDADD = proto/libwire.la

tests_helpers_notify_listen_SOURCES = tests/helpers/notify-listen.c

# A restorer's tree over the wire (tree.sh).
check_PROGRAMS += tests/helpers/tree-client
tests_helpers_tree_client_SOURCES = tests/helpers/tree-client.c
nodist_tests_helpers_tree_client_SOURCES = proto/pidrestore.pb-c.h
tests_helpers_tree_client_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_helpers_tree_client_LDADD = proto/libwire.la
check_PROGRAMS += tests/helpers/tree-reap
tests_helpers_tree_reap_SOURCES = tests/helpers/tree-reap.c
# pidrestore_tree_claim_all() from a shell (ctl-tree-claim-all.sh).
check_PROGRAMS += tests/helpers/tree-claim
tests_helpers_tree_claim_SOURCES = tests/helpers/tree-claim.c
tests_helpers_tree_claim_LDADD = client/libpidrestore-core.la

# The test blob of a blob claim (tree.sh): freestanding, position-independent,
# one flat image whose first byte is its entry (tests/helpers/tree-blob.lds).
TREE_BLOB_FLAGS = -std=gnu11 -O2 -Wall -Wextra $(WERROR_CFLAGS) -fPIE -ffreestanding -fno-builtin \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-jump-tables -fvisibility=hidden \
	-fcf-protection=none -nostdlib -static -Wl,--no-dynamic-linker -Wl,--build-id=none \
	-Wl,-T,$(srcdir)/tests/helpers/tree-blob.lds -Wl,--oformat=binary -I$(srcdir)/client
check_DATA = tests/helpers/tree-blob.bin
tests/helpers/tree-blob.bin: tests/helpers/tree-blob.c tests/helpers/tree-blob.lds client/pidrestore-blob.h
	$(AM_V_CCLD)$(MKDIR_P) tests/helpers && $(CC) $(TREE_BLOB_FLAGS) -o $@ $(srcdir)/tests/helpers/tree-blob.c
EXTRA_DIST += tests/helpers/tree-blob.c tests/helpers/tree-blob.lds
CLEANFILES += tests/helpers/tree-blob.bin
