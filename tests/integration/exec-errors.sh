#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An exec that fails comes back as the request's error: a missing program is
# ENOENT (pidrestorectl exits 127), a non-executable one EACCES (126). No
# process is left holding the PID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout
require_userns
setup
start_daemon
user_programs

printf '#!/bin/sh\necho should not run\n' >"$T/not-executable"
chmod 644 "$T/not-executable"

# --- root
pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- "$T/no-such-program"
assert_eq "missing program: exits 127" "$RUN_RC" 127
assert_match "missing program: ENOENT" "$RUN_ERR" '\(ENOENT\)'
check "missing program: PID $P is free again" wait_pid_gone "$P" 3

pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- pidrestore-no-such-command-in-path
assert_eq "command not found in PATH: exits 127" "$RUN_RC" 127
assert_match "command not found in PATH: ENOENT" "$RUN_ERR" '\(ENOENT\)'

pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- "$T/not-executable"
assert_eq "non-executable program: exits 126" "$RUN_RC" 126
assert_match "non-executable program: EACCES" "$RUN_ERR" '\(EACCES\)'
assert_eq "non-executable program: did not run" "$RUN_OUT" ""
check "non-executable program: PID $P is free again" wait_pid_gone "$P" 3

# The library call returns the errno itself.
pick_pid P
run "$PR_HELPERS/spawn-pidfd" --socket "$SOCK" --pid "$P" -- "$T/no-such-program"
assert_eq "libpidrestore: spawn of a missing program fails" "$RUN_RC" 3
assert_match "libpidrestore: the error is ENOENT" "$RUN_OUT" '^error=ENOENT '
pick_pid P
run "$PR_HELPERS/spawn-pidfd" --socket "$SOCK" --pid "$P" -- "$T/not-executable"
assert_match "libpidrestore: the error for a non-executable program is EACCES" "$RUN_OUT" '^error=EACCES '

# --- an unprivileged user in its own namespace: the same errors. A file only
# root may read is not executable for the user although it has x bits.
install -m 700 /bin/true "$T/root-only"
run "${AS_USER[@]}" unshare -Urpf "$USER_CTL" --socket "$SOCK" spawn --pid 77 -- "$T/no-such-program"
assert_eq "uid $TEST_UID, missing program: exits 127" "$RUN_RC" 127
assert_match "uid $TEST_UID, missing program: ENOENT" "$RUN_ERR" '\(ENOENT\)'
run "${AS_USER[@]}" unshare -Urpf "$USER_CTL" --socket "$SOCK" spawn --pid 78 -- "$T/root-only"
assert_eq "uid $TEST_UID, program only root may run: exits 126" "$RUN_RC" 126
assert_match "uid $TEST_UID, program only root may run: EACCES" "$RUN_ERR" '\(EACCES\)'

# After the failures, a good spawn still works.
pick_pid P
run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
assert_eq "a spawn after the failures works" "$RUN_OUT" "$P"
finish
