#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One request reserves 100 processes across two pid namespace levels. Every
# PID is held at both levels (a third party's clone3(set_tid) gets EEXIST);
# 50 are claimed and run with their PIDs, their exit events name those PIDs;
# the other 50 are released and their PIDs are free again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools unshare timeout
res_setup
start_daemon

N=100
HALF=$((N / 2))
INNER=()
for ((i = 0; i < N; i++)); do
	INNER+=($((100 + i)))
done

# The client is PID 1 of a new pid namespace: its requests target that
# namespace, so [inner, outer] are its two levels.
client_open A unshare -pf --
NS=/proc/${CL_PROC[A]}/ns/pid
assert_match "the client runs in a new pid namespace as its PID 1" "$CL_LAST" "nspid=${CL_PROC[A]} 1\$"

# Another process may take a host PID between the scan and the request:
# then scan again (a busy PID is reserve-atomic's business).
for attempt in 1 2 3; do
	[ "$attempt" -eq 1 ] || sleep 0.5
	free_pids HOSTP "$N"
	specs=()
	for ((i = 0; i < N; i++)); do
		specs+=("${INNER[i]},${HOSTP[i]}")
	done
	client_cmd A "reserve ${specs[*]}"
	[[ $CL_LAST == "error EEXIST "*" level 0 "* ]] || break
done
assert_eq "reserve of $N processes at two levels in one request succeeds" "$CL_LAST" "ok $N"
parse_procs
assert_eq "the reply lists $N processes" "${#RES_IDS[@]}" "$N"
assert_eq "the reply gives each its PIDs, innermost first, in request order" \
	"$(join_by ' ' "${RES_PIDS[@]}")" "${specs[*]}"
assert_eq "the reservation ids are distinct" "$(printf '%s\n' "${RES_IDS[@]}" | sort -u | wc -l)" "$N"
assert_eq "every reservation came with a pidfd naming its host PID" \
	"$(join_by ' ' "${RES_PIDFD[@]}")" "${HOSTP[*]}"
assert_eq "all $N host PIDs are placeholders (comm $HOLDER_COMM)" "$(count_holders "${HOSTP[@]}")" "$N"

bad=0
for ((i = 0; i < N; i++)); do
	nspid=$(grep '^NSpid:' "/proc/${HOSTP[i]}/status" 2>/dev/null | cut -f2-) || true
	[ "$nspid" = "${HOSTP[i]}"$'\t'"${INNER[i]}" ] || bad=$((bad + 1))
done
assert_eq "NSpid of every placeholder is 'host inner' as requested" "$bad" 0
assert_eq "every placeholder lives in the client's pid namespace" \
	"$(for p in "${HOSTP[@]}"; do readlink "/proc/$p/ns/pid"; done | sort -u)" "$(readlink "$NS")"

probe_pids "${HOSTP[@]}"
assert_eq "a third party's clone3(set_tid) gets EEXIST on all $N host PIDs" "$(probe_count EEXIST)" "$N"
probe_pids --pidns "$NS" "${INNER[@]}"
assert_eq "a third party's clone3(set_tid) gets EEXIST on all $N inner PIDs" "$(probe_count EEXIST)" "$N"
probe_pids --pidns "$NS" 250
assert_eq "the same probe takes a free inner PID (250)" "$PROBE_OUT" "250 ok"

# --- claim the first half: each writes the PID it sees and exits with i+1
mkdir "$T/ran"
n_ok=0
for ((i = 0; i < HALF; i++)); do
	client_cmd A "exec ${RES_IDS[i]} echo \$\$ >$T/ran/${RES_IDS[i]}; exit $((i + 1))"
	[ "$CL_LAST" != ok ] || n_ok=$((n_ok + 1))
done
assert_eq "exec claims $HALF reservations" "$n_ok" "$HALF"
client_cmd A "events $HALF 10000"
assert_eq "$HALF exit events arrive" "$CL_LAST" "ok $HALF"
events=$CL_OUT
bad_code=0 bad_pids=0 bad_ran=0
for ((i = 0; i < HALF; i++)); do
	line=$(printf '%s' "$events" | grep "^event exited id=${RES_IDS[i]} ") || line=
	[[ $line == *" exit=$((i + 1)) signal=0 core=0" ]] || bad_code=$((bad_code + 1))
	[[ $line == *" pids=${RES_PIDS[i]} "* ]] || bad_pids=$((bad_pids + 1))
	[ "$(cat "$T/ran/${RES_IDS[i]}" 2>/dev/null)" = "${INNER[i]}" ] || bad_ran=$((bad_ran + 1))
done
assert_eq "every exit event carries its program's status" "$bad_code" 0
assert_eq "every exit event carries the claimed PIDs (inner,host)" "$bad_pids" 0
assert_eq "every claimed program saw its chosen inner PID as \$\$" "$bad_ran" 0
check "the claimed PIDs are free once the programs ended" wait_all_gone 2 "${HOSTP[@]:0:HALF}"

# --- release the second half
client_cmd A "release ${RES_IDS[*]:HALF}"
assert_eq "release of the other $HALF by id" "$CL_LAST" "ok $HALF"
check "the released placeholders are gone within a second" wait_all_gone 1 "${HOSTP[@]:HALF}"
probe_pids "${HOSTP[@]:HALF}"
assert_eq "the released host PIDs can be taken again" "$(probe_count ok)" "$HALF"
probe_pids --pidns "$NS" "${INNER[@]:HALF}"
assert_eq "the released inner PIDs can be taken again" "$(probe_count ok)" "$HALF"

client_cmd A status
assert_match "the daemon holds no reservation any more" "$CL_LAST" '^ok reservations=0 own=0 running=0 '
client_quit A
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
