#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A claim never takes a process out of the claimer's confinement (DESIGN
# §6): uid 1000 reserves unconfined, and another connection of uid 1000
# that differs in one thing only (no_new_privs, a private mount namespace,
# supplementary groups, a seccomp filter) is refused its claim with EPERM
# naming that difference, while the placeholder stays claimable; a
# connection in the same context claims it. Root is not exempt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv unshare timeout
res_setup

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
Namespace=host
CONF
start_daemon --config "$CONF"
user_client
user_helper SECCOMP_RUN seccomp-run
USER_BASE=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID")

# reserve_one NAME: a reservation of a free host PID on client NAME; sets
# ID and HOST.
RESERVE_PID=
reserve_one() {
	pick_pid RESERVE_PID
	client_cmd "$1" "reserve $RESERVE_PID"
	assert_eq "client $1 reserves PID $RESERVE_PID" "$CL_LAST" "ok 1"
	parse_procs
	ID=${RES_IDS[0]:-none}
	HOST=${RES_HOST[0]:-0}
}

# refused_claim NAME DESC ERE: client NAME claims $ID and is refused with
# EPERM and a message matching ERE; the placeholder is left as it was. Each
# case claims a reservation of its own, so that each fails on its own when
# claims are not checked.
refused_claim() {
	client_cmd "$1" "exec $ID echo escaped"
	echo "  $1: $CL_LAST"
	assert_match "$2: EPERM" "$CL_LAST" '^error EPERM '
	assert_match "$2: the message names the difference" "$CL_LAST" "$3"
	assert_match "$2: and says what to do" "$CL_LAST" 'claim from the same context or reserve again|claim from the connection that reserved'
	assert_eq "$2: the placeholder is still there" "$(comm_of "$HOST")" "$HOLDER_COMM"
}

# --- uid 1000, unconfined, reserves
CLIENT_BIN=$USER_CLIENT client_open R "${AS_USER[@]}"
reserve_one R
CLIENT_BIN=$USER_CLIENT client_open NNP "${USER_BASE[@]}" --clear-groups --no-new-privs --
refused_claim NNP "a claimer with no_new_privs" "the claimer's no_new_privs flag \\(set\\) differs from the reserver's \\(not set\\)"

reserve_one R
CLIENT_BIN=$USER_CLIENT client_open MNT unshare -m -- "${AS_USER[@]}"
refused_claim MNT "a claimer in a private mount namespace" "the claimer's mount namespace \\(mnt:\\[[0-9]+\\]\\) differs from the reserver's"

reserve_one R
CLIENT_BIN=$USER_CLIENT client_open GRP "${USER_BASE[@]}" --groups=$((TEST_GID + 1)) --
refused_claim GRP "a claimer with another supplementary group" \
	"the claimer's supplementary groups \\($((TEST_GID + 1))\\) differ from the reserver's \\(none\\)"

CLIENT_BIN=$USER_CLIENT client_open SAME "${AS_USER[@]}"
client_cmd SAME "exec $ID exit 3"
assert_eq "a claimer in the reserver's context claims the last of them" "$CL_LAST" ok
client_cmd SAME "events 1 5000"
assert_match "the program ran and exited 3" "$CL_OUT" "^event exited id=$ID pids=$HOST exit=3 signal=0 core=0\$"

# --- a seccomp filter is the only difference: both have no_new_privs
CLIENT_BIN=$USER_CLIENT client_open RN "${USER_BASE[@]}" --clear-groups --no-new-privs --
reserve_one RN
CLIENT_BIN=$USER_CLIENT client_open SEC "${AS_USER[@]}" "$SECCOMP_RUN"
refused_claim SEC "a claimer under a seccomp filter" "the claimer's seccomp filters \\(1 filter, 1 instruction\\) differ from those reservation $ID was made under \\(no filter\\)"
client_cmd NNP "exec $ID exit 4"
assert_eq "a claimer with no_new_privs claims the reservation made with no_new_privs" "$CL_LAST" ok
client_cmd NNP "events 1 5000"
assert_match "that program ran and exited 4" "$CL_OUT" "^event exited id=$ID pids=$HOST exit=4 signal=0 core=0\$"

# --- root is not exempt
client_open ROOT
reserve_one ROOT
client_open ROOTMNT unshare -m --
refused_claim ROOTMNT "root claiming root's reservation from a private mount namespace" \
	"the claimer's mount namespace \\(mnt:\\[[0-9]+\\]\\) differs from the reserver's"
client_open ROOT2
client_cmd ROOT2 "exec $ID exit 5"
assert_eq "root in the reserver's context claims it" "$CL_LAST" ok

for c in R NNP MNT GRP SAME RN SEC ROOT ROOTMNT ROOT2; do
	client_quit "$c"
done
check "the refusals are logged" grep -q "refusing a claim by uid $TEST_UID (pid [0-9]*): the claimer's no_new_privs flag" "$T/daemon.log"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
