#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A connection that goes away with 1000 outstanding reservations: within a
# second every placeholder is gone from /proc, the daemon holds no more fds
# than before and has no zombie child. A claimed program of that connection
# keeps running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout jq
res_setup
start_daemon

N=1000

# fds once nothing is connected (start_daemon's probe connection included).
settled_fd_count() {
	local want=$1 i n
	for ((i = 0; i < 20; i++)); do
		n=$(daemon_fd_count)
		[ "$n" -ne "$want" ] || break
		sleep 0.1
	done
	echo "$n"
}
sleep 0.2
FD0=$(daemon_fd_count)

# --- the client is killed (as if it crashed)
# Another process may take a PID between the scan and the request: then
# scan again (what this test is about is not a busy PID).
reserve_free() {
	local attempt
	for attempt in 1 2 3; do
		[ "$attempt" -eq 1 ] || sleep 0.5
		free_pids F "$N"
		client_cmd "$1" "reserve ${F[*]}"
		[[ $CL_LAST == "error EEXIST "* ]] || break
	done
}
client_open A
reserve_free A
assert_eq "reserve of $N processes in one request succeeds" "$CL_LAST" "ok $N"
parse_procs
assert_eq "the reply lists $N processes with the PIDs asked for" "$(join_by ' ' "${RES_PIDS[@]}")" "${F[*]}"
assert_eq "a batch of more than 253 comes without pidfds" "$(printf '%s\n' "${RES_PIDFD[@]}" | sort -u)" none
assert_eq "all $N PIDs are placeholders" "$(count_holders "${F[@]}")" "$N"
FD1=$(daemon_fd_count)
check "the daemon holds fds for them ($FD0 before, $FD1 now)" test "$FD1" -ge $((FD0 + N))

client_kill A
if wait_all_gone 1 "${F[@]}"; then
	pass "client killed: all $N placeholders are gone from /proc after ${GONE_AFTER_MS} ms"
else
	fail "client killed: $(count_present "${F[@]}") of $N placeholders are still in /proc after 1 s"
fi
assert_eq "no fd leaked in the daemon" "$(settled_fd_count "$FD0")" "$FD0"
assert_eq "the daemon has no zombie child" "$(zombie_children "$DAEMON_PID")" 0
assert_eq "the daemon has no child but its spawner and front" "$(children_of "$DAEMON_PID" | sort)" "$(helper_pids | sort)"

# --- the client disconnects normally, with one reservation claimed
client_open B
reserve_free B
assert_eq "second round: reserve of $N succeeds" "$CL_LAST" "ok $N"
parse_procs
client_cmd B "exec ${RES_IDS[0]} exec sleep 30"
assert_eq "one of them is claimed by a long-running program" "$CL_LAST" ok
RUNNING=${F[0]}
client_quit B
if wait_all_gone 1 "${F[@]:1}"; then
	pass "client disconnected: the other $((N - 1)) placeholders are gone after ${GONE_AFTER_MS} ms"
else
	fail "client disconnected: $(count_present "${F[@]:1}") placeholders are still in /proc after 1 s"
fi
assert_eq "the claimed program keeps running (PID $RUNNING)" "$(comm_of "$RUNNING")" sleep
run "$PR_CTL" --socket "$SOCK" status --json
assert_match "status: no reservation, one running" "$RUN_OUT" '"reservations":0,"running":1,'
kill -TERM "$RUNNING"
check "the daemon reaps the program once it ends" wait_all_gone 2 "$RUNNING"
assert_eq "no fd leaked in the daemon" "$(settled_fd_count "$FD0")" "$FD0"
assert_eq "the daemon has no zombie child" "$(zombie_children "$DAEMON_PID")" 0

stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
