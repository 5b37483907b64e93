#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input: garbage bytes, a message larger than --max-message-size, and a
# request carrying fds it does not take each get an error reply or a closed
# connection; the fds are closed and the daemon keeps serving the next client.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools timeout
setup
start_daemon --max-message-size 4096

RAW=$PR_HELPERS/raw-request
# The outcome line of a raw exchange: an error reply or a closed connection.
REFUSED='^(reply error=[1-9][0-9]* name=E[A-Z0-9]+ .*|closed)$'
refused() { # DESC: the last exchange was refused; the check says how
	local how
	how=$(printf '%s\n' "$RUN_OUT" | grep -E '^(reply|closed|timeout)' | head -n 1)
	assert_match "$1 (${how:-no outcome})" "$RUN_OUT" "$REFUSED"
}

# Let the connections of start_daemon's probes go away before counting.
sleep 0.2
base=$(daemon_fd_count)
echo "# the daemon has $base fds open"

# --- a valid exchange first: the helper itself works
run "$RAW" "$SOCK" hello
assert_match "a valid Hello is answered" "$RUN_OUT" '^hello version=[1-9]'

# --- garbage after Hello
run "$RAW" "$SOCK" garbage
refused "garbage bytes: error reply or closed connection"
check "garbage bytes: the daemon's fd count is back to $base" settle_fds "$base"
run "$RAW" "$SOCK" hello
assert_match "garbage bytes: the daemon serves a second client" "$RUN_OUT" '^hello version=[1-9]'

# --- oversized: a well-formed 8 KiB Hello against a 4 KiB limit
run "$RAW" "$SOCK" oversize 8192
refused "8 KiB message with --max-message-size 4096: error reply or closed"
check "oversized: the daemon's fd count is back to $base" settle_fds "$base"
run "$RAW" "$SOCK" oversize 2048
assert_no_match "a 2 KiB message under the limit is not refused for its size" "$RUN_OUT" 'closed|EMSGSIZE|E2BIG'
run "$PR_CTL" --socket "$SOCK" status
assert_eq "oversized: the daemon serves a second client" "$RUN_RC" 0

# --- unexpected fds: a Status request carrying 3 fds of a marker file. The
# helper counts the daemon's fds on that file while its connection is open.
echo marker >"$T/marker"
run "$RAW" --daemon-pid "$DAEMON_PID" "$SOCK" fds 3 "$T/marker"
refused "Status with 3 fds: error reply or closed"
assert_match "Status with 3 fds: none of them stays open in the daemon" "$RUN_OUT" '^daemon_kept_fds=0$'
check "Status with 3 fds: the daemon's fd count is back to $base" settle_fds "$base"

# fd_count that does not match the fds sent.
run "$RAW" --daemon-pid "$DAEMON_PID" "$SOCK" fds 3 "$T/marker" 1
refused "3 fds with fd_count 1: error reply or closed"
assert_match "3 fds with fd_count 1: none stays open in the daemon" "$RUN_OUT" '^daemon_kept_fds=0$'
run "$RAW" --daemon-pid "$DAEMON_PID" "$SOCK" fds 2 "$T/marker" 5
refused "2 fds with fd_count 5: error reply or closed"
assert_match "2 fds with fd_count 5: none stays open in the daemon" "$RUN_OUT" '^daemon_kept_fds=0$'

# Many fds at once (the most one packet carries).
run "$RAW" --daemon-pid "$DAEMON_PID" "$SOCK" fds 253 "$T/marker"
refused "Status with 253 fds: error reply or closed"
assert_match "Status with 253 fds: none stays open in the daemon" "$RUN_OUT" '^daemon_kept_fds=0$'
check "after all bad input: the daemon's fd count is back to $base" settle_fds "$base"

# Garbage as the very first packet, before any Hello.
run "$RAW" --no-hello "$SOCK" garbage
refused "garbage before Hello: error reply or closed"
check "garbage before Hello: the daemon's fd count is back to $base" settle_fds "$base"

# The daemon still serves: a real spawn works. A spawn carries the client's
# environment, which under make (MAKEFLAGS lists every test's log) can
# outgrow this daemon's 4 KiB limit on its own: only PATH goes along.
pick_pid P
run env -i PATH="$PATH" "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
assert_eq "a spawn after all bad input works" "$RUN_OUT" "$P"
check "the daemon is still running" kill -0 "$DAEMON_PID"
finish
