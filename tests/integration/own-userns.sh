#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An unprivileged user inside its own user+pid namespace gets a chosen PID in
# that namespace, and in two nested namespaces it owns gets both levels; a
# level it does not own (the host's) is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare mount timeout
require_userns
setup
start_daemon
user_programs
user_dir

# --- one level: the user's own pid namespace
run "${AS_USER[@]}" unshare -Urpf --mount-proc \
	"$USER_CTL" --socket "$SOCK" spawn --pid 4242 -- sh -c 'echo "pid=$$ uid=$(id -u)"'
assert_eq "one level: spawn exits 0" "$RUN_RC" 0
assert_eq "one level: the child is pid 4242 in the user's namespace, as its root" \
	"$RUN_OUT" "pid=4242 uid=0"

# The child's PID one level up (the host) is some PID: its NSpid says so,
# read through the host's /proc from the child itself.
run "${AS_USER[@]}" unshare -Urpf \
	"$USER_CTL" --socket "$SOCK" spawn --pid 4243 -- sh -c 'echo $$; exec grep NSpid /proc/self/status'
assert_match "one level: NSpid of the child ends in 4243" "$RUN_OUT" $'^NSpid:\t[0-9]+\t4243$'

# --- asking for the host level too: not the user's to take
pick_pid HP
run "${AS_USER[@]}" unshare -Urpf --mount-proc \
	"$USER_CTL" --socket "$SOCK" spawn --pid "4244,$HP" -- true
assert_eq "host level: refused (125)" "$RUN_RC" 125
assert_match "host level: EPERM" "$RUN_ERR" '\(EPERM\)'
assert_match "host level: the message names level 0 and pid $HP" "$RUN_ERR" "pid $HP .*level 0|level 0.*pid $HP"
check "host level: no process holds PID $HP" wait_pid_gone "$HP" 1

# --- two levels: an inner pid namespace inside the first, both the user's.
# The outer namespace's /proc is bound aside so that the child can read its
# PID there.
mkdir "$T/u/proc1"
chown "$TEST_UID:$TEST_GID" "$T/u/proc1"
run "${AS_USER[@]}" unshare -Urpf --mount-proc sh -c '
	mount --bind /proc "$1" &&
	exec unshare -pf --mount-proc "$2" --socket "$3" spawn --pid 50,60 -- \
		sh -c "echo inner=\$\$; exec grep NSpid \"\$0/self/status\"" "$1"
' sh "$T/u/proc1" "$USER_CTL" "$SOCK"
assert_eq "two levels: spawn exits 0" "$RUN_RC" 0
assert_match "two levels: the child is pid 50 in the inner namespace" "$RUN_OUT" '^inner=50$'
assert_match "two levels: and pid 60 in the outer one" "$RUN_OUT" $'^NSpid:\t60\t50$'

# Both levels busy-checked against the right namespace: PID 1 of the inner
# namespace is pidrestorectl itself.
run "${AS_USER[@]}" unshare -Urpf --mount-proc sh -c '
	exec unshare -pf --mount-proc "$1" --socket "$2" spawn --pid 1,61 -- true
' sh "$USER_CTL" "$SOCK"
assert_eq "two levels, inner PID busy: refused (125)" "$RUN_RC" 125
assert_match "two levels, inner PID busy: EEXIST at level 2" "$RUN_ERR" '\(EEXIST\).*level 2'

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
