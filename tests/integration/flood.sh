#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A flood from one user (DESIGN §10): 2000 connections, of which the per-user
# limit lets 256 in, and 100000 requests over them, round after round for a
# few seconds; then a client that never reads its replies. Meanwhile another
# user's pidrestorectl status, and a spawn in its own user+pid namespace, are
# each answered within a second, time after time. Afterwards the daemon holds
# the fds it held before, has no child left but its spawner, and its memory stayed bounded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limits-lib.sh"
require_root
require_tools setpriv unshare mount timeout jq
require_userns
setup
# AddressSanitizer keeps freed memory aside (256 MiB by default) before it
# reuses it: keep that small, so that the RSS measured is the daemon's own.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
start_daemon
flood_programs
FLOOD_UID=$((TEST_UID + 1))
AS_FLOOD=(setpriv --reuid="$FLOOD_UID" --regid="$FLOOD_UID" --clear-groups --)
CONNS=2000
REQUESTS=100000
# Under valgrind both of the daemon's processes run under it, each request
# passing through both.
ANSWER_MS=${PR_VALGRIND:+3000}
ANSWER_MS=${ANSWER_MS:-1000}
PER_USER=256    # the default --max-connections-per-user
FLOOD_SECONDS=4
SAMPLES=8

# The most memory the daemon may use (VmHWM), in KiB: a plain build idles at
# about 3 MiB; AddressSanitizer's shadow and allocator add their own (and it
# keeps freed memory, which malloc_trim() cannot give back). With clients
# that never read, 64 MiB of unread replies come on top.
ASAN=
if grep -q libasan "/proc/$DAEMON_PID/maps"; then
	ASAN=1
	MAX_RSS_KB=$((48 * 1024))
	MAX_QUEUED_RSS_KB=$((192 * 1024))
else
	MAX_RSS_KB=$((16 * 1024))
	MAX_QUEUED_RSS_KB=$((96 * 1024))
fi
# Under valgrind the resident memory is memcheck's as much as the daemon's:
# its leak check stands in for the bounds there.
check_rss() { # DESC KIB BOUND
	if [ -n "${PR_VALGRIND:-}" ]; then
		echo "# not checked under valgrind: $1"
		return 0
	fi
	check "$1" test "$2" -le "$3"
}

sleep 0.2
base_fds=$(daemon_fd_count)
echo "# the daemon has $base_fds fds open before the flood"

# --- the flood
"${AS_FLOOD[@]}" "$USER_FLOOD" "$SOCK" flood "$CONNS" "$REQUESTS" 8 "$FLOOD_SECONDS" \
	>"$T/flood.out" 2>"$T/flood.err" &
FLOOD_PID=$!
EXTRA_PIDS+=("$FLOOD_PID")
check "the flooding user has its connections open" wait_line "$T/flood.out" '^flooding$' 30

# --- meanwhile: another user is served, each time within a second
n=0
while [ "$n" -lt "$SAMPLES" ] && kill -0 "$FLOOD_PID" 2>/dev/null; do
	t0=$EPOCHREALTIME
	run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" status
	status_rc=$RUN_RC
	status_ms=$(ms_since "$t0")
	t0=$EPOCHREALTIME
	run "${AS_USER[@]}" unshare -Urpf --mount-proc "$USER_CTL" --socket "$SOCK" spawn --pid 77 -- true
	spawn_rc=$RUN_RC
	spawn_ms=$(ms_since "$t0")
	# Only what was answered while the flood went on counts.
	kill -0 "$FLOOD_PID" 2>/dev/null || break
	n=$((n + 1))
	check "during the flood ($n): uid $TEST_UID's status is answered in $status_ms ms" \
		test "$status_rc" -eq 0 -a "$status_ms" -lt "$ANSWER_MS"
	check "during the flood ($n): its spawn of pid 77 in its own namespaces in $spawn_ms ms" \
		test "$spawn_rc" -eq 0 -a "$spawn_ms" -lt "$ANSWER_MS"
	sleep 0.2
