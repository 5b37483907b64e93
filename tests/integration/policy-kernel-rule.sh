#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# DESIGN §5 rules 1 and 2 are the kernel's own (cap_capable()), not a
# comparison of uids:
#  - Root makes a user namespace that maps uids 0-65535 onto the host's;
#    in it, uid $TEST_UID makes a user+pid namespace of its own (unshare
#    -Urpf). On the host, uid $TEST_UID owns that user namespace by number,
#    but it was made inside root's: the kernel gives the host uid nothing
#    there, and neither may the daemon (EPERM, saying why). The uid inside,
#    which really made it, is served: as root of its own namespace, and as
#    the owner one level up, in root's namespace, without any capability.
#  - Root is a capability, not uid 0: uid 0 with every capability dropped
#    is refused a host PID and the admin verbs; uid 0 with them is served,
#    and so is uid $TEST_UID with CAP_CHECKPOINT_RESTORE, which could take
#    the PID itself (but it is no admin).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare nsenter timeout jq
require_userns
setup
start_daemon
user_programs

RAW=$USER_HELPERS/raw-request
CAPLESS=(setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --)
NS_PIDS=()

test_cleanup() {
	local p
	for p in "${NS_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# wait_log ERE: waits up to 5 s for a daemon log line matching ERE.
wait_log() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -Eq -- "$1" "$T/daemon.log" && return 0
		sleep 0.1
	done
	return 1
}

# in_root_userns VAR OUT CMD...: runs CMD in the background in a new user
# namespace that root makes and maps uids and gids 0-65535 onto the host's,
# as uid $TEST_UID there (so on the host too), output to OUT. VAR gets its
# pid. Without newuidmap: root writes the maps while the child waits for
# the second of them.
in_root_userns() {
	local var=$1 out=$2 pid i
	shift 2
	unshare -U sh -c 'while [ -z "$(cat /proc/self/gid_map)" ]; do sleep 0.05; done; exec "$@"' sh \
		setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	NS_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
		sleep 0.05
	done
	echo '0 0 65536' >"/proc/$pid/uid_map"
	echo '0 0 65536' >"/proc/$pid/gid_map"
	printf -v "$var" '%s' "$pid"
}

# child_of VAR PID NAME: waits up to 5 s for a child of PID that runs NAME.
child_of() {
	local i c
	for ((i = 0; i < 50; i++)); do
		for c in $(cat "/proc/$2/task/$2/children" 2>/dev/null || true); do
			if [ "$(cat "/proc/$c/comm" 2>/dev/null || true)" = "$3" ]; then
				printf -v "$1" '%s' "$c"
				return 0
			fi
		done
		sleep 0.1
	done
	echo "child_of: process $2 has no child running $3" >&2
	return 1
}

# ------------------------------------------- a namespace made inside root's

# OUTER stays in root's user namespace as uid $TEST_UID; its child INNER
# made a user+pid namespace of its own, whose pid 1 is SLEEPER.
in_root_userns OUTER "$T/outer.out" sh -c 'unshare -Urpf --kill-child sleep 600 & exec sleep 600'
child_of INNER "$OUTER" unshare
child_of SLEEPER "$INNER" sleep
ROOT_USERNS=$(stat -L -c %i "/proc/$OUTER/ns/user")
INNER_USERNS=$(stat -L -c %i "/proc/$SLEEPER/ns/user")
INNER_PIDNS=$(stat -L -c %i "/proc/$SLEEPER/ns/pid")
echo "# root's user namespace user:[$ROOT_USERNS]; uid $TEST_UID's user:[$INNER_USERNS] in it, owning pid:[$INNER_PIDNS]"
assert_eq "the inner user namespace is owned by uid $TEST_UID on the host" \
	"$(stat -c %u "/proc/$SLEEPER")" "$TEST_UID"
assert_eq "root's namespace maps uid $TEST_UID to itself" \
	"$(awk '{print $1, $2, $3}' "/proc/$OUTER/uid_map")" "0 0 65536"

# The host's uid $TEST_UID names that pid namespace by a pidfd of its pid 1.
run as_user "$RAW" --fd "pidfd:$SLEEPER" "$SOCK" spawn --pidns-fd 0 7
assert_match "host uid $TEST_UID, pid 7 there: EPERM" "$RUN_OUT" '^reply error=[0-9]+ name=EPERM '
assert_match "host uid $TEST_UID, pid 7 there: the message says why" "$RUN_OUT" \
	"pid 7 at level 1 \\(pid:\\[$INNER_PIDNS\\]\\): uid $TEST_UID may not take it: the namespace's user namespace is owned by uid $TEST_UID but its parent is user:\\[$ROOT_USERNS\\] \\(owned by uid 0\\), not the one uid $TEST_UID runs in \\(the daemon's\\): owning it gives uid $TEST_UID no capability there, and no grant for uid $TEST_UID covers pid 7 there\$"
