#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An unprivileged uid reserves in its own user+pid namespace, gets its
# placeholders with its own uid, and claims them; it is refused (EPERM) a
# host PID, and refused (EPERM) releasing or claiming root's reservation by
# id. Root may release the user's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv unshare timeout
require_userns
res_setup
start_daemon
user_programs
user_client

free_pids F 2
client_open R
client_cmd R "reserve ${F[0]}"
assert_eq "root reserves host PID ${F[0]}" "$CL_LAST" "ok 1"
parse_procs
ROOT_ID=${RES_IDS[0]}

CLIENT_BIN=$USER_CLIENT client_open U "${AS_USER[@]}" unshare -Urpf --
assert_match "uid $TEST_UID runs the client as PID 1 of its own namespace" "$CL_LAST" ' nspid=[0-9]+ 1$'
client_cmd U "reserve 4242"
assert_eq "the user reserves PID 4242 in its own namespace" "$CL_LAST" "ok 1"
parse_procs
U_ID=${RES_IDS[0]}
host=${RES_HOST[0]}
EXTRA_PIDS+=("$host")
assert_match "the reply names 4242 and the host PID" "${RES_PIDS[0]}" '^4242,[0-9]+$'
assert_eq "the host PID is a placeholder" "$(comm_of "$host")" "$HOLDER_COMM"
assert_eq "its NSpid is '$host 4242'" "$(grep '^NSpid:' "/proc/$host/status" | cut -f2-)" "$host"$'\t'4242
assert_eq "it runs as uid $TEST_UID" "$(awk '/^Uid:/ {print $2}' "/proc/$host/status")" "$TEST_UID"

client_cmd U "reserve 4243,${F[1]}"
assert_match "the user asking for host PID ${F[1]} too: EPERM" "$CL_LAST" "^error EPERM .*pid ${F[1]}"
assert_eq "nothing holds PID ${F[1]}" "$(count_present "${F[1]}")" 0

client_cmd U "release $ROOT_ID"
assert_match "the user releasing root's reservation by id: EPERM" "$CL_LAST" "^error EPERM .*reservation $ROOT_ID"
assert_eq "root's placeholder is still there" "$(comm_of "${F[0]}")" "$HOLDER_COMM"
client_cmd U "release $U_ID $ROOT_ID"
assert_match "releasing its own and root's together: EPERM (all or nothing)" "$CL_LAST" '^error EPERM '
assert_eq "the user's own was not released either" "$(comm_of "$host")" "$HOLDER_COMM"
client_cmd U "exec $ROOT_ID exit 0"
assert_match "the user claiming root's reservation: EPERM" "$CL_LAST" '^error EPERM '

client_cmd U "exec $U_ID exit 4"
assert_eq "the user claims its own reservation" "$CL_LAST" ok
client_cmd U "events 1 5000"
assert_match "its exit event: status 4, PIDs 4242,$host" "$CL_OUT" "^event exited id=$U_ID pids=4242,$host exit=4 signal=0 core=0\$"

client_cmd U "reserve 4244"
parse_procs
U_ID2=${RES_IDS[0]}
EXTRA_PIDS+=("${RES_HOST[0]}")
client_cmd R "release $U_ID2"
assert_eq "root may release the user's reservation" "$CL_LAST" "ok 1"
check "its placeholder is gone" wait_all_gone 1 "${RES_HOST[0]}"

client_quit U
client_quit R
check "root's placeholder is gone with its connection" wait_all_gone 1 "${F[0]}"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
