# SPDX-License-Identifier: LGPL-2.1-or-later
# Integration tests of reservations: reserve, claim, release, expiry, limits,
# and what becomes of placeholders when their connection or the daemon goes.
# Included by the top-level Makefile.am; integration.mk sets up the harness.

RESERVE_TESTS = \
	tests/integration/seccomp.sh \
	tests/integration/cgroup-v1.sh \
	tests/integration/watchdog.sh \
	tests/integration/reserve-batch.sh \
	tests/integration/reserve-atomic.sh \
	tests/integration/release-async.sh \
	tests/integration/release-others.sh \
	tests/integration/reserve-disconnect.sh \
	tests/integration/reserve-daemon-kill.sh \
	tests/integration/reserve-ttl.sh \
	tests/integration/reserve-exit.sh \
	tests/integration/reserve-anypid.sh \
	tests/integration/reserve-limits.sh \
	tests/integration/reserve-ctl.sh \
	tests/integration/ctl-exec.sh \
	tests/integration/reserve-user.sh \
	tests/integration/pid1-release.sh \
	tests/integration/pidns-helper.sh

TESTS += $(RESERVE_TESTS)
EXTRA_DIST += $(RESERVE_TESTS) tests/integration/reserve-lib.sh

# A libpidrestore client driven line by line, a clone3(set_tid) prober that
# plays the third party, and a subreaper that reaps a killed daemon's orphans.
check_PROGRAMS += \
	tests/helpers/reserve-client \
	tests/helpers/clone3-probe \
	tests/helpers/reserve-reaper

tests_helpers_reserve_client_SOURCES = tests/helpers/reserve-client.c
tests_helpers_reserve_client_LDADD = client/libpidrestore-core.la

tests_helpers_clone3_probe_SOURCES = tests/helpers/clone3-probe.c common/kernel.h

tests_helpers_reserve_reaper_SOURCES = tests/helpers/reserve-reaper.c

# A reservation that is pid 1 of a new namespace with a program inside, and
# a requester that signals the daemon's namespace helper.
check_PROGRAMS += tests/helpers/pidns-init tests/helpers/pidns-attack
tests_helpers_pidns_init_SOURCES = tests/helpers/pidns-init.c
tests_helpers_pidns_init_LDADD = client/libpidrestore-core.la
tests_helpers_pidns_attack_SOURCES = tests/helpers/pidns-attack.c
tests_helpers_pidns_attack_LDADD = client/libpidrestore-core.la

check_PROGRAMS += tests/helpers/seccomp-run
tests_helpers_seccomp_run_SOURCES = tests/helpers/seccomp-run.c
check_PROGRAMS += tests/helpers/seccomp-vfork
tests_helpers_seccomp_vfork_SOURCES = tests/helpers/seccomp-vfork.c
tests_helpers_seccomp_vfork_LDADD = client/libpidrestore-core.la
