#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestore-bench in its quick mode must still print every table, every row
# with figures where figures belong, and a verdict for every target: the
# benchmark is not part of `make check`, and this keeps it from rotting
# unnoticed. It runs in a pid namespace of its own, so that its PIDs cannot
# meet those of the rest of the machine and no sysctl needs changing.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
require_tools unshare
setup

BENCH=$top_builddir/tests/bench/pidrestore-bench
[ -x "$BENCH" ] || { echo "missing $BENCH: build the tree first (make check builds it)" >&2; exit 99; }

run unshare --pid --fork --mount-proc "$BENCH" --quick
assert_eq "pidrestore-bench --quick exits 0" "$RUN_RC" 0
printf '%s\n' "$RUN_OUT" >"$T/out.md"

NUM='[0-9]+(\.[0-9]+)? \([0-9]+(\.[0-9]+)?-[0-9]+(\.[0-9]+)?\)'
# A table row by its first cell and cpu; prints the line.
table_row() { # NAME CPU
	grep -F "| $1 | $2 |" "$T/out.md" | head -n 1
}

check_row() { # NAME CPU CELLS-ERE
	local line
	line=$(table_row "$1" "$2")
	if [ -z "$line" ]; then
		fail "row \"$1\" ($2) is missing"
		return
	fi
	assert_match "row \"$1\" ($2) has its figures" "$line" "$3"
}

# p50, p99, per second, ratio, baseline, note
LAT_RATE="^\| [^|]+ \| [a-z]+ \| $NUM \| $NUM \| $NUM \|"
WITH_RATIO="$LAT_RATE $NUM \| [a-z]+: [^|]+ \|"
for cpu in pinned unpinned; do
	check_row "floor: clone3(set_tid, CLONE_PIDFD), _exit, reap" $cpu "$LAT_RATE - \| - \|"
	check_row "daemon: reserve 1 PID, get pidfd, release" $cpu "$WITH_RATIO"
	check_row "floor: clone3(set_tid), execve /bin/true, reap" $cpu "$LAT_RATE - \| - \|"
	check_row "daemon: spawn /bin/true, wait for exit event" $cpu "$WITH_RATIO"
	check_row "ns_last_pid: write, fork, reap (no other forker)" $cpu "$WITH_RATIO wrong PID $NUM% \|\$"
	check_row "daemon: connect + Hello (running daemon)" $cpu "$LAT_RATE"
done
check_row "ns_last_pid: write, fork, reap (1 other forker)" unpinned "$LAT_RATE - \| - \| wrong PID $NUM% \|\$"
for n in "1 client" "2 clients" "8 clients" "32 clients"; do
	check_row "daemon: $n in parallel, reserve+release" unpinned "$LAT_RATE - \| - \| slowest client $NUM of the mean \|\$"
done
for n in 0 10 50; do
	check_row "daemon: reserve+release, $n outstanding" pinned "$WITH_RATIO"
done
check_row "daemon: reserve 20 PIDs in 20 requests (per PID)" pinned "^\| [^|]+ \| pinned \| $NUM \| - \| $NUM \|"
check_row "daemon: reserve 20 PIDs in 1 request (per PID)" pinned "^\| [^|]+ \| pinned \| $NUM \| - \| $NUM \| $NUM \|"
if command -v systemd-socket-activate >/dev/null; then
	check_row "cold start: systemd-socket-activate to first reply" unpinned "^\| [^|]+ \| unpinned \| $NUM \| $NUM \| - \|"
fi

for m in "daemon RSS, idle after start" "daemon RSS, idle after the load" \
	"daemon RSS, 0 reservations outstanding" "daemon RSS, 50 reservations outstanding" \
	"placeholder Pss (smaps_rollup), 50 outstanding"; do
	line=$(grep -F "| $m |" "$T/out.md" | head -n 1 || true)
	assert_match "memory figure \"$m\"" "$line" "^\| [^|]+ \| $NUM \|\$"
done

n_targets=$(grep -cE '^\| [^|]+ \| [0-9.]+[^|]* \| (<=|>=) [^|]+ \| (met|missed) \|$' "$T/out.md" || true)
assert_eq "every target has a figure and a verdict" "$n_targets" 9
finish
