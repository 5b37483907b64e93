#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Empty strings in a request. An empty bytes field is unpacked with a NULL
# data pointer, which the request fuzzer found passed to memchr; the daemon
# passed it to memcpy too. An empty argument must reach the program as an
# empty argument, and the daemon (run under the sanitizers by CI) must keep
# serving.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
require_tools timeout
setup
start_daemon

# shellcheck disable=SC2016 # for the child's shell
run "$PR_CTL" --socket "$SOCK" spawn --pid 0 -- /bin/sh -c 'printf "%s [%s] [%s]\n" "$#" "$1" "$2"' sh '' x
assert_eq "an empty argument: the program ran" "$RUN_RC" 0
assert_eq "an empty argument reaches the program as one" "$RUN_OUT" "2 [] [x]"
# shellcheck disable=SC2016
run "$PR_CTL" --socket "$SOCK" spawn --pid 0 -- /bin/sh -c 'printf "%s\n" "$#"' '' '' ''
assert_eq "only empty arguments after the program's: the program sees them" "$RUN_OUT" "2"
run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
check "the daemon is still running" kill -0 "$DAEMON_PID"
finish
