#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The example program of libpidrestore(3), built against the library, runs
# against a real daemon: a command as the chosen PID with its own stdio and
# its exit status passed on; a signal's death as 128+N; a PID in use and a
# missing daemon explained, with status 1; a usage error with status 2.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
setup
EXAMPLE=$top_builddir/client/examples/restore-pid
[ -x "$EXAMPLE" ] || { echo "missing $EXAMPLE: run make check" >&2; exit 99; }
start_daemon
export PIDRESTORE_SOCKET=$SOCK

pick_pid P
run "$EXAMPLE" "$P" sh -c 'echo "I am $$"; exit 3'
assert_eq "the command's exit status is the program's" "$RUN_RC" 3
assert_eq "the command ran as the chosen PID, with the program's stdout" "$RUN_OUT" "I am $P"
assert_eq "the program says so on stderr" "$RUN_ERR" "restore-pid: sh runs as pid $P"

pick_pid P2
run "$EXAMPLE" "$P2" sh -c 'kill -TERM $$'
assert_eq "a command killed by SIGTERM: 128+15" "$RUN_RC" 143

run "$EXAMPLE" 1 true
assert_eq "PID 1 is in use: status 1" "$RUN_RC" 1
assert_match "PID 1 is in use: the daemon's reason and the errno" "$RUN_ERR" \
	"^restore-pid: pid 1 is in use .* \(File exists\)$"

run env PIDRESTORE_SOCKET="$T/no-such.sock" "$EXAMPLE" "$P" true
assert_eq "no daemon: status 1" "$RUN_RC" 1
assert_match "no daemon: says where it looked" "$RUN_ERR" "^restore-pid: cannot connect to $T/no-such.sock"

run "$EXAMPLE" "$P"
assert_eq "no command: usage, status 2" "$RUN_RC" 2
assert_match "no command: the usage line" "$RUN_ERR" "^usage: .*restore-pid PID PROGRAM"
finish
