#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Root spawns with a chosen host PID: the child's getpid() is that PID, the
# returned pidfd refers to it, and its exit status comes back as an event.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools timeout
setup
start_daemon

# --- through libpidrestore: the pidfd and the exit event
pick_pid P
# --gate: the child waits on its stdin until the helper has checked it.
run "$PR_HELPERS/spawn-pidfd" --socket "$SOCK" --pid "$P" --gate -- \
	/bin/sh -c 'echo "getpid=$$"; cat >/dev/null; exit 7'
assert_eq "spawn-pidfd: spawn succeeded" "$RUN_RC" 0
out=$RUN_OUT
assert_match "the child's getpid() is the chosen PID $P" "$out" "^getpid=$P\$"
assert_match "the reply names PID $P" "$out" "^pids=$P\$"
assert_match "/proc/self/fdinfo/<pidfd> says Pid: $P" "$out" "^fdinfo_pid=$P\$"
assert_match "the pidfd could signal the child while it ran" "$out" "^signal0=0\$"
assert_match "the exit event carries status 7" "$out" "^exit=7 signal=0\$"
assert_match "the exit event names PID $P" "$out" "^event_pids=$P\$"
assert_match "the pidfd became readable when the child ended" "$out" "^pidfd_readable=1\$"
check "PID $P is free again after the exit" wait_pid_gone "$P"

# --- a child killed by a signal
pick_pid P
run "$PR_HELPERS/spawn-pidfd" --socket "$SOCK" --pid "$P" --gate -- \
	/bin/sh -c 'cat >/dev/null; kill -TERM $$'
assert_match "the exit event reports SIGTERM" "$RUN_OUT" "^exit=-1 signal=15\$"
assert_match "fdinfo of that pidfd names PID $P" "$RUN_OUT" "^fdinfo_pid=$P\$"

# --- through pidrestorectl: output, exit status, 128+signal
pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo "I am pid $$"'
assert_eq "pidrestorectl spawn exits 0" "$RUN_RC" 0
assert_eq "pidrestorectl spawn: the command ran with PID $P" "$RUN_OUT" "I am pid $P"

pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'exit 42'
assert_eq "pidrestorectl spawn exits with the command's status" "$RUN_RC" 42

pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'kill -KILL $$'
assert_eq "pidrestorectl spawn exits 128+9 for a SIGKILLed command" "$RUN_RC" 137

# The daemon still serves after all that.
run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0

finish
