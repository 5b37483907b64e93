#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A claimed reservation's exit status comes back as an ExitEvent: its exit
# code, or the signal that killed it (SIGTERM, and SIGKILL without a core
# dump). An exec error leaves the reservation claimable; another connection
# of the same uid may claim it and then gets its exit event, while the
# reserving one is told who claimed it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
res_setup
start_daemon

free_pids F 6
client_open A
client_cmd A "reserve ${F[*]}"
assert_eq "six reservations" "$CL_LAST" "ok 6"
parse_procs
ID=("${RES_IDS[@]}")

client_cmd A "exec ${ID[0]} exit 7"
assert_eq "claim 1: exit 7" "$CL_LAST" ok
client_cmd A "exec ${ID[1]} kill -TERM \$\$"
assert_eq "claim 2: killed by SIGTERM" "$CL_LAST" ok
client_cmd A "exec ${ID[2]} kill -KILL \$\$"
assert_eq "claim 3: killed by SIGKILL" "$CL_LAST" ok
client_cmd A "exec ${ID[3]} exit 0"
assert_eq "claim 4: exit 0" "$CL_LAST" ok
client_cmd A "events 4 5000"
assert_eq "four exit events" "$CL_LAST" "ok 4"
assert_match "exit 7: exit_code 7, no signal" "$CL_OUT" "^event exited id=${ID[0]} pids=${F[0]} exit=7 signal=0 core=0\$"
assert_match "SIGTERM: signal 15, no exit code" "$CL_OUT" "^event exited id=${ID[1]} pids=${F[1]} exit=-1 signal=15 core=0\$"
assert_match "SIGKILL: signal 9, no core dump" "$CL_OUT" "^event exited id=${ID[2]} pids=${F[2]} exit=-1 signal=9 core=0\$"
assert_match "exit 0: exit_code 0" "$CL_OUT" "^event exited id=${ID[3]} pids=${F[3]} exit=0 signal=0 core=0\$"

# --- an exec error, then a claim that works
client_cmd A "exec-path ${ID[4]} /nonexistent/program"
assert_match "exec of a missing program: ENOENT" "$CL_LAST" '^error ENOENT '
assert_eq "the placeholder still holds its PID" "$(count_holders "${F[4]}")" 1
client_cmd A "exec ${ID[4]} exit 5"
assert_eq "the same reservation is then claimed" "$CL_LAST" ok
client_cmd A "events 1 5000"
assert_match "and its exit event says 5" "$CL_OUT" "^event exited id=${ID[4]} pids=${F[4]} exit=5 signal=0 core=0\$"
client_cmd A "exec ${ID[4]} exit 0"
assert_match "claiming it again once it ended: ESRCH" "$CL_LAST" '^error ESRCH '

# --- claimed from another connection of the same uid
client_open B
client_cmd B "exec ${ID[5]} exit 9"
assert_eq "a second connection claims A's reservation" "$CL_LAST" ok
client_cmd B "events 1 5000"
assert_match "the exit event goes to the claiming connection" "$CL_OUT" "^event exited id=${ID[5]} pids=${F[5]} exit=9 signal=0 core=0\$"
client_cmd A "events 2 1000"
assert_match "the reserving one is told who claimed it" "$CL_OUT" \
	"^event claimed id=${ID[5]} pids=${F[5]} by_uid=$(id -u) by_pid=${CL_PID[B]}\$"
assert_eq "and gets no exit event" "$CL_LAST" "timeout 1"

client_cmd A status
assert_match "nothing left" "$CL_LAST" '^ok reservations=0 own=0 running=0 '
client_quit A
client_quit B
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
