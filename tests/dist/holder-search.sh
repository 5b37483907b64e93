#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Without --holder the daemon takes the installed holder if it exists, else
# holder/pidrestore-holder beside its own executable (a build tree's
# daemon/pidrestored and daemon/holder/pidrestore-holder); with neither it
# says what it tried and exits 1. Each daemon runs in a mount namespace of
# its own, where the installed path is made to exist or not as the case
# needs; the spawner's /proc/PID/exe shows which holder it runs.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
require_tools unshare jq
setup

installed=$("$PR_DAEMON" --help | tr '\n' ' ' | sed -n 's/.*--holder PATH *the placeholder program (default \([^ ]*\) if it.*/\1/p')
assert_match "--help names the installed holder and the search" "$installed" '^/.*/pidrestore-holder$'
[ -n "$installed" ] || finish

# A copy of the daemon with the build tree's layout, and one alone.
mkdir -p "$T/tree/holder" "$T/alone"
cp "$PR_DAEMON" "$T/tree/pidrestored"
cp "$PR_HOLDER" "$T/tree/holder/pidrestore-holder"
cp "$PR_DAEMON" "$T/alone/pidrestored"
cp "$PR_HOLDER" "$T/installed-holder"

# The nearest directory above the installed holder that exists: a tmpfs over
# it, in the daemon's mount namespace, hides what is installed there.
top=$(dirname "$installed")
while [ ! -d "$top" ]; do top=$(dirname "$top"); done
[ "$top" != / ] || skip "no directory of the installed holder's path exists but /, which cannot be hidden"
cat >"$T/in-ns" <<'SH'
#!/bin/sh
# in-ns with|without INSTALLED TOP DAEMON ARGS...
set -e
mode=$1 installed=$2 top=$3
shift 3
mount -t tmpfs -o mode=755 tmpfs "$top"
if [ "$mode" = with ]; then
	mkdir -p "$(dirname "$installed")"
	cp "$INSTALLED_COPY" "$installed"
fi
exec "$@"
SH
chmod 755 "$T/in-ns"
export INSTALLED_COPY=$T/installed-holder

# start DAEMON MODE: a daemon on $SOCK in a mount namespace of its own.
start() {
	SOCK=$T/sock
	rm -f "$SOCK"
	unshare -m --propagation private "$T/in-ns" "$2" "$installed" "$top" "$1" --socket "$SOCK" \
		>"$T/daemon.log" 2>&1 </dev/null &
	DAEMON_PID=$!
	for ((i = 0; i < 100; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		[ -S "$SOCK" ] && "$PR_CTL" --socket "$SOCK" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
spawner_exe() {
	readlink "/proc/$(spawner_pid)/exe"
}

# --- not installed: the holder beside the daemon
check "not installed: the daemon starts without --holder" start "$T/tree/pidrestored" without
if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
	assert_eq "not installed: its spawner runs the holder beside it" "$(spawner_exe)" "$T/tree/holder/pidrestore-holder"
	pick_pid P
	run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
	assert_eq "not installed: a spawn gets PID $P" "$RUN_OUT" "$P"
fi
stop_daemon

# --- installed: the installed one, though one is beside the daemon too
check "installed: the daemon starts without --holder" start "$T/tree/pidrestored" with
if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
	assert_eq "installed: its spawner runs the installed holder" "$(spawner_exe)" "$installed"
fi
stop_daemon

# --- neither: a message that says what was tried
run unshare -m --propagation private "$T/in-ns" without "$installed" "$top" "$T/alone/pidrestored" --socket "$T/sock2"
assert_eq "neither: the daemon exits 1" "$RUN_RC" 1
assert_eq "neither: it says what it tried and what to do" "$RUN_ERR" \
	"pidrestored: no holder program: neither $installed (installed) nor $T/alone/holder/pidrestore-holder (beside this daemon) exists; pass --holder PATH"

# --- --holder is taken as given, with no search
run unshare -m --propagation private "$T/in-ns" with "$installed" "$top" "$T/tree/pidrestored" --socket "$T/sock2" \
	--holder "$T/no-such-holder"
assert_eq "--holder PATH that does not exist: the daemon exits 1" "$RUN_RC" 1
assert_match "--holder PATH that does not exist: it names it" "$RUN_ERR" "$T/no-such-holder"
finish
