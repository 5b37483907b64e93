#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A requester under seccomp filters gets a child under the same filters, in
# the same order (DESIGN §6): its Seccomp mode, filter count and
# no_new_privs match, and a call the filters deny fails the same way in the
# child as in the requester. Root, an unprivileged user in its own user+pid
# namespace, the root of that namespace without no_new_privs, and a user
# who dropped root after its filter was installed are all served. A filter
# that returns SECCOMP_RET_USER_NOTIF and a traced requester are refused,
# naming why, and take no PID. A claim puts the program under the filters
# the placeholder installed, and only a claimer under the very same filters
# may make it. A kernel that cannot read filters refuses them with ENOSYS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv unshare strace timeout jq setarch
require_userns
res_setup
user_client

# The user may take PIDs of the host's namespace as well.
printf '[Grant]\nUser=%s\nPIDs=%s-%s\nNamespace=host\n' "$TEST_UID" "$PID_RANGE_LO" "$PID_RANGE_HI" >"$T/grant.conf"
start_daemon --config "$T/grant.conf"
user_programs
user_helper DENY seccomp-deny

# What a process tells of its confinement: the status lines, and how the
# calls the filters deny fail (unshare(2) and personality(2)).
PROBE='grep -E "^(Seccomp|Seccomp_filters|NoNewPrivs|Uid|CapEff):" /proc/self/status; unshare -U true 2>/dev/null; echo "unshare rc=$?"; setarch linux32 true 2>/dev/null; echo "personality rc=$?"; unshare -u true 2>&1 | sed "s/^[^:]*: //"'

# same_as_requester DESC PREFIX...: runs the probe as PREFIX would run it
# itself, and in a child that PREFIX spawns with pidrestorectl, and
# compares. PREFIX ends with the requester's own wrappers; CTL_ARGS are
# the spawn arguments.
same_as_requester() {
	local desc=$1 own child
	shift
	run "$@" sh -c "$PROBE"
	own=$RUN_OUT
	assert_eq "$desc: the probe runs in the requester" "$RUN_RC" 0
	run "$@" "${CTL[@]}" spawn "${CTL_ARGS[@]}" -- sh -c "$PROBE"
	child=$RUN_OUT
	assert_eq "$desc: the spawn succeeds" "$RUN_RC" 0
	[ "$RUN_RC" -eq 0 ] || echo "  $RUN_ERR"
	assert_match "$desc: the child runs under a filter" "$child" $'Seccomp:\t2'
	assert_eq "$desc: the child's confinement is the requester's" "$child" "$own"
}

# --- root, one filter (with no_new_privs, as seccomp-deny sets it)
CTL=("$PR_CTL" --socket "$SOCK")
pick_pid P
CTL_ARGS=(--pid "$P")
same_as_requester "root, one filter" "$DENY" unshare=ENOPROTOOPT,personality=EPERM

# --- root, two filters: the newer decides between two errors, so a copy
# installed in the wrong order fails differently
pick_pid P
CTL_ARGS=(--pid "$P")
same_as_requester "root, two stacked filters" "$DENY" unshare=ENOPROTOOPT "$DENY" unshare=EINVAL
check "two filters: unshare fails with the newer filter's EINVAL" \
	grep -q "Invalid argument" <<<"$RUN_OUT"

# --- root without no_new_privs (the daemon keeps CAP_SYS_ADMIN for it)
pick_pid P
CTL_ARGS=(--pid "$P")
same_as_requester "root without no_new_privs" "$DENY" --without-no-new-privs unshare=ENOPROTOOPT

# --- a user whose filter root installed before dropping to it: neither
# no_new_privs nor CAP_SYS_ADMIN, as a service started by a supervisor
pick_pid P
CTL_ARGS=(--pid "$P")
CTL=("$USER_CTL" --socket "$SOCK")
same_as_requester "a user under root's filter, without no_new_privs" \
	"$DENY" --without-no-new-privs unshare=ENOPROTOOPT "${AS_USER[@]}"

