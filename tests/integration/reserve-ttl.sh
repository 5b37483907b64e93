#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reservation's TTL: when it runs out the placeholder is released and the
# owner gets an ExpiredEvent; claiming it afterwards gives ESRCH. A claimed
# reservation no longer expires. --max-ttl caps a longer TTL, and applies to
# reservations that asked for none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
res_setup
start_daemon

now_ms() { echo $(($(date +%s%N) / 1000000)); }

free_pids F 3
client_open A
client_cmd A "reserve ttl=1 ${F[0]} ${F[1]}"
assert_eq "two reservations with a TTL of 1 s" "$CL_LAST" "ok 2"
parse_procs
EXP_IDS=("${RES_IDS[@]}")
client_cmd A "reserve ${F[2]}"
parse_procs
KEEP_ID=${RES_IDS[0]}
t0=$(now_ms)
client_cmd A "events 2 5000"
t1=$(now_ms)
assert_eq "two events arrive" "$CL_LAST" "ok 2"
assert_match "an ExpiredEvent for the first, with its PID" "$CL_OUT" "^event expired id=${EXP_IDS[0]} pids=${F[0]}\$"
assert_match "an ExpiredEvent for the second, with its PID" "$CL_OUT" "^event expired id=${EXP_IDS[1]} pids=${F[1]}\$"
check "they came after about 1 s ($((t1 - t0)) ms)" test $((t1 - t0)) -ge 500 -a $((t1 - t0)) -le 3000
check "the expired placeholders are gone" wait_all_gone 1 "${F[0]}" "${F[1]}"
assert_eq "the one without a TTL is still held" "$(count_holders "${F[2]}")" 1

client_cmd A "exec ${EXP_IDS[0]} exit 0"
assert_match "exec into an expired reservation: ESRCH" "$CL_LAST" "^error ESRCH .*reservation ${EXP_IDS[0]}"
client_cmd A "release ${EXP_IDS[1]}"
assert_match "release of an expired reservation: ESRCH" "$CL_LAST" '^error ESRCH '
client_cmd A "exec 999999 exit 0"
assert_match "exec into an id that never existed: ESRCH" "$CL_LAST" '^error ESRCH '
client_cmd A status
assert_match "the daemon counts only the one left" "$CL_LAST" '^ok reservations=1 own=1 '

# A claimed reservation does not expire: its program outlives the TTL.
free_pids G 1
client_cmd A "reserve ttl=1 ${G[0]}"
parse_procs
client_cmd A "exec ${RES_IDS[0]} sleep 1.5; exit 3"
assert_eq "a reservation with a TTL of 1 s is claimed" "$CL_LAST" ok
client_cmd A "events 1 4000"
assert_eq "its only event is the exit, after the TTL: status 3" "$CL_OUT" \
	"event exited id=${RES_IDS[0]} pids=${G[0]} exit=3 signal=0 core=0"$'\n'"ok 1"$'\n'
client_cmd A "events 1 500"
assert_eq "and no ExpiredEvent follows" "$CL_LAST" "timeout 0"
client_quit A
stop_daemon

# --- --max-ttl 1: caps a TTL of 60 s, and gives one to a reservation without
start_daemon --max-ttl 1
free_pids H 2
client_open B
client_cmd B "reserve ttl=60 ${H[0]}"
parse_procs
LONG=${RES_IDS[0]}
client_cmd B "reserve ${H[1]}"
parse_procs
NONE=${RES_IDS[0]}
t0=$(now_ms)
client_cmd B "events 2 5000"
t1=$(now_ms)
assert_eq "--max-ttl 1: both reservations expire" "$CL_LAST" "ok 2"
assert_match "the one that asked for 60 s expired" "$CL_OUT" "^event expired id=$LONG pids=${H[0]}\$"
assert_match "the one that asked for no TTL expired" "$CL_OUT" "^event expired id=$NONE pids=${H[1]}\$"
check "after about 1 s, not 60 ($((t1 - t0)) ms)" test $((t1 - t0)) -le 3000
check "their placeholders are gone" wait_all_gone 1 "${H[@]}"
client_quit B
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
