# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the integration tests: sourced, never run.
#
# Each test gets a private temp dir ($T, mode 755 so that an unprivileged
# user can reach its socket), its own daemon on its own socket ($SOCK), free
# PIDs from pick_pid, and a cleanup trap that stops the daemon and kills what
# the test spawned. Checks print one line each; finish exits 0 (pass) or 1
# (fail); skip exits 77.
#
# Environment: top_builddir and top_srcdir (set by the automake harness; by
# default the current directory and the source tree this file is in);
# PR_VALGRIND=1 runs every daemon start_daemon starts under valgrind's
# memcheck, and a test fails if valgrind reports an error or a definite leak.

set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$PWD}"

PR_DAEMON=$top_builddir/daemon/pidrestored
PR_HOLDER=$top_builddir/daemon/holder/pidrestore-holder
PR_CTL=$top_builddir/client/pidrestorectl
PR_HELPERS=$top_builddir/tests/helpers
TEST_NAME=$(basename "$0" .sh)
# Absolute: tests change directory (setup) before they source more helpers.
TEST_DIR=$(cd "$(dirname "$0")" && pwd)

# The unprivileged user: numeric ids only, no passwd entry needed.
TEST_UID=${PIDRESTORE_TEST_UID:-1000}
TEST_GID=${PIDRESTORE_TEST_GID:-1000}

# Host PIDs are picked from this range.
PID_RANGE_LO=20000
PID_RANGE_HI=30000

T=
SOCK=
DAEMON_PID=
N_FAILED=0
N_CHECKS=0
PICKED_PIDS=()
EXTRA_PIDS=()
RUN_OUT=
RUN_ERR=
RUN_RC=0

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (run the suite as root, or with sudo: scripts/test.sh)"
	# pidrestored refuses requesters under a seccomp filter (it cannot give
	# their children the same filter), and every client here would be one.
	if ! grep -q '^Seccomp:[[:space:]]*0$' /proc/self/status; then
		skip "the tests run under a seccomp filter (e.g. a container's default profile), and pidrestored refuses filtered requesters; run them outside it"
	fi
}

require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "needs $t, which is not installed"
	done
}

# Skips unless the test user can create its own user and pid namespaces.
require_userns() {
	as_user unshare -Urpf --mount-proc true >/dev/null 2>&1 ||
		skip "uid $TEST_UID cannot create user+pid namespaces here (unprivileged user namespaces disabled?)"
}

# ------------------------------------------------------------------ checks

pass() {
	N_CHECKS=$((N_CHECKS + 1))
	echo "ok: $*"
}

fail() {
	N_CHECKS=$((N_CHECKS + 1))
	N_FAILED=$((N_FAILED + 1))
	echo "FAIL: $*"
}

# check DESC CMD... : passes when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc"
	fi
}

assert_eq() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: got '$2', want '$3'"
	fi
}

assert_ne() { # DESC GOT UNWANTED
	if [ "$2" != "$3" ]; then
		pass "$1"
	else
		fail "$1: got '$2', which it must not be"
	fi
}

# grep -q stops reading at the first match; fed by a pipe, the writer could
# then die of SIGPIPE and, under pipefail, turn a match into a failure.
assert_match() { # DESC TEXT ERE
	if grep -Eq -- "$3" <<<"$2"; then
		pass "$1"
	else
		fail "$1: '$2' does not match /$3/"
	fi
}

assert_no_match() { # DESC TEXT ERE
	if grep -Eq -- "$3" <<<"$2"; then
		fail "$1: '$2' matches /$3/"
	else
		pass "$1"
	fi
}

# run CMD... : runs CMD with a time limit (none for a shell function), stdin
# from /dev/null; sets RUN_OUT, RUN_ERR (without the trailing newline) and
# RUN_RC.
run() {
	local rc=0
	if declare -F -- "$1" >/dev/null; then
		"$@" >"$T/run.out" 2>"$T/run.err" </dev/null || rc=$?
	else
		timeout -k 5 "${RUN_TIMEOUT:-60}" "$@" >"$T/run.out" 2>"$T/run.err" </dev/null || rc=$?
	fi
	RUN_OUT=$(cat "$T/run.out")
	RUN_ERR=$(cat "$T/run.err")
	RUN_RC=$rc
	if [ -n "${VERBOSE:-}" ] || [ "$rc" -ne 0 ]; then
		{
			echo "  \$ $*  (exit $rc)"
			[ -z "$RUN_OUT" ] || printf '%s\n' "$RUN_OUT" | sed 's/^/  | /'
			[ -z "$RUN_ERR" ] || printf '%s\n' "$RUN_ERR" | sed 's/^/  ! /'
		} >&2
	fi
}

# Ends the test: the summary line and the exit status.
finish() {
	if [ "$N_CHECKS" -eq 0 ]; then
		echo "$TEST_NAME: no check ran"
		exit 99
	fi
	echo "$TEST_NAME: $((N_CHECKS - N_FAILED)) of $N_CHECKS checks passed"
	[ "$N_FAILED" -eq 0 ] || exit 1
	exit 0
}

