#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl's admin verbs against a real daemon, as root and as an
# unprivileged user: list (own entries only for the user; --all adds ended
# programs), kill and release (the owner or root only), status and stats
# (counts that match the requests this test made), with --json checked
# field by field and --no-legend.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools jq setpriv timeout
setup
user_programs

CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Grant]
User=$TEST_UID
PIDs=$PID_RANGE_LO-$PID_RANGE_HI
CONF
start_daemon --config "$CONF"
CTL=("$PR_CTL" --socket "$SOCK")
UCTL=(as_user "$USER_CTL" --socket "$SOCK")
host_ns=$(stat -L -c %i /proc/self/ns/pid)

# hold VAR OUT CMD...: a reserve running in the background until killed.
hold() {
	local var=$1 out=$2 i
	shift 2
	"$@" >"$out" 2>&1 &
	printf -v "$var" '%s' "$!"
	EXTRA_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$out")" -ge 2 ] && return 0
		sleep 0.05
	done
	return 1
}
id_of_pid() { # JSON PID
	jq -r --argjson p "$2" '.[] | select(.pids[0] == $p) | .id' <<<"$1"
}

pick_pid R1
pick_pid R2
pick_pid RS
pick_pid U1
pick_pid US
check "root reserves $R1 and $R2 with a TTL" hold ROOT_HOLD "$T/root.out" "${CTL[@]}" reserve "$R1" "$R2" --ttl 120
run "${CTL[@]}" spawn --pid "$RS" --no-wait --no-legend -- sleep 120
assert_match "root spawns a sleep as $RS; --no-wait prints its ID and PID" "$RUN_OUT" "^[0-9]+ +$RS\$"
check "uid $TEST_UID reserves $U1" hold USER_HOLD "$T/user.out" "${UCTL[@]}" reserve "$U1"
run "${UCTL[@]}" spawn --pid "$US" --no-wait -- sleep 120
assert_match "uid $TEST_UID spawns a sleep as $US; --no-wait prints a table of ID and PIDS" "$RUN_OUT" \
	$'^ID +PIDS\n[0-9]+ +'"$US\$"
run "${UCTL[@]}" spawn --pid 1 -- true
assert_match "uid $TEST_UID is refused PID 1 (EPERM)" "$RUN_ERR" '\(EPERM\)'
run "${CTL[@]}" spawn --pid "$RS" -- true
assert_match "root's spawn of a PID in use is EEXIST" "$RUN_ERR" '\(EEXIST\)'

# --- list
run "${CTL[@]}" list --json
assert_eq "root: list --json exits 0" "$RUN_RC" 0
all=$RUN_OUT
assert_eq "root sees all five" "$(jq length <<<"$all")" 5
r1=$(jq --argjson p "$R1" '.[] | select(.pids[0] == $p)' <<<"$all")
assert_eq "reservation $R1: owner" "$(jq -c '[.owner_uid, .owner]' <<<"$r1")" '[0,"root"]'
assert_eq "reservation $R1: state" "$(jq -r .state <<<"$r1")" reserved
assert_eq "reservation $R1: PIDs up to the daemon's namespace" "$(jq -c .pids <<<"$r1")" "[$R1]"
assert_eq "reservation $R1: namespace" "$(jq .pidns_inode <<<"$r1")" "$host_ns"
assert_match "reservation $R1: TTL left, at most 120 s" "$(jq .ttl_left_usec <<<"$r1")" '^1[01][0-9]{7}$'
assert_match "reservation $R1: an age" "$(jq .age_usec <<<"$r1")" '^[0-9]+$'
assert_eq "reservation $R1: its connection is open" "$(jq .owner_connected <<<"$r1")" true
rs=$(jq --argjson p "$RS" '.[] | select(.pids[0] == $p)' <<<"$all")
assert_eq "spawned $RS: running, no TTL" "$(jq -c '[.state, .ttl_left_usec]' <<<"$rs")" '["running",null]'
assert_eq "spawned $RS: its connection is gone (--no-wait)" "$(jq .owner_connected <<<"$rs")" false
us=$(jq --argjson p "$US" '.[] | select(.pids[0] == $p)' <<<"$all")
assert_eq "uid $TEST_UID's spawn: owner" "$(jq .owner_uid <<<"$us")" "$TEST_UID"

run "${UCTL[@]}" list --json
assert_eq "uid $TEST_UID sees its own two only" "$(jq -c '[.[].pids[0]] | sort' <<<"$RUN_OUT")" "$(printf '[%s,%s]' $(printf '%s\n' "$U1" "$US" | sort -n))"
run "${UCTL[@]}" list
assert_match "the table has its legend" "$RUN_OUT" '^ID +OWNER +PIDS +PIDNS +STATE +AGE +TTL'
assert_match "and a summary line" "$RUN_OUT" '2 processes listed\.'
run "${UCTL[@]}" list --no-legend
assert_eq "--no-legend: two lines, no header" "$(grep -c . <<<"$RUN_OUT")" 2
assert_no_match "--no-legend: no summary" "$RUN_OUT" 'listed'

