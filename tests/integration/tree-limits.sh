#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A tree counts against its requester's limits as its forks would: every
# node against the policy's MaxReservations (4 roots over a limit of 3 are
# refused with ENOSPC before anything is created, 3 are built), and every
# process against the requester's RLIMIT_NPROC (a user under
# `prlimit --nproc` gets a tree that fits beside its pidrestorectl, and one
# that does not is refused with EAGAIN naming RLIMIT_NPROC, with every
# process of it gone). The RLIMIT_NPROC user is one of its own
# (TEST_UID + 41): the count is over all of a uid's processes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv prlimit pgrep timeout
res_setup
NPROC_UID=$((TEST_UID + 41))
LIMIT=8
if pgrep -U "$NPROC_UID" >/dev/null; then
	skip "uid $NPROC_UID runs processes already; this test counts them and needs the uid to itself"
fi
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
MaxReservations=3
CONF
start_daemon --config "$CONF"
user_programs
user_dir

# roots N FILE: a tree of N roots, each with any free PID.
roots() {
	local i nodes=""
	for ((i = 0; i < $1; i++)); do
		nodes+="${nodes:+,}{ \"parent\": -1, \"pids\": [0] }"
	done
	echo "{ \"nodes\": [ $nodes ] }" >"$2"
	chmod 644 "$2"
}

# --- the policy's per-user limit counts every node
roots 4 "$T/u/four.json"
run timeout 20 "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" tree --file "$T/u/four.json"
assert_eq "4 roots over MaxReservations=3: exit 1" "$RUN_RC" 1
assert_match "ENOSPC, counting the 4 nodes" "$RUN_ERR" \
	"^pidrestorectl: tree failed \(ENOSPC\): uid $TEST_UID holds 0 outstanding reservations.*; 4 more would exceed its limit of 3 .*; release or claim some first$"
roots 3 "$T/u/three.json"
"${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" tree --file "$T/u/three.json" >"$T/three.out" 2>"$T/three.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "3 roots fit the limit" wait_file "$T/three.out" 10
kill -INT "$CTL"
check "and are released on SIGINT" wait_exit "$CTL"

# --- RLIMIT_NPROC counts every process
AS_NPROC=(setpriv --reuid="$NPROC_UID" --regid="$NPROC_UID" --clear-groups -- prlimit --nproc="$LIMIT" --)
roots $((LIMIT - 2)) "$T/u/fits.json"
"${AS_NPROC[@]}" "$USER_CTL" --socket "$SOCK" tree --file "$T/u/fits.json" >"$T/fits.out" 2>"$T/fits.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "$((LIMIT - 2)) roots beside pidrestorectl fit RLIMIT_NPROC=$LIMIT" wait_file "$T/fits.out" 10
assert_eq "they run as the user" "$(pgrep -U "$NPROC_UID" | wc -l)" $((LIMIT - 1))
kill -INT "$CTL"
check "and are released on SIGINT" wait_exit "$CTL"
roots "$LIMIT" "$T/u/over.json"
run timeout 20 "${AS_NPROC[@]}" "$USER_CTL" --socket "$SOCK" tree --file "$T/u/over.json"
assert_eq "$LIMIT roots beside pidrestorectl: exit 1" "$RUN_RC" 1
assert_match "EAGAIN naming RLIMIT_NPROC" "$RUN_ERR" \
	"^pidrestorectl: tree failed \(EAGAIN\): node [0-9]+ \(pid 0\): uid $NPROC_UID would run more processes than the requester's RLIMIT_NPROC allows .*raise the limit \(ulimit -u\)$"
check "no process of the tree is left" test "$(pgrep -U "$NPROC_UID" | wc -l)" -eq 0
finish
