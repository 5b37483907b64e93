#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A tree's claim-all (pidrestore_tree_claim_all()): the live nodes of a
# held tree claimed at once, each running a shell that reports from inside
# with its PID, session and group kept; then the refusals, each whole and
# before any node is told: a zombie, a node named twice, a node already
# claimed, another user's tree, a tree released meanwhile. A node claimed
# by blob in a claim-all runs the blob in place.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout jq
res_setup
start_daemon
CLAIM=$PR_HELPERS/tree-claim

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
"$PR_CTL" --socket "$SOCK" tree --file "$T/tree.json" --json >"$T/ctl.out" 2>"$T/ctl.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "the tree is built and held" wait_file "$T/ctl.out" 10
TREE=$(jq -r .tree "$T/ctl.out")
touch "$T/report"

run "$CLAIM" "$SOCK" "$TREE" 3 "$T/report"
assert_eq "a claim of the zombie: exit 1" "$RUN_RC" 1
assert_eq "EINVAL naming it" "$RUN_OUT" "error=EINVAL claim 0: node 3 is a zombie, not a live node; only live nodes can run a program"
run "$CLAIM" "$SOCK" "$TREE" 1,5,1 "$T/report"
assert_eq "a node named twice: EINVAL" "$RUN_OUT" "error=EINVAL claim 2: node 1 is claimed twice in this request (also by claim 0); name each node once"
user_programs
run "${AS_USER[@]}" "$USER_HELPERS/tree-claim" "$SOCK" "$TREE" 1 /dev/null
assert_eq "another user's tree: EPERM" "$RUN_OUT" "error=EPERM tree $TREE belongs to another user; only its owner may claim its nodes"
check "no node ran anything after the refusals" test ! -s "$T/report"
run "$PR_CTL" --socket "$SOCK" tree list
assert_match "every live node is still parked" "$(sed -n 2p <<<"$RUN_OUT")" "^$TREE +root +6 +4 +4 +0 "

run "$CLAIM" "$SOCK" "$TREE" 5,1,2 "$T/report"
assert_eq "three live nodes claimed at once" "$RUN_OUT" "claimed 3"
check "each reports from inside" wait_lines "$T/report" 3
sort "$T/report" >"$T/sorted"
assert_eq "node 1: its PID, session and group kept" "$(sed -n 1p "$T/sorted")" "node 1 pid 2 sid ${F[0]} pgid ${F[1]}"
assert_eq "node 2 too" "$(sed -n 2p "$T/sorted")" "node 2 pid 3 sid ${F[0]} pgid ${F[1]}"
assert_eq "node 5 in the ghost's group" "$(sed -n 3p "$T/sorted")" "node 5 pid 6 sid ${F[0]} pgid ${F[4]}"
assert_match "the parent of node 1 is still the init" "$(cat "/proc/${F[1]}/status")" "PPid:[[:space:]]+${F[0]}"
run "$PR_CTL" --socket "$SOCK" tree list --json
assert_eq "tree list: 3 claimed, 1 parked" "$(jq -c ".[] | select(.tree == $TREE) | [.parked, .claimed]" <<<"$RUN_OUT")" '[1,3]'
assert_eq "node 2 is listed as claimed" "$(jq -r ".[] | select(.tree == $TREE) | .nodes[2].state" <<<"$RUN_OUT")" claimed

run "$CLAIM" "$SOCK" "$TREE" 0,2 "$T/report"
assert_match "a node already claimed refuses the claim-all: EBUSY" "$RUN_OUT" \
	"^error=EBUSY claim 1: node 2: reservation [0-9]+ is already claimed$"
assert_eq "and the other node stays parked" "$(proc_state "${F[0]}")" S
check "nothing more ran" test "$(wc -l <"$T/report")" -eq 3

# The init by blob, in a claim-all: it runs in place as pid 1.
run "$CLAIM" --blob "$PR_HELPERS/tree-blob.bin" "$SOCK" "$TREE" 0b "$T/report"
assert_eq "the init claimed by blob in a claim-all" "$RUN_OUT" "claimed 1"
check "the blob reports from inside" wait_lines "$T/report" 4
assert_match "as pid 1 of the new namespace, ${F[0]} outside" "$(grep '^blob ' "$T/report")" \
	"^blob pid=1 tid=1 uid=0 gid=0 NSpid:${F[0]},1 Uid:0,0,0,0 block:1,${F[0]} threads=0$"

kill -INT "$CTL"
check "SIGINT releases the tree" wait_exit "$CTL"
run "$CLAIM" "$SOCK" "$TREE" 0 "$T/report"
assert_eq "a tree released meanwhile: ESRCH" "$RUN_OUT" "error=ESRCH no tree $TREE: it was never built, or was released, or its connection closed"
check "every PID of the tree is free (the init took its namespace down)" wait_all_gone 5 "${F[@]}"
finish
