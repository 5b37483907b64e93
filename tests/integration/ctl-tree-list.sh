#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl tree list: a held tree as a line of counts (nodes, live,
# parked, claimed, zombies, threads), its pid namespace and TTL, and with
# --json every node with its kind, state, reservation and PIDs at every
# level. A node released by itself shows as exited. A user sees only its
# own trees; root sees everyone's. A list too large for one message is
# refused with a message that says what to do instead.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout jq
res_setup
start_daemon

free_pids F 6
cat >"$T/tree.json" <<JSON
{ "nodes": [
    { "parent": -1, "pids": [1, ${F[0]}], "new_pidns": true, "sid": 0, "pgid": 0 },
    { "parent": 0, "pids": [2, ${F[1]}], "pgid": 1 },
    { "parent": 0, "pids": [3, ${F[2]}], "pgid": 1 },
    { "kind": "zombie", "parent": 0, "pids": [4, ${F[3]}], "exit_code": 7 },
    { "kind": "ghost", "pids": [5, ${F[4]}], "sid": 0 },
    { "parent": 0, "pids": [6, ${F[5]}], "pgid": 4 }
  ] }
JSON
"$PR_CTL" --socket "$SOCK" tree --file "$T/tree.json" --ttl 300 --json >"$T/ctl.out" 2>"$T/ctl.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "the tree is built and held" wait_file "$T/ctl.out" 10
TREE=$(jq -r .tree "$T/ctl.out")
HOST_NS=$(stat -L -c %i /proc/self/ns/pid)
# wait_exit_state PID: waits up to 5 s until PID is gone or a zombie.
wait_exit_state() {
	local i
	for ((i = 0; i < 50; i++)); do
		case $(proc_state "$1") in Z | gone) return 0 ;; esac
		sleep 0.1
	done
	return 1
}

run "$PR_CTL" --socket "$SOCK" tree list
echo "$RUN_OUT"
assert_eq "tree list exits 0" "$RUN_RC" 0
assert_match "its column headers" "$(head -n1 <<<"$RUN_OUT")" \
	'^TREE +OWNER +NODES +LIVE +PARKED +CLAIMED +ZOMBIES +THREADS +PIDNS +TTL$'
assert_match "a line with the tree's counts, the namespace of its root and its TTL" "$(sed -n 2p <<<"$RUN_OUT")" \
	"^$TREE +root +6 +4 +4 +0 +1 +0 +pid:\[$HOST_NS\] +(4min [0-9]+s|5min)\$"
assert_match "and how many trees" "$RUN_OUT" '1 tree listed\.$'

run "$PR_CTL" --socket "$SOCK" tree list --json
assert_eq "tree list --json exits 0" "$RUN_RC" 0
tj=$(jq -c ".[] | select(.tree == $TREE)" <<<"$RUN_OUT")
assert_eq "the counts in JSON" "$(jq -c '[.owner_uid, .node_count, .live, .parked, .claimed, .zombies, .threads, .pidns_inode]' <<<"$tj")" \
	"[0,6,4,4,0,1,0,$HOST_NS]"
check "a TTL left in JSON" test "$(jq '.ttl_left_usec > 200000000' <<<"$tj")" = true
assert_eq "node 0: live, parked, with its reservation and PIDs at every level" \
	"$(jq -c '.nodes[0] | [.node, .kind, .state, (.reservation | type), .pids[0:2]]' <<<"$tj")" \
	"[0,\"live\",\"parked\",\"number\",[1,${F[0]}]]"
assert_eq "node 3: the zombie, exited, no reservation" "$(jq -c '.nodes[3] | [.kind, .state, .reservation, .pids[0:2]]' <<<"$tj")" \
	"[\"zombie\",\"exited\",null,[4,${F[3]}]]"
assert_eq "node 4: the ghost" "$(jq -c '.nodes[4] | [.kind, .state, .pids[0]]' <<<"$tj")" '["ghost","ghost",5]'
assert_eq "the reservations are the build's" "$(jq -c '[.nodes[].reservation]' <<<"$tj")" \
	"$(jq -c '[.nodes[].reservation]' "$T/ctl.out")"

# A live node released by itself is gone from the counts of parked nodes
# (its PID stays a zombie of its parent, parked too, until the tree goes).
RES5=$(jq -r '.nodes[5].reservation' "$T/ctl.out")
run "$PR_CTL" --socket "$SOCK" release "$RES5"
assert_eq "node 5's reservation is released on its own" "$RUN_RC" 0
check "it is no longer running" wait_exit_state "${F[5]}"
run "$PR_CTL" --socket "$SOCK" tree list --json
tj=$(jq -c ".[] | select(.tree == $TREE)" <<<"$RUN_OUT")
assert_eq "three nodes are parked now" "$(jq -c '[.live, .parked, .claimed]' <<<"$tj")" '[4,3,0]'
assert_eq "node 5 is listed as exited" "$(jq -c '.nodes[5] | [.state, .reservation]' <<<"$tj")" '["exited",null]'

# A user sees its own trees only: none.
user_programs
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" tree list
assert_eq "a user's tree list exits 0" "$RUN_RC" 0
assert_match "and shows none of root's trees" "$RUN_OUT" '^0 trees listed\.$'
run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" tree list --json
assert_eq "in JSON: an empty list" "$RUN_OUT" '[]'
run "$PR_CTL" --socket "$SOCK" tree list --no-legend
assert_match "--no-legend: the line alone" "$RUN_OUT" "^$TREE +root +6 "

run "$PR_CTL" --socket "$SOCK" tree list 3
assert_eq "tree list takes no argument: usage error" "$RUN_RC" 2
run "$PR_CTL" --socket "$SOCK" tree list --file "$T/tree.json"
assert_eq "nor --file" "$RUN_RC" 2
assert_match "and says so" "$RUN_ERR" 'tree list takes no --file; e\.g\. pidrestorectl tree list --json'

kill -INT "$CTL"
check "SIGINT releases the tree" wait_exit "$CTL"
check "every PID of it is free" wait_all_gone 5 "${F[@]}"
run "$PR_CTL" --socket "$SOCK" tree list --json
assert_eq "a released tree is no longer listed" "$RUN_OUT" '[]'

# A list with every node larger than the daemon's message bound is refused.
stop_daemon
start_daemon --max-message-size 1024
free_pids W 100
nodes=""
for ((i = 0; i < 100; i++)); do
	nodes+="${nodes:+,}{ \"parent\": -1, \"pids\": [${W[i]}] }"
done
echo "{ \"nodes\": [ $nodes ] }" >"$T/wide.json"
"$PR_CTL" --socket "$SOCK" tree --file "$T/wide.json" >"$T/wide.out" 2>"$T/wide.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "a tree of 100 roots is built" wait_file "$T/wide.out" 10
run "$PR_CTL" --socket "$SOCK" tree list
assert_eq "its line fits the bound" "$RUN_RC" 0
run "$PR_CTL" --socket "$SOCK" tree list --json
assert_eq "with every node it does not: exit 1" "$RUN_RC" 1
assert_match "EMSGSIZE that says what to do" "$RUN_ERR" \
	'^pidrestorectl: tree list failed \(EMSGSIZE\): the list of 1 trees with their nodes takes [0-9]+ bytes, more than the daemon.s message limit of 1024; list without the nodes$'
kill -INT "$CTL"
check "SIGINT releases it" wait_exit "$CTL"
check "and its PIDs are free" wait_all_gone 5 "${W[@]}"
finish
