#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# DESIGN §10, row by row: hostile requests, each sent raw (tests/helpers/
# raw-request) and answered with exactly the refusal expected: its errno and
# the words of its message. After every row the daemon holds none of the
# request's fds (counted on the files sent while the connection is still
# open, and the daemon's whole fd table after it closed), no placeholder or
# other child, none of the PIDs named, and a second connection is served.
#
# Decisions this test pins down:
#  - Unknown fields are ignored, at every level of every request (forward
#    compatibility, DESIGN §4), with two exceptions: an fd must be named by
#    a field the daemon knows (it cannot guess what an unknown field wants
#    an fd for), and the deprecated group encoding is malformed (protobuf-c
#    does not read it).
#  - Another user's reservation or process id is refused with EPERM, not as
#    unknown: ids count up and status reports the totals, so that one exists
#    is no secret. Whose it is, is: only root is told the owner.
#  - Any free PID (0) in a pid namespace that is not the requester's own and
#    not one it owns is refused: a process there needs a granted PID.
#  - A requester outside the daemon's pid namespace (SO_PEERCRED pid 0) is
#    refused at connect, with ESRCH and why, before it can ask anything.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv unshare nsenter timeout jq
require_userns
res_setup
start_daemon
SPAWNER=$(helper_pids)
user_programs
user_client