# ------------------------------------------------------------------ users

AS_USER=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups --)
as_user() {
	"${AS_USER[@]}" "$@"
}

# The programs the test user runs must be reachable by it: a build tree under
# a private home directory is not. USER_CTL and USER_HELPERS are copies in $T
# when needed.
USER_CTL=
USER_HELPERS=
user_programs() {
	USER_CTL=$PR_CTL
	USER_HELPERS=$PR_HELPERS
	if ! as_user test -x "$PR_CTL" 2>/dev/null; then
		mkdir -p "$T/bin"
		cp "$PR_CTL" "$T/bin/"
		cp "$PR_HELPERS"/spawn-pidfd "$PR_HELPERS"/raw-request "$PR_HELPERS"/tree-client "$PR_HELPERS"/tree-reap "$PR_HELPERS"/tree-blob.bin "$PR_HELPERS"/tree-claim "$T/bin/" 2>/dev/null || true
		chmod 755 "$T/bin" "$T/bin"/*
		USER_CTL=$T/bin/pidrestorectl
		USER_HELPERS=$T/bin
	fi
}

# user_helper VAR NAME: sets VAR to a copy of helper NAME the test user can
# run (the helper itself when the build tree is in its reach).
user_helper() {
	local -n path=$1
	path=$PR_HELPERS/$2
	if ! as_user test -x "$path" 2>/dev/null; then
		mkdir -p "$T/bin"
		cp "$PR_HELPERS/$2" "$T/bin/"
		chmod 755 "$T/bin" "$T/bin/$2"
		path=$T/bin/$2
	fi
}

# A directory the test user owns, for its mounts and files.
user_dir() {
	mkdir -p "$T/u"
	chown "$TEST_UID:$TEST_GID" "$T/u"
	chmod 755 "$T/u"
}

# ------------------------------------------------------------------ PIDs

pid_exists() {
	[ -e "/proc/$1" ]
}

# Start time (clock ticks since boot) of a process, or nothing.
pid_starttime() {
	local stat fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# Field 22; the command name (field 2) may hold spaces, so cut after ')'.
	read -r -a fields <<<"${stat##*) }"
	echo "${fields[19]}"
}

# pid_soon_taken PID: true if the kernel's next ordinary forks (this test's
# own among them) would reach PID soon. The host allocates PIDs in order
# from the last one handed out, so a PID just above it is free now and is
# likely to be some subshell's by the time a request names it.
PID_COUNTER_WINDOW=2000
pid_soon_taken() {
	local last max
	last=$(cat /proc/sys/kernel/ns_last_pid 2>/dev/null) || return 1
	max=$(cat /proc/sys/kernel/pid_max 2>/dev/null) || return 1
	[ $((($1 - last + max) % max)) -le "$PID_COUNTER_WINDOW" ]
}

# pick_pid VAR: a host PID in use by nobody, distinct from those picked
# before, and, where the range allows, not one the next forks will take.
# Picked PIDs are killed on cleanup if a process of this test holds them.
pick_pid() {
	local var=$1 span=$((PID_RANGE_HI - PID_RANGE_LO)) p i j used
	for ((i = 0; i < 200; i++)); do
		p=$((PID_RANGE_LO + (RANDOM * 32768 + RANDOM) % span))
		pid_exists "$p" && continue
		# The last tries accept any free PID: a small range may lie
		# wholly ahead of the counter.
		[ "$i" -ge 150 ] || ! pid_soon_taken "$p" || continue
		used=0
		for j in "${PICKED_PIDS[@]}"; do
			[ "$j" != "$p" ] || used=1
		done
		[ "$used" -eq 0 ] || continue
		PICKED_PIDS+=("$p")
		printf -v "$var" '%s' "$p"
		return 0
	done
	echo "pick_pid: no free PID in $PID_RANGE_LO..$PID_RANGE_HI" >&2
	return 1
}

# pick_pid_in VAR LO HI: like pick_pid, from LO..HI.
pick_pid_in() {
	local saved_lo=$PID_RANGE_LO saved_hi=$PID_RANGE_HI rc=0
	PID_RANGE_LO=$2
	PID_RANGE_HI=$3
	pick_pid "$1" || rc=$?
	PID_RANGE_LO=$saved_lo
	PID_RANGE_HI=$saved_hi
	return "$rc"
}

# Waits up to $2 seconds (default 5) until PID $1 is gone.
wait_pid_gone() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		pid_exists "$1" || return 0
		sleep 0.1
	done
	return 1
}

# Kills a process if it started after this test began (so that a PID reused
# by someone else is left alone).
kill_if_ours() {
	local p=$1 st
	st=$(pid_starttime "$p")
	[ -n "$st" ] || return 0
	[ "$st" -ge "$TEST_START" ] || return 0
	kill -KILL "$p" 2>/dev/null || true
}

# ------------------------------------------------------------------ daemon

# start_daemon [ARGS...]: starts pidrestored on $SOCK with its log in
# $T/daemon.log and waits until it answers.
# The system user the daemon's unprivileged half runs as, made as the
# packages would (systemd-sysusers) where it is missing.
ensure_front_user() {
	getent passwd pidrestore >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin \
		--comment "pidrestored unprivileged half" pidrestore
}

# DAEMON_WRAP: a command line the daemon is started under, if any (one that
# ends by exec'ing its arguments, so that DAEMON_PID stays the daemon's).
DAEMON_WRAP=()
start_daemon() {
	local i
	local wrap=()
	SOCK=$T/sock
	ensure_front_user
	if [ -n "${PR_VALGRIND:-}" ]; then
		# The spawner and placeholders are exec'd: valgrind follows none.
		wrap=(valgrind --leak-check=full --errors-for-leak-kinds=definite
			--error-exitcode=1 --log-file="$T/valgrind.%p.log")
	fi
	"${DAEMON_WRAP[@]}" "${wrap[@]}" "$PR_DAEMON" --socket "$SOCK" --holder "$PR_HOLDER" --log-level debug "$@" \
		>"$T/daemon.log" 2>&1 </dev/null &
	DAEMON_PID=$!
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "pidrestored exited at start; its log:" >&2
			cat "$T/daemon.log" >&2
			DAEMON_PID=
			return 1
		fi
		if [ -S "$SOCK" ] && "$PR_CTL" --socket "$SOCK" status >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "pidrestored did not answer on $SOCK within 10 s; its log:" >&2
	cat "$T/daemon.log" >&2
	return 1
}

# stop_daemon: SIGTERM, then waits up to 10 s (then SIGKILL). Sets DAEMON_RC
# to its exit status (137 when it had to be killed).
DAEMON_RC=
stop_daemon() {
	local rc=0 i
	DAEMON_RC=
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		# A zombie still answers kill -0: wait reaps it below.
		[ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null)" != Z ] || break
		sleep 0.1
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null &&
		[ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null)" != Z ]; then
		echo "pidrestored did not stop within 10 s of SIGTERM" >&2
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fi
	wait "$DAEMON_PID" 2>/dev/null || rc=$?
	DAEMON_PID=
	DAEMON_RC=$rc
}

daemon_fd_count() {
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# The daemon's spawner, its one long-lived child, as status names it.
spawner_pid() {
	"$PR_CTL" --socket "$SOCK" status --json=short | jq -r .spawner_pid
}

# The daemon's unprivileged half, which serves the socket.
front_pid() {
	"$PR_CTL" --socket "$SOCK" status --json=short | jq -r .front_pid
}

# The daemon's own long-lived children, the spawner and front, one a line
# (a grep -vx pattern list that leaves only what it created for requesters).
helper_pids() {
	"$PR_CTL" --socket "$SOCK" status --json=short | jq -r '.spawner_pid, .front_pid'
}

# settle_fds N [SECONDS]: waits up to SECONDS (default 5) until the daemon
# holds at most N fds; the connections that just closed take a moment.
settle_fds() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		[ "$(daemon_fd_count)" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------ setup

# Every daemon's valgrind log that reports an error (definite leaks count as
# errors) is shown; returns 1 if there was one. A daemon that was SIGKILLed
# leaves a log without a summary, which says nothing either way.
valgrind_verdict() {
	local log bad=0
	for log in "$T"/valgrind.*.log; do
		[ -e "$log" ] || continue
		if grep -q 'ERROR SUMMARY: [1-9]' "$log"; then
			echo "FAIL: valgrind reports errors in the daemon ($(basename "$log")):"
			cat "$log"
			bad=1
		fi
	done
	return "$bad"
}

# A test may define test_cleanup, run first.
cleanup() {
	local rc=$? p
	set +e
	if declare -F test_cleanup >/dev/null; then
		test_cleanup
	fi
	# SIGTERM first: the daemon reaps its placeholders then, where a
	# SIGKILLed one would leave them to PID 1, which not every PID 1 reaps.
	[ -z "$DAEMON_PID" ] || stop_daemon >/dev/null 2>&1
	for p in "${PICKED_PIDS[@]}" "${EXTRA_PIDS[@]}"; do
		kill_if_ours "$p"
	done
	if [ -n "${PR_VALGRIND:-}" ] && [ -n "$T" ] && [ -d "$T" ]; then
		valgrind_verdict || { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] || rc=1; }
	fi
	if [ -n "$T" ] && [ -d "$T" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -s "$T/daemon.log" ]; then
			echo "--- daemon log (last 60 lines) ---"
			tail -n 60 "$T/daemon.log"
		fi
		cd /
		rm -rf "$T"
	fi
	exit "$rc"
}

# setup: the temp dir, the cleanup trap, and a working directory every user
# can enter.
setup() {
	TEST_START=$(pid_starttime "$$")
	T=$(mktemp -d "${TMPDIR:-/tmp}/pidrestore-$TEST_NAME.XXXXXX")
	chmod 755 "$T"
	trap cleanup EXIT
	trap 'exit 1' INT TERM
	cd "$T"
	local p
	for p in "$PR_DAEMON" "$PR_HOLDER" "$PR_CTL"; do
		[ -x "$p" ] || { echo "missing $p: build the tree first (make)" >&2; exit 99; }
	done
}
