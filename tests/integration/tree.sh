#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Process trees (TREES.md §9): the reference tree built for an unprivileged
# requester in a user and pid namespace of its own, checked from /proc and
# released; the same tree with one of its PIDs taken (EEXIST naming the node
# and level), past its deadline (ETIMEDOUT), and asking for host PIDs the
# policy does not grant (EPERM before anything is cloned) — each leaving
# every PID free and the daemon with no extra process or fd.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout jq
require_userns
setup
start_daemon
user_programs
user_dir
CLIENT=$USER_HELPERS/tree-client
FDS_BEFORE=$(daemon_fd_count)

# wait_built FILE: until a tree-client's output in FILE says it built its tree (20 s).
wait_built() {
	local i
	for ((i = 0; i < 200; i++)); do
		! grep -q '^built tree=' "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

daemon_children() {
	pgrep -P "$DAEMON_PID" | grep -vxF "$(helper_pids)" | wc -l
}

# --- the reference tree
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --check --release "$SOCK"
assert_eq "reference tree: the client is content" "$RUN_RC" 0
assert_match "reference tree: 50 nodes (2 ghosts), 48 pidfds" "$RUN_OUT" '^built tree=[0-9]+ nodes=50 pidfds=48 parts=1$'
assert_no_match "reference tree: every check holds" "$RUN_OUT" '^FAIL'
assert_match "reference tree: checks ran" "$RUN_OUT" '^ok   L2 97 NoNewPrivs'
assert_match "reference tree: the thread TIDs are right" "$RUN_OUT" '^ok   L2 74 NSpid'
assert_match "release: every live node released" "$RUN_OUT" '^released nodes=46$'
assert_match "release: every PID free again" "$RUN_OUT" '^free busy=0$'

# --- claims: every live node by exec, in random order
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --claim "$USER_HELPERS/tree-reap" "$SOCK"
assert_eq "claims: the client is content" "$RUN_RC" 0
assert_no_match "claims: every check holds" "$RUN_OUT" '^FAIL'
assert_match "claims: every node reported from inside" "$RUN_OUT" '^ok   L2 97 reports from inside'
assert_match "claims: 30 reaped 60's exit code 200" "$RUN_OUT" '^ok   claimed 30 reaps 60'
assert_match "claims: B reaped 50's SIGTERM" "$RUN_OUT" '^ok   claimed B reaps 50'
assert_match "claims: the requester's pidfds show the same" "$RUN_OUT" '^ok   the requester.s pidfd of 50: SIGTERM'
assert_match "claims: every PID free once the tree ended" "$RUN_OUT" '^free busy=0$'

assert_match "claims: the exec reply of a node with threads says they were lost" "$RUN_OUT" \
	'^ok   the exec reply of L2 70 says threads_lost=1$'
assert_match "claims: the exec reply of a node without threads does not" "$RUN_OUT" \
	'^ok   the exec reply of L2 97 says threads_lost=0$'

# --- claims again: the threaded nodes 12 and 70 by the test blob, which
# keeps their threads; the others by exec, in random order
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --claim "$USER_HELPERS/tree-reap" \
	--blob "$USER_HELPERS/tree-blob.bin" "$SOCK"
assert_eq "blob claims: the client is content" "$RUN_RC" 0
assert_no_match "blob claims: every check holds" "$RUN_OUT" '^FAIL'
assert_match "blob claims: node 12 by blob" "$RUN_OUT" '^ok   claim of L2 12 by blob$'
assert_match "blob claims: node 70 by blob" "$RUN_OUT" '^ok   claim of L2 70 by blob$'
for tid in 12 80 81 82 70 71 72 73 74; do
	assert_match "blob claims: task $tid reports its TID, uid and ids at every level from the blob" "$RUN_OUT" \
		"^ok   L2 (12|70) (main thread|thread) $tid reports from the blob: blob pid=(12|70) tid=$tid uid=0 gid=0 NSpid:$((7000 + tid)),$tid Uid:0,0,0,0 block:$tid,$((7000 + tid)),"
done
assert_match "blob claims: the other nodes report from their exec" "$RUN_OUT" '^ok   L2 97 reports from inside'
assert_match "blob claims: the blob ends its process, threads included" "$RUN_OUT" \
	'^ok   L2 70 is a zombie with no thread left$'
assert_match "blob claims: every PID free once the tree ended" "$RUN_OUT" '^free busy=0$'
assert_match "blob refusal: an unsealed memfd" "$RUN_OUT" \
	"^ok   blob refusal, an unsealed memfd: the blob's memfd is not sealed against change \(missing F_SEAL_WRITE F_SEAL_SHRINK F_SEAL_GROW\): add the seals with fcntl\(F_ADD_SEALS\) before the claim, so that it cannot change after the daemon checked it \(error 22\)$"
assert_match "blob refusal: a fd that is no memfd" "$RUN_OUT" \
	'^ok   blob refusal, a pipe for a memfd: the blob \(fd index 0\) is not a memfd: pass one from memfd_create\(MFD_ALLOW_SEALING\) sealed with F_SEAL_WRITE, F_SEAL_SHRINK and F_SEAL_GROW \(error 22\)$'
assert_match "blob refusal: an address not page aligned" "$RUN_OUT" \
	'^ok   blob refusal, an address not page aligned: blob address 0x100000000010 is not page aligned: link the blob at a multiple of 4096 \(error 22\)$'
assert_match "blob refusal: an entry outside the blob" "$RUN_OUT" \
	'^ok   blob refusal, an entry outside the blob: blob entry 0x100000100000 is outside the blob \(0x100000000000 to 0x100000000[0-9a-f]{3}\): give the address of its entry function as mapped \(error 22\)$'
assert_match "blob refusal: a zombie node" "$RUN_OUT" \
	'^ok   blob refusal, a zombie node: node 8 of tree [0-9]+ is a zombie: only a live node can be claimed \(error 22\)$'
assert_match "blob refusal: an address the holder's image takes, and the node stays claimable" "$RUN_OUT" \
	'^ok   blob refusal, an address the holder uses: cannot execute the blob in node 3: mapping the blob at its address failed: File exists \(error 17\)$'
assert_match "blob refusal: a node claimed by blob already" "$RUN_OUT" \
	'^ok   blob refusal, a node claimed by blob already: node 3 of tree [0-9]+ is already claimed \(error 16\)$'
assert_match "blob refusal: a node claimed by exec already" "$RUN_OUT" \
	'^ok   blob refusal, a node claimed by exec already: node 2 of tree [0-9]+ is already claimed \(error 16\)$'

# --- a blob claim of another user's tree
mkfifo "$T/hold"
"${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --hold "$SOCK" <"$T/hold" >"$T/hold.out" 2>&1 &
HOLD_PID=$!
exec 7>"$T/hold"
check "another user's tree: built" wait_built "$T/hold.out"
HELD_TREE=$(sed -n 's/^built tree=\([0-9]*\) .*/\1/p' "$T/hold.out")
run timeout 30 "$PR_HELPERS/tree-client" --blob "$PR_HELPERS/tree-blob.bin" --foreign "$HELD_TREE" "$SOCK"
assert_match "blob refusal: another user's tree" "$RUN_OUT" \
	"^reply error=1 name=EPERM message=tree $HELD_TREE belongs to another user; only its owner may claim its nodes$"
exec 7>&-
wait "$HOLD_PID" || true

# --- claims: every live node at once, by one claim-all; refused whole first
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --claim-all "$USER_HELPERS/tree-reap" "$SOCK"
assert_eq "claim-all: the client is content" "$RUN_RC" 0
assert_no_match "claim-all: every check holds" "$RUN_OUT" '^FAIL'
assert_match "claim-all: a zombie is refused, naming it" "$RUN_OUT" \
	'^claim-all: error=22 claim 0: node [0-9]+ is a zombie, not a live node; only live nodes can run a program$'
assert_match "claim-all: a node named twice is refused" "$RUN_OUT" \
	'^claim-all: error=22 claim 2: node [0-9]+ is claimed twice in this request \(also by claim 0\); name each node once$'
assert_match "claim-all: a node the tree lacks is refused" "$RUN_OUT" \
	'^claim-all: error=22 claim 0: tree [0-9]+ has no node 77 \(its nodes are 0 to 49\)$'
assert_match "claim-all: the 46 live nodes are claimed at once" "$RUN_OUT" '^ok   claim-all of the 46 live nodes$'
assert_match "claim-all: every node reported from inside" "$RUN_OUT" '^ok   L2 97 reports from inside'
assert_match "claim-all: 30 reaped 60's exit code 200" "$RUN_OUT" '^ok   claimed 30 reaps 60'
assert_match "claim-all: every PID free once the tree ended" "$RUN_OUT" '^free busy=0$'

# --- one claim-all again, the threaded nodes 12 and 70 by the blob in it
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --claim-all "$USER_HELPERS/tree-reap" \
	--blob "$USER_HELPERS/tree-blob.bin" "$SOCK"
assert_eq "claim-all with blobs: the client is content" "$RUN_RC" 0
assert_no_match "claim-all with blobs: every check holds" "$RUN_OUT" '^FAIL'
assert_match "claim-all with blobs: unsealed blobs refuse it whole, naming the claim" "$RUN_OUT" \
	"^claim-all: error=22 claim [0-9]+: node (3|41): the blob's memfd is not sealed against change"
assert_match "claim-all with blobs: then the 46 live nodes are claimed at once" "$RUN_OUT" \
	'^ok   claim-all of the 46 live nodes, the threaded ones by blob$'
for tid in 12 80 81 82 70 71 72 73 74; do
	assert_match "claim-all with blobs: task $tid reports from the blob" "$RUN_OUT" \
		"^ok   L2 (12|70) (main thread|thread) $tid reports from the blob: blob pid=(12|70) tid=$tid "
done
assert_match "claim-all with blobs: the other nodes report from their exec" "$RUN_OUT" '^ok   L2 97 reports from inside'
assert_match "claim-all with blobs: the blob ends its process, threads included" "$RUN_OUT" \
	'^ok   L2 70 is a zombie with no thread left$'
assert_match "claim-all with blobs: every PID free once the tree ended" "$RUN_OUT" '^free busy=0$'

# --- a TTL: the unclaimed nodes expire, their PIDs come free
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --ttl 1 "$SOCK"
assert_match "TTL: the tree was there before" "$RUN_OUT" '^ok   before its TTL, the tree is there$'
assert_match "TTL: afterwards every PID is free" "$RUN_OUT" '^free busy=0$'

# --- one L1 PID already taken
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --squat 31 "$SOCK"
assert_match "PID taken: EEXIST naming node 23 at level 1" "$RUN_OUT" \
	'^reply error=17 name=EEXIST node=23 level=1 message=node 23 \(pid 31\): pid 7031 is in use in pid namespace level 1'
assert_match "PID taken: afterwards every PID is free" "$RUN_OUT" '^free busy=0$'

# --- past the deadline
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --timeout-ms 1 "$SOCK"
assert_match "deadline: ETIMEDOUT" "$RUN_OUT" '^reply error=110 name=ETIMEDOUT node=-1 level=-1 message=the tree was not built within 1 ms'
assert_match "deadline: afterwards every PID is free" "$RUN_OUT" '^free busy=0$'


# --- host PIDs without a grant: refused before any clone
pick_pid HP
BUILDS=$(grep -cE 'tree [0-9]+ of uid [0-9]+ (failed|built)' "$T/daemon.log" || true)
run timeout 60 "${AS_USER[@]}" "$CLIENT" --flat --base "$HP" "$SOCK"
assert_match "host PIDs: EPERM for node 0 at level 0, naming its PID" "$RUN_OUT" \
	"^reply error=1 name=EPERM node=0 level=0 message=.*pid $((HP + 1)) at level 0"
check "host PIDs: no process took the first one" wait_pid_gone "$((HP + 1))" 1
assert_eq "host PIDs: no builder was started" \
	"$(grep -cE 'tree [0-9]+ of uid [0-9]+ (failed|built)' "$T/daemon.log" || true)" "$BUILDS"

# --- one audit record per tree, with its size and PID ranges
assert_eq "audit: one granted record per tree built or tried (9)" \
	"$(grep -c 'granted tree for uid' "$T/daemon.log" || true)" 9
assert_match "audit: the reference tree's record names its size and PID ranges" "$(cat "$T/daemon.log")" \
	'granted tree for uid [0-9]+ \(pid [0-9]+\): 50 nodes, 7 threads, PIDs level \+0: [0-9,-]*7001,7010-7016,7020-7028,7030-7038,7040-7048,7050-7054,7060,7070-7074,7080-7082,7090-7097'
assert_eq "audit: one denied record for the host PIDs" "$(grep -c 'denied tree for uid' "$T/daemon.log" || true)" 1

# --- the deadline again and again, falling at every point of the build:
# a root the builder had cloned but not yet reported once stayed behind,
# the daemon's child, its PID taken (about one run in a hundred)
DEADLINE_RUNS=${PR_VALGRIND:+20}
DEADLINE_RUNS=${DEADLINE_RUNS:-200}
left_behind=
for ((i = 0; i < DEADLINE_RUNS; i++)); do
	for ms in 1 2; do
		run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" --timeout-ms "$ms" "$SOCK"
		grep -q '^built tree=' <<<"$RUN_OUT" && continue
		if ! grep -q '^free busy=0$' <<<"$RUN_OUT" || [ "$(daemon_children)" -ne 0 ]; then
			left_behind="run $i at $ms ms: $(grep '^free' <<<"$RUN_OUT"), $(daemon_children) processes left with the daemon"
			break 2
		fi
	done
done
assert_eq "deadline, $DEADLINE_RUNS times at 1 and 2 ms: every PID free and nothing left with the daemon each time" "$left_behind" ""

check "the daemon holds no process of the trees" test "$(daemon_children)" -eq 0
settle_fds "$FDS_BEFORE"
assert_eq "the daemon holds no extra fd" "$(daemon_fd_count)" "$FDS_BEFORE"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
assert_no_match "no sanitizer report in the daemon's log" "$(cat "$T/daemon.log")" 'Sanitizer|runtime error'
finish