RAW=$PR_HELPERS/raw-request
OTHER_UID=$((TEST_UID + 1))
AS_OTHER=(setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" --clear-groups --)
PID_MAX=$(cat /proc/sys/kernel/pid_max)
NOT_DECODED='the request \([0-9]+ bytes\) could not be decoded as a pidrestore\.Request message; send one whole, well-formed Request per packet \(the schema is pidrestore\.proto\)$'
NOT_PIDNS='neither a pid namespace \(/proc/PID/ns/pid\) nor a pidfd$'

# ------------------------------------------------------------------ checks

# The daemon's fd count, once the connections of earlier steps are gone.
settle_fds() { # N DAEMON_PID
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(find "/proc/${2:-$DAEMON_PID}/fd" -mindepth 1 -maxdepth 1 | wc -l)" -le "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# No placeholder and no spawned program is left (they are the daemon's
# children until they are reaped).
# The daemon's spawner is its one lasting child, and no placeholder.
no_children() { # [DAEMON_PID SPAWNER_PID]
	local i
	for ((i = 0; i < 50; i++)); do
		[ -z "$(children_of "${1:-$DAEMON_PID}" | grep -vx "${2:-$SPAWNER}")" ] && return 0
		sleep 0.1
	done
	return 1
}

# expect DESC ERRNO ERE: the outcome of the last exchange. ERRNO - is a
# success; ERE then matches the line on its body (if not empty). Otherwise
# ERE matches the whole message.
expect() {
	if [ "$2" = - ]; then
		assert_match "$1: served" "$RUN_OUT" '^reply error=0 name=- message=$'
		[ -z "$3" ] || assert_match "$1: $3" "$RUN_OUT" "$3"
	else
		assert_match "$1: $2" "$RUN_OUT" "^reply error=[0-9]+ name=$2 message=$3"
	fi
}

# after DESC [PID...]: nothing of the request is left, and a second
# connection is served.
after() {
	local desc=$1 p
	shift
	check "$desc: no placeholder or child is left" no_children
	for p in "$@"; do
		check "$desc: nothing holds PID $p" wait_pid_gone "$p" 5
	done
	check "$desc: the daemon's fd count is back to $BASE" settle_fds "$BASE"
	run "$PR_CTL" --socket "$SOCK" status
	assert_eq "$desc: a second connection is served" "$RUN_RC" 0
}

# row DESC ERRNO ERE [PIDS=P,...] [NEST=N] RAW-ARGS...: root sends one
# request (from N pid namespaces down) and the daemon must answer as
# expected and keep nothing.
row() {
	local desc=$1 errno=$2 ere=$3 pids=() via=()
	shift 3
	if [[ $1 == PIDS=* ]]; then
		IFS=, read -r -a pids <<<"${1#PIDS=}"
		shift
	fi
	if [[ $1 == NEST=* ]]; then
		via=("$T/nest" "${1#NEST=}")
		shift
	fi
	run "${via[@]}" "$RAW" --daemon-pid "$DAEMON_PID" "$@"
	expect "$desc" "$errno" "$ere"
	assert_match "$desc: the daemon kept none of the request's fds" "$RUN_OUT" '^daemon_kept_fds=0$'
	after "$desc" "${pids[@]}"
}

# user_row DESC ERRNO ERE RAW-ARGS...: the same as uid $TEST_UID (who may
# not look into the daemon's fd table: only the count after it is checked).
user_row() {
	local desc=$1 errno=$2 ere=$3
	shift 3
	run "${AS_USER[@]}" "$USER_HELPERS/raw-request" "$@"
	expect "$desc" "$errno" "$ere"
	after "$desc"
}

# A reserve of a free PID and its release: the daemon still does real work.
real_reserve() { # DESC
	pick_pid RESERVE_PID
	run "$RAW" "$SOCK" reserve "$RESERVE_PID"
	assert_match "$1: a real reserve of PID $RESERVE_PID works" "$RUN_OUT" "^reserved id=[0-9]+ pids=$RESERVE_PID\$"
	check "$1: PID $RESERVE_PID is free again once that connection closed" wait_pid_gone "$RESERVE_PID" 5
}

test_cleanup() {
	local p
	for p in "${NS_HOLDERS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	[ "${#NS_HOLDERS[@]}" -eq 0 ] || { wait "${NS_HOLDERS[@]}" || true; } 2>/dev/null
	[ -z "$INNER" ] || kill -TERM "$INNER" 2>/dev/null || true
}
NS_HOLDERS=()
INNER=

# The process a wrapper (unshare -f, setpriv) started, on the host.
child_of() { # VAR WRAPPER_PID
	local i c
	for ((i = 0; i < 50; i++)); do
		c=$(children_of "$2" | head -n 1)
		if [ -n "$c" ]; then
			printf -v "$1" '%s' "$c"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

sleep 0.2
settle_fds 0 >/dev/null || true
BASE=$(daemon_fd_count)
echo "# the daemon has $BASE fds open"

# ------------------------------------------------ malformed and oversized

row "garbage bytes" EPROTO "$NOT_DECODED" \
	"$SOCK" garbage
row "garbage before any Hello" EPROTO "$NOT_DECODED" \
	--no-hello "$SOCK" garbage
row "a spawn cut off at two thirds" EPROTO \
	"$NOT_DECODED" \
	"$SOCK" truncated
row "a 1 MiB message (limit 64 KiB)" EMSGSIZE \
	"the request has 1048576 bytes, more than the daemon's limit of 65536 \\(a tree request may have 1048576\\); send smaller requests" \
	"$SOCK" oversize 1048576
row "a message one byte over the limit" EMSGSIZE "the request has 65537 bytes, more than the daemon's limit of 65536 \\(a tree" \
	"$SOCK" oversize 65537
row "a message of exactly the limit" - "" "$SOCK" oversize 65536
row "an unknown request type" EOPNOTSUPP \
	"unknown request type; this daemon \\(protocol 1\\) does not know it .* check HelloReply\\.features\$" \
	"$SOCK" unknown-type
row "an unknown request type before any Hello" EPROTO \
	"the first request on a connection must be Hello \\(to agree on the protocol version\\)\$" \
	--no-hello "$SOCK" unknown-type
real_reserve "after malformed packets"

# ------------------------------------------------------- unknown fields

# Fields of every wire type with numbers no version defines, in every
# message of the request (the Hello's too): ignored.
pick_pid P
row "a Status with unknown fields" - '^status connections=[0-9]+' --unknown-fields "$SOCK" status
row "a spawn with unknown fields in every message" - "^spawned id=[0-9]+ pids=$P\$" PIDS="$P" \
	--unknown-fields "$SOCK" spawn "$P"
row "a reserve with unknown fields" - "^reserved id=[0-9]+ pids=$P\$" PIDS="$P" --unknown-fields "$SOCK" reserve "$P"
row "a policy check with unknown fields" - '^verdict allowed=1$' --unknown-fields "$SOCK" policy-check "$P"
echo unknown >"$T/marker"
row "an fd that only an unknown field could name" EPROTO \
	"the request carries 1 fds but its fields use only 0; send exactly the fds the request names\$" \
	--unknown-fields --fd "file:$T/marker" "$SOCK" spawn 0
row "an unknown field in the group encoding" EPROTO \
	"$NOT_DECODED" \
	"$SOCK" unknown-group

# ------------------------------------------------------- PIDs and levels

pick_pid A
pick_pid B
row "a negative PID" EINVAL \
	'pid -7 \(entry 0, innermost first\) is not valid: PIDs are positive \(0 means any free PID\)$' \
	"$SOCK" spawn -7
row "a negative outer PID in a reserve" EINVAL 'pid -1 \(entry 1, innermost first\) is not valid' \
	"$SOCK" reserve "$A,-1"
row "PID = pid_max ($PID_MAX)" EINVAL \
	"pid $PID_MAX at level 0 \\(pid:\\[[0-9]+\\]\\) is not below that namespace's pid_max \\($PID_MAX\\)\$" \
	"$SOCK" spawn "$PID_MAX"
row "PID 2147483647 in a reserve" EINVAL "pid 2147483647 at level 0 \\(pid:\\[[0-9]+\\]\\) is not below that namespace's pid_max" \
	"$SOCK" reserve 2147483647
row "2 PIDs in a namespace of 1 level" EINVAL \
	'2 PIDs given but the target pid namespace pid:\[[0-9]+\] has only 1 level up to the daemon.s namespace$' \
	PIDS="$A,$B" "$SOCK" spawn "$A,$B"
pids33=$(printf '0,%.0s' $(seq 1 33))
pids33=${pids33%,}
row "33 PIDs in a namespace of 1 level" EINVAL '33 PIDs given but the target pid namespace pid:\[[0-9]+\] has only 1 level' \
	"$SOCK" reserve "$pids33"
row "34 PIDs" EINVAL '34 PIDs given; there are at most 33 levels \(32 nested pid namespaces below the root\)$' \
	"$SOCK" spawn "$pids33,0"
# clone3() sets at most 32 levels' PIDs (MAX_PID_NS_LEVEL): a 33rd must be 0.
pids32=$(seq -s, 100 131)
row "33 PIDs, the 33rd chosen" EINVAL \
	'33 PIDs given; at most 32 can be chosen: the kernel.s clone3\(\) sets at most 32 levels. PIDs, innermost first, and gives the outermost level of a process 32 namespaces deep a PID of its choice; give 0 for that level or leave it out$' \
	"$SOCK" spawn "$pids32,$A"
row "a new pid namespace whose init is not 1" EINVAL \
	"with a new pid namespace the innermost pid must be 1 \\(the new namespace's init\\), not 5\$" \
	PIDS="$A" "$SOCK" spawn --new-pidns "5,$A"

# The deepest nesting the kernel allows: the requester 32 namespaces down.
cat >"$T/nest" <<'EOF'
#!/bin/sh
# nest N CMD...: runs CMD N pid namespaces below this one.
n=$1
shift
[ "$n" -gt 0 ] && exec unshare -pf "$0" $((n - 1)) "$@"
exec "$@"
EOF
chmod 755 "$T/nest"
row "33 PIDs from 31 levels down (32 levels)" EINVAL \
	'33 PIDs given but the target pid namespace pid:\[[0-9]+\] has only 32 levels up to the daemon.s namespace$' \
	NEST=31 "$SOCK" spawn "$pids33"
row "a new pid namespace 32 levels down" EINVAL \
	'cannot create a pid namespace below pid:\[[0-9]+\]: it is already 32 levels deep$' \
	NEST=32 "$SOCK" spawn --new-pidns 0
row "33 PIDs from 32 levels down: served" - '^spawned id=[0-9]+ pids=([0-9]+,){32}[0-9]+$' \
	NEST=32 "$SOCK" spawn "$pids33"
row "32 chosen PIDs and a 0 from 32 levels down: served" - '^spawned id=[0-9]+ pids='"$pids32"',[0-9]+$' \
	NEST=32 "$SOCK" spawn "$pids32,0"
row "33 chosen PIDs from 32 levels down" EINVAL '33 PIDs given; at most 32 can be chosen' \
	NEST=32 "$SOCK" spawn "$pids32,$A"
real_reserve "after bad PIDs and levels"

# ------------------------------- fds of the wrong kind for a pid namespace

# ProcessSpec.pidns_fd_index (spawn, reserve, policy check) is the one field
# that takes a pid namespace fd or a pidfd.
mkdir "$T/dir"
row "a regular file as the pid namespace" EINVAL \
	"the fd passed as the target pid namespace is a regular file \\($T/marker\\), $NOT_PIDNS" \
	--fd "file:$T/marker" "$SOCK" spawn --pidns-fd 0 0
row "a directory as the pid namespace" EINVAL \
	"the fd passed as the target pid namespace is a directory \\($T/dir\\), $NOT_PIDNS" \
	--fd "file:$T/dir" "$SOCK" reserve --pidns-fd 0 0
row "a socket as the pid namespace" EINVAL \
	"the fd passed as the target pid namespace is a socket \\(socket:\\[[0-9]+\\]\\), $NOT_PIDNS" \
	--fd socket "$SOCK" spawn --pidns-fd 0 0
row "an eventfd as the pid namespace" EINVAL \
	"the fd passed as the target pid namespace is an anonymous-inode fd \\(anon_inode:\\[eventfd\\]\\), $NOT_PIDNS" \
	--fd eventfd "$SOCK" policy-check --pidns-fd 0 0
row "a net namespace as the pid namespace" EINVAL \
	'the fd passed as the target pid namespace is a namespace of another type \(net:\[[0-9]+\]\); pass /proc/PID/ns/pid or a pidfd$' \
	--fd file:/proc/self/ns/net "$SOCK" spawn --pidns-fd 0 0
row "a pidfd of an exited, unreaped process" ESRCH \
	'the pidfd passed as the target pid namespace refers to a process that has exited \(a zombie\); pass one of a live process$' \
	--fd pidfd:zombie "$SOCK" spawn --pidns-fd 0 0
row "a pidfd of an exited, reaped process" ESRCH \
	'the pidfd passed as the target pid namespace refers to a process that has exited and was reaped; pass one of a live process$' \
	--fd pidfd:reaped "$SOCK" reserve --pidns-fd 0 0
row "a pid namespace fd index past the fds" EPROTO \
	'the fd index 1 for the target pid namespace is out of range: the request carries 1 fds$' \
	--fd file:/proc/self/ns/pid "$SOCK" spawn --pidns-fd 1 0
row "a pid namespace fd index without fds" EPROTO \
	'the fd index 0 for the target pid namespace is out of range: the request carries 0 fds$' \
	"$SOCK" spawn --pidns-fd 0 0
row "a pidfd of a live process: served" - '^spawned id=[0-9]+ pids=[0-9]+$' --fd "pidfd:$$" "$SOCK" spawn --pidns-fd 0 0
row "a pid namespace fd: served" - '^spawned id=[0-9]+ pids=[0-9]+$' --fd file:/proc/self/ns/pid "$SOCK" spawn --pidns-fd 0 0

# ------------------------------------------------------------- fd counts

row "3 fds on a Status" EPROTO 'this request takes no fds but carried 3$' --fd "3*file:$T/marker" "$SOCK" status
row "2 fds on an unknown request type" EPROTO 'this request takes no fds but carried 2$' \
	--fd socket --fd eventfd "$SOCK" unknown-type
row "253 fds on a Status" EPROTO 'this request takes no fds but carried 253$' --fd "253*file:$T/marker" "$SOCK" status
row "3 fds with fd_count 1" EPROTO 'the request says it carries 1 fds but its packet carried 3$' \
	--fd "3*file:$T/marker" --fd-count 1 "$SOCK" status
row "253 fds on a spawn that names 252" EPROTO \
	'the request carries 253 fds but its fields use only 252; send exactly the fds the request names$' \
	--fd file:/proc/self/ns/pid --fd "252*file:$T/marker" "$SOCK" spawn --pidns-fd 0 --map-fds 251 0
row "253 fds on a spawn that maps 252" EINVAL '252 fds to map; at most 251$' \
	--fd file:/proc/self/ns/pid --fd "252*file:$T/marker" "$SOCK" spawn --pidns-fd 0 --map-fds 252 0
row "252 fds, all used: served" - '^spawned id=[0-9]+ pids=[0-9]+$' \
	--fd file:/proc/self/ns/pid --fd "251*file:$T/marker" "$SOCK" spawn --pidns-fd 0 --map-fds 251 0
real_reserve "after fds of the wrong kind and count"

# --------------------------------- namespaces the requester may not name

# Root's other pid namespace, and one of uid $OTHER_UID's own user
# namespace. uid $TEST_UID names them by an fd root opened for it, or by a
# pidfd it opens itself.
unshare -pf --kill-child sleep 600 </dev/null &
NS_HOLDERS+=("$!")
child_of ROOT_NS_PID "${NS_HOLDERS[-1]}"
NS_HOLDERS+=("$ROOT_NS_PID")
"${AS_OTHER[@]}" unshare -Urpf --kill-child sleep 600 </dev/null &
NS_HOLDERS+=("$!")
child_of OTHER_NS_PID "${NS_HOLDERS[-1]}"
NS_HOLDERS+=("$OTHER_NS_PID")
ROOT_NS=$(stat -L -c %i "/proc/$ROOT_NS_PID/ns/pid")
OTHER_NS=$(stat -L -c %i "/proc/$OTHER_NS_PID/ns/pid")
exec {ROOT_NS_FD}<"/proc/$ROOT_NS_PID/ns/pid" {OTHER_NS_FD}<"/proc/$OTHER_NS_PID/ns/pid"
echo "# root's pid namespace pid:[$ROOT_NS] (pid $ROOT_NS_PID), uid $OTHER_UID's pid:[$OTHER_NS] (pid $OTHER_NS_PID)"

user_row "root's namespace by fd, pid 7" EPERM \
	"pid 7 at level 1 \\(pid:\\[$ROOT_NS\\]\\): uid $TEST_UID may not take it: the namespace belongs to the daemon's user namespace and no grant for uid $TEST_UID covers pid 7 there\$" \
	--fd "inherit:$ROOT_NS_FD" "$SOCK" spawn --pidns-fd 0 7
user_row "root's namespace by pidfd, any free PID" EPERM \
	"any free PID at level 1 \\(pid:\\[$ROOT_NS\\]\\): uid $TEST_UID may not create a process there: it is not its own pid namespace and belongs to the daemon's user namespace; name a PID that a grant for uid $TEST_UID covers there\$" \
	--fd "pidfd:$ROOT_NS_PID" "$SOCK" spawn --pidns-fd 0 0
user_row "root's namespace by fd, no PID at all" EPERM "any free PID at level 1 \\(pid:\\[$ROOT_NS\\]\\)" \
	--fd "inherit:$ROOT_NS_FD" "$SOCK" reserve --pidns-fd 0 ""
user_row "uid $OTHER_UID's namespace by fd, pid 7" EPERM \
	"pid 7 at level 1 \\(pid:\\[$OTHER_NS\\]\\): uid $TEST_UID may not take it: the namespace's user namespace is owned by uid $OTHER_UID, not by uid $TEST_UID, and no grant for uid $TEST_UID covers pid 7 there\$" \
	--fd "inherit:$OTHER_NS_FD" "$SOCK" spawn --pidns-fd 0 7
user_row "uid $OTHER_UID's namespace by pidfd, any free PIDs" EPERM \
	"any free PID at level 1 \\(pid:\\[$OTHER_NS\\]\\): uid $TEST_UID may not create a process there: it is not its own pid namespace and its user namespace is owned by uid $OTHER_UID;" \
	--fd "pidfd:$OTHER_NS_PID" "$SOCK" reserve --pidns-fd 0 0,0
user_row "uid $OTHER_UID's namespace, a new namespace below it" EPERM "pid 1 at level 2 \\(the new pid namespace\\): uid $TEST_UID may not take it" \
	--fd "pidfd:$OTHER_NS_PID" "$SOCK" spawn --pidns-fd 0 --new-pidns 0
user_row "uid $OTHER_UID's namespace, asked as a policy check" - '^verdict allowed=0$' \
	--fd "pidfd:$OTHER_NS_PID" "$SOCK" policy-check --pidns-fd 0 0
user_row "a new pid namespace in the daemon's user namespace, no PID named" EPERM \
	"pid 1 at level 1 \\(the new pid namespace\\): uid $TEST_UID may not take it: the namespace belongs to the daemon's user namespace" \
	"$SOCK" spawn --new-pidns ""
user_row "any free PID in its own namespace (named by a pidfd of its own): served" - '^spawned id=[0-9]+ pids=[0-9]+$' \
	--fd "pidfd:$$" "$SOCK" spawn --pidns-fd 0 0
run "${AS_OTHER[@]}" "$USER_HELPERS/raw-request" --fd "pidfd:$OTHER_NS_PID" "$SOCK" spawn --pidns-fd 0 0
expect "uid $OTHER_UID, any free PID in its own namespace: served" - '^spawned id=[0-9]+ pids=[0-9]+,[0-9]+$'
after "uid $OTHER_UID in its own namespace"
exec {ROOT_NS_FD}<&- {OTHER_NS_FD}<&-
# --kill-child: the sleepers die with their unshare.
{
	kill -KILL "${NS_HOLDERS[0]}" "${NS_HOLDERS[2]}"
	wait "${NS_HOLDERS[0]}" "${NS_HOLDERS[2]}" || true
} 2>/dev/null
check "root's other pid namespace is gone" wait_pid_gone "$ROOT_NS_PID" 5
check "uid $OTHER_UID's pid namespace is gone" wait_pid_gone "$OTHER_NS_PID" 5
NS_HOLDERS=()
real_reserve "after foreign namespaces"

# ----------------------------------------- another user's reservation id

pick_pid F
client_open R
client_cmd R "reserve $F"
assert_eq "root reserves PID $F" "$CL_LAST" "ok 1"
parse_procs
ROOT_ID=${RES_IDS[0]}
NO_ID=$((ROOT_ID + 1000))
CLIENT_BIN=$USER_CLIENT client_open U "${AS_USER[@]}"
client_cmd U "reserve 0"
assert_eq "uid $TEST_UID reserves any free PID" "$CL_LAST" "ok 1"
parse_procs
USER_ID=${RES_IDS[0]}
USER_PID=${RES_HOST[0]}
EXTRA_PIDS+=("$USER_PID")

client_cmd U "exec $ROOT_ID exit 0"
assert_eq "uid $TEST_UID claiming root's reservation: EPERM, owner not named" "$CL_LAST" \
	"error EPERM reservation $ROOT_ID belongs to another user; only its owner may claim it"
client_cmd U "exec $NO_ID exit 0"
assert_eq "claiming a reservation that does not exist: ESRCH" "$CL_LAST" \
	"error ESRCH there is no reservation $NO_ID (it was released, expired, or never existed)"
# ctl_refused DESC ERE VERB ID: uid $TEST_UID's pidrestorectl VERB ID fails
# (exit 1) saying ERE.
ctl_refused() {
	run "${AS_USER[@]}" "$USER_CTL" --socket "$SOCK" "$3" "$4"
	assert_eq "$1: pidrestorectl exits 1" "$RUN_RC" 1
	assert_match "$1" "$RUN_ERR" "$2"
}
ctl_refused "uid $TEST_UID releasing root's reservation: EPERM, owner not named" \
	"\\(EPERM\\): reservation $ROOT_ID belongs to another user; only its owner and root may release it\$" release "$ROOT_ID"
ctl_refused "releasing a reservation that does not exist: ESRCH" \
	"\\(ESRCH\\): there is no reservation $NO_ID \\(it was released, expired, or never existed\\)\$" release "$NO_ID"
ctl_refused "uid $TEST_UID killing root's reservation: EPERM, owner not named" \
	"\\(EPERM\\): process $ROOT_ID belongs to another user; only its owner and root may signal it\$" kill "$ROOT_ID"
ctl_refused "killing a process that does not exist: ESRCH" \
	"\\(ESRCH\\): there is no process $NO_ID \\(it ended, was released, or never existed\\)\$" kill "$NO_ID"
client_cmd R "exec $USER_ID exit 0"
assert_eq "root claiming the user's reservation: EPERM, told the owner" "$CL_LAST" \
	"error EPERM reservation $USER_ID belongs to uid $TEST_UID; only its owner may claim it"
assert_eq "root's placeholder still holds PID $F" "$(comm_of "$F")" "$HOLDER_COMM"
assert_eq "the user's placeholder still holds PID $USER_PID" "$(comm_of "$USER_PID")" "$HOLDER_COMM"
client_quit U
client_quit R
after "after the ownership refusals" "$F" "$USER_PID"

# ------------------------------- a requester the daemon cannot see

# A second daemon in a pid namespace of its own: the test's processes, and
# those of a sibling namespace, are not in it (SO_PEERCRED reports pid 0).
INNER_SOCK=$T/inner.sock
unshare -pf --mount-proc "$PR_DAEMON" --socket "$INNER_SOCK" --holder "$PR_HOLDER" --log-level debug \
	>"$T/inner.log" 2>&1 </dev/null &
INNER_WRAP=$!
child_of INNER "$INNER_WRAP"
EXTRA_PIDS+=("$INNER")
for ((i = 0; i < 100; i++)); do
	[ -S "$INNER_SOCK" ] && break
	sleep 0.1
done
run nsenter -t "$INNER" -p "$RAW" "$INNER_SOCK" status
expect "a client inside the daemon's namespace" - '^status connections=1 '
# Its only child as soon as it serves.
INNER_SPAWNER=$(children_of "$INNER")
sleep 0.5
INNER_BASE=$(find "/proc/$INNER/fd" -mindepth 1 -maxdepth 1 | wc -l)

NOT_VISIBLE="the requester is not visible in the daemon's pid namespace; connect from a process the daemon can see\$"
run "$RAW" --daemon-pid "$INNER" "$INNER_SOCK" hello
expect "a client in the parent namespace" ESRCH "$NOT_VISIBLE"
run unshare -pf "$RAW" "$INNER_SOCK" hello
expect "a client in a sibling namespace" ESRCH "$NOT_VISIBLE"
run "$PR_CTL" --socket "$INNER_SOCK" status
assert_eq "pidrestorectl in the parent namespace: exits 1" "$RUN_RC" 1
assert_match "pidrestorectl in the parent namespace: told why" "$RUN_ERR" "\\(ESRCH\\): $NOT_VISIBLE"
assert_match "the inner daemon logged the refusal" "$(cat "$T/inner.log")" "refusing a connection: $NOT_VISIBLE"
check "the inner daemon created nothing" no_children "$INNER" "$INNER_SPAWNER"
check "the inner daemon's fd count is back to $INNER_BASE" settle_fds "$INNER_BASE" "$INNER"
run nsenter -t "$INNER" -p "$RAW" "$INNER_SOCK" reserve 0
expect "then a client inside its namespace reserves" - '^reserved id=[0-9]+ pids=[0-9]+$'
check "the inner daemon is still running" kill -0 "$INNER"
kill -TERM "$INNER"
wait "$INNER_WRAP" || true
INNER=

# The other way round: a client in a child namespace is visible.
run unshare -pf "$RAW" "$SOCK" status
expect "a client in a child pid namespace" - '^status connections=[0-9]+ '

# ---------------------------------------------------------------- the end

real_reserve "after all bad input"
check "the daemon is still running" kill -0 "$DAEMON_PID"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
