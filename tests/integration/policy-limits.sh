#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The per-user limits of the policy: MaxReservations= answers ENOSPC once a
# user holds that many reservations, over all of its connections, and
# serves again once some are gone; SpawnsPerSecond= answers EAGAIN once the
# second's budget is spent, and serves again after the window; a request
# larger than one second's budget is ENOSPC. Refusals are audited.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout
setup
user_programs

OTHER_UID=$((TEST_UID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --)

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
MaxReservations=3

[Grant]
User=$OTHER_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
SpawnsPerSecond=2
CONF
start_daemon --config "$CONF"

# hold VAR OUT PREFIX... -- PIDS...: reserves in the background until killed;
# VAR gets the reserving pidrestorectl's pid once the table is printed.
hold() {
	local var=$1 out=$2 i
	shift 2
	"$@" >"$out" 2>&1 &
	printf -v "$var" '%s' "$!"
	EXTRA_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$out")" -ge 2 ] && return 0
		kill -0 "$!" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# --- MaxReservations=3, counted over connections
pick_pid P1
pick_pid P2
pick_pid P3
pick_pid P4
check "uid $TEST_UID reserves 3 on one connection" \
	hold HOLDER "$T/hold.out" "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P1" "$P2" "$P3"
run timeout 10 "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P4" --ttl 1
assert_match "a 4th reservation, from another connection, is ENOSPC" "$RUN_ERR" '\(ENOSPC\)'
assert_match "the refusal says how many are held and names the rule" "$RUN_ERR" \
	"uid $TEST_UID holds 3 outstanding reservations; 1 more would exceed its limit of 3 \\(MaxReservations= in grant #1 \\(pidrestored.conf:1\\)\\)"
check "nothing holds PID $P4" wait_pid_gone "$P4" 1
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid "$P4" -- true
assert_eq "another uid is not limited by it" "$RUN_RC" 0
kill -TERM "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
check "the held reservations are released when their connection ends" wait_pid_gone "$P1" 5
run timeout 10 "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P4" --ttl 1
assert_eq "once released, uid $TEST_UID may reserve again" "$RUN_RC" 0

# --- SpawnsPerSecond=2
sleep 1.1
pick_pid P5
pick_pid P6
pick_pid P7
check "uid $OTHER_UID reserves 2 in one request, spending its second" \
	hold HOLDER2 "$T/hold2.out" "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P5" "$P6" --ttl 3
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid "$P7" -- true
assert_eq "a 3rd process within the second is refused (125)" "$RUN_RC" 125
assert_match "with EAGAIN" "$RUN_ERR" '\(EAGAIN\)'
assert_match "saying when to try again, and the rule" "$RUN_ERR" \
	"uid $OTHER_UID may create 2 processes a second \\(SpawnsPerSecond= in grant #2 \\(pidrestored.conf:6\\)\\) and has used them up; try again in [0-9]+ ms"
check "nothing holds PID $P7" wait_pid_gone "$P7" 1
sleep 1.1
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid "$P7" -- sh -c 'echo $$'
assert_eq "after the window uid $OTHER_UID is served again" "$RUN_OUT" "$P7"
sleep 1.1
run timeout 10 "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" reserve 0 0 0 --ttl 1
assert_match "3 at once, more than a second allows, is ENOSPC" "$RUN_ERR" '\(ENOSPC\)'
assert_match "and says to split the request" "$RUN_ERR" 'split it into smaller requests'
kill -TERM "$HOLDER2" 2>/dev/null || true
wait "$HOLDER2" 2>/dev/null || true

# --- the refusals were audited
check "the MaxReservations= refusal is audited" grep -q \
	"PIDRESTORE_OUTCOME=denied .*PIDRESTORE_REQUESTER_UID=$TEST_UID .*PIDRESTORE_ERRNO=ENOSPC .*PIDRESTORE_RULE=\"MaxReservations= in grant #1" "$T/daemon.log"
check "the SpawnsPerSecond= refusal is audited" grep -q \
	"PIDRESTORE_OUTCOME=denied .*PIDRESTORE_REQUESTER_UID=$OTHER_UID .*PIDRESTORE_ERRNO=EAGAIN .*PIDRESTORE_RULE=\"SpawnsPerSecond= in grant #2" "$T/daemon.log"

finish
