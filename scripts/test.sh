#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds in a separate
# build directory with warnings as errors, runs `make check` and
# `make distcheck`, and ends with the line "N passed, N failed, N skipped"
# (the tests of `make check`, plus one for distcheck). Exits non-zero on any
# failure. Run it as root: most integration tests need root and skip without.
#
# Environment: BUILDDIR (default: build/test in the source tree), JOBS.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build/test}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if [ "$(id -u)" -ne 0 ]; then
	echo "test: not root: the integration tests will be skipped (run: sudo $0)" >&2
fi

"$top/scripts/deps.sh"

echo "test: autoreconf"
(cd "$top" && autoreconf -fi)

echo "test: configure in $builddir"
# A failed distcheck leaves a read-only tree behind.
[ ! -d "$builddir" ] || chmod -R u+w "$builddir"
rm -rf "$builddir"
mkdir -p "$builddir"
cd "$builddir"
"$top/configure" --enable-werror >configure.out 2>&1 || {
	cat configure.out
	echo "0 passed, 1 failed"
	exit 1
}

echo "test: make"
if ! make -j"$jobs" >make.out 2>&1; then
	cat make.out
	echo "0 passed, 1 failed"
	exit 1
fi

echo "test: make check"
check_rc=0
# The test programs build in parallel; the tests run one at a time: they
# pick free PIDs, and two tests running at once could take each other's.
make -j"$jobs" check TESTS= >/dev/null 2>&1 || true
make -j1 check VERBOSE=1 || check_rc=$?

# Count the results automake recorded, one .trs per test.
count() {
	find "$builddir" -path "$builddir/pidrestore-*" -prune -o -name '*.trs' -print0 |
		xargs -0 -r grep -h '^:test-result:' | awk '{print $2}' | grep -cx "$1" || true
}
passed=$(count PASS)
skipped=$(count SKIP)
failed=$(($(count FAIL) + $(count ERROR) + $(count XPASS)))
xfailed=$(count XFAIL)
passed=$((passed + xfailed))
if [ "$check_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# make check itself broke (a helper did not build, say).
	failed=1
fi
echo "test: make check: PASS $passed, FAIL $failed, SKIP $skipped"

echo "test: make distcheck"
distcheck_rc=0
# Serial for the same reason as above (distcheck runs the tests again).
make -j1 distcheck >distcheck.out 2>&1 || distcheck_rc=$?
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
		tail -n 60 distcheck.out
	fi
	echo "test: make distcheck: FAIL (log: $builddir/distcheck.out)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$check_rc" -eq 0 ] && [ "$distcheck_rc" -eq 0 ]
