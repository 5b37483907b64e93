#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl tree --file as root runs it: a small tree from JSON (a new
# pid namespace whose init leads a session, a group of two, a zombie killed
# by SIGTERM, a dead group leader's ghost) is built, printed as JSON and
# held until SIGTERM, which releases it; nodes that are not the daemon's
# children, claimed by exec, report how they ended; a tree that breaks a
# rule is refused naming its node, before anything is created.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout jq
res_setup
start_daemon

free_pids F 6
cat >"$T/tree.json" <<JSON
{ "timeout_ms": 10000,
  "nodes": [
    { "parent": -1, "pids": [1, ${F[0]}], "new_pidns": true, "sid": 0, "pgid": 0, "comm": "init" },
    { "parent": 0, "pids": [2, ${F[1]}], "pgid": 1 },
    { "parent": 0, "pids": [3, ${F[2]}], "pgid": 1 },
    { "kind": "zombie", "parent": 0, "pids": [4, ${F[3]}], "exit_signal": "TERM" },
    { "kind": "ghost", "pids": [5, ${F[4]}], "sid": 0 },
    { "parent": 0, "pids": [6, ${F[5]}], "pgid": 4 }
  ] }
JSON
"$PR_CTL" --socket "$SOCK" tree --file "$T/tree.json" --json >"$T/ctl.out" 2>"$T/ctl.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "tree --json prints the tree while it holds it" wait_file "$T/ctl.out" 10
json=$(cat "$T/ctl.out")
assert_match "six nodes, the init first with its PIDs" "$json" \
	"^\{\"tree\":[0-9]+,\"nodes\":\[\{\"node\":0,\"state\":\"parked\",\"reservation\":[0-9]+,\"pids\":\[1,${F[0]}(,[0-9]+)?\],"
assert_match "the zombie has exited" "$json" "\{\"node\":3,\"state\":\"exited\",\"pids\":\[4,${F[3]}"
assert_match "the ghost is listed as one" "$json" "\{\"node\":4,\"state\":\"ghost\""
st=$(cat "/proc/${F[2]}/status")
assert_match "node 2 is pid 3 in the new namespace" "$st" "NSpid:[[:space:]]+${F[2]}[[:space:]]+3"
assert_match "in the init's session" "$st" "NSsid:[[:space:]]+${F[0]}[[:space:]]+1"
assert_match "and in node 1's group" "$st" "NSpgid:[[:space:]]+${F[1]}[[:space:]]+2"
st=$(cat "/proc/${F[5]}/status")
assert_match "node 5 is in the dead leader's group" "$st" "NSpgid:[[:space:]]+${F[4]}[[:space:]]+5"
assert_match "the zombie is one" "$(cat "/proc/${F[3]}/status")" "State:[[:space:]]+Z"
check "the ghost's PID has no process" test ! -e "/proc/${F[4]}"
# Nodes 1 and 2 are the init's children, not the daemon's: how they end is
# read without reaping them.
run "$PR_CTL" --socket "$SOCK" exec "$(jq -r '.nodes[1].reservation' <<<"$json")" -- sh -c 'exit 7'
assert_eq "a claimed node that is not the daemon's child: exec exits with its status" "$RUN_RC" 7
run "$PR_CTL" --socket "$SOCK" exec "$(jq -r '.nodes[2].reservation' <<<"$json")" -- sh -c 'kill -TERM $$'
assert_eq "and with 128+N when signal N killed it" "$RUN_RC" 143

kill -TERM "$CTL"
check "SIGTERM ends the holding pidrestorectl" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
check "every PID of the tree is free" wait_all_gone 5 "${F[@]}"