check "host uid $TEST_UID: the denial is audited" wait_log "denied spawn for uid $TEST_UID .*pids \\[7(,0)?\\] in pid:\\[$INNER_PIDNS\\]"
assert_no_match "host uid $TEST_UID: nothing granted by rule own-namespace" "$(cat "$T/daemon.log")" \
	"granted .* in pid:\\[$INNER_PIDNS\\] by rule own-namespace"

run as_user "$RAW" --fd "pidfd:$SLEEPER" "$SOCK" reserve --pidns-fd 0 0
assert_match "host uid $TEST_UID, any free PID there: EPERM" "$RUN_OUT" \
	"^reply error=[0-9]+ name=EPERM message=any free PID at level 1 \\(pid:\\[$INNER_PIDNS\\]\\): uid $TEST_UID may not create a process there: it is not its own pid namespace and its user namespace is owned by uid $TEST_UID but its parent is user:\\[$ROOT_USERNS\\]"
run as_user "$RAW" --fd "pidfd:$SLEEPER" "$SOCK" spawn --pidns-fd 0 --new-pidns 0
assert_match "host uid $TEST_UID, a new namespace below it: EPERM" "$RUN_OUT" '^reply error=[0-9]+ name=EPERM '
run as_user "$RAW" --fd "pidfd:$SLEEPER" "$SOCK" policy-check --pidns-fd 0 7
assert_match "host uid $TEST_UID, asked as a policy check: not allowed" "$RUN_OUT" '^verdict allowed=0$'

# Root asks the same about uid $TEST_UID, and is told what was assumed.
run "$PR_CTL" --socket "$SOCK" policy --check --uid "$TEST_UID" --pid 7,0 --pidns "/proc/$SLEEPER/ns/pid"
assert_eq "root's check for uid $TEST_UID: denied (exit 1)" "$RUN_RC" 1
assert_match "root's check: the reason" "$RUN_OUT" "^denied: pid 7 at level 1 .*its parent is user:\\[$ROOT_USERNS\\] \\(owned by uid 0\\)"
assert_match "root's check: what it took uid $TEST_UID to be" "$RUN_OUT" \
	"^checked as a process of this uid in your pid namespace and the daemon's user namespace, without capabilities"
run "$PR_CTL" --socket "$SOCK" policy --check --uid "$TEST_UID" --pid 7 --pidns "/proc/$SLEEPER/ns/pid" --json
assert_match "root's check in JSON: the assumption" "$(jq -r .assumed <<<"$RUN_OUT")" \
	"^a process of this uid in your pid namespace and the daemon's user namespace, without capabilities, with (the groups of its user database entry|no groups \\(it has no user database entry\\))\$"
run "$PR_CTL" --socket "$SOCK" policy --check --pid 7 --pidns "/proc/$SLEEPER/ns/pid" --json
assert_eq "root checking itself: allowed, nothing assumed" "$(jq -c '[.allowed, .assumed]' <<<"$RUN_OUT")" '[true,null]'

# uid $TEST_UID in root's namespace (OUTER's), where it made the inner one:
# the kernel's walk meets a child of its user namespace that it owns.
run nsenter -t "$OUTER" -U -- setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	sh -c 'grep CapEff /proc/self/status; exec "$@"' sh "$RAW" --fd "pidfd:$SLEEPER" "$SOCK" spawn --pidns-fd 0 7
assert_match "uid $TEST_UID in root's namespace has no capability" "$RUN_OUT" $'^CapEff:\t0+$'
assert_match "uid $TEST_UID in root's namespace: pid 7 in the one it made, served" "$RUN_OUT" \
	'^spawned id=[0-9]+ pids=7,[0-9]+$'
check "it is granted by rule own-namespace" wait_log \
	"granted spawn for uid $TEST_UID .*pids \\[7,[0-9]+\\] in pid:\\[$INNER_PIDNS\\] by rule own-namespace"

# uid $TEST_UID as root of its own namespace, made inside root's: served.
in_root_userns OWNER "$T/owner.out" unshare -Urpf --mount-proc \
	"$USER_CTL" --socket "$SOCK" spawn --pid 4242 -- sh -c 'echo "pid=$$"'
wait "$OWNER" || true
assert_eq "uid $TEST_UID inside its own namespace: pid 4242 there" "$(cat "$T/owner.out")" "pid=4242"

# Its own namespace's root without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE
# could not choose a PID there itself: refused.
run as_user unshare -Urpf --mount-proc setpriv --bounding-set -all,+chown,+kill -- \
	"$USER_CTL" --socket "$SOCK" spawn --pid 300 -- true