# --- an unprivileged user in its own user+pid namespace
CTL_ARGS=(--pid 4242)
same_as_requester "a user in its own user+pid namespace" \
	"${AS_USER[@]}" unshare -Urpf --mount-proc "$DENY" unshare=ENOPROTOOPT,personality=EPERM
same_as_requester "the root of a user namespace, without no_new_privs" \
	"${AS_USER[@]}" unshare -Urpf --mount-proc "$DENY" --without-no-new-privs unshare=ENOPROTOOPT

# --- refusals
CTL=("$PR_CTL" --socket "$SOCK")
# LeakSanitizer cannot run in a traced process (a sanitizer build).
TRACED=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -o /dev/null)
pick_pid P
run "$DENY" unshare=NOTIF "${CTL[@]}" spawn --pid "$P" -- true
assert_eq "a USER_NOTIF filter is refused (125)" "$RUN_RC" 125
assert_match "with EPERM naming SECCOMP_RET_USER_NOTIF" "$RUN_ERR" '\(EPERM\).*SECCOMP_RET_USER_NOTIF'
check "nothing took pid $P" bash -c "! test -e /proc/$P"
run "${AS_USER[@]}" unshare -Urpf --mount-proc "$DENY" unshare=NOTIF "$USER_CTL" --socket "$SOCK" spawn --pid 4242 -- true
assert_eq "a user's USER_NOTIF filter is refused (125)" "$RUN_RC" 125
assert_match "with the same message" "$RUN_ERR" '\(EPERM\).*SECCOMP_RET_USER_NOTIF'

run "${TRACED[@]}" "$DENY" unshare=EPERM "${CTL[@]}" spawn --pid "$P" -- true
assert_eq "a traced requester under a filter is refused (125)" "$RUN_RC" 125
assert_match "with EBUSY naming its tracer" "$RUN_ERR" '\(EBUSY\).*traced by pid [0-9]+.*without a debugger'
check "nothing took pid $P" bash -c "! test -e /proc/$P"
run "${TRACED[@]}" "${CTL[@]}" spawn --pid "$P" -- true
assert_eq "a traced requester under no filter is served" "$RUN_RC" 0

run "${CTL[@]}" spawn --pid "$P" -- sh -c 'grep "^Seccomp:" /proc/self/status'
assert_eq "without a filter the child has none" "$RUN_OUT" $'Seccomp:\t0'

# A requester whose thread-group leader cannot stop (held in vfork() while
# another thread asks) is refused in bounded time, and let go afterwards.
pick_pid P
run timeout 20 "$PR_HELPERS/seccomp-vfork" "$SOCK" "$P" 2
assert_eq "a requester that does not stop is refused (3)" "$RUN_RC" 3
assert_match "with EAGAIN saying it did not stop in time" "$RUN_OUT" '^error=EAGAIN message=.*did not stop within 20 ms'
assert_match "and it was let go: its main thread resumed" "$RUN_OUT" '^resumed$'
check "nothing took pid $P" bash -c "! test -e /proc/$P"
run "${CTL[@]}" status
assert_eq "the daemon serves on" "$RUN_RC" 0

# --- claims: the user's reservations in its own user+pid namespace
OUT=$T/u/claim.out
user_dir
FILTER=(unshare=ENOPROTOOPT,personality=EPERM)
CLIENT_BIN=$USER_CLIENT client_open C1 "${AS_USER[@]}" "$DENY" "${FILTER[@]}"
pick_pid P
client_cmd C1 "reserve $P"
assert_eq "a filtered user reserves" "$CL_LAST" "ok 1"
parse_procs
ID=${RES_IDS[0]:-none}
assert_match "the placeholder already runs under the filters" "$(grep -E '^Seccomp(_filters)?:' "/proc/$P/status" | paste -sd ' ')" \
	$'^Seccomp:\t2 Seccomp_filters:\t1$'
client_cmd C1 "exec $ID { $PROBE; } >$OUT 2>&1"
assert_eq "the reserver claims it" "$CL_LAST" ok
client_cmd C1 "events 1 5000"
run "${AS_USER[@]}" "$DENY" "${FILTER[@]}" sh -c "$PROBE"
assert_eq "the claimed program's confinement is the claimer's" "$(cat "$OUT")" "$RUN_OUT"

