#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --new-pidns for a requester in its own user namespace needs a process in
# that user namespace to create the namespace (the kernel gives a new pid
# namespace to its creator's user namespace). The requester's root may
# signal that process. It must therefore be a holder-program helper with
# every signal blocked, never a copy of the daemon with its signal handlers
# (a SIGHUP there would reload the policy, a SIGTERM stop the daemon), and
# the daemon must not wait for it: a stopped helper fails only the request
# it was made for.
#
# The requester sets ns_last_pid in its own pid namespace so that the helper
# gets a PID it knows, and signals that PID over and over while it asks for
# new pid namespaces; meanwhile another user's status must be answered
# within a second, every time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout
require_userns
setup
start_daemon
user_programs
ATTACK=$PR_HELPERS/pidns-attack
if ! as_user test -x "$ATTACK" 2>/dev/null; then
	mkdir -p "$T/bin"
	cp "$ATTACK" "$T/bin/"
	chmod 755 "$T/bin" "$T/bin/pidns-attack"
	ATTACK=$T/bin/pidns-attack
fi
OTHER_UID=$((TEST_UID + 1))

# Another user asks for the status every 0.2 s; each answer that takes more
# than a second (or does not come) is a line in $T/slow.
: >"$T/slow"
monitor() {
	while :; do
		timeout -k 1 1 setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups -- \
			"$USER_CTL" --socket "$SOCK" status >/dev/null 2>&1 || echo "status failed at $(date +%T.%N)" >>"$T/slow"
		sleep 0.2
	done
}
monitor &
MONITOR=$!
EXTRA_PIDS+=("$MONITOR")
test_cleanup() {
	kill "$MONITOR" 2>/dev/null || true
}

attack() { # SIGNAL ROUNDS
	RUN_TIMEOUT=${RUN_TIMEOUT:-60} run "${AS_USER[@]}" unshare -Urpf --mount-proc "$ATTACK" --socket "$SOCK" --signal "$1" --rounds "$2"
}

# A stopped helper never answers: its request fails at the deadline, and
# nobody else waits meanwhile. The attack ends at the first failure.
RUN_TIMEOUT=30 attack STOP 200
assert_eq "SIGSTOP at the helper: every request is answered" "$RUN_RC" 0
if grep -q '^round ' <<<"$RUN_OUT"; then
	assert_match "a stopped helper fails its own request, saying so" "$RUN_OUT" \
		'^round [0-9]+ error ETIMEDOUT .*did not answer within [0-9]+ s \(was it stopped\?\)'
fi

for sig in HUP TERM; do
	attack "$sig" 300
	assert_eq "SIG$sig at the helper: every request is answered" "$RUN_RC" 0
	assert_match "SIG$sig at the helper: every new namespace is made" "$RUN_OUT" '^spawned=300 failed=0 '
	check "SIG$sig at the helper: the daemon still runs" kill -0 "$DAEMON_PID"
done
assert_eq "the policy was never reloaded (log lines)" "$(grep -c 'reload' "$T/daemon.log" || true)" 0
assert_eq "the daemon was never told to stop (log lines)" "$(grep -c 'stopping' "$T/daemon.log" || true)" 0

kill "$MONITOR" 2>/dev/null || true
wait "$MONITOR" 2>/dev/null || true
assert_eq "another user's status was always answered within 1 s" "$(cat "$T/slow")" ""
run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
stop_daemon
assert_eq "SIGTERM stops the daemon with status 0" "$DAEMON_RC" 0
finish
