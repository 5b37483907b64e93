#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# On a host with cgroup v1 hierarchies (legacy or hybrid), a new process
# joins the requester's cgroup in every hierarchy, v1 and v2, before it
# runs anything of its own (DESIGN §6). It counts in the requester's v1
# pids cgroup, and one that would pass pids.max is refused with EAGAIN, as
# a fork of the requester would fail. A v1 cgroup that cannot be joined
# fails the request, naming why; nothing lands in the daemon's cgroups.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv unshare findmnt timeout
require_userns

v1_mount() { # CONTROLLER
	findmnt -t cgroup -n -o TARGET,OPTIONS | awk -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }'
}
PIDS_MNT=$(v1_mount pids)
MEM_MNT=$(v1_mount memory)
V2_MNT=$(findmnt -t cgroup2 -n -o TARGET | head -n 1)
[ -n "$PIDS_MNT" ] && [ -n "$MEM_MNT" ] || skip "no cgroup v1 pids and memory hierarchies are mounted (a v2-only host)"

res_setup
user_client
NAME=pidrestore-test-$$
DIRS=("$PIDS_MNT/$NAME" "$MEM_MNT/$NAME" "$MEM_MNT/$NAME-b")
[ -z "$V2_MNT" ] || DIRS+=("$V2_MNT/$NAME")
mkdir "${DIRS[@]}"
test_cleanup() {
	local d i
	for d in "${DIRS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			[ -d "$d" ] || break
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
	done
}
# The daemon sees every cgroup mount read-only, as under systemd's
# ProtectControlGroups=yes: it joins through mounts of its own. (Not under
# valgrind, which knows no fsopen(): the daemon joins through the mount
# points then, and says so.)
if [ -z "${PR_VALGRIND:-}" ]; then
	DAEMON_WRAP=(unshare -m --propagation private sh -c '
		for m in $(findmnt -t cgroup,cgroup2 -n -o TARGET); do mount -o remount,bind,ro "$m" || exit 1; done
		exec "$@"' sh)
fi
start_daemon
if [ -z "${PR_VALGRIND:-}" ]; then
	check "the daemon's view of the v1 pids hierarchy is read-only" \
		grep -q " $PIDS_MNT ro," "/proc/$DAEMON_PID/mountinfo"
fi

# The requester joins its cgroups (as root), then becomes the test user in a
# user+pid namespace of its own: its pidrestorectl and the unshare that
# waits for it are its two processes there.
JOIN=(sh -c 'while [ "$1" != -- ]; do echo $$ >"$1"; shift; done; shift; exec "$@"' sh
	"$PIDS_MNT/$NAME/cgroup.procs" "$MEM_MNT/$NAME/cgroup.procs")
[ -z "$V2_MNT" ] || JOIN+=("$V2_MNT/$NAME/cgroup.procs")
JOIN+=(--)
echo 5 >"$PIDS_MNT/$NAME/pids.max"

CLIENT_BIN=$USER_CLIENT client_open U "${JOIN[@]}" "${AS_USER[@]}" unshare -Urpf --mount-proc
# The client itself, as this test's /proc sees it: the child of unshare.
REQ=$(pgrep -P "${CL_PID[U]}")
assert_eq "the requester's two processes count in its pids cgroup" "$(cat "$PIDS_MNT/$NAME/pids.current")" 2

IDS=()
for p in 4242 4243 4244; do
	client_cmd U "reserve $p"
	assert_eq "reserve $p inside the namespace" "$CL_LAST" "ok 1"
	parse_procs
	IDS+=("${RES_IDS[0]:-none}")
	HOST=${RES_HOST[0]:-0}
	assert_eq "PID $p (host $HOST) sits in the requester's cgroup in every hierarchy" \
		"$(cat "/proc/$HOST/cgroup" 2>&1)" "$(cat "/proc/$REQ/cgroup")"
done
check "the host PID is listed in the v1 pids cgroup" grep -qx "$HOST" "$PIDS_MNT/$NAME/cgroup.procs"
check "and in the v1 memory cgroup" grep -qx "$HOST" "$MEM_MNT/$NAME/cgroup.procs"
assert_eq "three reservations count: pids.current reaches pids.max" "$(cat "$PIDS_MNT/$NAME/pids.current")" 5

client_cmd U "reserve 4245"
assert_match "a fourth one would pass pids.max: EAGAIN" "$CL_LAST" '^error EAGAIN '
assert_match "naming the cgroup and its limit" "$CL_LAST" "pids cgroup $PIDS_MNT/$NAME holds 5 processes and its pids.max is 5"
assert_eq "nothing more counts there" "$(cat "$PIDS_MNT/$NAME/pids.current")" 5
check "and nothing took PID 4245's host PID: the namespace has no 4245" \
	bash -c "! grep -q \$'\t4245\$' /proc/[0-9]*/status 2>/dev/null"

# The same limit as a fork of the requester meets: its own fork fails too.
run sh -c 'echo $$ >"$1"; sh -c "true & wait"' sh "$PIDS_MNT/$NAME/cgroup.procs"
assert_ne "a fork in that cgroup fails at pids.max as well" "$RUN_RC" 0

client_cmd U "release ${IDS[0]}"
assert_eq "one released" "$CL_LAST" "ok 1"
for ((i = 0; i < 50; i++)); do
	[ "$(cat "$PIDS_MNT/$NAME/pids.current")" -lt 5 ] && break
	sleep 0.1
done
client_cmd U "reserve 4245"
assert_eq "with room again, the next one is made" "$CL_LAST" "ok 1"

# A cgroup limit in the parent counts as well (the whole hierarchy).
echo max >"$PIDS_MNT/$NAME/pids.max"
mkdir "$PIDS_MNT/$NAME/inner"
DIRS=("$PIDS_MNT/$NAME/inner" "${DIRS[@]}")
echo "$REQ" >"$PIDS_MNT/$NAME/inner/cgroup.procs"
echo 5 >"$PIDS_MNT/$NAME/pids.max"
client_cmd U "reserve 4246"
assert_match "the parent's pids.max counts for a child cgroup: EAGAIN" "$CL_LAST" "^error EAGAIN .*$PIDS_MNT/$NAME holds 5"
client_cmd U "release-all"
client_quit U

# --- a v1 cgroup that cannot be joined: the requester's memory cgroup as
# it connected is gone by the time it asks
MEM_A=$MEM_MNT/$NAME-b
CLIENT_BIN=$USER_CLIENT client_open G sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$MEM_A" \
	"${AS_USER[@]}" unshare -Urpf --mount-proc
for p in "${CL_PID[G]}" $(pgrep -P "${CL_PID[G]}"); do
	echo "$p" >"$MEM_MNT/$NAME/cgroup.procs"
done
rmdir "$MEM_A"
client_cmd G "reserve 4242"
assert_match "joining a removed v1 cgroup fails the request" "$CL_LAST" '^error ENOENT '
assert_match "naming the cgroup and what to do" "$CL_LAST" "could not join the requester's cgroup $MEM_A in the cgroup v1 hierarchy \"memory\".*connect again"
check "nothing was made: the memory cgroup holds the client alone" \
	bash -c "[ \$(wc -l <'$MEM_MNT/$NAME/cgroup.procs') -eq 2 ]"
client_quit G

stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
