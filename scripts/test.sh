#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the whole test suite: installs what is missing, then
#   1. builds in a separate build directory with warnings as errors, runs
#      `make check` and `make distcheck`;
#   2. builds the fuzz targets with clang (--enable-fuzz) and runs each for
#      FUZZ_SECONDS (60), all at once;
#   3. builds again with AddressSanitizer and UndefinedBehaviorSanitizer
#      (--enable-sanitizers) and runs `make check` a second time, with leak
#      detection on and every sanitizer report fatal;
#   4. runs `make check` of the first build a third time with every daemon
#      under valgrind (memcheck; an error or a definite leak fails the test).
# It ends with the line "N passed, N failed, N skipped", counting the tests
# of the three `make check` runs, one for distcheck, one per fuzz target and
# one for "no sanitizer report from any process", and exits non-zero on any
# failure. Run it as root: most integration tests need
# root and skip without.
#
# Environment: BUILDDIR (default: build/test in the source tree; the fuzz and
# sanitizer builds go to BUILDDIR-fuzz and BUILDDIR-sanitizers), JOBS,
# FUZZ_SECONDS.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build/test}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
fuzz_seconds=${FUZZ_SECONDS:-60}
passed=0 failed=0 skipped=0

if [ "$(id -u)" -ne 0 ]; then
	echo "test: not root: the integration tests will be skipped (run it as root, or with sudo: sudo $0)" >&2
fi

"$top/scripts/deps.sh"

echo "test: autoreconf"
(cd "$top" && autoreconf -fi)

summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
}

# configure_and_build DIR CONFIGURE_ARGS...: a fresh build in DIR; on
# failure it shows why and returns 1.
configure_and_build() {
	local dir=$1
	shift
	echo "test: configure $* in $dir"
	# A failed distcheck leaves a read-only tree behind.
	[ ! -d "$dir" ] || chmod -R u+w "$dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! (cd "$dir" && "$top/configure" "$@" >configure.out 2>&1); then
		cat "$dir/configure.out"
		return 1
	fi
	echo "test: make in $dir"
	if ! make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1; then
		cat "$dir/make.out"
		return 1
	fi
}

# Counts the results automake recorded in DIR, one .trs per test, leaving
# out distcheck's own build tree.
count() { # DIR RESULT
	find "$1" -path "$1/pidrestore-*" -prune -o -name '*.trs' -print0 |
		xargs -0 -r grep -h '^:test-result:' | awk '{print $2}' | grep -cx "$2" || true
}

# check DIR NAME: `make check` in DIR, its results added to the totals.
check() {
	local dir=$1 name=$2 rc=0 p s f
	echo "test: $name"
	# The test programs build in parallel; the tests run one at a time: they
	# pick free PIDs, and two tests running at once could take each other's.
	make -C "$dir" -j"$jobs" check TESTS= >/dev/null 2>&1 || true
	make -C "$dir" -j1 check VERBOSE=1 || rc=$?
	p=$(($(count "$dir" PASS) + $(count "$dir" XFAIL)))
	s=$(count "$dir" SKIP)
	f=$(($(count "$dir" FAIL) + $(count "$dir" ERROR) + $(count "$dir" XPASS)))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# make check itself broke (a helper did not build, say).
		f=1
	fi
	echo "test: $name: PASS $p, FAIL $f, SKIP $s"
	passed=$((passed + p)) skipped=$((skipped + s)) failed=$((failed + f))
}

# ------------------------------------------------------------ 1. the build
if ! configure_and_build "$builddir" --enable-werror; then
	failed=$((failed + 1))
	summary
	exit 1
fi
check "$builddir" "make check"

echo "test: make distcheck"
distcheck_rc=0
# Serial for the same reason as above (distcheck runs the tests again).
make -C "$builddir" -j1 distcheck >"$builddir/distcheck.out" 2>&1 || distcheck_rc=$?
if [ "$distcheck_rc" -eq 0 ]; then
	passed=$((passed + 1))
	echo "test: make distcheck: PASS"
else
	failed=$((failed + 1))
	# The failing tests' logs (distcheck keeps its build tree on failure),
	# else the end of its output.
	log=$(find "$builddir" -path '*/_build/*' -name test-suite.log 2>/dev/null | head -n 1)
	if [ -n "$log" ] && grep -q '^# FAIL: *[1-9]\|^# ERROR: *[1-9]' "$log"; then
		cat "$log"
	else
		tail -n 60 "$builddir/distcheck.out"
	fi
	echo "test: make distcheck: FAIL (log: $builddir/distcheck.out)"
fi

# ------------------------------------------------------------ 2. fuzzing
# Fuzzers pick no PIDs: they run side by side, one core each.
fuzzdir=$builddir-fuzz
if ! configure_and_build "$fuzzdir" --enable-fuzz; then
	failed=$((failed + 1))
elif ! make -C "$fuzzdir" -j"$jobs" fuzz >>"$fuzzdir/make.out" 2>&1; then
	tail -n 40 "$fuzzdir/make.out"
	echo "test: fuzzing: the fuzz targets did not build (log: $fuzzdir/make.out)"
	failed=$((failed + 1))
else
	fuzz_rc=0
	make -C "$fuzzdir" -s -k -j"$jobs" fuzz-run FUZZ_SECONDS="$fuzz_seconds" 2>&1 | tee "$fuzzdir/fuzz-run.out" || fuzz_rc=$?
	p=$(grep -c '^fuzz-run: [^ ]*: no fault' "$fuzzdir/fuzz-run.out" || true)
	f=$(grep -c '^fuzz-run: [^ ]*: FAULT' "$fuzzdir/fuzz-run.out" || true)
	if [ "$fuzz_rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	echo "test: fuzzing: PASS $p, FAIL $f"
	passed=$((passed + p)) failed=$((failed + f))
fi

# ------------------------------------------------------------ 3. sanitizers
# Every report ends the process that made it, and goes to a file of its own:
# a daemon's leaks show at its exit, which not every test looks at, so any
# report at all fails the run.
sandir=$builddir-sanitizers
if configure_and_build "$sandir" --enable-werror --enable-sanitizers; then
	reports=$sandir/sanitizer-reports
	# Processes of the unprivileged test users report here too.
	mkdir -m 1777 "$reports"
	ASAN_OPTIONS=detect_leaks=1:log_path=$reports/asan \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan \
		check "$sandir" "make check with ASan and UBSan"
	if [ -z "$(find "$reports" -type f -print -quit)" ]; then
		passed=$((passed + 1))
		echo "test: sanitizer reports: none"
	else
		failed=$((failed + 1))
		for f in "$reports"/*; do
			echo "--- $f"
			cat "$f"
		done
		echo "test: sanitizer reports: FAIL (in $reports)"
	fi
else
	failed=$((failed + 1))
fi

# ------------------------------------------------------------ 4. valgrind
# The first build's results are counted already: this run overwrites them.
PR_VALGRIND=1 check "$builddir" "make check with the daemon under valgrind"

summary
[ "$failed" -eq 0 ]
