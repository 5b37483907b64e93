# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmarks: `make bench` builds pidrestore-bench and runs it through
# run-bench.sh (root; it raises pid_max for the run and restores it). Not part
# of `make check`, which only runs bench-smoke.sh: the program in its quick
# mode, checked for a complete table. Included by the top-level Makefile.am.

check_PROGRAMS += tests/bench/pidrestore-bench
tests_bench_pidrestore_bench_SOURCES = \
	tests/bench/bench.h \
	tests/bench/bench-stats.c \
	tests/bench/bench-pids.c \
	tests/bench/bench-kernel.c \
	tests/bench/bench-minimal.c \
	tests/bench/bench-daemon.c \
	tests/bench/bench-client.c \
	tests/bench/bench-main.c \
	common/kernel.h
tests_bench_pidrestore_bench_CPPFLAGS = $(AM_CPPFLAGS) \
	-DBENCH_DAEMON_PATH=\"$(abs_top_builddir)/daemon/pidrestored\" \
	-DBENCH_HOLDER_PATH=\"$(abs_top_builddir)/daemon/holder/pidrestore-holder\"
tests_bench_pidrestore_bench_LDADD = client/libpidrestore-core.la -lm

TESTS += tests/bench/bench-smoke.sh
EXTRA_DIST += tests/bench/bench-smoke.sh tests/bench/run-bench.sh tests/bench/bench-tree.sh tests/bench/RESULTS.md

bench: all tests/bench/pidrestore-bench
	bash $(srcdir)/tests/bench/run-bench.sh $(abs_top_builddir)/tests/bench/pidrestore-bench $(BENCH_ARGS)
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
		bash $(srcdir)/tests/bench/bench-tree.sh
.PHONY: bench
