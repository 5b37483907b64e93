#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A tree asked for by a requester under seccomp filters runs under the same
# filters on every task: each node's main thread and each of its threads
# installs them itself (a filter binds only the thread that installs it), as
# root with no_new_privs and as root without it (the builder keeps
# CAP_SYS_ADMIN until the filters are in). A node claimed by exec runs the
# program under them, and a denied call fails there as in the requester. A
# claim by blob, alone or in a claim-all, is refused to a claimer without
# those filters, and runs for one under them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout jq
res_setup
start_daemon

DENY=$PR_HELPERS/seccomp-deny
CLAIM=$PR_HELPERS/tree-claim
BLOB=$PR_HELPERS/tree-blob.bin
PROBE='grep -E "^(Seccomp|Seccomp_filters|NoNewPrivs):" /proc/self/status; unshare -u true 2>&1 | sed "s/^[^:]*: //"'

# tasks_confinement PID...: one line per task of each process, its
# NoNewPrivs, Seccomp and Seccomp_filters values (in /proc's order).
tasks_confinement() {
	local pid task
	for pid in "$@"; do
		for task in /proc/"$pid"/task/*; do
			grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs):' "$task/status" | awk '{ printf "%s ", $2 }'
			echo
		done
	done
}

# tree_under DESC WANT WRAPPER...: builds a two-node tree with threads
# through pidrestorectl under WRAPPER, checks every task's confinement is
# WANT ("NoNewPrivs Seccomp Seccomp_filters"), claims the child node by exec
# under the same wrapper and compares the probe with the requester's.
tree_under() {
	local desc=$1 want=$2 json ctl id tree line n_tasks=0 bad=0
	shift 2
	free_pids F 5
	cat >"$T/tree.json" <<JSON
{ "timeout_ms": 10000,
  "nodes": [
    { "parent": -1, "pids": [${F[0]}], "sid": 0, "pgid": 0, "threads": [[${F[1]}], [${F[2]}]] },
    { "parent": 0, "pids": [${F[3]}], "threads": [[${F[4]}]] }
  ] }
JSON
	: >"$T/ctl.out"
	"$@" "$PR_CTL" --socket "$SOCK" tree --file "$T/tree.json" --json >"$T/ctl.out" 2>"$T/ctl.err" &
	ctl=$!
	EXTRA_PIDS+=("$ctl")
	if ! wait_file "$T/ctl.out" 10; then
		fail "$desc: the tree is built"
		cat "$T/ctl.err"
		kill "$ctl" 2>/dev/null || true
		return
	fi
	pass "$desc: the tree is built"
	while read -r line; do
		n_tasks=$((n_tasks + 1))
		[ "$line" = "$want" ] || { bad=$((bad + 1)); echo "  task: $line (want $want)"; }
	done < <(tasks_confinement "${F[0]}" "${F[3]}")
	assert_eq "$desc: five tasks, each under the requester's filters" "$n_tasks:$bad" "5:0"
	json=$(cat "$T/ctl.out")
	id=$(jq -r '.nodes[1].reservation' <<<"$json")
	run "$@" sh -c "$PROBE"
	local own=$RUN_OUT
	run "$@" "$PR_CTL" --socket "$SOCK" exec "$id" -- sh -c "$PROBE"
	assert_eq "$desc: the claim succeeds" "$RUN_RC" 0
	[ "$RUN_RC" -eq 0 ] || echo "  $RUN_ERR"
	assert_eq "$desc: the claimed program's confinement is the requester's" "$RUN_OUT" "$own"
	CLAIM_OUT=$RUN_OUT
	# A blob runs under the node's filters too: the claimer must have them.
	tree=$(jq -r .tree <<<"$json")
	: >"$T/blob.report"
	run "$CLAIM" --blob "$BLOB" --single "$SOCK" "$tree" 0b "$T/blob.report"
	assert_match "$desc: a blob claim from outside the filters is refused" "$RUN_OUT" "^error=EPERM $BLOB_REFUSAL"
	run "$CLAIM" --blob "$BLOB" "$SOCK" "$tree" 0b "$T/blob.report"
	assert_match "$desc: and so is a claim-all with that blob" "$RUN_OUT" "^error=EPERM claim 0: node 0: $BLOB_REFUSAL"
	run "$@" "$CLAIM" --blob "$BLOB" "$SOCK" "$tree" 0b "$T/blob.report"
	assert_eq "$desc: under the requester's filters the blob runs, in a claim-all" "$RUN_OUT" "claimed 1"
	check "$desc: the blob and the node's two threads report" wait_lines "$T/blob.report" 3
	kill -TERM "$ctl"
	check "$desc: SIGTERM releases the tree" wait_exit "$ctl"
	check "$desc: every PID of the tree is free" wait_all_gone 5 "${F[@]}"
}

# What refuses a blob claim by root outside the wrapper: no_new_privs
# differs first; without it, the filters themselves.
BLOB_REFUSAL="the claimer's no_new_privs flag \(not set\) differs from the reserver's \(set\)"
tree_under "root, two stacked filters" "1 2 2" "$DENY" unshare=ENOPROTOOPT "$DENY" unshare=EINVAL
check "two filters: unshare fails with the newer filter's EINVAL in the claimed node" \
	grep -q "Invalid argument" <<<"$CLAIM_OUT"
BLOB_REFUSAL="the claimer's seccomp filters \(no filter\) differ from those reservation [0-9]+ was made under \(1 filter, [0-9]+ instructions\)"
tree_under "root without no_new_privs" "0 2 1" "$DENY" --without-no-new-privs unshare=ENOPROTOOPT
check "one filter: unshare fails with ENOPROTOOPT in the claimed node" \
	grep -q "Protocol not available" <<<"$CLAIM_OUT"

run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon serves on" "$RUN_RC" 0
finish
