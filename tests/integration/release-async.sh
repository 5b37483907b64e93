#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A release is answered once the PIDs are free, and the daemon keeps serving
# everyone else meanwhile: it waits for the placeholder's exit from its event
# loop, not in it. A placeholder in a frozen cgroup v1 freezer survives
# SIGKILL until it is thawed, which makes the wait as long as the test likes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
FREEZER_ROOT=/sys/fs/cgroup/freezer
[ -w "$FREEZER_ROOT/cgroup.procs" ] || skip "needs a cgroup v1 freezer hierarchy at $FREEZER_ROOT (a v2 freezer lets SIGKILL through)"
res_setup

FREEZER=$FREEZER_ROOT/pidrestore-test.$$
release_async_cleanup() {
	local rc=$? p
	set +e
	if [ -d "$FREEZER" ]; then
		echo THAWED >"$FREEZER/freezer.state"
		while read -r p; do
			echo "$p" >"$FREEZER_ROOT/cgroup.procs"
		done <"$FREEZER/cgroup.procs"
		rmdir "$FREEZER"
	fi
	(exit "$rc")
	res_cleanup
}
trap release_async_cleanup EXIT
mkdir "$FREEZER"

start_daemon
# The daemon's fds once they stop changing: under valgrind the tool's own
# come and go for a while after the start.
stable_fd_count() {
	local prev=-1 n i
	for ((i = 0; i < 50; i++)); do
		n=$(daemon_fd_count)
		[ "$n" != "$prev" ] || break
		prev=$n
		sleep 0.2
	done
	echo "$n"
}
FD0=$(stable_fd_count)
client_open A
client_open B

free_pids F 2
client_cmd A "reserve ${F[0]}"
assert_eq "A reserves pid ${F[0]}" "$CL_LAST" "ok 1"
parse_procs
ID=${RES_IDS[0]}

echo "${F[0]}" >"$FREEZER/cgroup.procs"
echo FROZEN >"$FREEZER/freezer.state"
for ((i = 0; i < 50; i++)); do
	[ "$(cat "$FREEZER/freezer.state")" = FROZEN ] && break
	sleep 0.1
done
assert_eq "the placeholder is frozen" "$(cat "$FREEZER/freezer.state")" FROZEN

client_cmd A "release $ID" 1
assert_eq "no answer to the release while the placeholder cannot die" "$CL_LAST" "no answer"
check "the placeholder still holds pid ${F[0]} (killed, not reaped)" pid_exists "${F[0]}"

# B is served as usual meanwhile.
client_cmd B status 5
assert_match "B's status is answered during the release" "$CL_LAST" '^ok reservations=0 own=0 '
client_cmd B "reserve ${F[1]}" 5
assert_eq "B reserves pid ${F[1]} during the release" "$CL_LAST" "ok 1"
client_cmd B release-all 5
assert_eq "B releases it, answered at once" "$CL_LAST" "ok 1"
check "pid ${F[1]} is free again" wait_all_gone 1 "${F[1]}"

echo THAWED >"$FREEZER/freezer.state"
line="no answer"
IFS= read -r -t 10 -u "${CL_R[A]}" line || true
assert_eq "A's release is answered once the placeholder is thawed and gone" "$line" "ok 1"
check "pid ${F[0]} is free once the release was answered" wait_all_gone 0 "${F[0]}"
probe_pids "${F[0]}"
assert_eq "a third party's clone3(set_tid) takes pid ${F[0]}" "$PROBE_OUT" "${F[0]} ok"

# A connection that closes while its release waits: the daemon forgets the
# answer and still reaps the placeholder.
client_cmd A "reserve ${F[0]}"
assert_eq "A reserves pid ${F[0]} again" "$CL_LAST" "ok 1"
parse_procs
echo "${F[0]}" >"$FREEZER/cgroup.procs"
echo FROZEN >"$FREEZER/freezer.state"
client_cmd A "release ${RES_IDS[0]}" 1
assert_eq "no answer while frozen" "$CL_LAST" "no answer"
client_kill A
client_cmd B status 5
assert_match "B is served after A went away mid-release" "$CL_LAST" '^ok '
echo THAWED >"$FREEZER/freezer.state"
check "the placeholder is reaped after its requester went away" wait_all_gone 5 "${F[0]}"
assert_eq "the daemon has no zombie child" "$(zombie_children "$DAEMON_PID")" 0
client_quit B
settle_fds "$FD0" || true
assert_eq "no fd leaked in the daemon" "$(daemon_fd_count)" "$FD0"
finish
