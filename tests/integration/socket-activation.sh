#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Socket activation as systemd does it, by systemd-socket-activate: the daemon
# serves the passed socket, reports READY=1 (and STATUS=) to the NOTIFY_SOCKET
# the test listens on, says STOPPING=1 on SIGTERM and exits 0, and a process
# it spawned keeps running with the PID it asked for.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools systemd-socket-activate timeout
setup

NOTIFY=$T/notify
"$PR_HELPERS/notify-listen" "$NOTIFY" 120 >"$T/notify.log" 2>&1 &
LISTENER=$!
EXTRA_PIDS+=("$LISTENER")
for ((i = 0; i < 50; i++)); do
	[ -S "$NOTIFY" ] && break
	sleep 0.1
done
check "the notify listener is bound" test -S "$NOTIFY"

SOCK=$T/activated.sock
systemd-socket-activate --seqpacket -l "$SOCK" -E NOTIFY_SOCKET="$NOTIFY" -- \
	"$PR_DAEMON" --holder "$PR_HOLDER" --log-level debug \
	>"$T/daemon.log" 2>&1 </dev/null &
DAEMON_PID=$!
for ((i = 0; i < 50; i++)); do
	[ -S "$SOCK" ] && break
	sleep 0.1
done
check "systemd-socket-activate listens on $SOCK" test -S "$SOCK"

# The first connection starts the daemon (systemd-socket-activate execs it,
# so it keeps this PID).
run "$PR_HELPERS/spawn-pidfd" --socket "$SOCK" status
assert_eq "status over the activated socket" "$RUN_RC" 0
assert_match "the daemon knows it was socket-activated" "$RUN_OUT" '^socket_activated=1$'
check "the daemon runs as the PID systemd-socket-activate had" \
	grep -qx pidrestored "/proc/$DAEMON_PID/comm"

wait_notify() { # wait until the listener has printed a line matching $1
	local i
	for ((i = 0; i < 100; i++)); do
		grep -Eq -- "$1" "$T/notify.log" && return 0
		sleep 0.1
	done
	return 1
}
check "READY=1 arrived on NOTIFY_SOCKET from the daemon" wait_notify "^$DAEMON_PID READY=1\$"
check "a STATUS= line arrived too" wait_notify "^$DAEMON_PID STATUS=."

# A long-running child with a chosen PID, left running by the daemon's stop.
pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" --no-wait -- sleep 300
assert_eq "spawn --no-wait of sleep at PID $P" "$RUN_RC" 0
check "sleep runs as PID $P" grep -qx sleep "/proc/$P/comm"

# A reservation: its placeholder must go when the daemon stops. Reserve
# holds its connection until signalled, so it runs in the background.
pick_pid R
"$PR_CTL" --socket "$SOCK" reserve "$R" >"$T/reserve.out" 2>&1 </dev/null &
RESERVER=$!
EXTRA_PIDS+=("$RESERVER")
for ((i = 0; i < 50; i++)); do
	pid_exists "$R" && break
	sleep 0.1
done
check "a placeholder holds the reserved PID $R" pid_exists "$R"

stop_daemon
assert_eq "SIGTERM: the daemon exits 0" "$DAEMON_RC" 0
check "STOPPING=1 arrived on NOTIFY_SOCKET" wait_notify "STOPPING=1\$"
check "the spawned sleep still runs as PID $P after the daemon stopped" \
	grep -qx sleep "/proc/$P/comm"
check "the reservation's placeholder is gone" wait_pid_gone "$R" 5
kill "$RESERVER" 2>/dev/null || true
wait "$RESERVER" 2>/dev/null || true

kill -TERM "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true
echo "# notifications received:"
sed 's/^/#   /' "$T/notify.log"
finish
