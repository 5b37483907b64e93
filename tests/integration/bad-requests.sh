#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Requests the daemon must refuse: a busy PID (EEXIST naming the level), a
# negative PID, a PID >= pid_max of its namespace, 34 PIDs, more PIDs than
# the target has levels (EINVAL), and --new-pidns with an innermost PID
# other than 1. Each refusal leaves no process behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools unshare timeout
setup
start_daemon

pid_max=$(cat /proc/sys/kernel/pid_max)
NEW_NS_PID_MAX=4194304

# --- busy PIDs
run "$PR_CTL" --socket "$SOCK" spawn --pid "$$" -- true
assert_eq "busy host PID: exits 125" "$RUN_RC" 125
assert_match "busy host PID: EEXIST" "$RUN_ERR" '\(EEXIST\)'
assert_match "busy host PID: names pid $$, level 0 and the namespace" "$RUN_ERR" \
	"pid $$ is in use in pid namespace level 0 \\(pid:\\[[0-9]+\\]\\)"

# In a pid namespace of root's own, PID 1 is pidrestorectl itself.
pick_pid HP
run unshare -pf --mount-proc "$PR_CTL" --socket "$SOCK" spawn --pid "1,$HP" -- true
assert_eq "busy PID at level 1: exits 125" "$RUN_RC" 125
assert_match "busy PID at level 1: EEXIST naming level 1" "$RUN_ERR" '\(EEXIST\).*level 1'
check "busy PID at level 1: the free outer PID $HP was not taken" wait_pid_gone "$HP" 1

# Inner free, outer busy: the outer level is named.
run unshare -pf --mount-proc "$PR_CTL" --socket "$SOCK" spawn --pid "5,$$" -- true
assert_eq "busy PID at level 0 under a free one: exits 125" "$RUN_RC" 125
assert_match "busy PID at level 0 under a free one: EEXIST naming level 0" "$RUN_ERR" \
	"\\(EEXIST\\).*pid $$ .*level 0"

# --- out of range: checked by the daemon (raw requests, no client checks)
run "$PR_HELPERS/raw-request" "$SOCK" spawn -7
assert_match "negative PID: EINVAL from the daemon" "$RUN_OUT" '^reply error=[0-9]+ name=EINVAL '
run "$PR_HELPERS/raw-request" "$SOCK" spawn "$pid_max"
assert_match "host PID = pid_max ($pid_max): EINVAL" "$RUN_OUT" '^reply error=[0-9]+ name=EINVAL '
run "$PR_HELPERS/raw-request" "$SOCK" spawn "$((pid_max + 1000))"
assert_match "host PID > pid_max: EINVAL" "$RUN_OUT" '^reply error=[0-9]+ name=EINVAL '
pids34=$(printf '%s,' $(seq 1 34))
run "$PR_HELPERS/raw-request" "$SOCK" spawn "${pids34%,}"
assert_match "34 PIDs: EINVAL" "$RUN_OUT" '^reply error=[0-9]+ name=EINVAL '

# The same through pidrestorectl: refused before or by the daemon, never run.
run "$PR_CTL" --socket "$SOCK" spawn --pid "$pid_max" -- true
assert_eq "pidrestorectl, PID = pid_max: exits 125" "$RUN_RC" 125
assert_match "pidrestorectl, PID = pid_max: EINVAL" "$RUN_ERR" '\(EINVAL\)'
run "$PR_CTL" --socket "$SOCK" spawn --pid -7 -- true
assert_ne "pidrestorectl, negative PID: refused" "$RUN_RC" 0
run "$PR_CTL" --socket "$SOCK" spawn --pid "${pids34%,}" -- true
assert_ne "pidrestorectl, 34 PIDs: refused" "$RUN_RC" 0
# clone3() takes at most 32: refused up front, not blamed on pid_max.
pick_pid P33
run "$PR_CTL" --socket "$SOCK" spawn --pid "$(seq -s, 100 131),$P33" -- true
assert_eq "pidrestorectl, 33 chosen PIDs: exits 125" "$RUN_RC" 125
assert_match "pidrestorectl, 33 chosen PIDs: says 32 can be chosen" "$RUN_ERR" \
	'\(EINVAL\).*33 PIDs given; at most 32 can be chosen: .*give 0 for that level or leave it out'
assert_no_match "pidrestorectl, 33 chosen PIDs: no word of pid_max" "$RUN_ERR" 'pid_max'

# A new namespace's pid_max is its own (4194304), not the host's.
pick_pid HP
run unshare -pf --mount-proc "$PR_CTL" --socket "$SOCK" spawn --pid "$NEW_NS_PID_MAX,$HP" -- true
assert_eq "level-1 PID = its pid_max: exits 125" "$RUN_RC" 125
assert_match "level-1 PID = its pid_max: EINVAL" "$RUN_ERR" '\(EINVAL\)'
if [ "$pid_max" -lt "$NEW_NS_PID_MAX" ]; then
	run unshare -pf --mount-proc "$PR_CTL" --socket "$SOCK" spawn --pid "$((pid_max + 1)),$HP" -- \
		sh -c 'echo $$'
	assert_eq "level-1 PID above the host's pid_max but below its own: granted" \
		"$RUN_OUT" "$((pid_max + 1))"
fi

# --- more PIDs than levels
pick_pid A
pick_pid B
run "$PR_CTL" --socket "$SOCK" spawn --pid "$A,$B" -- true
assert_eq "2 PIDs at level 0: exits 125" "$RUN_RC" 125
assert_match "2 PIDs at level 0: EINVAL" "$RUN_ERR" '\(EINVAL\)'
run unshare -pf --mount-proc "$PR_CTL" --socket "$SOCK" spawn --pid "7,$A,$B" -- true
assert_eq "3 PIDs at level 1: exits 125" "$RUN_RC" 125
assert_match "3 PIDs at level 1: EINVAL" "$RUN_ERR" '\(EINVAL\)'
run "$PR_CTL" --socket "$SOCK" spawn --new-pidns --pid "1,$A,$B" -- true
assert_eq "--new-pidns with 3 PIDs at level 0: exits 125" "$RUN_RC" 125
assert_match "--new-pidns with 3 PIDs at level 0: EINVAL" "$RUN_ERR" '\(EINVAL\)'
check "no process holds $A" wait_pid_gone "$A" 1
check "no process holds $B" wait_pid_gone "$B" 1

# --- --new-pidns: the innermost PID must be 1
run "$PR_HELPERS/raw-request" "$SOCK" spawn --new-pidns "5,$A"
assert_match "--new-pidns with innermost PID 5: EINVAL from the daemon" "$RUN_OUT" \
	'^reply error=[0-9]+ name=EINVAL '
run "$PR_CTL" --socket "$SOCK" spawn --new-pidns --pid "5,$A" -- true
assert_ne "pidrestorectl --new-pidns --pid 5,$A: refused" "$RUN_RC" 0
assert_match "pidrestorectl --new-pidns --pid 5,$A: an error is printed" "$RUN_ERR" 'EINVAL|PID must be 1|must be 1'
check "no process holds $A" wait_pid_gone "$A" 1

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
