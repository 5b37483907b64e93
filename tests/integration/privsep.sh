#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's two processes (DESIGN §2): the one that holds the listening
# socket is front, the unprivileged system user with no capability,
# no_new_privs, a seccomp filter and no dumpable memory; priv, the main
# process, holds no listening socket. A requester can signal neither. A
# front that dies takes priv down cleanly (reservations released, running
# programs left running, exit status 1); a priv that dies takes front.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv jq timeout
res_setup
start_daemon

# The inode of the listening socket bound at $1, from /proc/net/unix.
listening_inode() {
	awk -v path="$1" '$NF == path && $4 == "00010000" { print $7 }' /proc/net/unix
}
# The processes that hold an fd of socket inode $1, one a line.
holders_of() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "socket:[$1]" ] && { f=${f#/proc/}; echo "${f%%/*}"; }
	done | sort -u
}
status_field() { # PID FIELD
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

FRONT=$(front_pid)
FRONT_UID=$(id -u pidrestore)
FRONT_GID=$(id -g pidrestore)
INODE=$(listening_inode "$SOCK")
check "the listening socket is found in /proc/net/unix" test -n "$INODE"
assert_eq "exactly one process holds the listening socket, and it is front" "$(holders_of "$INODE")" "$FRONT"
assert_ne "front is not the main process" "$FRONT" "$DAEMON_PID"
assert_eq "front is the main process's child" "$(awk '{print $4}' "/proc/$FRONT/stat")" "$DAEMON_PID"
assert_eq "front runs as the pidrestore user (real, effective, saved, fs)" "$(status_field "$FRONT" Uid)" \
	"$(printf '%s\t%s\t%s\t%s' "$FRONT_UID" "$FRONT_UID" "$FRONT_UID" "$FRONT_UID")"
assert_eq "front's gids are pidrestore's" "$(status_field "$FRONT" Gid)" \
	"$(printf '%s\t%s\t%s\t%s' "$FRONT_GID" "$FRONT_GID" "$FRONT_GID" "$FRONT_GID")"
assert_eq "front has no supplementary group" "$(status_field "$FRONT" Groups)" ""
for set in CapInh CapPrm CapEff CapAmb; do
	assert_eq "front's $set is empty" "$(status_field "$FRONT" "$set")" 0000000000000000
done
assert_eq "front has no_new_privs" "$(status_field "$FRONT" NoNewPrivs)" 1
if [ -n "${PR_VALGRIND:-}" ]; then
	assert_match "under valgrind front says it installs no filter" "$(cat "$T/daemon.log")" "running under valgrind: front installs no seccomp filter"
else
	assert_eq "front runs under a seccomp filter (Seccomp: 2)" "$(status_field "$FRONT" Seccomp)" 2
fi
# A sanitizer build keeps front dumpable: LeakSanitizer traces it at exit.
if ldd "$PR_DAEMON" 2>/dev/null | grep -q libasan; then
	echo "# built with AddressSanitizer: front stays dumpable, not checked"
else
	run setpriv --reuid=pidrestore --regid=pidrestore --clear-groups cat "/proc/$FRONT/environ"
	assert_ne "front's memory is not readable even by its own user (non-dumpable)" "$RUN_RC" 0
fi
assert_eq "priv runs as root" "$(status_field "$DAEMON_PID" Uid | cut -f2)" 0

# Neither process can be signalled by a requester, nor by the user front
# runs as (front's own memory is out of its reach; priv is root).
run as_user kill -0 "$FRONT"
assert_match "uid $TEST_UID cannot signal front" "$RUN_ERR" "Operation not permitted"
run as_user kill -0 "$DAEMON_PID"
assert_match "uid $TEST_UID cannot signal priv" "$RUN_ERR" "Operation not permitted"
kill -TERM "$FRONT"
kill -HUP "$FRONT"
sleep 0.3
run "$PR_CTL" --socket "$SOCK" status
assert_eq "front ignores SIGTERM and SIGHUP: the daemon still answers" "$RUN_RC" 0
assert_no_match "and the policy was not reloaded" "$(cat "$T/daemon.log")" "policy reloaded"

# --- front dies: priv releases the reservations and leaves programs running
free_pids R 2
pick_pid S
"$PR_CTL" --socket "$SOCK" reserve "${R[0]}" "${R[1]}" >"$T/reserve.out" 2>&1 &
EXTRA_PIDS+=("$!")
"$PR_CTL" --socket "$SOCK" spawn --pid "$S" -- sleep 60 >/dev/null 2>&1 &
EXTRA_PIDS+=("$!" "$S")
for ((i = 0; i < 50; i++)); do
	[ "$(count_holders "${R[@]}")" -eq 2 ] && [ "$(cat "/proc/$S/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
assert_eq "two PIDs reserved" "$(count_holders "${R[@]}")" 2
assert_eq "a program spawned with PID $S runs" "$(cat "/proc/$S/comm" 2>/dev/null)" sleep
kill -KILL "$FRONT"
rc=0
for ((i = 0; i < 50; i++)); do
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	[ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null)" != Z ] || break
	sleep 0.1
done
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
assert_eq "with front killed, priv exits with status 1" "$rc" 1
assert_match "and says why" "$(cat "$T/daemon.log")" "the unprivileged front process is gone"
check "the reserved PIDs are free" wait_all_gone 5 "${R[@]}"
assert_eq "the spawned program still runs" "$(cat "/proc/$S/comm" 2>/dev/null)" sleep
check "the socket file is removed" test ! -e "$SOCK"
kill -KILL "$S" 2>/dev/null || true

# --- priv dies: front goes with it, and so do the placeholders
start_daemon
FRONT=$(front_pid)
free_pids R 1
"$PR_CTL" --socket "$SOCK" reserve "${R[0]}" >/dev/null 2>&1 &
EXTRA_PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
	[ "$(count_holders "${R[0]}")" -eq 1 ] && break
	sleep 0.1
done
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
gone=1
for ((i = 0; i < 50; i++)); do
	[ -e "/proc/$FRONT" ] || { gone=0; break; }
	sleep 0.1
done
assert_eq "with priv killed, front is gone within 5 s" "$gone" 0
check "and the placeholder is gone" wait_all_gone 5 "${R[0]}"

finish
