#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A daemon out of file descriptors says so (DESIGN §10): with its fd limit
# lowered to 256, one client reserves until the fds run out. That request,
# and every later one that needs an fd, fails with EMFILE and "the daemon is
# out of file descriptors", not with a wrong reason (the requester has
# exited, the spawner sent no pidfd); a new connection is refused with the
# same words; requests that need no fd are still answered. Once the
# reservations are released, everything works again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools prlimit timeout
res_setup
LIMIT=256
start_daemon
prlimit --pid "$DAEMON_PID" --nofile="$LIMIT:$LIMIT"
# Under valgrind the daemon sees a limit of valgrind's making.
OUT_OF_FDS="the daemon is out of file descriptors \\(its limit is [0-9]+"

client_open A
made=0 last=
for ((i = 0; i < LIMIT + 50; i++)); do
	client_cmd A "reserve 0"
	last=$CL_LAST
	[ "$last" = "ok 1" ] || break
	made=$((made + 1))
	parse_procs
	EXTRA_PIDS+=("${RES_HOST[0]}")
done
echo "# $made reservations made before: $last"
check "the client made reservations until the fds ran out ($made)" test "$made" -gt 100 -a "$made" -lt "$LIMIT"
assert_match "the one that found no fd left: EMFILE, out of file descriptors" "$last" "^error EMFILE $OUT_OF_FDS"
client_cmd A "reserve 0 0"
assert_match "and so does the next" "$CL_LAST" "^error EMFILE .*$OUT_OF_FDS"
client_cmd A status
assert_match "a request that needs no fd is still answered" "$CL_LAST" "^ok reservations=$made "

run "$PR_CTL" --socket "$SOCK" status
assert_match "a new connection is refused, saying why" "$RUN_ERR" "$OUT_OF_FDS"
assert_no_match "not as if the requester had exited" "$RUN_ERR" 'has exited'
check "the daemon is still running" kill -0 "$DAEMON_PID"

client_cmd A release-all
assert_eq "the client releases its reservations" "$CL_LAST" "ok $made"
settle_fds 40 5 || true
run "$PR_CTL" --socket "$SOCK" status
assert_eq "then a new connection is served" "$RUN_RC" 0
client_cmd A "reserve 0"
assert_eq "and a reserve is made again" "$CL_LAST" "ok 1"
parse_procs
EXTRA_PIDS+=("${RES_HOST[0]}")
client_quit A
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