# --- the table, and tree release from another pidrestorectl
"$PR_CTL" --socket "$SOCK" tree --file "$T/tree.json" >"$T/ctl2.out" 2>"$T/ctl2.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "tree prints a table while it holds the tree" wait_file "$T/ctl2.out" 10
sleep 0.2
cat "$T/ctl2.out"
assert_match "the table starts with the tree's id" "$(head -n1 "$T/ctl2.out")" '^TREE [0-9]+$'
assert_match "then the column headers" "$(sed -n 2p "$T/ctl2.out")" '^NODE +STATE +RESERVATION +PIDS$'
assert_match "and a row per node" "$(sed -n 3p "$T/ctl2.out")" "^0 +parked +[0-9]+ +1,${F[0]}\$"
run "$PR_CTL" --socket "$SOCK" tree release "$(head -n1 "$T/ctl2.out" | cut -d' ' -f2)"
assert_eq "tree release ID from another pidrestorectl of the same user exits 0" "$RUN_RC" 0
assert_eq "and says how many live nodes went" "$RUN_OUT" 4
check "the tree's PIDs are free" wait_all_gone 5 "${F[@]}"
run "$PR_CTL" --socket "$SOCK" tree release 999999
assert_eq "an unknown tree: exit 1" "$RUN_RC" 1
assert_match "with ESRCH" "$RUN_ERR" '\(ESRCH\)'
check "the holding pidrestorectl, told its reservations were released, ends by itself" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
assert_match "saying who released them" "$(cat "$T/ctl2.err")" 'was released by uid 0 \(pid [0-9]+\)'

# --- a session led below the init, with a member that is the init's child:
# a helper under the leader creates it and exits, and it goes to the init
free_pids H 4
cat >"$T/helper.json" <<JSON
{ "nodes": [
    { "parent": -1, "pids": [1, ${H[0]}], "new_pidns": true, "sid": 0, "pgid": 0 },
    { "parent": 0, "pids": [2, ${H[1]}] },
    { "parent": 1, "pids": [3, ${H[2]}], "sid": 2, "pgid": 2 },
    { "parent": 0, "pids": [4, ${H[3]}], "sid": 2, "pgid": 3 }
  ] }
JSON
"$PR_CTL" --socket "$SOCK" tree --file "$T/helper.json" >"$T/ctl3.out" 2>"$T/ctl3.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "a tree that needs a helper is built" wait_file "$T/ctl3.out" 10
sleep 0.2
st=$(cat "/proc/${H[3]}/status" 2>/dev/null || true)
assert_match "its member is the init's child" "$st" "PPid:[[:space:]]+${H[0]}"
assert_match "in the session led below" "$st" "NSsid:[[:space:]]+${H[2]}[[:space:]]+3"
assert_match "in a group of its own" "$st" "NSpgid:[[:space:]]+${H[3]}[[:space:]]+4"
assert_eq "no helper is left: the init has two children" "$(cat "/proc/${H[0]}/task/${H[0]}/children" | wc -w)" 2
kill -INT "$CTL"
check "SIGINT releases it" wait_exit "$CTL"
check "and every PID of it is free" wait_all_gone 5 "${H[@]}"

# --- a zombie session leader whose member is the init's child: the leader
# creates it before it exits, and it goes to the init
free_pids Z 3
cat >"$T/zombie.json" <<JSON
{ "nodes": [
    { "parent": -1, "pids": [1, ${Z[0]}], "new_pidns": true, "sid": 0, "pgid": 0 },
    { "kind": "zombie", "parent": 0, "pids": [2, ${Z[1]}], "sid": 1, "pgid": 1, "exit_code": 3 },
    { "parent": 0, "pids": [3, ${Z[2]}], "sid": 1, "pgid": 1 }
  ] }
JSON
"$PR_CTL" --socket "$SOCK" tree --file "$T/zombie.json" >"$T/ctl4.out" 2>"$T/ctl4.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "a tree whose zombie leads a session is built" wait_file "$T/ctl4.out" 10
sleep 0.2
st=$(cat "/proc/${Z[2]}/status" 2>/dev/null || true)
assert_match "its member is the init's child" "$st" "PPid:[[:space:]]+${Z[0]}"
assert_match "in the zombie's session" "$st" "NSsid:[[:space:]]+${Z[1]}[[:space:]]+2"
assert_match "and group" "$st" "NSpgid:[[:space:]]+${Z[1]}[[:space:]]+2"
st=$(cat "/proc/${Z[1]}/status" 2>/dev/null || true)
assert_match "the leader is a zombie" "$st" "State:[[:space:]]+Z"
assert_match "the init's child" "$st" "PPid:[[:space:]]+${Z[0]}"
kill -INT "$CTL"
check "SIGINT releases it" wait_exit "$CTL"
check "and every PID of it is free" wait_all_gone 5 "${Z[@]}"

