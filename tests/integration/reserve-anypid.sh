#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# PID 0 at a level means "any free PID there": inside a new pid namespace,
# pids = [0, HOST] gives a placeholder with PID HOST on the host and a free
# PID inside, and the reply reports that PID (it matches the placeholder's
# NSpid). [INNER, 0] and [0] work the same way for the other levels.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools unshare timeout
res_setup
start_daemon

client_open A unshare -pf --
NS=/proc/${CL_PROC[A]}/ns/pid
free_pids F 4

# --- [0, HOST]
client_cmd A "reserve 0,${F[0]}"
assert_eq "reserve [0, ${F[0]}] succeeds" "$CL_LAST" "ok 1"
parse_procs
inner=${RES_PIDS[0]%%,*}
assert_match "the reply names the host PID and an inner PID the daemon picked" "${RES_PIDS[0]}" "^[1-9][0-9]*,${F[0]}\$"
assert_ne "the inner PID is not 1 (the client holds it)" "$inner" 1
assert_eq "the placeholder holds host PID ${F[0]}" "$(comm_of "${F[0]}")" "$HOLDER_COMM"
assert_eq "its NSpid is '${F[0]} $inner', as reported" \
	"$(grep '^NSpid:' "/proc/${F[0]}/status" | cut -f2-)" "${F[0]}"$'\t'"$inner"
assert_eq "its pidfd names host PID ${F[0]}" "${RES_PIDFD[0]}" "${F[0]}"
probe_pids --pidns "$NS" "$inner"
assert_eq "the picked inner PID is held" "$PROBE_OUT" "$inner EEXIST"

# --- several at once: distinct inner PIDs
client_cmd A "reserve 0,${F[1]} 0,${F[2]}"
assert_eq "reserve [0, ${F[1]}] [0, ${F[2]}] succeeds" "$CL_LAST" "ok 2"
parse_procs
assert_ne "the two picked inner PIDs differ" "${RES_PIDS[0]%%,*}" "${RES_PIDS[1]%%,*}"
bad=0
for i in 0 1; do
	[ "$(grep '^NSpid:' "/proc/${RES_HOST[i]}/status" | cut -f2- | tr '\t' ,)" = "${RES_HOST[i]},${RES_PIDS[i]%%,*}" ] ||
		bad=$((bad + 1))
done
assert_eq "both NSpid lines match the reply" "$bad" 0

# --- [INNER, 0]: the kernel picks the host PID
client_cmd A "reserve 150,0"
assert_eq "reserve [150, 0] succeeds" "$CL_LAST" "ok 1"
parse_procs
host=${RES_HOST[0]}
assert_match "the reply names inner PID 150 and a host PID" "${RES_PIDS[0]}" '^150,[1-9][0-9]*$'
assert_eq "that host PID is the placeholder, NSpid '$host 150'" \
	"$(grep '^NSpid:' "/proc/$host/status" 2>/dev/null | cut -f2-)" "$host"$'\t'150

# --- [0] on the host
client_open B
client_cmd B "reserve 0"
assert_eq "reserve [0] on the host succeeds" "$CL_LAST" "ok 1"
parse_procs
assert_match "the reply names one host PID" "${RES_PIDS[0]}" '^[1-9][0-9]*$'
assert_eq "it is a placeholder" "$(comm_of "${RES_PIDS[0]}")" "$HOLDER_COMM"
EXTRA_PIDS+=("${RES_PIDS[0]}" "$host")

client_quit A
client_quit B
check "every placeholder is gone with its connection" wait_all_gone 1 "${F[@]}" "$host" "${RES_PIDS[0]}"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
