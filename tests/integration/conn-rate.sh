#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --max-requests-per-second: a connection that sends faster is read more
# slowly; every one of its requests is still answered, and other clients are
# answered at once meanwhile.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limits-lib.sh"
require_root
require_tools timeout
setup
RATE=200
N=1000
start_daemon --max-requests-per-second "$RATE"

# "replies R errors E closed C seconds S" -> the value of field $2.
field() {
	awk -v k="$2" '$1 == "replies" { for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$1"
}

# --- N requests pipelined on one connection (16 unanswered at a time): a
# second's worth pass at once, the rest at RATE a second, so about
# (N - RATE) / RATE seconds in all.
"$FLOOD" "$SOCK" flood 1 "$N" 16 >"$T/rate.out" 2>"$T/rate.err" &
FLOOD_PID=$!
EXTRA_PIDS+=("$FLOOD_PID")
check "the fast client is connected" wait_line "$T/rate.out" '^flooding$'
sleep 1
t0=$EPOCHREALTIME
run "$PR_CTL" --socket "$SOCK" status
ms=$(ms_since "$t0")
assert_eq "another client is answered meanwhile" "$RUN_RC" 0
check "within a second ($ms ms)" test "$ms" -lt 1000
check "the fast client is still being slowed" kill -0 "$FLOOD_PID"
rc=0
wait_gone "$FLOOD_PID" 30
wait "$FLOOD_PID" || rc=$?
out=$(cat "$T/rate.out")
assert_eq "the fast client ends well" "$rc" 0
assert_eq "every one of its $N requests is answered" "$(field "$out" replies)" "$N"
assert_eq "none with an error" "$(field "$out" errors)" 0
assert_eq "and its connection stays open" "$(field "$out" closed)" 0
secs=$(field "$out" seconds)
check "at about $RATE a second: $N requests took $secs s (expected about $(((N - RATE) / RATE)))" \
	awk -v s="$secs" -v lo=$(((N - RATE) / RATE - 1)) -v hi=$(((N - RATE) / RATE * 2)) 'BEGIN { exit !(s >= lo && s <= hi) }'
assert_eq "the daemon says once that it reads that connection more slowly" \
	"$(grep -c "sends more than $RATE requests a second (--max-requests-per-second): reading it more slowly" "$T/daemon.log")" 1

# --- the same without the limit: the time above was the limit's doing
stop_daemon
start_daemon --max-requests-per-second 0
run "$FLOOD" "$SOCK" flood 1 "$N" 16
assert_eq "without a limit all $N are answered" "$(field "$RUN_OUT" replies)" "$N"
# Under valgrind both of the daemon's processes run many times slower;
# the limited run above still takes twice as long.
FAST=${PR_VALGRIND:+2}
check "in well under ${FAST:-1} s ($(field "$RUN_OUT" seconds) s)" \
	awk -v s="$(field "$RUN_OUT" seconds)" -v max="${FAST:-1}" 'BEGIN { exit !(s < max) }'
assert_eq "and nothing is slowed" "$(grep -c 'reading it more slowly' "$T/daemon.log" || true)" 0
finish