# Another connection under the very same filters may claim.
pick_pid P
client_cmd C1 "reserve $P"
parse_procs
ID=${RES_IDS[0]:-none}
CLIENT_BIN=$USER_CLIENT client_open C2 "${AS_USER[@]}" "$DENY" "${FILTER[@]}"
client_cmd C2 "exec $ID { $PROBE; } >$OUT 2>&1"
assert_eq "a claimer under the same filters claims it" "$CL_LAST" ok
client_cmd C2 "events 1 5000"
assert_eq "and its program runs under them" "$(cat "$OUT")" "$RUN_OUT"

# One under other filters may not: the program would escape its own.
pick_pid P
client_cmd C1 "reserve $P"
parse_procs
ID=${RES_IDS[0]:-none}
CLIENT_BIN=$USER_CLIENT client_open C3 "${AS_USER[@]}" "$DENY" unshare=EPERM
client_cmd C3 "exec $ID true"
assert_match "a claimer under other filters is refused with EPERM" "$CL_LAST" '^error EPERM '
assert_match "naming both filter sets" "$CL_LAST" "the claimer's seccomp filters \(1 filter, [0-9]+ instructions\) differ from those reservation $ID was made under \(1 filter, [0-9]+ instructions\)"
CLIENT_BIN=$USER_CLIENT client_open C4 "${AS_USER[@]}" "$DENY" "${FILTER[@]}" "$DENY" unshare=EPERM
client_cmd C4 "exec $ID true"
assert_match "a claimer under one more filter is refused" "$CL_LAST" "^error EPERM .*\(2 filters, [0-9]+ instructions\) differ"
assert_eq "the placeholder is still there" "$(comm_of "$P")" "$HOLDER_COMM"
for c in C1 C2 C3 C4; do
	client_quit "$c"
done

# The requesters were detached: none is left traced or stopped.
check "the daemon traces nothing" bash -c "! grep -l \"^TracerPid:[[:space:]]*$DAEMON_PID\$\" /proc/[0-9]*/status 2>/dev/null"
check "the refusals are logged" grep -q "(uid 0, pid [0-9]*): the requester's seccomp filter 0 .* returns SECCOMP_RET_USER_NOTIF" "$T/daemon.log"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0

# --- a kernel that cannot read filters (PTRACE_SECCOMP_GET_FILTER fails as
# where it does not exist): filtered requesters are refused
"$PR_HELPERS/seccomp-deny" ptrace-get-filter=EIO "$PR_DAEMON" --socket "$T/sock2" --holder "$PR_HOLDER" \
	>"$T/daemon2.log" 2>&1 </dev/null &
DAEMON2_PID=$!
EXTRA_PIDS+=("$DAEMON2_PID")
test_cleanup() {
	kill -TERM "$DAEMON2_PID" 2>/dev/null
	wait "$DAEMON2_PID" 2>/dev/null
}
for ((i = 0; i < 100; i++)); do
	[ -S "$T/sock2" ] && "$PR_CTL" --socket "$T/sock2" status >/dev/null 2>&1 && break
	sleep 0.1
done
pick_pid P
run "$DENY" unshare=EPERM "$PR_CTL" --socket "$T/sock2" spawn --pid "$P" -- true
assert_eq "no PTRACE_SECCOMP_GET_FILTER: a filtered requester is refused (125)" "$RUN_RC" 125
assert_match "with ENOSYS saying the kernel cannot read filters" "$RUN_ERR" \
	'\(ENOSYS\).*this kernel cannot read seccomp filters \(PTRACE_SECCOMP_GET_FILTER'
check "nothing took pid $P" bash -c "! test -e /proc/$P"
run "$PR_CTL" --socket "$T/sock2" check --json
assert_eq "and check says so" "$(jq -r '.features[] | select(.name == "PTRACE_SECCOMP_GET_FILTER") | .state' <<<"$RUN_OUT")" no
finish
