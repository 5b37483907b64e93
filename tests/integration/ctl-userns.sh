#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl shows and parses users as its own user namespace has them:
# inside unshare -Ur (its uid 0 is the host's $TEST_UID), list shows the
# user's programs as owned by 0 (root, from the passwd it reads), the policy
# names it as 0 and a uid with no mapping there as the kernel shows one
# (65534), and policy --check --uid 0 (or root) and release --all --uid
# root mean the user itself, not the host's root; a uid the namespace does
# not map is refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools jq setpriv timeout unshare
setup
user_programs
require_userns

OTHER_UID=$((TEST_UID + 1))
OVERFLOW_UID=$(cat /proc/sys/kernel/overflowuid)
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID $OTHER_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
CONF
start_daemon --config "$CONF"
UCTL=(as_user "$USER_CTL" --socket "$SOCK")
# The same user, inside a user namespace of its own whose uid 0 it is.
NSCTL=(as_user unshare -Ur "$USER_CTL" --socket "$SOCK")
run "${NSCTL[@]}" status --json
assert_eq "pidrestorectl runs inside unshare -Ur as uid $TEST_UID" "$RUN_RC" 0
overflow_name=$(getent passwd "$OVERFLOW_UID" | cut -d: -f1)

# --- list: the owner as this namespace has it
pick_pid P
run "${UCTL[@]}" spawn --pid "$P" --no-wait -- sleep 60
assert_eq "uid $TEST_UID spawns a sleep as $P" "$RUN_RC" 0
run "${UCTL[@]}" list --json
assert_eq "on the host: owner_uid is $TEST_UID" "$(jq -c "[.[] | select(.pids[0] == $P) | .owner_uid]" <<<"$RUN_OUT")" "[$TEST_UID]"
run "${NSCTL[@]}" list --json
assert_eq "inside unshare -Ur: owner_uid is 0, owner root" \
	"$(jq -c "[.[] | select(.pids[0] == $P) | .owner_uid, .owner]" <<<"$RUN_OUT")" '[0,"root"]'
run "${NSCTL[@]}" list --no-legend
assert_match "inside unshare -Ur: the table's OWNER is root" "$RUN_OUT" "^[0-9]+ +root +$P "

# --- policy: the grant's users, one mapped, one not
run "${NSCTL[@]}" policy --json
assert_eq "inside: the grant names 0 (the user) and $OVERFLOW_UID (uid $OTHER_UID, unmapped here)" \
	"$(jq -c '.grants[0].uids' <<<"$RUN_OUT")" "[0,$OVERFLOW_UID]"
run "${NSCTL[@]}" policy
assert_match "inside: the table names root (0) and the overflow uid" "$RUN_OUT" \
	"Users: root \\(0\\), ${overflow_name:+$overflow_name \\(}$OVERFLOW_UID"
run "${UCTL[@]}" policy --json
assert_eq "on the host: the grant names $TEST_UID and $OTHER_UID" "$(jq -c '.grants[0].uids' <<<"$RUN_OUT")" \
	"[$TEST_UID,$OTHER_UID]"

# --- policy --check --uid: a uid of this namespace
pick_pid Q
for who in 0 root; do
	run "${NSCTL[@]}" policy --check --uid "$who" --pid "$Q" --json
	assert_eq "inside: --uid $who is the user itself: allowed (exit 0)" "$RUN_RC" 0
	assert_eq "inside: --uid $who: the verdict names uid 0" "$(jq -c '[.allowed, .uid, .assumed]' <<<"$RUN_OUT")" '[true,0,null]'
done
run "${NSCTL[@]}" policy --check --pid "$Q"
assert_match "inside: without --uid the verdict says uid 0 too" "$RUN_OUT" '^allowed: uid 0 may take these PIDs$'
run "${UCTL[@]}" policy --check --uid 0 --pid "$Q"
assert_eq "on the host, --uid 0 is root: refused to a user (exit 1)" "$RUN_RC" 1
assert_match "saying only root may ask about another uid" "$RUN_ERR" 'only root may check the policy for another uid'
run "${NSCTL[@]}" policy --check --uid 1 --pid "$Q"
assert_eq "inside: --uid 1, which the namespace does not map, is a usage error" "$RUN_RC" 2
assert_match "saying so" "$RUN_ERR" '--uid 1 has no mapping in this user namespace \(see /proc/self/uid_map\)'

# --- release --all --uid: a user of this namespace too
pick_pid R
"${UCTL[@]}" reserve "$R" >"$T/hold.out" 2>&1 &
HOLD=$!
EXTRA_PIDS+=("$HOLD")
for ((i = 0; i < 50; i++)); do
	[ "$(cat "/proc/$R/comm" 2>/dev/null)" = pidrestore-hold ] && break
	sleep 0.1
done
run "${NSCTL[@]}" release --all --uid 1
assert_eq "inside: release --all --uid 1 (unmapped) is a usage error" "$RUN_RC" 2
assert_match "saying so" "$RUN_ERR" '--uid 1 has no mapping in this user namespace'
run "${NSCTL[@]}" release --all --uid root
assert_eq "inside: release --all --uid root releases the user's own reservation" "$RUN_RC:$RUN_OUT" "0:Released 1 reservation."
check "PID $R is free again" wait_pid_gone "$R" 5
kill "$HOLD" 2>/dev/null || true

run "${UCTL[@]}" kill "$(jq -r "[.[] | select(.pids[0] == $P) | .id][0]" < <("${UCTL[@]}" list --json))" --signal KILL
assert_eq "the sleep is killed" "$RUN_RC" 0
check "and gone" wait_pid_gone "$P" 5
finish
