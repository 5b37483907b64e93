#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The policy file, read from --config: a grant gives uid 1000 a host PID range
# and nothing outside it, a user with no grant gets nothing, a broken file
# stops the daemon before it serves, and SIGHUP applies a good file but keeps
# the old policy when the new one is broken.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout
setup

OTHER_UID=$((TEST_UID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --)
GRANT_LO=20000
GRANT_HI=24999

# wait_log ERE: waits up to 5 s for a daemon log line matching ERE.
wait_log() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -Eq -- "$1" "$T/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}

# spawn_pid PID USER-PREFIX...: runs "echo $$" at PID as that user.
spawn_pid() {
	local pid=$1
	shift
	run "$@" "$USER_CTL" --socket "$SOCK" spawn --pid "$pid" -- sh -c 'echo $$'
}

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
# written by $TEST_NAME
[Policy]
OwnNamespaces=yes
RootOnlyBelow=1000

[Grant]
User=$TEST_UID
PIDs=$GRANT_LO-$GRANT_HI
Namespace=host
CONF

start_daemon --config "$CONF"
user_programs
check "the start-up log counts one grant" wait_log "policy from $CONF: 1 grants"

# --- a grant by user, inside and outside its range
pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_USER[@]}"
assert_eq "uid $TEST_UID: spawn of granted host PID $P exits 0" "$RUN_RC" 0
assert_eq "uid $TEST_UID: the command ran as PID $P" "$RUN_OUT" "$P"
check "the grant is logged with its file and line" \
	wait_log "granted spawn for uid $TEST_UID .*pids \\[$P\\].* by rule grant #1 \\(pidrestored.conf:6\\)"

pick_pid_in Q $((GRANT_HI + 1)) 30000
spawn_pid "$Q" "${AS_USER[@]}"
assert_eq "uid $TEST_UID: spawn of host PID $Q outside the grant exits 125" "$RUN_RC" 125
assert_match "uid $TEST_UID: outside the grant is EPERM" "$RUN_ERR" '\(EPERM\)'
assert_match "the refusal names the missing grant" "$RUN_ERR" \
	"no grant for uid $TEST_UID covers pid $Q in the host namespace"
check "no process holds PID $Q" wait_pid_gone "$Q" 1

# --- a user without a grant, the same range
pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_OTHER[@]}"
assert_eq "uid $OTHER_UID (no grant): spawn of PID $P exits 125" "$RUN_RC" 125
assert_match "uid $OTHER_UID (no grant): EPERM" "$RUN_ERR" '\(EPERM\)'
assert_match "the refusal names uid $OTHER_UID" "$RUN_ERR" "no grant for uid $OTHER_UID covers pid $P"
check "no process holds PID $P" wait_pid_gone "$P" 1

# --- the floor: below RootOnlyBelow even a grant does not help
sed -i "s/^PIDs=.*/PIDs=500-999 $GRANT_LO-$GRANT_HI/" "$CONF"
kill -HUP "$DAEMON_PID"
check "SIGHUP with a floor under a grant reloads" wait_log 'policy reloaded: 1 grants'
spawn_pid 998 "${AS_USER[@]}"
assert_eq "uid $TEST_UID: PID 998, granted but below the floor, is refused (125)" "$RUN_RC" 125
assert_match "the refusal names the floor" "$RUN_ERR" 'PIDs below 1000 are reserved for root'

# --- SIGHUP with a broken file: refused, the old policy stays
cp "$CONF" "$T/good.conf"
sed -i "s/^PIDs=.*/PIDs=$GRANT_HI-$GRANT_LO/" "$CONF"
kill -HUP "$DAEMON_PID"
check "the broken reload is refused with FILE:LINE" \
	wait_log "policy reload refused, the old policy stays in force: $CONF:8: PIDs=: range $GRANT_HI-$GRANT_LO starts after it ends"
check "the daemon still runs" kill -0 "$DAEMON_PID"
pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_USER[@]}"
assert_eq "uid $TEST_UID: still served after the refused reload" "$RUN_OUT" "$P"

# --- SIGHUP with a fixed file and a drop-in: the new policy applies
cp "$T/good.conf" "$CONF"
sed -i "s/^User=.*/User=$OTHER_UID/" "$CONF"
mkdir "$CONF.d"
cat >"$CONF.d/50-test.conf" <<CONF
[Grant]
Group=$OTHER_UID
PIDs=$((GRANT_HI + 1))-30000
CONF
kill -HUP "$DAEMON_PID"
check "the fixed reload applies two grants" wait_log 'policy reloaded: 2 grants'

pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_OTHER[@]}"
assert_eq "uid $OTHER_UID: now granted PID $P" "$RUN_OUT" "$P"
pick_pid_in Q $((GRANT_HI + 1)) 30000
spawn_pid "$Q" "${AS_OTHER[@]}"
assert_eq "uid $OTHER_UID: granted PID $Q by group, from the drop-in" "$RUN_OUT" "$Q"
check "the drop-in's grant is named in the log" wait_log "pids \\[$Q\\].* by rule grant #2 \\(50-test.conf:1\\)"
pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_USER[@]}"
assert_eq "uid $TEST_UID: no longer granted (125)" "$RUN_RC" 125
assert_match "uid $TEST_UID: EPERM after the reload" "$RUN_ERR" '\(EPERM\)'

# --- SIGHUP after the file named by --config is gone: refused, not the defaults
mv "$CONF" "$T/moved.conf"
kill -HUP "$DAEMON_PID"
check "a reload without the --config file is refused" \
	wait_log "policy reload refused, the old policy stays in force: $CONF: no such file"
pick_pid_in P "$GRANT_LO" "$GRANT_HI"
spawn_pid "$P" "${AS_OTHER[@]}"
assert_eq "uid $OTHER_UID: still granted PID $P by the old policy" "$RUN_OUT" "$P"
mv "$T/moved.conf" "$CONF"

stop_daemon
assert_eq "the daemon stops cleanly" "$DAEMON_RC" 0

# --- a broken file at start: the daemon exits before it serves
cat >"$T/bad.conf" <<CONF
[Policy]
OwnNamespaces=yes
[Grant]
User=$TEST_UID
PIDs=$GRANT_LO-4194304
CONF
RUN_TIMEOUT=10 run "$PR_DAEMON" --socket "$T/bad.sock" --holder "$PR_HOLDER" --config "$T/bad.conf"
assert_ne "a broken file stops the daemon" "$RUN_RC" 0
assert_ne "it stopped by itself, not by the time limit" "$RUN_RC" 124
assert_match "stderr says FILE:LINE: what is wrong" "$RUN_ERR" "$T/bad.conf:5: PIDs=: 4194304 is beyond the kernel's limit"
check "it never listened" test ! -e "$T/bad.sock"

RUN_TIMEOUT=10 run "$PR_DAEMON" --socket "$T/bad.sock" --holder "$PR_HOLDER" --config "$T/no-such.conf"
assert_eq "a --config file that does not exist stops the daemon" "$RUN_RC" 1
assert_match "stderr says the file named by --config does not exist" "$RUN_ERR" \
	"$T/no-such.conf: no such file; the policy file named by --config must exist"
check "it never listened" test ! -e "$T/bad.sock"

RUN_TIMEOUT=10 run "$PR_DAEMON" --socket "$T/bad.sock" --holder "$PR_HOLDER" --config "$T/bad.conf" --config
assert_eq "--config without a path is a usage error" "$RUN_RC" 2

finish
