#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A process the daemon creates counts against the requester's RLIMIT_NPROC
# as a fork would (DESIGN §6): a user under `prlimit --nproc=30` asks for 500
# reservations one by one and gets exactly as many as a fork would have
# given it, 29 beside the client itself; every request after that fails with
# EAGAIN and a message naming RLIMIT_NPROC, and the kernel agrees: a fork
# by a process of that user fails as well. A released reservation makes room
# for one more; a request for two at the limit creates neither. A requester
# with CAP_SYS_ADMIN may exceed the limit, as its fork could.
#
# The user is one of its own (TEST_UID + 40): the count is over all of a
# uid's processes on the machine, which nothing else here may change.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools setpriv prlimit pgrep timeout
res_setup
NPROC_UID=$((TEST_UID + 40))
LIMIT=30
TRIES=500
if pgrep -U "$NPROC_UID" >/dev/null; then
	skip "uid $NPROC_UID runs processes already; this test counts them and needs the uid to itself"
fi
start_daemon
user_client
# wait_uid_idle UID: waits up to 5 s until UID has no process.
wait_uid_idle() {
	local i
	for ((i = 0; i < 50; i++)); do
		pgrep -U "$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}
# LeakSanitizer's check at exit needs a task of its own, which the limit
# forbids while the user is at it: a sanitizer build's client would fail
# that check instead of finishing. Its leaks are checked in every other test.
AS_NPROC=(setpriv --reuid="$NPROC_UID" --regid="$NPROC_UID" --clear-groups -- prlimit --nproc="$LIMIT" --
	env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")

CLIENT_BIN=$USER_CLIENT client_open A "${AS_NPROC[@]}"
assert_match "the client runs as uid $NPROC_UID" "$(awk '/^Uid:/ {print $2}' "/proc/${CL_PROC[A]}/status")" "^$NPROC_UID\$"
assert_eq "its RLIMIT_NPROC is $LIMIT" "$(awk '/^Max processes/ {print $3}' "/proc/${CL_PROC[A]}/limits")" "$LIMIT"

ok=0 eagain=0 other=0 first_error= ids=() hosts=()
for ((i = 0; i < TRIES; i++)); do
	client_cmd A "reserve 0"
	case $CL_LAST in
	"ok 1")
		ok=$((ok + 1))
		parse_procs
		ids+=("${RES_IDS[0]}")
		hosts+=("${RES_HOST[0]}")
		EXTRA_PIDS+=("${RES_HOST[0]}")
		;;
	"error EAGAIN "*)
		eagain=$((eagain + 1))
		[ -n "$first_error" ] || first_error=$CL_LAST
		;;
	*)
		other=$((other + 1))
		echo "# unexpected answer to reserve $i: $CL_LAST"
		;;
	esac
done
assert_eq "of $TRIES reservations, $((LIMIT - 1)) are made (the client is the ${LIMIT}th process)" "$ok" "$((LIMIT - 1))"
assert_eq "the other $((TRIES - LIMIT + 1)) fail with EAGAIN" "$eagain" "$((TRIES - LIMIT + 1))"
assert_eq "no other answer" "$other" 0
assert_match "the refusal names RLIMIT_NPROC and says a fork would fail too" "$first_error" \
	"uid $NPROC_UID already runs as many processes as the requester's RLIMIT_NPROC allows; a fork of the requester would fail with EAGAIN as well"
assert_eq "uid $NPROC_UID has $LIMIT processes" "$(pgrep -c -U "$NPROC_UID")" "$LIMIT"

# The kernel's own view: a fork by a process of the user under the same
# limit fails too.
run "${AS_NPROC[@]}" sh -c '( : ) && echo forked'
assert_ne "the kernel too refuses uid $NPROC_UID's fork at this count" "$RUN_OUT" forked

client_cmd A "release ${ids[0]}"
assert_eq "one reservation released" "$CL_LAST" "ok 1"
check "its placeholder is gone" wait_all_gone 5 "${hosts[0]}"
client_cmd A "reserve 0 0"
assert_match "two more at once: EAGAIN, all or nothing" "$CL_LAST" '^error EAGAIN .*RLIMIT_NPROC'
sleep 0.3
assert_eq "and neither stays: uid $NPROC_UID has $((LIMIT - 1)) processes" "$(pgrep -c -U "$NPROC_UID")" "$((LIMIT - 1))"
client_cmd A "reserve 0"
assert_eq "one more fits again" "$CL_LAST" "ok 1"
parse_procs
EXTRA_PIDS+=("${RES_HOST[0]}")

# fork() lets a caller with CAP_SYS_ADMIN (or CAP_SYS_RESOURCE) exceed the
# limit, and so does the daemon.
CLIENT_BIN=$USER_CLIENT client_open B setpriv --reuid="$NPROC_UID" --regid="$NPROC_UID" --clear-groups \
	--inh-caps=+sys_admin --ambient-caps=+sys_admin -- prlimit --nproc="$LIMIT" --
client_cmd B "reserve 0 0"
assert_eq "a client of uid $NPROC_UID with CAP_SYS_ADMIN, at the limit, gets two more" "$CL_LAST" "ok 2"
parse_procs
EXTRA_PIDS+=("${RES_HOST[@]}")
client_quit B

client_quit A
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
check "no process of uid $NPROC_UID is left" wait_uid_idle "$NPROC_UID"
finish
