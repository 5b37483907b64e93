#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The default per-user limit on outstanding reservations (DESIGN §5.3):
# without a grant that says otherwise, a user may hold 4096 reservations,
# over all its connections; the 4097th is refused with ENOSPC naming
# DefaultMaxReservations=. A grant's MaxReservations= raises it for the
# users it names; root is not held to it; [Policy] DefaultMaxReservations=
# changes it on a reload.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout jq
setup
DEFAULT=4096
OTHER_UID=$((TEST_UID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --)
printf '[Grant]\nUser=%s\nPIDs=300000\nMaxReservations=%s\n' "$TEST_UID" $((DEFAULT + 10)) >"$T/pidrestored.conf"
start_daemon --config "$T/pidrestored.conf"
user_programs

# reserve_held NAME CMD...: a reserve that holds its reservations in the
# background until stop_held NAME; RUN_ERR is what it said first.
declare -A HELD
reserve_held() {
	local name=$1 i
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" &
	HELD[$name]=$!
	EXTRA_PIDS+=("$!")
	for ((i = 0; i < 600; i++)); do
		grep -q '^Holding \|failed' "$T/$name.err" && break
		sleep 0.1
	done
	RUN_ERR=$(cat "$T/$name.err")
}
stop_held() {
	kill -TERM "${HELD[$1]}" 2>/dev/null || true
	wait "${HELD[$1]}" 2>/dev/null || true
}
zeros() { yes 0 | head -n "$1"; }

reserve_held A "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" reserve $(zeros "$DEFAULT")
assert_match "uid $OTHER_UID, named by no grant, reserves $DEFAULT" "$RUN_ERR" "^Holding $DEFAULT reservations"
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" reserve 0
assert_match "one more, on another connection: ENOSPC, naming the default" "$RUN_ERR" \
	"\\(ENOSPC\\): uid $OTHER_UID holds $DEFAULT outstanding reservations; 1 more would exceed its limit of $DEFAULT \\(DefaultMaxReservations= in \\[Policy\\]\\)"
check "the refusal is audited" grep -q \
	"PIDRESTORE_OUTCOME=denied .*PIDRESTORE_REQUESTER_UID=$OTHER_UID .*PIDRESTORE_ERRNO=ENOSPC .*PIDRESTORE_RULE=\"DefaultMaxReservations= in \\[Policy\\]\"" "$T/daemon.log"
stop_held A

reserve_held B "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve $(zeros $((DEFAULT + 10)))
assert_match "uid $TEST_UID, whose grant says $((DEFAULT + 10)), reserves that many" "$RUN_ERR" "^Holding $((DEFAULT + 10)) reservations"
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve 0
assert_match "and not one more: the grant's limit" "$RUN_ERR" "\\(ENOSPC\\): .*its limit of $((DEFAULT + 10)) \\(MaxReservations= in grant #1"
stop_held B

reserve_held C "$PR_CTL" --socket "$SOCK" reserve $(zeros $((DEFAULT + 1)))
assert_match "root is not held to the default: it reserves $((DEFAULT + 1))" "$RUN_ERR" "^Holding $((DEFAULT + 1)) reservations"
stop_held C

printf '[Policy]\nDefaultMaxReservations=2\n' >>"$T/pidrestored.conf"
run "$PR_CTL" --socket "$SOCK" reload
assert_eq "a reload sets DefaultMaxReservations=2" "$RUN_RC" 0
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" reserve 0 0 0
assert_match "then 3 are refused to uid $OTHER_UID" "$RUN_ERR" "\\(ENOSPC\\): .*its limit of 2 \\(DefaultMaxReservations= in \\[Policy\\]\\)"
run "${AS_OTHER[@]}" "$USER_CTL" --socket "$SOCK" policy --json=short
assert_eq "and its policy shows the limit" "$(jq -r .your_max_reservations <<<"$RUN_OUT")" 2
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
