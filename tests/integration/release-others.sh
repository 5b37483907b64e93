#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reservation released or killed by another connection: its owner hears
# of it (a released event naming who did it), and the connection that asked
# does not. A release of every reservation of a uid, over all of its
# connections: a user's own, root's of anyone's, refused for another user's
# (EPERM) and audited. The daemon's goodbye reaches a client that waits for
# events as the daemon's own words, not as a protocol error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv timeout
res_setup
user_client

OTHER_UID=$((TEST_UID + 1))
OTHER_GID=$((TEST_GID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_GID" --clear-groups --)

wait_log() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -Eq -- "$1" "$T/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}

free_pids F 12
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
# written by $TEST_NAME
[Grant]
User=$TEST_UID $OTHER_UID
PIDs=${F[*]}
Namespace=host
CONF
start_daemon --config "$CONF"

CLIENT_BIN=$USER_CLIENT client_open U1 "${AS_USER[@]}"
CLIENT_BIN=$USER_CLIENT client_open U2 "${AS_USER[@]}"
CLIENT_BIN=$USER_CLIENT client_open O "${AS_OTHER[@]}"
client_open R

# --- released by another connection of the same user, by id
client_cmd U1 "reserve ${F[0]} ${F[1]}"
assert_eq "the user reserves two host PIDs on its first connection" "$CL_LAST" "ok 2"
parse_procs
A=${RES_IDS[0]} B=${RES_IDS[1]}
client_cmd U2 "release $A"
assert_eq "its second connection releases one by id" "$CL_LAST" "ok 1"
client_cmd U1 "events 1 5000"
assert_eq "the owner hears who released it" "${CL_OUT%$'\n'}" \
	"event released id=$A pids=${F[0]} by_uid=$TEST_UID by_pid=${CL_PROC[U2]} signal=0"$'\n'"ok 1"
client_cmd U2 "events 1 300"
assert_eq "the releasing connection gets no event" "$CL_LAST" "timeout 0"

# --- killed by root
client_cmd R "kill 15 $B"
assert_eq "root kills the other: released, not signalled" "$CL_LAST" "ok 1 signalled=0 released=1"
client_cmd U1 "events 1 5000"
assert_eq "the owner hears root released it with SIGTERM" "${CL_OUT%$'\n'}" \
	"event released id=$B pids=${F[1]} by_uid=0 by_pid=${CL_PROC[R]} signal=15"$'\n'"ok 1"
assert_eq "PID ${F[1]} is free" "$(count_present "${F[1]}")" 0

# --- released by the connection itself: no event
client_cmd U1 "reserve ${F[2]}"
parse_procs
client_cmd U1 "release ${RES_IDS[0]}"
assert_eq "the owner releases its own" "$CL_LAST" "ok 1"
client_cmd U1 "events 1 300"
assert_eq "and hears nothing of it" "$CL_LAST" "timeout 0"

# --- every reservation of a uid, over its connections
client_cmd U1 "reserve ${F[3]} ${F[4]}"
parse_procs
C=${RES_IDS[0]} D=${RES_IDS[1]}
client_cmd U2 "reserve ${F[5]}"
parse_procs
E=${RES_IDS[0]}
client_cmd O "reserve ${F[6]}"
assert_eq "another user reserves a PID" "$CL_LAST" "ok 1"
parse_procs
O_ID=${RES_IDS[0]}

client_cmd O "release-user $TEST_UID"
assert_match "another user releasing uid $TEST_UID's: EPERM, and why" "$CL_LAST" \
	"^error EPERM only root may release the reservations of uid $TEST_UID \(uid $OTHER_UID asked\)"
assert_eq "nothing of uid $TEST_UID was released" "$(count_present "${F[3]}" "${F[4]}" "${F[5]}")" 3
check "the refusal is audited" wait_log \
	"denied release of the reservations of uid $TEST_UID to uid $OTHER_UID"
client_cmd O "release-user self"
assert_eq "the other user releases its own: one" "$CL_LAST" "ok 1"
client_cmd O "events 1 300"
assert_eq "its own release sends it no event" "$CL_LAST" "timeout 0"
assert_eq "uid $TEST_UID's are all still there" "$(count_present "${F[3]}" "${F[4]}" "${F[5]}")" 3

client_cmd U2 "release-user self"
assert_eq "the user releases its own over both connections: three" "$CL_LAST" "ok 3"
assert_eq "their PIDs are free" "$(count_present "${F[3]}" "${F[4]}" "${F[5]}")" 0
client_cmd U1 "events 2 5000"
assert_eq "the first connection hears of both of its own (in the order they were reaped)" \
	"$(grep '^event' <<<"$CL_OUT" | sort)"$'\n'"$CL_LAST" \
	"$(printf '%s\n' "event released id=$C pids=${F[3]} by_uid=$TEST_UID by_pid=${CL_PROC[U2]} signal=0" \
		"event released id=$D pids=${F[4]} by_uid=$TEST_UID by_pid=${CL_PROC[U2]} signal=0" | sort)"$'\n'"ok 2"
client_cmd U2 "events 1 300"
assert_eq "the asking connection hears nothing of its own one ($E)" "$CL_LAST" "timeout 0"
check "the release is audited" wait_log \
	"granted release of the 3 reservations of uid $TEST_UID, over all its connections, to uid $TEST_UID"

client_cmd U1 "reserve ${F[7]}"
parse_procs
G=${RES_IDS[0]}
client_cmd R "reserve ${F[8]}"
assert_eq "root reserves a PID of its own" "$CL_LAST" "ok 1"
client_cmd R "release-user $TEST_UID"
assert_eq "root releases uid $TEST_UID's" "$CL_LAST" "ok 1"
client_cmd U1 "events 1 5000"
assert_eq "the user hears root did" "${CL_OUT%$'\n'}" \
	"event released id=$G pids=${F[7]} by_uid=0 by_pid=${CL_PROC[R]} signal=0"$'\n'"ok 1"
assert_eq "root's own reservation stays" "$(count_present "${F[8]}")" 1
client_cmd R "release-user 4294967294"
assert_eq "root releasing a uid with no reservation: none" "$CL_LAST" "ok 0"
client_cmd R "release-all"
run "$PR_HELPERS/raw-request" "$SOCK" release-uid "$TEST_UID"
assert_match "a release with a uid but not all: EINVAL, and what to do" "$RUN_OUT" \
	"^reply error=22 name=EINVAL message=a release that names a uid must set all and name no ids"

# --- the CLI
CTL=$PR_CTL
user_programs
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" release --uid "$TEST_UID"
assert_eq "release --uid without --all: usage error" "$RUN_RC" 2
assert_match "release --uid without --all: says what goes with it" "$RUN_ERR" "--uid goes with --all"
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" release --all --uid "$TEST_UID"
assert_eq "release --all --uid of another user, not root: refused" "$RUN_RC" 1
assert_match "and says only root may" "$RUN_ERR" "release failed \(EPERM\): only root may release the reservations of uid $TEST_UID"

"${AS_USER[@]}" timeout 30 "$USER_CTL" --socket "$SOCK" reserve "${F[9]}" "${F[10]}" --ttl 4 \
	>"$T/hold.out" 2>"$T/hold.err" </dev/null &
HOLD=$!
EXTRA_PIDS+=("$HOLD")
for ((i = 0; i < 50; i++)); do
	[ "$(grep -c '^[0-9]' "$T/hold.out" 2>/dev/null)" = 2 ] && break
	sleep 0.1
done
H1=$(awk -v p="${F[9]}" '$2 == p {print $1}' "$T/hold.out")
assert_match "reserve --ttl 4 prints its reservations" "$H1" '^[0-9]+$'
start=$SECONDS
run "$CTL" --socket "$SOCK" release "$H1"
assert_eq "root releases one of them by id from another shell" "$RUN_OUT" "Released 1 reservation."
rc=0
wait "$HOLD" || rc=$?
assert_eq "reserve exits 0 once the other expired" "$rc" 0
check "within the TTL, not a timeout later" test $((SECONDS - start)) -le 8
assert_match "reserve says who released the first" "$(cat "$T/hold.err")" \
	"Reservation $H1 was released by uid 0 \(pid [0-9]+\)\."
assert_match "and that the second expired" "$(cat "$T/hold.err")" "Reservation [0-9]+ expired\."
assert_no_match "no protocol error" "$(cat "$T/hold.err")" "EPROTO"

client_cmd U1 "reserve ${F[9]}"
client_cmd U2 "reserve ${F[10]}"
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" release --all
assert_eq "release --all as the user: every one of its connections'" "$RUN_OUT" "Released 2 reservations."
client_cmd U1 "reserve ${F[9]}"
run "$CTL" --socket "$SOCK" release --all --uid "$TEST_UID"
assert_eq "release --all --uid as root" "$RUN_OUT" "Released 1 reservation."

client_cmd U1 "reserve ${F[11]}"
parse_procs
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" kill "${RES_IDS[0]}"
assert_eq "kill of a reservation says it was released, not signalled" "$RUN_OUT" \
	"Released 1 reservation (a reservation runs no program to signal)."
client_cmd R "reserve ${F[11]}"
parse_procs
client_cmd R "exec ${RES_IDS[0]} exec sleep 30"
assert_eq "root claims a reservation with a program" "$CL_LAST" "ok"
run "$CTL" --socket "$SOCK" kill "${RES_IDS[0]}"
assert_eq "kill of a program says it was signalled, and nothing of reservations" "$RUN_OUT" "Sent SIGTERM to 1 program."

client_quit U1
client_quit U2
client_quit O
client_quit R

# --- the daemon's goodbye, while a client waits for events
stop_daemon
start_daemon --config "$CONF" --idle-timeout 1
client_open W
client_cmd W "events 1 5000"
assert_match "an idle connection closed: the daemon's words, ETIMEDOUT" "$CL_LAST" \
	"^error ETIMEDOUT the connection was idle for 1 s \(--idle-timeout\)"
assert_no_match "not a response to a request that is not pending" "$CL_LAST" "not pending"
client_kill W
finish
