#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestored killed with SIGKILL while it holds reservations and has running
# children: the placeholders notice and exit by themselves (gone within a
# second), the running programs, claimed or spawned, keep running.
#
# The daemon runs below a subreaper of the test's own, so that the orphans
# are reaped and leave /proc whatever this machine's PID 1 does with them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
res_setup

SOCK=$T/sock
# The background job opens its log itself, maybe after the loop below reads
# it first: create it here.
: >"$T/daemon.log"
"$RES_REAPER" "$PR_DAEMON" --socket "$SOCK" --holder "$PR_HOLDER" --log-level debug \
	>"$T/daemon.log" 2>&1 </dev/null &
REAPER=$!
EXTRA_PIDS+=("$REAPER")
for ((i = 0; i < 100; i++)); do
	DAEMON_PID=$(sed -n 's/^child=//p' "$T/daemon.log")
	[ -z "$DAEMON_PID" ] || ! "$PR_CTL" --socket "$SOCK" status >/dev/null 2>&1 || break
	sleep 0.1
done
"$PR_CTL" --socket "$SOCK" status >/dev/null || { cat "$T/daemon.log" >&2; exit 99; }

free_pids F 20
client_open A
client_cmd A "reserve ${F[*]}"
assert_eq "20 reservations" "$CL_LAST" "ok 20"
parse_procs
client_cmd A "exec ${RES_IDS[0]} exec sleep 60"
assert_eq "one claimed by a long-running program" "$CL_LAST" ok
client_cmd A "exec ${RES_IDS[1]} exec sleep 60"
assert_eq "a second one claimed" "$CL_LAST" ok
RUNNING=("${F[0]}" "${F[1]}")
HELD=("${F[@]:2}")
free_pids S 1
run "$PR_CTL" --socket "$SOCK" spawn --no-wait --pid "${S[0]}" -- sleep 60
assert_eq "a third program spawned (not from a reservation)" "$RUN_RC" 0
RUNNING+=("${S[0]}")
EXTRA_PIDS+=("${RUNNING[@]}")
assert_eq "the three programs run" "$(for p in "${RUNNING[@]}"; do comm_of "$p"; done | sort -u)" sleep
assert_eq "18 placeholders are held" "$(count_holders "${HELD[@]}")" 18
assert_eq "the programs are the daemon's children" \
	"$(for p in "${RUNNING[@]}"; do awk '{print $4}' "/proc/$p/stat"; done | sort -u)" "$DAEMON_PID"

kill -KILL "$DAEMON_PID"
if wait_all_gone 1 "${HELD[@]}"; then
	pass "daemon SIGKILLed: all 18 placeholders are gone after ${GONE_AFTER_MS} ms"
else
	fail "daemon SIGKILLed: $(count_present "${HELD[@]}") of 18 placeholders are still in /proc after 1 s (states: $(for p in "${HELD[@]}"; do proc_state "$p"; done | sort | uniq -c | tr '\n' ' '))"
fi
check "the daemon itself is gone" wait_all_gone 1 "$DAEMON_PID"
DAEMON_PID=
sleep 0.5
assert_eq "the three programs still run" "$(for p in "${RUNNING[@]}"; do comm_of "$p"; done | sort -u)" sleep
client_cmd A status
assert_match "the client sees its connection closed" "$CL_LAST" '^error (ECONNRESET|EPIPE) '

kill -TERM "${RUNNING[@]}"
check "the programs end when signalled (reaped by the subreaper)" wait_all_gone 2 "${RUNNING[@]}"
client_kill A
finish
