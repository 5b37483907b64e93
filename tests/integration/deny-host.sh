#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An unprivileged user asking for a host PID is refused with EPERM and a
# message that names the level, the PID and the user; nothing is created.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv timeout
setup
start_daemon
user_programs

pick_pid P
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo "I am pid $$"'
assert_eq "uid $TEST_UID: spawn of host PID $P exits 125" "$RUN_RC" 125
assert_eq "uid $TEST_UID: the command did not run" "$RUN_OUT" ""
assert_match "the error is EPERM" "$RUN_ERR" '\(EPERM\)'
assert_match "the message names the PID" "$RUN_ERR" "pid $P\\b"
assert_match "the message names level 0" "$RUN_ERR" 'level 0'
assert_match "the message names the uid" "$RUN_ERR" "uid $TEST_UID\\b"
assert_match "the message names the namespace" "$RUN_ERR" 'pid:\[[0-9]+\]'
check "no process holds PID $P" wait_pid_gone "$P" 1

# Supplementary groups do not change that (no grants by default).
pick_pid P
run setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --groups="$TEST_GID,4242" -- \
	"$USER_CTL" --socket "$SOCK" spawn --pid "$P" -- true
assert_eq "uid $TEST_UID with groups: refused (125)" "$RUN_RC" 125
assert_match "uid $TEST_UID with groups: EPERM" "$RUN_ERR" '\(EPERM\)'

# Reserving the PID is refused the same way.
pick_pid P
RUN_TIMEOUT=10 run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" reserve "$P"
assert_ne "uid $TEST_UID: reserve of host PID $P fails" "$RUN_RC" 0
assert_match "uid $TEST_UID: reserve says EPERM" "$RUN_ERR" 'EPERM'
check "no placeholder holds PID $P" wait_pid_gone "$P" 1

# Root asking for the same PID succeeds: the refusal was policy, not the PID.
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
assert_eq "root gets PID $P" "$RUN_OUT" "$P"

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
