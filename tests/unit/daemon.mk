# SPDX-License-Identifier: LGPL-2.1-or-later
# Unit tests of the daemon's modules, linked against the same objects.
check_PROGRAMS += tests/unit/test-policy
TESTS += tests/unit/test-policy
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c
tests_unit_test_policy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_policy_CFLAGS = $(DAEMON_CFLAGS) -Wno-missing-field-initializers
tests_unit_test_policy_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-config
TESTS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_config_CFLAGS = $(DAEMON_CFLAGS) -Wno-missing-field-initializers
tests_unit_test_config_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-quota
TESTS += tests/unit/test-quota
tests_unit_test_quota_SOURCES = tests/unit/test-quota.c tests/unit/check.h
tests_unit_test_quota_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_quota_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_quota_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-histogram
TESTS += tests/unit/test-histogram
tests_unit_test_histogram_SOURCES = tests/unit/test-histogram.c
tests_unit_test_histogram_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_histogram_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_histogram_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-slab
TESTS += tests/unit/test-slab
tests_unit_test_slab_SOURCES = tests/unit/test-slab.c tests/unit/check.h
tests_unit_test_slab_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_slab_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_slab_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-privmsg
TESTS += tests/unit/test-privmsg
tests_unit_test_privmsg_SOURCES = tests/unit/test-privmsg.c tests/unit/check.h
tests_unit_test_privmsg_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_privmsg_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_privmsg_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-tree-plan
TESTS += tests/unit/test-tree-plan
tests_unit_test_tree_plan_SOURCES = tests/unit/test-tree-plan.c tests/unit/check.h tests/unit/tree-build.h
tests_unit_test_tree_plan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_tree_plan_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_tree_plan_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-tree-rules
TESTS += tests/unit/test-tree-rules
tests_unit_test_tree_rules_SOURCES = tests/unit/test-tree-rules.c tests/unit/check.h tests/unit/tree-build.h
tests_unit_test_tree_rules_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon
tests_unit_test_tree_rules_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_tree_rules_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-plan-check
TESTS += tests/unit/test-plan-check
tests_unit_test_plan_check_SOURCES = tests/unit/test-plan-check.c tests/unit/tree-ref.h tests/unit/check.h
tests_unit_test_plan_check_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/tests/unit
tests_unit_test_plan_check_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_plan_check_LDADD = daemon/libdaemon.la

check_PROGRAMS += tests/unit/test-rxbuf
TESTS += tests/unit/test-rxbuf
tests_unit_test_rxbuf_SOURCES = tests/unit/test-rxbuf.c tests/unit/check.h
tests_unit_test_rxbuf_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon -I$(top_srcdir)/proto
tests_unit_test_rxbuf_CFLAGS = $(DAEMON_CFLAGS)
tests_unit_test_rxbuf_LDADD = daemon/libdaemon.la