assert_eq "uid $TEST_UID as a capless root of its own namespace: refused (125)" "$RUN_RC" 125
assert_match "uid $TEST_UID as a capless root of its own namespace: EPERM, saying why" "$RUN_ERR" \
	"\\(EPERM\\): pid 300 at level 1 \\(pid:\\[[0-9]+\\]\\): uid $TEST_UID may not take it: the namespace's user namespace is the one uid $TEST_UID runs in \\(user:\\[[0-9]+\\]\\), where it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective"

# Nothing of the refused requests is left: the only process in the inner
# namespace that is not its pid 1 is gone by now (the served spawn of true).
{
	kill -KILL "$OUTER" "$INNER"
	wait "$OUTER" || true
} 2>/dev/null
check "the inner namespace's pid 1 is gone with it" wait_pid_gone "$SLEEPER" 5

# --------------------------------------------------- root is a capability

pick_pid P
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- true
assert_eq "uid 0 without capabilities: host pid $P refused (125)" "$RUN_RC" 125
assert_match "uid 0 without capabilities: EPERM, saying why" "$RUN_ERR" \
	"\\(EPERM\\): pid $P at level 0 \\(pid:\\[[0-9]+\\], the daemon's pid namespace\\): uid 0 may not take it: no grant for uid 0 covers pid $P in the host namespace \\(uid 0 is not root here: it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective\\)"
check "no process holds PID $P" wait_pid_gone "$P" 1
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" spawn --pid 0 -- true
assert_eq "uid 0 without capabilities: any free PID where it is, served" "$RUN_RC" 0
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" reload
assert_match "uid 0 without capabilities: reload is EPERM" "$RUN_ERR" \
	"\\(EPERM\\): only root may reload the policy \\(uid 0 asked, without CAP_SYS_ADMIN in the daemon's user namespace\\)"
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" policy --check --uid "$TEST_UID" --pid "$P"
assert_match "uid 0 without capabilities: checks for another uid are EPERM" "$RUN_ERR" \
	'\(EPERM\): only root may check the policy for another uid'
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" policy --check --pid "$P" --json
assert_eq "uid 0 without capabilities: its own check says no" "$(jq .allowed <<<"$RUN_OUT")" false

run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
assert_eq "root with its capabilities: host pid $P" "$RUN_OUT" "$P"
check "root's spawn is granted by rule root" wait_log "granted spawn for uid 0 .*pids \\[$P\\] .*by rule root"

# Someone else's reservation: root sees and releases it; uid 0 without
# capabilities neither sees it nor may release it.
pick_pid Q
as_user "$USER_CTL" --socket "$SOCK" reserve 0 --ttl 60 >"$T/reserve.out" 2>&1 &
NS_PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
	grep -q '^Holding' "$T/reserve.out" && break
	sleep 0.05
done
run "$PR_CTL" --socket "$SOCK" list --json
RID=$(jq -r --argjson u "$TEST_UID" '[.[] | select(.owner_uid == $u and .state == "reserved")][0].id' <<<"$RUN_OUT")
assert_match "root sees uid $TEST_UID's reservation" "$RID" '^[0-9]+$'
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" list --json
assert_eq "uid 0 without capabilities does not see it" \
	"$(jq --argjson u "$TEST_UID" '[.[] | select(.owner_uid == $u)] | length' <<<"$RUN_OUT")" 0
run "${CAPLESS[@]}" "$PR_CTL" --socket "$SOCK" release "$RID"
assert_match "uid 0 without capabilities may not release it, nor learn whose it is" "$RUN_ERR" \
	"\\(EPERM\\): reservation $RID belongs to another user; only its owner and root may release it\$"
run "$PR_CTL" --socket "$SOCK" kill "$RID"
assert_eq "root releases it" "$RUN_RC" 0

# uid $TEST_UID with CAP_CHECKPOINT_RESTORE could take any PID itself.
CR_USER=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups
	--inh-caps=+checkpoint_restore --ambient-caps=+checkpoint_restore --)
run "${CR_USER[@]}" "$USER_CTL" --socket "$SOCK" spawn --pid "$Q" -- sh -c 'echo $$'
assert_eq "uid $TEST_UID with CAP_CHECKPOINT_RESTORE: host pid $Q" "$RUN_OUT" "$Q"
check "it is granted by rule root" wait_log "granted spawn for uid $TEST_UID .*pids \\[$Q\\] .*by rule root"
run "${CR_USER[@]}" "$USER_CTL" --socket "$SOCK" reload
assert_match "uid $TEST_UID with CAP_CHECKPOINT_RESTORE: reload is still EPERM" "$RUN_ERR" \
	'\(EPERM\): only root may reload the policy'

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon answers status afterwards" "$RUN_RC" 0
finish
