#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reserve request is all or nothing: with one busy PID in the middle of the
# batch, none of the others is held afterwards, and the error names the busy
# PID, its level (depth below the daemon's pid namespace, the host's being 0)
# and the process's index in the batch (counted from 0).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools unshare timeout
res_setup
start_daemon

sleep 60 &
BUSY=$!
EXTRA_PIDS+=("$BUSY")

# --- one level (the host's), the busy PID at index 4 of 10
free_pids F 9
batch=("${F[@]:0:4}" "$BUSY" "${F[@]:4}")
client_open A
client_cmd A "reserve ${batch[*]}"
assert_match "a batch with busy PID $BUSY is refused with EEXIST" "$CL_LAST" '^error EEXIST '
assert_match "the error names the process index and the batch size" "$CL_LAST" ' process 4 of 10: '
assert_match "the error names the busy PID and its level" "$CL_LAST" "pid $BUSY is in use in pid namespace level 0 "
check "none of the 9 free PIDs is held (within a second)" wait_all_gone 1 "${F[@]}"
probe_pids "${F[@]}"
assert_eq "all 9 can be taken by a third party" "$(probe_count ok)" 9
check "the busy process was left alone" kill -0 "$BUSY"
client_cmd A status
assert_match "the daemon counts no reservation" "$CL_LAST" '^ok reservations=0 own=0 '

# The same batch without the busy PID succeeds at once: nothing is left over
# from the failed one.
client_cmd A "reserve ${F[*]}"
assert_eq "retrying without the busy PID reserves all 9" "$CL_LAST" "ok 9"
assert_eq "and all 9 are placeholders" "$(count_holders "${F[@]}")" 9
client_cmd A release-all
assert_eq "release-all releases them" "$CL_LAST" "ok 9"

# The busy PID first or last in the batch: the same.
free_pids G 3
client_cmd A "reserve $BUSY ${G[*]}"
assert_match "busy PID first: refused, process 0 of 4" "$CL_LAST" "^error EEXIST process 0 of 4: pid $BUSY "
client_cmd A "reserve ${G[*]} $BUSY"
assert_match "busy PID last: refused, process 3 of 4" "$CL_LAST" "^error EEXIST process 3 of 4: pid $BUSY "
check "neither left any of the other PIDs held (within a second)" wait_all_gone 1 "${G[@]}"

# --- two levels: the client is PID 1 of its own pid namespace
client_open B unshare -pf --
NS=/proc/${CL_PROC[B]}/ns/pid
free_pids H 4
client_cmd B "reserve 101,${H[0]} 102,${H[1]} 1,${H[2]} 104,${H[3]}"
assert_match "two levels, inner PID 1 busy: refused with EEXIST at process 2 of 4, level 1 (the inner one)" \
	"$CL_LAST" '^error EEXIST process 2 of 4: pid 1 is in use in pid namespace level 1 '
check "none of the 4 host PIDs is held (within a second)" wait_all_gone 1 "${H[@]}"
probe_pids --pidns "$NS" 101 102 104
assert_eq "the inner PIDs 101, 102, 104 are free" "$(probe_count ok)" 3

client_cmd B "reserve 101,${H[0]} 102,${H[1]} 103,$BUSY 104,${H[3]}"
assert_match "two levels, outer PID busy: refused at process 2 of 4, level 0 (the host's), naming pid $BUSY" \
	"$CL_LAST" "^error EEXIST process 2 of 4: pid $BUSY is in use in pid namespace level 0 "
check "none of the other host PIDs is held (within a second)" wait_all_gone 1 "${H[0]}" "${H[1]}" "${H[3]}"
probe_pids --pidns "$NS" 101 102 103 104
assert_eq "none of the inner PIDs is held" "$(probe_count ok)" 4

# --- the reply to a failed batch or to a release comes when the PIDs are
# free: a request queued right behind it may take them. (The daemon kills the
# placeholders but must also have reaped them: a zombie still holds its PID.)
free_pids K 200
bad_fail=() bad_release=()
for round in 1 2 3 4 5; do
	client_pipeline A "reserve ${K[*]} $BUSY" "reserve ${K[*]}"
	case ${CL_LASTS[0]:-} in
	"error EEXIST process 200 of 201: pid $BUSY "*) ;;
	*) bad_fail+=("first answer: ${CL_LASTS[0]:-none}") ;;
	esac
	[ "${CL_LASTS[1]:-}" = "ok 200" ] || bad_fail+=("retry: ${CL_LASTS[1]:-none}")
	client_pipeline A "release-all" "reserve ${K[*]}"
	[ "${CL_LASTS[1]:-}" = "ok 200" ] || bad_release+=("${CL_LASTS[1]:-none}")
	client_cmd A release-all
	wait_all_gone 2 "${K[@]}" || true
done
assert_eq "a retry queued right behind a failed batch of 200 takes its PIDs: the reply waits for the reaping (5 rounds)" \
	"${bad_fail[*]:-}" ""
assert_eq "a reserve queued right behind release-all of 200 takes the same PIDs: the reply waits for the reaping (5 rounds)" \
	"${bad_release[*]:-}" ""

client_quit A
client_quit B
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
