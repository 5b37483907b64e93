#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A child spawned through the daemon and one the requester forks itself are
# alike: same ids, groups, capabilities, seccomp mode, no_new_privs, umask,
# scheduling (policy, priority, nice, CPU affinity, I/O priority),
# personality and namespaces; and the spawned program has exactly the fds it
# was given.
# Done for root (plain, and confined: own namespaces, reduced bounding set,
# no_new_privs) and for an unprivileged user inside its own user namespace
# (plain and confined).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout nice taskset ionice chrt setarch
require_userns
setup
start_daemon
user_programs

# probe: what a process is, one line per property, read from /proc about the
# shell itself ($$), which is the spawned or forked process.
cat >"$T/probe" <<'PROBE'
#!/bin/sh
for k in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb Seccomp NoNewPrivs Umask Cpus_allowed_list; do
	grep "^$k:" /proc/$$/status | tr -s ' \t' ' '
done
# Fields 19, 40 and 41 of stat: nice, rt_priority, policy.
stat=$(cat /proc/$$/stat)
set -- ${stat##*) }
echo "sched: nice ${17} rt_priority ${38} policy ${39}"
echo "ioprio: $(ionice -p $$)"
echo "personality: $(cat /proc/$$/personality)"
for n in mnt net ipc uts user cgroup pid time; do
	echo "ns $n $(readlink /proc/$$/ns/$n)"
done
PROBE
chmod 755 "$T/probe"

# compare.sh, run as the requester: prints the probe of a child it forks,
# a separator, then the probe of a child spawned through the daemon.
cat >"$T/compare" <<'CMP'
#!/bin/sh
ctl=$1 sock=$2 pid=$3
"$4/probe"
echo "----"
exec "$ctl" --socket "$sock" spawn --pid "$pid" -- "$4/probe"
CMP
chmod 755 "$T/compare"

# compare_as DESC PID CMD...: runs compare under CMD and checks the halves.
compare_as() {
	local desc=$1 pid=$2 forked spawned
	shift 2
	run "$@" "$T/compare" "$USER_CTL" "$SOCK" "$pid" "$T"
	assert_eq "$desc: spawn exits 0" "$RUN_RC" 0
	forked=$(printf '%s\n' "$RUN_OUT" | sed '/^----$/,$d')
	spawned=$(printf '%s\n' "$RUN_OUT" | sed '1,/^----$/d')
	assert_eq "$desc: the forked probe read 12 status lines, 3 scheduling lines and 8 namespaces" \
		"$(printf '%s\n' "$forked" | grep -c .)" 23
	# Each property on its own line, so that a failure says which.
	local line key
	while IFS= read -r line; do
		key=${line%%:*}
		[ "${line#ns }" = "$line" ] || key=${line% *}
		assert_eq "$desc: $key" "$(printf '%s\n' "$spawned" | grep -F -- "$key" | head -n 1)" "$line"
	done <<<"$forked"
	assert_eq "$desc: all properties compared" "$(printf '%s\n' "$spawned" | wc -l)" "$(printf '%s\n' "$forked" | wc -l)"
}

umask 027

pick_pid P
compare_as "root" "$P" env

pick_pid P
compare_as "root, own namespaces, groups, nnp, reduced bounding set" "$P" \
	unshare --mount --net --uts --ipc --cgroup --propagation private \
	setpriv --groups 4,24,4242 --no-new-privs --bounding-set -all,+chown,+kill,+setuid,+setgid,+sys_admin,+dac_override --

pick_pid P
compare_as "root, nice 5, CPU 0 only, idle I/O class, SCHED_BATCH, no address randomization" "$P" \
	nice -n 5 taskset -c 0 ionice -c 3 chrt -b 0 setarch "$(uname -m)" -R

pick_pid P
compare_as "root, nice -3, SCHED_FIFO 10 with SCHED_RESET_ON_FORK" "$P" \
	nice -n -3 chrt -R -f 10

compare_as "uid $TEST_UID in its own user+pid namespace" 300 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --groups="$TEST_GID,4242" -- \
	unshare -Urpf --mount-proc

# It keeps CAP_CHECKPOINT_RESTORE: without it (or CAP_SYS_ADMIN) the kernel
# would not let it choose a PID even in its own namespace, nor does the
# daemon (DESIGN §5 rule 2).
compare_as "uid $TEST_UID in its own namespaces, nnp, reduced bounding set" 301 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	unshare -Urpf --mount-proc --net --uts --ipc \
	setpriv --no-new-privs --bounding-set -all,+chown,+kill,+checkpoint_restore --

compare_as "uid $TEST_UID with no_new_privs set before its user namespace" 302 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups --no-new-privs -- \
	unshare -Urpf --mount-proc

compare_as "uid $TEST_UID, nice 7, CPU 0 only, best-effort I/O level 6, no address randomization" 304 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	nice -n 7 taskset -c 0 ionice -c 2 -n 6 setarch "$(uname -m)" -R \
	unshare -Urpf --mount-proc

# --- fds: only the mapped ones. The requester holds extra fds (not
# close-on-exec); the spawned ls sees 0 1 2 and its own directory fd.
fds_of_spawned() {
	timeout 30 "$1" --socket "$2" spawn --pid "$3" -- ls /proc/self/fd 7</dev/null 8>/dev/null 9<"$T/probe"
}
pick_pid P
run fds_of_spawned "$PR_CTL" "$SOCK" "$P"
assert_eq "root: the spawned program has fds 0 1 2 (+ ls's own 3) only" "$(printf '%s\n' "$RUN_OUT" | paste -sd ' ')" "0 1 2 3"

run "${AS_USER[@]}" unshare -Urpf --mount-proc bash -c "$(declare -f fds_of_spawned); T='$T'; fds_of_spawned \"\$@\"" \
	sh "$USER_CTL" "$SOCK" 303
assert_eq "uid $TEST_UID: the spawned program has fds 0 1 2 (+ ls's own 3) only" "$(printf '%s\n' "$RUN_OUT" | paste -sd ' ')" "0 1 2 3"

# Its stdio is the requester's: stdin is read, stdout and stderr are written.
pick_pid P
out=$(printf 'hello-through-stdin\n' | timeout 30 "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- \
	sh -c 'read -r l; echo "out:$l"; echo "err:$l" >&2' 2>&1) || true
assert_eq "stdin, stdout and stderr are the requester's" "$out" $'out:hello-through-stdin\nerr:hello-through-stdin'

# Its working directory and environment are the requester's.
pick_pid P
mkdir "$T/wd"
out=$(cd "$T/wd" && PR_TEST_MARK=here timeout 30 "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- \
	sh -c 'echo "$PWD $PR_TEST_MARK"') || true
assert_eq "cwd and environment are the requester's" "$out" "$T/wd here"

finish
