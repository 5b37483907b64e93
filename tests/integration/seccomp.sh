#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A requester under a seccomp filter is refused: the daemon cannot give the
# child the same filter, and a child with fewer restrictions than its
# requester would be a way out of the requester's sandbox (DESIGN §6).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
setup
start_daemon

pick_pid pid
run "$PR_HELPERS/seccomp-run" "$PR_CTL" --socket "$SOCK" spawn --pid "$pid" -- true
assert_eq "a filtered root requester is refused" "$RUN_RC" 125
assert_match "with EPERM naming the seccomp filter" "$RUN_ERR" '\(EPERM\).*seccomp filter'
check "nothing took pid $pid" bash -c "! test -e /proc/$pid"

run "$PR_CTL" --socket "$SOCK" spawn --pid "$pid" -- true
assert_eq "the same request without the filter is served" "$RUN_RC" 0
stop_daemon
finish
