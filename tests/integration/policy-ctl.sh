#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl policy and reload against a real daemon: root sees every
# grant, a user only those that name it (and its own limits); --check
# answers per level with the rule, in a table and in JSON, also for a
# namespace named by --pidns; reload is root's, a bad file is refused with
# FILE:LINE and the old policy keeps serving, a good one applies at once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools jq setpriv timeout unshare
setup
user_programs

OTHER_UID=$((TEST_UID + 1))
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Policy]
RootOnlyBelow=1000

[Grant]
User=$TEST_UID
PIDs=20000-24999 4242
MaxReservations=100
SpawnsPerSecond=50

[Grant]
User=$OTHER_UID
PIDs=25000-30000
Namespace=any
CONF
start_daemon --config "$CONF"
CTL=("$PR_CTL" --socket "$SOCK")
UCTL=(as_user "$USER_CTL" --socket "$SOCK")

# --- listing
run "${CTL[@]}" policy --json
assert_eq "root: policy --json exits 0" "$RUN_RC" 0
json=$RUN_OUT
assert_eq "root: the file is listed" "$(jq -r '.files | join(" ")' <<<"$json")" "$CONF"
assert_eq "root: the floor" "$(jq '.root_only_below' <<<"$json")" 1000
assert_eq "root: own namespaces on by default" "$(jq '.own_namespaces' <<<"$json")" true
assert_eq "root: both grants" "$(jq '.grants | length' <<<"$json")" 2
assert_eq "root: grant #1's rule" "$(jq -r '.grants[0].rule' <<<"$json")" "grant #1 (pidrestored.conf:4)"
assert_eq "root: grant #1's uids" "$(jq -c '.grants[0].uids' <<<"$json")" "[$TEST_UID]"
assert_eq "root: grant #1's PIDs" "$(jq -c '.grants[0].pids' <<<"$json")" \
	'[{"first":20000,"last":24999},{"first":4242,"last":4242}]'
assert_eq "root: grant #1's namespaces default to host" "$(jq -c '.grants[0].namespaces' <<<"$json")" '["host"]'
assert_eq "root: grant #1's limits" "$(jq -c '[.grants[0].max_reservations, .grants[0].spawns_per_second]' <<<"$json")" '[100,50]'
assert_eq "root: grant #2 has no limits" "$(jq -c '[.grants[1].max_reservations, .grants[1].spawns_per_second]' <<<"$json")" '[null,null]'
assert_eq "root: grant #2's namespaces" "$(jq -c '.grants[1].namespaces' <<<"$json")" '["any"]'
assert_eq "root: nothing hidden" "$(jq '.grants_not_shown' <<<"$json")" 0

run "${UCTL[@]}" policy --json=pretty
assert_eq "uid $TEST_UID: policy --json=pretty exits 0" "$RUN_RC" 0
assert_match "pretty JSON spans lines" "$RUN_OUT" $'\n  "files": \\['
json=$RUN_OUT
assert_eq "uid $TEST_UID: sees only its grant" "$(jq -r '[.grants[].rule] | join(",")' <<<"$json")" "grant #1 (pidrestored.conf:4)"
assert_eq "uid $TEST_UID: is told one grant is not shown" "$(jq '.grants_not_shown' <<<"$json")" 1
assert_eq "uid $TEST_UID: its own limits" "$(jq -c '[.your_max_reservations, .your_spawns_per_second]' <<<"$json")" '[100,50]'
run "${UCTL[@]}" policy
assert_match "uid $TEST_UID: the table names its limits" "$RUN_OUT" 'Your limits: 100 outstanding reservations, 50 processes a second'
assert_match "uid $TEST_UID: the table says a grant is hidden" "$RUN_OUT" 'Grants: 1 shown; 1 more do not name you'
assert_no_match "uid $TEST_UID: the other user's range is not shown" "$RUN_OUT" '25000-30000'