# --- refused before anything is created
cat >"$T/bad.json" <<JSON
{ "nodes": [
    { "parent": -1, "pids": [${F[0]}], "sid": 0, "pgid": 0 },
    { "parent": 0, "pids": [${F[0]}] }
  ] }
JSON
run "$PR_CTL" --socket "$SOCK" tree --file "$T/bad.json"
assert_eq "a tree with a PID twice exits 1" "$RUN_RC" 1
assert_match "with EINVAL naming node 1 and the node it collides with" "$RUN_ERR" \
	"^pidrestorectl: tree failed \(EINVAL\): node 1 \(pid ${F[0]}\) asks for pid ${F[0]} at level 0, which node 0 \(pid ${F[0]}\) has in the same pid namespace"
check "nothing holds that PID" wait_all_gone 1 "${F[0]}"
echo '{ "nodes": [ { "kind": "x" } ] }' >"$T/kind.json"
run "$PR_CTL" --socket "$SOCK" tree --file "$T/kind.json"
assert_eq "a file that does not describe a tree is a failure" "$RUN_RC" 1
assert_match "that says where" "$RUN_ERR" 'kind.json: node 0: "kind" is "live" \(the default\), "zombie" or "ghost"'
run "$PR_CTL" --socket "$SOCK" tree
assert_eq "tree without --file is a usage error" "$RUN_RC" 2

# --- README's example: a user in a user and pid namespace of its own
if as_user unshare -Urpf --mount-proc true >/dev/null 2>&1; then
	user_programs
	user_dir
	cat >"$T/u/job.json" <<'JSON'
{ "nodes": [
    { "pids": [1, 0], "new_pidns": true, "sid": 0, "pgid": 0, "comm": "sh" },
    { "parent": 0, "pids": [20, 0], "pgid": 1 },
    { "parent": 0, "pids": [21, 0], "pgid": 1, "threads": [[22, 0]] },
    { "kind": "zombie", "parent": 0, "pids": [30, 0], "exit_code": 1 },
    { "kind": "ghost", "pids": [40, 0], "sid": 0 },
    { "parent": 0, "pids": [41, 0], "pgid": 4 }
  ] }
JSON
	chmod 644 "$T/u/job.json"
	run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc sh -c '
		"$1" --socket "$2" tree --file "$3" >"$4" 2>"$4.err" &
		c=$!
		i=0
		while [ ! -s "$4" ] && [ $i -lt 200 ] && kill -0 $c 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
		sleep 0.2
		cat "$4"
		kill -INT $c
		wait $c
		echo "rc=$?"
		cat "$4.err"' sh "$USER_CTL" "$SOCK" "$T/u/job.json" "$T/u/out"
	echo "$RUN_OUT"
	assert_match "README's tree is built for a user: its table" "$RUN_OUT" '^NODE +STATE +RESERVATION +PIDS$'
	assert_match "the threaded node at three levels" "$RUN_OUT" '^2 +parked +[0-9]+ +21,[0-9]+,[0-9]+$'
	assert_match "the zombie" "$RUN_OUT" '^3 +exited +- +30,[0-9]+,[0-9]+$'
	assert_match "the ghost" "$RUN_OUT" '^4 +ghost +- +40,'
	assert_match "held until SIGINT, then released" "$RUN_OUT" '^Released 4 reservations\.$'
	assert_match "and pidrestorectl exits 0" "$RUN_OUT" '^rc=0$'
fi
finish
