#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reservation that is pid 1 of a new pid namespace, with a program the
# daemon spawned inside that namespace: killing the placeholder makes the
# kernel kill the whole namespace, and pid 1 finishes exiting only once the
# program, the daemon's own child, is reaped. The daemon must reap the
# program from its own exit event while it waits for the placeholder, never
# block on the placeholder: a user with a user namespace could otherwise
# hang it for everyone. Each way a reservation ends is tried: kill, release,
# TTL, and the daemon's stop; after each, another user is served within a
# second, nothing is left unreaped, and SIGTERM stops the daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout
require_userns
setup
user_programs
PIDNS_INIT=$PR_HELPERS/pidns-init
if ! as_user test -x "$PIDNS_INIT" 2>/dev/null; then
	mkdir -p "$T/bin"
	cp "$PIDNS_INIT" "$T/bin/"
	chmod 755 "$T/bin" "$T/bin/pidns-init"
	PIDNS_INIT=$T/bin/pidns-init
fi
OTHER_UID=$((TEST_UID + 1))

# Zombies among PID's children.
zombies_of() {
	local f st n=0 a
	for f in /proc/[0-9]*/stat; do
		st=$(cat "$f" 2>/dev/null) || continue
		read -r -a a <<<"${st##*) }"
		[ "${a[1]}" = "$1" ] && [ "${a[0]}" = Z ] && n=$((n + 1))
	done
	echo "$n"
}

# The host PID (the last) of the "WHAT id=ID pids=..." line in RUN_OUT.
host_pid_of() {
	printf '%s\n' "$RUN_OUT" | sed -n "s/^$1 id=[0-9]* pids=.*[,=]\([0-9]*\)\$/\1/p"
}

# Another user's status, answered within a second.
other_status() {
	timeout -k 1 1 setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups -- \
		"$USER_CTL" --socket "$SOCK" status >/dev/null 2>&1
}

# SIGTERM stops the daemon, cleanly and at once.
check_stop() {
	local t0 t1
	t0=$(date +%s%N)
	stop_daemon
	t1=$(date +%s%N)
	assert_eq "$1: SIGTERM stops the daemon with status 0" "$DAEMON_RC" 0
	check "$1: and within 3 s ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -lt 3000
}

for action in kill release ttl; do
	start_daemon
	RUN_TIMEOUT=15 run "${AS_USER[@]}" unshare -Ur "$PIDNS_INIT" --socket "$SOCK" "$action"
	assert_eq "$action: the requester's requests are all answered" "$RUN_RC" 0
	assert_match "$action: the reservation is pid 1 of a new namespace" "$RUN_OUT" '^reserved id=[0-9]+ pids=1,[0-9]+$'
	assert_match "$action: the program runs inside it" "$RUN_OUT" '^spawned id=[0-9]+ pids=[0-9]+,[0-9]+$'
	assert_match "$action: the reservation ended" "$RUN_OUT" "^$action: ended "
	assert_match "$action: the program was killed with its namespace" "$RUN_OUT" '^exited id=[0-9]+ signal=9 '
	check "$action: another user's status is answered within 1 s" other_status
	placeholder=$(host_pid_of reserved)
	program=$(host_pid_of spawned)
	check "$action: the placeholder (host pid ${placeholder:-?}) is reaped" wait_pid_gone "${placeholder:-0}" 1
	check "$action: the program (host pid ${program:-?}) is reaped" wait_pid_gone "${program:-0}" 1
	assert_eq "$action: the daemon has no zombie child" "$(zombies_of "$DAEMON_PID")" 0
	check_stop "$action"
done

# The daemon stops while the reservation is held: it releases it, reaps the
# program the kernel kills with the namespace, then the placeholder, and
# exits.
start_daemon
mkfifo "$T/hold.in"
exec {hold_w}<>"$T/hold.in"
"${AS_USER[@]}" unshare -Ur "$PIDNS_INIT" --socket "$SOCK" hold <"$T/hold.in" >"$T/hold.out" 2>&1 &
EXTRA_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
	grep -q '^hold: holding$' "$T/hold.out" && break
	sleep 0.1
done
RUN_OUT=$(cat "$T/hold.out")
assert_match "hold: the reservation and its program are in place" "$RUN_OUT" '^hold: holding$'
placeholder=$(host_pid_of reserved)
program=$(host_pid_of spawned)
check "hold: another user's status is answered within 1 s" other_status
check_stop "hold"
check "hold: the placeholder (host pid ${placeholder:-?}) is gone" wait_pid_gone "${placeholder:-0}" 2
check "hold: the program (host pid ${program:-?}) is gone" wait_pid_gone "${program:-0}" 2
exec {hold_w}>&-
finish
