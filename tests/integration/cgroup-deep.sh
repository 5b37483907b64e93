#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A child starts in its requester's cgroup v2, never in the daemon's (DESIGN
# §6). A requester in a cgroup whose path is too long for the daemon to open
# (over 4096 characters) keeps its connection, but every process it asks
# for is refused with a message naming the cgroup, and none is created; the
# same requester in a short cgroup gets its reservation, and the placeholder
# lands in that cgroup.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools awk timeout

# The cgroup v2 mount the daemon uses: the first mount of the hierarchy's root.
CG2=$(awk '$0 ~ / - cgroup2 / && $4 == "/" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || skip "no cgroup v2 hierarchy is mounted"
res_setup
BASE=pidrestore-cgroup-deep.$$
# 17 levels of 250 characters: more than PATH_MAX (4096) below the mount.
COMP=$(printf 'd%.0s' $(seq 250))
LEVELS=17

# in_deep CMD...: runs CMD in the deepest directory, reached one level at a
# time (no path that long can be named at once).
in_deep() {
	(
		cd "$CG2/$BASE"
		for ((i = 0; i < LEVELS; i++)); do
			cd "$COMP"
		done
		"$@"
	)
}

test_cleanup() {
	local i
	# Every process of the test has ended by now (the clients were killed
	# first); remove the cgroups from the bottom up.
	for ((i = LEVELS; i > 0; i--)); do
		(
			cd "$CG2/$BASE" 2>/dev/null || exit 0
			for ((j = 1; j < i; j++)); do
				cd "$COMP" || exit 0
			done
			rmdir "$COMP" 2>/dev/null
		) || true
	done
	rmdir "$CG2/$BASE/short" "$CG2/$BASE" 2>/dev/null || true
}
res_cleanup_then_cgroups() {
	local rc=$?
	set +e
	for name in "${!CL_PID[@]}"; do
		kill -KILL "${CL_PID[$name]}" 2>/dev/null
		wait "${CL_PID[$name]}" 2>/dev/null
	done
	(exit "$rc")
	res_cleanup
}
trap res_cleanup_then_cgroups EXIT

mkdir "$CG2/$BASE" "$CG2/$BASE/short"
(
	cd "$CG2/$BASE"
	for ((i = 0; i < LEVELS; i++)); do
		mkdir "$COMP" && cd "$COMP"
	done
) || skip "cannot create a cgroup $((LEVELS * 251)) characters deep under $CG2"
start_daemon

# A client that moves itself into the deep cgroup before it connects.
cat >"$T/enter-deep" <<EOF
#!/bin/bash
cd "$CG2/$BASE" || exit 1
i=0
while [ \$i -lt $LEVELS ]; do cd "$COMP" || exit 1; i=\$((i + 1)); done
echo \$\$ >cgroup.procs || exit 1
exec "\$@"
EOF
cat >"$T/enter-short" <<EOF
#!/bin/bash
echo \$\$ >"$CG2/$BASE/short/cgroup.procs" || exit 1
exec "\$@"
EOF
chmod 755 "$T/enter-deep" "$T/enter-short"

client_open D "$T/enter-deep"
cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/${CL_PROC[D]}/cgroup")
# /proc/PID/cgroup shows at most PATH_MAX - 1 characters of it.
assert_eq "the client runs in a cgroup of ${#cg} characters or more" "$((${#cg} >= 4095))" 1
before=$(pgrep -c -P "$DAEMON_PID" || true)
client_cmd D "reserve 0"
assert_match "its reserve is refused, naming its cgroup" "$CL_LAST" \
	"^error ENAMETOOLONG the daemon cannot open the requester's cgroup \\(File name too long\\), and a new process must start in it, never in the daemon's"
client_cmd D "reserve 0 0 0"
assert_match "so is a batch" "$CL_LAST" "^error ENAMETOOLONG .*requester's cgroup"
assert_eq "no process was created" "$(pgrep -c -P "$DAEMON_PID" || true)" "$before"
client_cmd D status
assert_match "the connection itself is served" "$CL_LAST" '^ok reservations=0 '
client_quit D

client_open S "$T/enter-short"
client_cmd S "reserve 0"
assert_eq "in a short cgroup the same reserve is made" "$CL_LAST" "ok 1"
parse_procs
EXTRA_PIDS+=("${RES_HOST[0]}")
assert_eq "and the placeholder starts in that cgroup" \
	"$(awk -F: '$1 == "0" { print $3 }' "/proc/${RES_HOST[0]}/cgroup")" "/$BASE/short"
client_quit S
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
