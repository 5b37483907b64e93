#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The tree row of `make bench`: a tree of 1000 nodes with 4 threads each,
# built by pidrestored for a requester in a user and pid namespace of its
# own (tests/helpers/tree-client --scale), against the floor of the same
# run: as many clone3(set_tid) calls (and reaps) made by the requester
# itself, one after the other; and the daemon's RSS while it holds the tree.
#
#   bench-tree.sh [NODES [RUNS]]
#
# Needs root (it starts a daemon and runs the client as the test user), and
# the build tree's environment: top_builddir and top_srcdir.
set -euo pipefail
NODES=${1:-1000}
RUNS=${2:-3}
. "$top_srcdir/tests/integration/lib.sh"
require_root
require_tools setpriv unshare
require_userns
setup
# The tree's processes and threads count against the requester's limits.
printf '[Policy]\nDefaultMaxReservations=%d\n' $((NODES * 6)) >"$T/bench.conf"
start_daemon --config "$T/bench.conf"
user_programs
builds=() floors=() rss=()
for ((run = 0; run < RUNS; run++)); do
	rm -f "$T/go" "$T/out"
	mkfifo "$T/go"
	chmod 666 "$T/go"
	"${AS_USER[@]}" unshare -Urpf --mount-proc "$USER_HELPERS/tree-client" --base 100000 --scale "$NODES" "$SOCK" \
		<"$T/go" >"$T/out" 2>&1 &
	client=$!
	exec 7>"$T/go"
	for ((i = 0; i < 1200; i++)); do
		grep -q '^scale\|^reply' "$T/out" && break
		sleep 0.1
	done
	line=$(grep '^scale' "$T/out" || true)
	rss+=("$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")")
	echo go >&7
	exec 7>&-
	wait "$client" || true
	if [ -z "$line" ]; then
		cat "$T/out" >&2
		fail "the tree of $NODES nodes was not built"
		finish
	fi
	builds+=("$(sed 's/.* build_ms=\([0-9.]*\).*/\1/' <<<"$line")")
	floors+=("$(sed 's/.* floor_ms=\([0-9.]*\).*/\1/' <<<"$line")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
b=$(median "${builds[@]}")
f=$(median "${floors[@]}")
r=$(median "${rss[@]}")
printf '| daemon: tree of %d nodes x 4 threads, built and answered (ms, median of %d) | unpinned | %s | - | - | %s | floor: %d clone3(set_tid) + reap by the requester, %s ms | daemon RSS holding it: %s KiB |\n' \
	"$NODES" "$RUNS" "$b" "$(awk -v b="$b" -v f="$f" 'BEGIN { printf "%.2f", b / f }')" $((NODES * 5)) "$f" "$r"
pass "tree of $NODES nodes built $RUNS times"
finish
