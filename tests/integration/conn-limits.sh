#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --max-connections and --max-connections-per-user: a connection over a limit
# gets one error naming the limit, and goes; the others are served; root has
# a reserve beyond the global limit but its own per-user limit. And a daemon
# out of fds tells a waiting client so, from the fds it keeps in reserve,
# pauses accepting, without spinning, says so once, and accepts again once
# it has fds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limits-lib.sh"
require_root
require_tools setpriv prlimit timeout
setup
# At info level, so that the log shows how refusals are logged.
start_daemon --log-level info --max-connections 4 --max-connections-per-user 3
flood_programs
UID_B=$((TEST_UID + 1))
AS_B=(setpriv --reuid="$UID_B" --regid="$UID_B" --clear-groups --)

# Holds N connections as the user of the wrapper for 60 s, in the
# background; $T/NAME.out gets the helper's lines.
hold() { # NAME N WRAPPER...
	local name=$1 n=$2
	shift 2
	"$@" "$USER_FLOOD" "$SOCK" connect "$n" 60 >"$T/$name.out" 2>"$T/$name.err" &
	HOLD_PID[$name]=$!
	EXTRA_PIDS+=("$!")
	wait_line "$T/$name.out" '^holding$' || { cat "$T/$name.err" >&2; return 1; }
}
declare -A HOLD_PID

sleep 0.2
base=$(daemon_fd_count)

PER_USER_A="uid $TEST_UID already has 3 connections to pidrestored, the limit per user (--max-connections-per-user 3); close connections it no longer needs, or ask the administrator to raise the limit"
GLOBAL="pidrestored already serves 4 connections, its limit (--max-connections 4); close connections that are no longer needed, or ask the administrator to raise the limit"

# --- per user: user A opens 5, gets 3
hold A 5 "${AS_USER[@]}"
assert_eq "user A: 3 of 5 connections accepted" "$(sed -n 1p "$T/A.out")" "accepted 3 refused 2"
assert_eq "the 2 others are refused with the per-user limit" "$(sed -n 2p "$T/A.out")" "refusal 2 name=ENOSPC message=$PER_USER_A"
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" status
assert_ne "pidrestorectl of user A fails" "$RUN_RC" 0
assert_match "and says why, as the daemon put it" "$RUN_ERR" "\\(ENOSPC\\): uid $TEST_UID already has 3 connections to pidrestored, the limit per user"

# --- over all users: user B gets the fourth, not a fifth
hold B 2 "${AS_B[@]}"
assert_eq "user B: 1 of 2 accepted (4 in all)" "$(sed -n 1p "$T/B.out")" "accepted 1 refused 1"
assert_eq "the other is refused with the global limit" "$(sed -n 2p "$T/B.out")" "refusal 1 name=ENOSPC message=$GLOBAL"

# --- root: beyond the global limit, within its own per-user limit
run "$FLOOD" "$SOCK" connect 4
assert_eq "root: 3 of 4 accepted although the daemon is full" "$(sed -n 1p <<<"$RUN_OUT")" "accepted 3 refused 1"
assert_eq "the fourth meets root's own per-user limit" "$(sed -n 2p <<<"$RUN_OUT")" \
	"refusal 1 name=ENOSPC message=uid 0 already has 3 connections to pidrestored, the limit per user (--max-connections-per-user 3); close connections it no longer needs, or ask the administrator to raise the limit"
run "$PR_CTL" --socket "$SOCK" status
assert_eq "root's pidrestorectl status works on a full daemon" "$RUN_RC" 0
assert_match "and counts the 4 held connections and its own" "$RUN_OUT" 'Connections: 5$'

# --- once A lets go, B is served again
kill "${HOLD_PID[A]}"
wait "${HOLD_PID[A]}" 2>/dev/null || true
for ((i = 0; i < 20; i++)); do
	run "${AS_B[@]}" "$USER_CTL" --socket "$SOCK" status
	[ "$RUN_RC" -ne 0 ] || break
	sleep 0.1
done
assert_eq "after user A closed its connections, user B is served" "$RUN_RC" 0
kill "${HOLD_PID[B]}"
wait "${HOLD_PID[B]}" 2>/dev/null || true
check "all closed: the daemon's fd count is back to $base" settle_fds "$base"
assert_eq "of the refusals within 10 s, only the first is logged above debug level" \
	"$(grep -c 'refusing a connection of uid' "$T/daemon.log" || true)" 1
check "the daemon is still running" kill -0 "$DAEMON_PID"

# --- out of fds: the soft fd limit lowered under the lowest free fd
stop_daemon
start_daemon
sleep 0.2
# front accepts the connections. Its limits are changed as its own user:
# root here may lack CAP_SYS_RESOURCE, which another user's process needs.
FRONT=$(front_pid)
FRONT_USER=$(stat -c %U "/proc/$FRONT")
front_prlimit() { setpriv --reuid="$FRONT_USER" --regid="$FRONT_USER" --clear-groups prlimit --pid "$FRONT" "$@"; }
lowest_free_fd() {
	local -A used=()
	local f n=0
	for f in /proc/"$FRONT"/fd/*; do
		used[${f##*/}]=1
	done
	while [ -n "${used[$n]:-}" ]; do
		n=$((n + 1))
	done
	echo "$n"
}
cpu_ticks() { # utime + stime of front
	local stat fields
	stat=$(cat "/proc/$FRONT/stat")
	read -r -a fields <<<"${stat##*) }"
	echo $((fields[11] + fields[12]))
}
soft=$(front_prlimit --nofile --noheadings --output SOFT)
hard=$(front_prlimit --nofile --noheadings --output HARD)
front_prlimit --nofile="$(lowest_free_fd):$hard"
timeout 20 "$PR_CTL" --socket "$SOCK" status >"$T/late.out" 2>"$T/late.err" &
LATE=$!
sleep 0.5
ticks0=$(cpu_ticks)
sleep 2
ticks1=$(cpu_ticks)
check "out of fds, the daemon does not spin on the listening socket ($((ticks1 - ticks0)) ticks of CPU in 2 s)" \
	test $((ticks1 - ticks0)) -lt 20
assert_eq "it says once that it cannot accept" "$(grep -c 'cannot accept connections: Too many open files; pausing' "$T/daemon.log" || true)" 1
# The fds kept in reserve make room to tell it why, rather than leave it
# waiting (DESIGN §10).
rc=0
wait "$LATE" || rc=$?
assert_eq "the client that connected meanwhile is answered at once: refused" "$rc" 1
assert_match "and told that the daemon is out of file descriptors" "$(cat "$T/late.err")" \
	'\(EMFILE\): the daemon is out of file descriptors'
front_prlimit --nofile="$soft:$hard"
run "$PR_CTL" --socket "$SOCK" status
assert_eq "with fds again, a new client is served" "$RUN_RC" 0
assert_eq "and the daemon says it accepts again" "$(grep -c 'accepting connections again' "$T/daemon.log" || true)" 1
finish
