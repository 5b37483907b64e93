#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The spawner: the daemon's one long-lived child, which makes every clone3().
# Placeholders it makes are the daemon's children; one that is killed is
# replaced on the next request, which is served; and it ends with the daemon,
# by SIGTERM or SIGKILL, leaving no process behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools timeout jq
setup
start_daemon

ppid_of() {
	awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo gone
}

# Gone, or a zombie: it exited, whoever reaps orphans here.
wait_ended() { # PID
	local i st
	for ((i = 0; i < 50; i++)); do
		st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
		[ "$st" != Z ] || return 0
		sleep 0.1
	done
	return 1
}

spawn_ok() { # DESC
	pick_pid CHOSEN
	run "$PR_CTL" --socket "$SOCK" spawn --pid "$CHOSEN" -- sh -c 'echo "pid $$ parent $PPID"'
	assert_eq "$1: spawn exits 0" "$RUN_RC" 0
	assert_eq "$1: the command ran as PID $CHOSEN, the daemon's child" "$RUN_OUT" "pid $CHOSEN parent $DAEMON_PID"
}

S1=$(spawner_pid)
assert_match "status names the spawner" "$S1" '^[0-9]+$'
assert_eq "the spawner is the daemon's child" "$(ppid_of "$S1")" "$DAEMON_PID"
spawn_ok "through the first spawner"

# --- a spawner that dies is replaced, and the request is served
kill -KILL "$S1"
check "the killed spawner exited" wait_ended "$S1"
spawn_ok "after the spawner was killed"
S2=$(spawner_pid)
assert_ne "a new spawner runs" "$S2" "$S1"
assert_eq "the new spawner is the daemon's child" "$(ppid_of "$S2")" "$DAEMON_PID"
check "the killed spawner was reaped (no zombie left)" wait_pid_gone "$S1" 5
assert_match "the daemon logged the replacement" "$(cat "$T/daemon.log")" "spawner \\(pid $S1\\) is gone; starting another"

# --- it ends with the daemon: SIGTERM
stop_daemon
assert_eq "the daemon stopped cleanly" "$DAEMON_RC" 0
check "the spawner ended with the daemon (SIGTERM)" wait_pid_gone "$S2" 5

# --- and when the daemon is killed outright
start_daemon
S3=$(spawner_pid)
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
check "the spawner ended with the daemon (SIGKILL)" wait_ended "$S3"
finish
