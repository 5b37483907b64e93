#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A requester's identity is taken once and must be consistent (DESIGN §6):
# uid 1000 connects, then executes a set-user-ID-root program that blocks,
# and the daemon, which reads the requester only after that exec, refuses it
# (EPERM, "changed identity since it connected") instead of giving it a
# placeholder with uid 1000 and root's capabilities. The same steps with a
# copy of the program that is not set-user-ID are served, and a requester
# whose real uid differs from its effective one (mixed ids) is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout findmnt
setup

EAC=$PR_HELPERS/exec-after-connect
[ -x "$EAC" ] || { echo "missing $EAC: build the tree first (make check builds it)" >&2; exit 99; }

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
Namespace=host
CONF
start_daemon --config "$CONF"
user_programs
if ! as_user test -x "$EAC" 2>/dev/null; then
	mkdir -p "$T/bin"
	chmod 755 "$T/bin"
	cp "$EAC" "$T/bin/"
	chmod 755 "$T/bin/exec-after-connect"
	EAC=$T/bin/exec-after-connect
fi

# Two copies of sleep, one of them set-user-ID root, where uid 1000 may run
# them; a nosuid mount would make the test prove nothing.
SLEEP=$(command -v sleep)
if findmnt -n -o OPTIONS -T "$T" | grep -Eq '(^|,)nosuid(,|$)'; then
	skip "$T is on a nosuid mount, where a set-user-ID program gains nothing"
fi
install -o root -g root -m 4755 "$SLEEP" "$T/sleep-suid"
install -o root -g root -m 0755 "$SLEEP" "$T/sleep-plain"

# A test that fails while the daemon is stopped must not leave it so.
test_cleanup() {
	[ -z "$DAEMON_PID" ] || kill -CONT "$DAEMON_PID" 2>/dev/null
}

# connect_then_exec PROGRAM PID: uid 1000 connects and becomes PROGRAM (which
# sleeps) while a child of it talks on the connection and reserves PID. The
# daemon is held back (SIGSTOP) until the exec happened, so that it reads
# the requester only after it. Sets EAC_OUT to the talker's lines and
# REQ_EUID to the requester's effective uid after its exec.
EAC_OUT=
REQ_EUID=
connect_then_exec() {
	local prog=$1 pid=$2 requester i
	: >"$T/eac.out"
	kill -STOP "$DAEMON_PID"
	# Not through as_user, a function: $! is then the requester itself.
	"${AS_USER[@]}" "$EAC" "$SOCK" "$pid" "$prog" 60 >"$T/eac.out" 2>"$T/eac.err" </dev/null &
	requester=$!
	EXTRA_PIDS+=("$requester")
	for ((i = 0; i < 100; i++)); do
		grep -q '^execed ' "$T/eac.out" && break
		sleep 0.1
	done
	assert_eq "the requester is the process that execs" "$(sed -n 's/^execed pid=//p' "$T/eac.out")" "$requester"
	REQ_EUID=$(awk '/^Uid:/ {print $3}' "/proc/$requester/status" 2>/dev/null || true)
	kill -CONT "$DAEMON_PID"
	for ((i = 0; i < 200; i++)); do
		grep -Eq '^(hello error|reserved|reserve error)' "$T/eac.out" && break
		sleep 0.1
	done
	EAC_OUT=$(cat "$T/eac.out")
	if [ -s "$T/eac.err" ]; then
		sed 's/^/  ! /' "$T/eac.err" >&2
	fi
	kill -KILL "$requester" 2>/dev/null || true
	wait "$requester" 2>/dev/null || true
}

# --- without a set-user-ID bit the same steps are served
pick_pid P
connect_then_exec "$T/sleep-plain" "$P"
assert_eq "the plain copy runs as uid $TEST_UID" "$REQ_EUID" "$TEST_UID"
assert_match "a requester that executes a plain program is served" "$EAC_OUT" '^hello ok$'
assert_match "its placeholder has uid $TEST_UID and no capability" "$EAC_OUT" \
	"^reserved pid=$P capeff=0+ uid=$TEST_UID\$"

# --- a set-user-ID exec after connecting: refused, and nothing is created
pick_pid Q
connect_then_exec "$T/sleep-suid" "$Q"
assert_eq "the set-user-ID copy runs with effective uid 0" "$REQ_EUID" 0
assert_match "the requester that became set-user-ID root is refused: EPERM" "$EAC_OUT" \
	'^hello error=1 name=EPERM message=the requester changed identity since it connected'
assert_match "the message says what to do" "$EAC_OUT" 'connect again'
assert_no_match "it got no placeholder" "$EAC_OUT" '^reserved '
check "nothing holds PID $Q" bash -c "! test -e /proc/$Q"
check "the refusal is logged" grep -q 'refusing a connection: the requester changed identity' "$T/daemon.log"

# --- mixed ids: real uid 0, effective uid 1000 (and root's permitted set)
run setpriv --ruid=0 --euid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$USER_CTL" --socket "$SOCK" status
assert_ne "a requester with real uid 0 and effective uid $TEST_UID fails" "$RUN_RC" 0
assert_match "it is refused, naming its ids" "$RUN_ERR" \
	"uids 0/$TEST_UID/$TEST_UID/$TEST_UID \\(real/effective/saved/filesystem\\)"

# --- the daemon serves on
run as_user "$USER_CTL" --socket "$SOCK" status
assert_eq "an ordinary requester is still served" "$RUN_RC" 0
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
