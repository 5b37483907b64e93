#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Limits count per responsible user: a user who owns a user namespace that
# maps several of its subordinate uids cannot multiply its limits by
# connecting as each of them. uid $TEST_UID's namespace maps 1..10 to
# 100000..100009; connections and reservations of those uids count against
# $TEST_UID's --max-connections-per-user and reservation limit, and the
# refusal says whose they are. Another user is not affected.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limits-lib.sh"
require_root
require_tools setpriv unshare nsenter timeout
setup
SUB=100000
OTHER_UID=$((TEST_UID + 1))
# At most 3 reservations for the user and each of its subordinate uids.
printf '[Grant]\nUser=%s %s\nPIDs=300000\nMaxReservations=3\n' "$TEST_UID" "$(seq -s ' ' "$SUB" $((SUB + 9)))" \
	>"$T/pidrestored.conf"
start_daemon --config "$T/pidrestored.conf" --max-connections-per-user 4
flood_programs

# A user namespace uid TEST_UID owns; root writes the mapping that
# newuidmap would write from /etc/subuid.
setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- unshare -U sleep 300 &
NS_PID=$!
EXTRA_PIDS+=("$NS_PID")
for ((i = 0; i < 50; i++)); do
	[ "$(readlink "/proc/$NS_PID/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
	sleep 0.1
done
# A map is written in one write(): cat writes a small file at once.
printf '0 %s 1\n1 %s 10\n' "$TEST_UID" "$SUB" >"$T/uid_map"
printf '0 %s 1\n1 %s 10\n' "$TEST_GID" "$SUB" >"$T/gid_map"
cat "$T/uid_map" >"/proc/$NS_PID/uid_map"
cat "$T/gid_map" >"/proc/$NS_PID/gid_map"
# as_inner K CMD...: runs CMD as uid K of that namespace (host uid SUB+K-1);
# "${INNER[@]}" CMD, after inner K, does the same in the background.
as_inner() {
	local k=$1
	shift
	nsenter -t "$NS_PID" -U --setuid="$k" --setgid="$k" -- "$@"
}
INNER=()
inner() {
	INNER=(nsenter -t "$NS_PID" -U --setuid="$1" --setgid="$1" --)
}
inner 1
"${INNER[@]}" sleep 10 &
p=$!
EXTRA_PIDS+=("$p")
sleep 0.2
assert_eq "inner uid 1 is host uid $SUB" "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" "$SUB"
kill "$p"
wait "$p" 2>/dev/null || true

# --- connections
declare -a HOLDERS=()
hold_conns() { # K N: inner uid K opens N connections and keeps them
	inner "$1"
	"${INNER[@]}" "$USER_FLOOD" "$SOCK" connect "$2" 60 >"$T/conn.$1" 2>&1 &
	HOLDERS+=("$!")
	EXTRA_PIDS+=("$!")
	wait_line "$T/conn.$1" '^holding$' 10
}
hold_conns 1 2
assert_match "host uid $SUB (inner 1) opens 2 connections" "$(head -n 1 "$T/conn.1")" '^accepted 2 refused 0$'
hold_conns 2 2
assert_match "host uid $((SUB + 1)) (inner 2) opens 2 more" "$(head -n 1 "$T/conn.2")" '^accepted 2 refused 0$'
hold_conns 3 2
assert_match "host uid $((SUB + 2)) (inner 3) is refused both: the 4 count as uid $TEST_UID's" \
	"$(head -n 1 "$T/conn.3")" '^accepted 0 refused 2$'
assert_match "the refusal says whose they are" "$(cat "$T/conn.3")" \
	"refusal 2 name=ENOSPC message=uid $TEST_UID already has 4 connections to pidrestored \\(with those of the uids of the user namespaces it owns: uid $((SUB + 2)) is one\\), the limit per user"
run as_user "$USER_FLOOD" "$SOCK" connect 1
assert_match "uid $TEST_UID itself is refused too" "$RUN_OUT" '^accepted 0 refused 1'
run setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups -- "$USER_FLOOD" "$SOCK" connect 4
assert_match "another user gets its own 4" "$RUN_OUT" '^accepted 4 refused 0'
for p in "${HOLDERS[@]}"; do
	kill "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
done
conns_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$("$PR_CTL" --socket "$SOCK" status --json=short | jq .connections)" -le 1 ] && return 0
		sleep 0.1
	done
	return 1
}
check "their connections are closed" conns_gone

# --- reservations (MaxReservations=3, counted per responsible user)
user_programs
inner 1
"${INNER[@]}" "$USER_CTL" --socket "$SOCK" reserve 0 0 >"$T/res.out" 2>"$T/res.err" &
RES_PID=$!
EXTRA_PIDS+=("$RES_PID")
check "host uid $SUB (inner 1) reserves 2" wait_line "$T/res.err" '^Holding 2 reservations' 10
run as_inner 2 "$USER_CTL" --socket "$SOCK" reserve 0 0
assert_match "host uid $((SUB + 1)) (inner 2) is refused 2 more, counted as uid $TEST_UID's" "$RUN_ERR" \
	"\\(ENOSPC\\): uid $TEST_UID holds 2 outstanding reservations \\(those of uid $((SUB + 1)) count as uid $TEST_UID's, who owns its user namespace\\); 2 more would exceed its limit of 3"
run as_user "$USER_CTL" --socket "$SOCK" reserve 0 0
assert_match "so is uid $TEST_UID itself" "$RUN_ERR" "\\(ENOSPC\\): uid $TEST_UID holds 2 outstanding reservations; 2 more"
kill -TERM "$RES_PID" 2>/dev/null || true
wait "$RES_PID" 2>/dev/null || true
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
