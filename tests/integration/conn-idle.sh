#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --idle-timeout: a connection that sends nothing and holds nothing is closed
# with a last word saying why; one that never says Hello is closed as soon;
# one that holds a reservation or a running program is never closed as idle,
# and is once it holds nothing any more.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
. "$(dirname "$0")/limits-lib.sh"
require_root
require_tools timeout
res_setup
IDLE=2
start_daemon --idle-timeout "$IDLE"

# Seconds as printed by the helper ("closed after 2.0 s") within LO..HI.
closed_within() { # TEXT LO HI
	local s
	s=$(sed -n 's/^closed after \([0-9.]*\) s$/\1/p' <<<"$1")
	[ -n "$s" ] && awk -v s="$s" -v lo="$2" -v hi="$3" 'BEGIN { exit !(s >= lo && s <= hi) }'
}

# Lines the daemon logged about closing connection of process $1 as idle.
idle_closes_of() {
	grep -c "pid $1): the connection was idle" "$T/daemon.log" || true
}

# --- a connection that said Hello and then nothing
run "$FLOOD" "$SOCK" idle 10
assert_match "an idle connection is closed" "$RUN_OUT" '^closed after '
check "after about $IDLE s ($(head -n 1 <<<"$RUN_OUT"))" closed_within "$RUN_OUT" 1.8 4
assert_eq "with a last word saying why" "$(sed -n 's/^word //p' <<<"$RUN_OUT")" \
	"name=ETIMEDOUT message=the connection was idle for $IDLE s (--idle-timeout) with no reservation and no running program; pidrestored closed it; connect again"

# --- a connection that never says Hello: closed after the shorter of the
# Hello deadline (10 s) and the idle timeout
run "$FLOOD" "$SOCK" idle 15 no-hello
check "a connection without Hello is closed after about $IDLE s ($(head -n 1 <<<"$RUN_OUT"))" closed_within "$RUN_OUT" 1.8 4
assert_eq "with a last word saying why" "$(sed -n 's/^word //p' <<<"$RUN_OUT")" \
	"name=ETIMEDOUT message=no Hello within $IDLE s of connecting; pidrestored closed the connection (a client says Hello first)"

# --- a connection that holds a reservation stays, however long it is quiet
pick_pid P
client_open A
client_cmd A "reserve $P"
assert_eq "a reservation is made" "$CL_LAST" "ok 1"
parse_procs
ID=${RES_IDS[0]}
sleep $((IDLE * 2 + 1))
assert_eq "quiet for $((IDLE * 2 + 1)) s while holding a reservation: not closed" "$(idle_closes_of "${CL_PROC[A]}")" 0
check "its placeholder still holds PID $P" pid_exists "$P"

# --- and one whose program runs stays too, until the program has ended
client_cmd A "exec $ID sleep $((IDLE * 2))"
assert_match "the reservation is claimed by a program" "$CL_LAST" '^ok'
sleep $((IDLE + 1))
assert_eq "quiet for $((IDLE + 1)) s while its program runs: not closed" "$(idle_closes_of "${CL_PROC[A]}")" 0
check "the program runs" pid_exists "$P"
check "the program ends" wait_pid_gone "$P" $((IDLE * 2 + 5))
for ((i = 0; i < (IDLE * 2 + 2) * 10; i++)); do
	[ "$(idle_closes_of "${CL_PROC[A]}")" -eq 0 ] || break
	sleep 0.1
done
assert_eq "once it holds nothing, it is closed as idle" "$(idle_closes_of "${CL_PROC[A]}")" 1
client_cmd A status
assert_match "and the client hears why on its next request" "$CL_LAST" \
	'^error ETIMEDOUT the connection was idle for 2 s \(--idle-timeout\)'
client_quit A

# --- a reservation claimed by another connection: the program counts there
# from the claim on, so that each connection is closed as idle once it holds
# nothing (the reserver at once, the claimer once the program ended)
pick_pid P
client_open A
client_open B
client_cmd A "reserve $P"
assert_eq "A reserves PID $P" "$CL_LAST" "ok 1"
parse_procs
client_cmd B "exec ${RES_IDS[0]} sleep $((IDLE + 1))"
assert_match "B claims A's reservation" "$CL_LAST" '^ok'
client_cmd B status
assert_match "the claimer counts the running program" "$CL_LAST" ' running=1 '
check "the program ends" wait_pid_gone "$P" $((IDLE * 2 + 5))
for ((i = 0; i < (IDLE * 2 + 2) * 10; i++)); do
	[ "$(idle_closes_of "${CL_PROC[A]}")" -eq 0 ] || [ "$(idle_closes_of "${CL_PROC[B]}")" -eq 0 ] || break
	sleep 0.1
done
assert_eq "the reserver, holding nothing since the claim, is closed as idle" "$(idle_closes_of "${CL_PROC[A]}")" 1
assert_eq "the claimer, once its program ended, is closed as idle" "$(idle_closes_of "${CL_PROC[B]}")" 1
client_quit A
client_quit B

# --- --idle-timeout 0: nothing is closed as idle
stop_daemon
start_daemon --idle-timeout 0
run "$FLOOD" "$SOCK" idle 3
assert_eq "with --idle-timeout 0 a quiet connection stays open" "$RUN_OUT" "open after 3 s"
finish
