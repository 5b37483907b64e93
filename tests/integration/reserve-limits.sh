#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Limits on outstanding reservations (--max-reservations-per-connection and
# --max-reservations) give ENOSPC and create nothing; releasing or claiming
# makes room again. --exit-idle: the daemon exits once it has had no
# connection and no reservation for that long, and not before.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
res_setup
start_daemon --max-reservations-per-connection 3 --max-reservations 5

free_pids F 12
client_open A
client_open B
client_cmd A "reserve ${F[0]} ${F[1]} ${F[2]}"
assert_eq "A reserves 3 (its limit)" "$CL_LAST" "ok 3"
parse_procs
A_IDS=("${RES_IDS[@]}")
client_cmd A "reserve ${F[3]}"
assert_match "A's 4th: ENOSPC, the per-connection limit" "$CL_LAST" '^error ENOSPC .*limit of 3 outstanding reservations per connection'
assert_eq "and no placeholder for it" "$(count_present "${F[3]}")" 0
client_cmd B "reserve ${F[4]} ${F[5]} ${F[6]} ${F[7]}"
assert_match "B asks for 4 at once: ENOSPC (per connection)" "$CL_LAST" '^error ENOSPC .*per connection'
assert_eq "and none of the 4 is held" "$(count_present "${F[@]:4:4}")" 0
client_cmd B "reserve ${F[4]} ${F[5]}"
assert_eq "B reserves 2 (5 in all, the daemon's limit)" "$CL_LAST" "ok 2"
parse_procs
B_IDS=("${RES_IDS[@]}")
client_cmd B "reserve ${F[6]}"
assert_match "B's 3rd: ENOSPC, the daemon's limit" "$CL_LAST" "^error ENOSPC .*daemon's limit of 5 outstanding reservations"
assert_eq "and no placeholder for it" "$(count_present "${F[6]}")" 0

client_cmd A "release ${A_IDS[0]}"
assert_eq "A releases one" "$CL_LAST" "ok 1"
client_cmd B "reserve ${F[6]}"
assert_eq "then B's 3rd fits" "$CL_LAST" "ok 1"
client_cmd A "reserve ${F[7]}"
assert_match "A (2 held) is now refused by the daemon's limit" "$CL_LAST" "^error ENOSPC .*daemon's limit"
client_cmd B "exec ${B_IDS[0]} exit 0"
assert_eq "B claims one of its reservations" "$CL_LAST" ok
client_cmd B "events 1 5000"
client_cmd A "reserve ${F[7]}"
assert_eq "a claimed reservation no longer counts: A's fits" "$CL_LAST" "ok 1"
client_cmd A status
assert_match "status: 5 outstanding, 3 of them A's" "$CL_LAST" '^ok reservations=5 own=3 '

# A closed connection frees its share.
client_quit B
client_open C
client_cmd C "reserve ${F[8]} ${F[9]}"
assert_eq "after B left, C reserves 2" "$CL_LAST" "ok 2"
client_quit A
client_quit C
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0

# --- --exit-idle 1
daemon_alive() {
	local s
	s=$(proc_state "$DAEMON_PID")
	[ "$s" != gone ] && [ "$s" != Z ]
}
start_daemon --exit-idle 1
free_pids G 2
client_open D
client_cmd D "reserve ${G[0]}"
assert_eq "a reservation is held" "$CL_LAST" "ok 1"
sleep 2.5
check "the daemon does not exit while it holds a reservation (2.5 s)" daemon_alive
run "$PR_CTL" --socket "$SOCK" spawn --no-wait --pid "${G[1]}" -- sleep 30
assert_eq "a program is spawned and left running" "$RUN_RC" 0
EXTRA_PIDS+=("${G[1]}")
client_quit D
t0=$(date +%s%N)
for ((i = 0; i < 50; i++)); do
	daemon_alive || break
	sleep 0.1
done
t1=$(date +%s%N)
if daemon_alive; then
	fail "the daemon is still running 5 s after its last connection closed"
else
	pass "the daemon exits $(((t1 - t0) / 1000000)) ms after its last connection and reservation went"
	check "not before the idle time (1 s)" test $(((t1 - t0) / 1000000)) -ge 900
fi
wait "$DAEMON_PID" && DAEMON_RC=0 || DAEMON_RC=$?
DAEMON_PID=
assert_eq "with status 0" "$DAEMON_RC" 0
check "the reservation's placeholder is gone" wait_all_gone 1 "${G[0]}"
assert_eq "the running program was left running" "$(comm_of "${G[1]}")" sleep
kill -TERM "${G[1]}"
finish