# --- check
run "${CTL[@]}" policy --check --uid "$TEST_UID" --pid 4242 --json
assert_eq "check: uid $TEST_UID may take 4242 (exit 0)" "$RUN_RC" 0
assert_eq "check: allowed in JSON" "$(jq '.allowed' <<<"$RUN_OUT")" true
assert_eq "check: the rule of level 0" "$(jq -r '.levels[0].rule' <<<"$RUN_OUT")" "grant #1 (pidrestored.conf:4)"
assert_eq "check: the namespace is the host's" "$(jq '.levels[0].pidns_inode' <<<"$RUN_OUT")" "$(stat -L -c %i /proc/self/ns/pid)"
run "${CTL[@]}" policy --check --uid "$TEST_UID" --pid 999
assert_eq "check: 999 is below the floor (exit 1)" "$RUN_RC" 1
assert_match "check: the table says why" "$RUN_OUT" 'denied: pid 999 at level 0 .*PIDs below 1000 are reserved for root'
assert_match "check: the level is marked refused" "$RUN_OUT" $'\n0 +999 +pid:\\[[0-9]+\\] +refused'
run "${UCTL[@]}" policy --check --pid 20001
assert_eq "check: a user checks itself without --uid" "$RUN_RC" 0
run "${UCTL[@]}" policy --check --uid "$OTHER_UID" --pid 25000
assert_eq "check: a user may not ask about another uid (exit 1)" "$RUN_RC" 1
assert_match "check: EPERM, saying what to do" "$RUN_ERR" '\(EPERM\): only root may check the policy for another uid .*leave out --uid'
# A namespace of nobody's, named by path: only Namespace=any reaches it.
unshare --pid --fork --mount-proc sleep 60 &
NS_HOLDER=$!
EXTRA_PIDS+=("$NS_HOLDER")
for ((i = 0; i < 50; i++)); do
	child=$(cat "/proc/$NS_HOLDER/task/$NS_HOLDER/children" 2>/dev/null | awk '{print $1}')
	[ -n "$child" ] && break
	sleep 0.1
done
run "${CTL[@]}" policy --check --uid "$OTHER_UID" --pid 25001,0 --pidns "/proc/$child/ns/pid" --json
assert_eq "check --pidns: uid $OTHER_UID may take 25001 in a root container (Namespace=any)" "$(jq '.allowed' <<<"$RUN_OUT")" true
assert_eq "check --pidns: two levels, innermost first" "$(jq -c '[.levels[] | [.level, .pid]]' <<<"$RUN_OUT")" '[[1,25001],[0,0]]'
assert_eq "check --pidns: the container's level by the grant" "$(jq -r '.levels[0].rule' <<<"$RUN_OUT")" "grant #2 (pidrestored.conf:10)"
assert_eq "check --pidns: the host level is left to the kernel" "$(jq -r '.levels[1].rule' <<<"$RUN_OUT")" any-free-pid
assert_eq "check --pidns: the container's inode" "$(jq '.levels[0].pidns_inode' <<<"$RUN_OUT")" "$(stat -L -c %i "/proc/$child/ns/pid")"
run "${CTL[@]}" policy --check --uid "$TEST_UID" --pid 25001 --pidns "/proc/$child/ns/pid"
assert_eq "check --pidns: uid $TEST_UID has no grant there (exit 1)" "$RUN_RC" 1
assert_match "check --pidns: the refusal says whose namespace it is" "$RUN_OUT" 'belongs to the daemon.s user namespace'
run "${CTL[@]}" policy --uid 5
assert_eq "--uid without --check is a usage error" "$RUN_RC" 2

# --- reload
run "${UCTL[@]}" reload
assert_eq "reload as uid $TEST_UID fails (exit 1)" "$RUN_RC" 1
assert_match "reload as a user is EPERM" "$RUN_ERR" '\(EPERM\): only root may reload the policy'
cp "$CONF" "$T/good.conf"
printf '[Grant]\nUser=%s\nPIDs=30-20\n' "$TEST_UID" >>"$CONF"
run "${CTL[@]}" reload
assert_eq "reload of a broken file fails (exit 1)" "$RUN_RC" 1
assert_match "the reply says FILE:LINE and that the old policy stays" "$RUN_ERR" \
	"the policy was not reloaded and the old one stays in force: $CONF:16: PIDs=: range 30-20 starts after it ends"
pick_pid_in P 20000 24999
run "${UCTL[@]}" spawn --pid "$P" -- sh -c 'echo $$'
assert_eq "the old policy still serves uid $TEST_UID" "$RUN_OUT" "$P"
run "${CTL[@]}" policy --json
assert_eq "the old policy is still listed" "$(jq '.grants | length' <<<"$RUN_OUT")" 2

sed "s/^User=$TEST_UID\$/User=$OTHER_UID/" "$T/good.conf" >"$CONF"
run "${CTL[@]}" reload
assert_eq "reload of a good file exits 0" "$RUN_RC" 0
assert_eq "it says what it read" "$RUN_OUT" "Policy reloaded: 2 grants from $CONF."
pick_pid_in P 20000 24999
run "${UCTL[@]}" spawn --pid "$P" -- true
assert_match "uid $TEST_UID lost its grant at once" "$RUN_ERR" '\(EPERM\)'
run as_user "$USER_CTL" --socket "$SOCK" policy --json
assert_eq "uid $TEST_UID now sees no grant" "$(jq '.grants | length' <<<"$RUN_OUT")" 0

finish
