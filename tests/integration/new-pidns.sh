#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# --new-pidns: an unprivileged user in its own user namespace asks for
# --pid 1,N. The child is pid 1 of a new pid namespace, pid N one level up,
# and that namespace belongs to the user's user namespace: the child may
# mount a procfs for it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare mount timeout
require_userns
setup
start_daemon
user_programs
user_dir
mkdir "$T/u/newproc"
chown "$TEST_UID:$TEST_GID" "$T/u/newproc"

# The user's namespace has /proc of its own pid namespace (--mount-proc), so
# NSpid read there shows the level-1 PID and the new namespace's.
run "${AS_USER[@]}" unshare -Urpf --mount-proc \
	"$USER_CTL" --socket "$SOCK" spawn --new-pidns --pid 1,4321 -- \
	sh -c 'echo "pid=$$"; exec grep NSpid /proc/self/status'
assert_eq "--new-pidns --pid 1,4321: exits 0" "$RUN_RC" 0
assert_match "the child is pid 1 of its namespace" "$RUN_OUT" '^pid=1$'
assert_match "and pid 4321 in the user's namespace" "$RUN_OUT" $'^NSpid:\t4321\t1$'

# Mount a procfs for the new namespace: allowed only if the namespace is
# owned by the user's user namespace (not the daemon's). Then list it.
run "${AS_USER[@]}" unshare -Urpf --mount-proc \
	"$USER_CTL" --socket "$SOCK" spawn --new-pidns --pid 1,4322 -- \
	unshare -m sh -c 'mount -t proc proc "$1" && echo "mounted" && ls "$1" | grep -E "^[0-9]+$" | sort -n | tr "\n" " "' \
	sh "$T/u/newproc"
assert_eq "procfs mount for the new namespace: exits 0" "$RUN_RC" 0
assert_match "the child could mount a procfs for its namespace" "$RUN_OUT" '^mounted$'
assert_match "that procfs lists pid 1 (the child)" "$RUN_OUT" '^1 '
assert_no_match "and nothing of the level above (no 4322, no pidrestorectl)" "$RUN_OUT" '(^| )(4322|[0-9]{3,}) '

# The owner, compared from the outside: the child's user namespace is the
# requester's (and /proc/PID/ns/pid's owner is checked by the mount above).
run "${AS_USER[@]}" unshare -Urpf --mount-proc sh -c '
	echo "requester $(readlink /proc/self/ns/user)"
	"$1" --socket "$2" spawn --new-pidns --pid 1,4323 -- sh -c "echo child \$(readlink /proc/self/ns/user)"
' sh "$USER_CTL" "$SOCK"
req=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^requester //p')
child=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^child //p')
assert_match "the requester's user namespace was read" "$req" '^user:\[[0-9]+\]$'
assert_eq "the child is in the requester's user namespace" "$child" "$req"

# Root without a user namespace: --new-pidns at the host level.
pick_pid HP
run "$PR_CTL" --socket "$SOCK" spawn --new-pidns --pid "1,$HP" -- \
	sh -c 'echo "pid=$$"; exec grep NSpid /proc/self/status'
assert_match "root, --new-pidns --pid 1,$HP: pid 1 inside" "$RUN_OUT" '^pid=1$'
assert_match "root, --new-pidns --pid 1,$HP: pid $HP on the host" "$RUN_OUT" $'^NSpid:\t'"$HP"$'\t1$'

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
