# SPDX-License-Identifier: LGPL-2.1-or-later
# Fuzz targets (libFuzzer) for what a requester or an admin hands the daemon:
# request packets (decode.c), the policy file (conffile.c), and the request
# records priv takes from front (privmsg.c). Included by the
# top-level Makefile.am.
#
# In every build, `make check` replays each target's corpus (its seeds and
# every input that once made it fail) through the target, linked to replay.c
# instead of libFuzzer. In a build configured with --enable-fuzz (clang):
#   make fuzz                          builds tests/fuzz/fuzz-NAME
#   make fuzz-run [FUZZ_SECONDS=60]    runs each for that long, in parallel
#                                      with -j; logs in tests/fuzz/fuzz-NAME.log,
#                                      failing inputs in tests/fuzz/artifacts/
#   make fuzz-run-NAME                 one of them

FUZZ_NAMES = request config privmsg
FUZZ_SECONDS = 60
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemon

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/config.dict

check_PROGRAMS += tests/fuzz/replay-request tests/fuzz/replay-config tests/fuzz/replay-privmsg
TESTS += tests/fuzz/replay-request tests/fuzz/replay-config tests/fuzz/replay-privmsg

tests_fuzz_replay_privmsg_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-privmsg.c tests/fuzz/fuzz.h
tests_fuzz_replay_privmsg_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/privmsg\"
tests_fuzz_replay_privmsg_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_replay_privmsg_LDADD = daemon/libdaemon.la

tests_fuzz_replay_request_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-request.c tests/fuzz/fuzz.h
tests_fuzz_replay_request_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/request\"
tests_fuzz_replay_request_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_replay_request_LDADD = daemon/libdaemon.la

tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz-config.c tests/fuzz/fuzz.h
tests_fuzz_replay_config_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_CORPUS=\"$(abs_top_srcdir)/tests/fuzz/corpus/config\"
tests_fuzz_replay_config_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_replay_config_LDADD = daemon/libdaemon.la

# What the fuzzers found, followed through a running daemon.
FUZZ_DAEMON_TESTS = tests/fuzz/empty-strings.sh
TESTS += $(FUZZ_DAEMON_TESTS)
EXTRA_DIST += $(FUZZ_DAEMON_TESTS)

# Built only by `make fuzz`: they link libFuzzer, which only clang has.
FUZZ_TARGETS = tests/fuzz/fuzz-request tests/fuzz/fuzz-config tests/fuzz/fuzz-privmsg
EXTRA_PROGRAMS = $(FUZZ_TARGETS) tests/fuzz/seed-request
CLEANFILES += $(EXTRA_PROGRAMS)

# Writes the request seeds (tests/fuzz/corpus/request/): built on demand.
tests_fuzz_seed_request_SOURCES = tests/fuzz/seed-request.c
tests_fuzz_seed_request_CFLAGS = $(AM_CFLAGS) $(PROTOBUF_C_CFLAGS)
tests_fuzz_seed_request_LDADD = proto/libwire.la

tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz-request.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_request_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_request_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_fuzz_request_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_request_LDADD = daemon/libdaemon.la

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_config_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_config_LDADD = daemon/libdaemon.la

FUZZ_ARGS_config = -dict=$(srcdir)/tests/fuzz/config.dict

.PHONY: fuzz fuzz-run $(FUZZ_NAMES:%=fuzz-run-%)
if FUZZ
fuzz: $(FUZZ_TARGETS)

fuzz-run: $(FUZZ_NAMES:%=fuzz-run-%)

# New inputs go to a corpus in the build tree; the seeds are only read.
$(FUZZ_NAMES:%=fuzz-run-%): fuzz-run-%: tests/fuzz/fuzz-%
	@$(MKDIR_P) tests/fuzz/run/$* tests/fuzz/artifacts
	@echo "fuzz-run: $* for $(FUZZ_SECONDS) s (log: tests/fuzz/fuzz-$*.log)"
	@if tests/fuzz/fuzz-$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
		-artifact_prefix=tests/fuzz/artifacts/$*- $(FUZZ_ARGS_$*) $(FUZZ_ARGS) \
		tests/fuzz/run/$* $(srcdir)/tests/fuzz/corpus/$* >tests/fuzz/fuzz-$*.log 2>&1; then \
		echo "fuzz-run: $*: no fault; $$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)' tests/fuzz/fuzz-$*.log | tr '\n' ' ')"; \
	else \
		tail -n 40 tests/fuzz/fuzz-$*.log; \
		echo "fuzz-run: $*: FAULT; the input is in tests/fuzz/artifacts/: replay it with tests/fuzz/fuzz-$* FILE, fix the cause, and add the file to tests/fuzz/corpus/$*/ as a regression test" >&2; \
		exit 1; \
	fi
else
fuzz fuzz-run $(FUZZ_NAMES:%=fuzz-run-%):
	@echo "$@: this build was configured without --enable-fuzz; configure another build directory with $(abs_top_srcdir)/configure --enable-fuzz (clang and libclang-rt-dev needed) and run make $@ there" >&2; \
	exit 1
endif

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/run tests/fuzz/artifacts $(FUZZ_NAMES:%=tests/fuzz/fuzz-%.log)
.PHONY: clean-fuzz

tests_fuzz_fuzz_privmsg_SOURCES = tests/fuzz/fuzz-privmsg.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_privmsg_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_privmsg_CFLAGS = $(DAEMON_CFLAGS)
tests_fuzz_fuzz_privmsg_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_privmsg_LDADD = daemon/libdaemon.la