# --- kill and release, owner or root
root_id=$(id_of_pid "$all" "$R1")
rs_id=$(id_of_pid "$all" "$RS")
us_id=$(id_of_pid "$all" "$US")
u1_id=$(id_of_pid "$all" "$U1")
run "${UCTL[@]}" kill "$rs_id"
assert_eq "uid $TEST_UID may not kill root's program (exit 1)" "$RUN_RC" 1
assert_match "it is told why, not whose it is" "$RUN_ERR" "\\(EPERM\\): process $rs_id belongs to another user; only its owner and root may signal it"
check "root's program still runs" pid_exists "$RS"
run "${UCTL[@]}" release "$root_id"
assert_match "uid $TEST_UID may not release root's reservation" "$RUN_ERR" '\(EPERM\)'
run "${UCTL[@]}" kill "$us_id" --signal KILL
assert_eq "uid $TEST_UID kills its own program" "$RUN_OUT" "Sent SIGKILL to 1 program."
check "its program is gone" wait_pid_gone "$US" 5
run "${UCTL[@]}" list --all --json
ended=$(jq --argjson p "$US" '.[] | select(.pids[0] == $p)' <<<"$RUN_OUT")
assert_eq "list --all: the killed program is listed as exited by signal 9" "$(jq -c '[.state, .signal, .exit_code]' <<<"$ended")" '["exited",9,null]'
run "${UCTL[@]}" list --json
assert_eq "without --all it is not listed" "$(jq --argjson p "$US" '[.[] | select(.pids[0] == $p)] | length' <<<"$RUN_OUT")" 0
run "${CTL[@]}" kill "$u1_id"
assert_eq "root may kill a user's reservation: it is released" "$RUN_RC" 0
assert_eq "and says it released it rather than signalled it" "$RUN_OUT" \
	"Released 1 reservation (a reservation runs no program to signal)."
check "PID $U1 is free again" wait_pid_gone "$U1" 5
run "${CTL[@]}" kill 999999
assert_match "an unknown id is ESRCH" "$RUN_ERR" '\(ESRCH\): there is no process 999999'
run "${CTL[@]}" kill "$rs_id" --signal NOSUCH
assert_eq "an unknown signal is a usage error" "$RUN_RC" 2
run "${CTL[@]}" kill "$rs_id" --signal TERM
assert_eq "root kills its own program" "$RUN_RC" 0
check "PID $RS is gone" wait_pid_gone "$RS" 5

# --- status
run "${UCTL[@]}" status --json
st=$RUN_OUT
assert_eq "status: the daemon's pid" "$(jq .daemon_pid <<<"$st")" "$DAEMON_PID"
spawner=$(jq .spawner_pid <<<"$st")
assert_eq "status: the spawner is the daemon's child" "$(awk '/^PPid:/ { print $2 }' /proc/"$spawner"/status)" "$DAEMON_PID"
assert_eq "status: the spawner runs the holder program" "$(cat /proc/"$spawner"/comm)" "pidrestore-hold"
assert_eq "status: the policy file" "$(jq -c .policy_files <<<"$st")" "[\"$CONF\"]"
assert_eq "status: clone3 set_tid is in use" "$(jq '.kernel_features | index("clone3-set-tid") != null' <<<"$st")" true
assert_eq "status: SO_PEERPIDFD is in use (6.5+)" "$(jq '.kernel_features | index("SO_PEERPIDFD") != null' <<<"$st")" true
assert_eq "status: root's two reservations are outstanding" "$(jq .reservations <<<"$st")" 2
assert_eq "status: uid $TEST_UID has none left" "$(jq .your_reservations <<<"$st")" 0
assert_eq "status: not socket-activated" "$(jq .socket_activated <<<"$st")" false
run "${CTL[@]}" status
assert_match "the table names the policy file" "$RUN_OUT" "Policy: $CONF"
assert_match "and the kernel features" "$RUN_OUT" 'Kernel features: clone3-set-tid CLONE_PIDFD'

# --- stats: what this test asked for
run "${CTL[@]}" stats --json
sj=$RUN_OUT
count() { # TYPE OUTCOME
	jq --arg t "$1" --arg o "$2" '[.requests[] | select(.type == $t and .outcome == $o) | .count] | add // 0' <<<"$sj"
}
assert_eq "stats: spawn ok (root's and the user's)" "$(count spawn ok)" 2
assert_eq "stats: spawn EPERM (PID 1 for the user)" "$(count spawn EPERM)" 1
assert_eq "stats: spawn EEXIST (a PID in use)" "$(count spawn EEXIST)" 1
assert_eq "stats: reserve ok" "$(count reserve ok)" 2
assert_eq "stats: release EPERM" "$(count release EPERM)" 1
assert_eq "stats: kill ok" "$(count kill ok)" 3
assert_eq "stats: kill EPERM" "$(count kill EPERM)" 1
assert_eq "stats: kill ESRCH" "$(count kill ESRCH)" 1
assert_eq "stats: list ok" "$(count list ok)" 6
assert_eq "stats: spawn latencies, one per successful spawn" "$(jq .latency.spawn.count <<<"$sj")" 2
assert_eq "stats: reserve latencies" "$(jq .latency.reserve.count <<<"$sj")" 2
assert_eq "stats: percentiles in order" \
	"$(jq '.latency.spawn | .p50_usec <= .p90_usec and .p90_usec <= .p99_usec and .p99_usec <= .max_usec and .p50_usec > 0' <<<"$sj")" true
run "${CTL[@]}" stats
assert_match "the table counts spawns" "$RUN_OUT" '^spawn +ok +2$'
assert_match "and has latency percentiles" "$RUN_OUT" '^spawn +2 +[0-9]+us +[0-9]+us +[0-9]+us +[0-9]+us$'
run "${CTL[@]}" stats --no-legend
assert_no_match "--no-legend drops the headers" "$RUN_OUT" 'REQUEST|LATENCY|Since'
assert_eq "--no-legend: the request rows, one empty line, the latency rows" \
	"$(awk 'NF == 0 { part++; next } { print part + 0 ":" NF }' <<<"$RUN_OUT" | sort -u | tr '\n' ' ')" "0:3 1:6 "

kill -TERM "$ROOT_HOLD" "$USER_HOLD" 2>/dev/null || true
finish