done
check "the other user was measured at least 3 times during the flood ($n)" test "$n" -ge 3

rc=0
wait_gone "$FLOOD_PID" 120
wait "$FLOOD_PID" || rc=$?
out=$(cat "$T/flood.out")
echo "$out" | sed 's/^/# /'
assert_eq "the flooding client ends well" "$rc" 0
rounds=$(sed -n 's/^rounds //p' <<<"$out")
read -r _ accepted _ refused <<<"$(grep '^accepted ' <<<"$out")"
check "$rounds rounds of $CONNS connections: each accepted or refused ($accepted + $refused)" \
	test $((accepted + refused)) -eq $((CONNS * rounds))
assert_eq "the first round had $PER_USER connections accepted" "$(sed -n 's/^round 1 accepted //p' <<<"$out")" "$PER_USER"
assert_eq "no round had more" "$(awk -v most="$PER_USER" '$1 == "round" && $4 > most' <<<"$out")" ""
assert_eq "every refused one got the per-user limit's error" "$(grep '^refusal ' <<<"$out")" \
	"refusal $refused name=ENOSPC message=uid $FLOOD_UID already has $PER_USER connections to pidrestored, the limit per user (--max-connections-per-user $PER_USER); close connections it no longer needs, or ask the administrator to raise the limit"
assert_eq "every one of the $((REQUESTS * rounds)) requests was answered, none with an error, no connection dropped" \
	"$(grep '^replies ' <<<"$out" | cut -d' ' -f1-6)" "replies $((REQUESTS * rounds)) errors 0 closed 0"

# --- after the flood
check "the daemon's fd count is back to $base_fds" settle_fds "$base_fds" 10
for ((i = 0; i < 50; i++)); do
	[ -z "$(pgrep -P "$DAEMON_PID" || true)" ] && break
	sleep 0.1
done
assert_eq "the daemon has no child left but its spawner and front (every spawned program reaped)" "$(pgrep -P "$DAEMON_PID" | sort)" "$(helper_pids | sort)"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
check_rss "the daemon's memory stayed bounded: at most ${hwm} KiB resident, the bound is $MAX_RSS_KB KiB" \
	"$hwm" "$MAX_RSS_KB"

# --- a client that never reads its replies is closed, not kept growing
run "${AS_FLOOD[@]}" "$USER_FLOOD" "$SOCK" deaf 50000
assert_eq "a client that reads none of its replies is closed by the daemon" "$(cut -d' ' -f3- <<<"$RUN_OUT")" "closed 1"
assert_match "and the daemon says why" "$(cat "$T/daemon.log")" \
	'closing: the client does not read its replies: [0-9]+ bytes and 0 fds of them wait, the limit is 1048576 bytes or 1024 fds'

# --- many that never read, each under that limit: over all of them the
# daemon keeps 64 MiB, closing the largest first
# Under valgrind the daemon takes minutes to queue that much.
RUN_TIMEOUT=${PR_VALGRIND:+600} run "${AS_FLOOD[@]}" "$USER_FLOOD" "$SOCK" deaf 4000 150
assert_match "150 clients that never read: the daemon closes some of them" "$RUN_OUT" '^sent [0-9]+ closed [1-9][0-9]*$'
assert_match "and says why" "$(cat "$T/daemon.log")" \
	'closing: the clients leave [0-9]+ bytes of replies unread, more than the daemon keeps \(67108864\); this one has the most'
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status")
check_rss "the daemon's memory stayed bounded: at most ${hwm} KiB resident, the bound is $MAX_QUEUED_RSS_KB KiB" \
	"$hwm" "$MAX_QUEUED_RSS_KB"
check "the daemon's fd count is back to $base_fds" settle_fds "$base_fds" 10
if [ -z "$ASAN" ]; then
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")
	check_rss "and it gave that memory back: ${rss} KiB resident now" "$rss" "$MAX_RSS_KB"
fi
run "$PR_CTL" --socket "$SOCK" status
assert_match "the daemon serves, with only this connection left" "$RUN_OUT" 'Connections: 1$'
finish
