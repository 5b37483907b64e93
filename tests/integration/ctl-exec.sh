#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A restore finished from the command line: pidrestorectl reserve holds
# PIDs, pidrestorectl exec (another process, another connection of the
# same user) claims one and runs a command in it, waiting and exiting with
# its status (or --no-wait: the ID and PIDs, which kill takes); --fd passes
# fds; --json on spawn, exec and reserve. Refused: another user's
# reservation, an unknown or malformed ID, a missing command, an fd that is
# not open or given twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools jq setpriv timeout
res_setup
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

# hold VAR OUT CMD...: a reserve --json in the background until killed;
# returns once it printed its reservations.
hold() {
	local var=$1 out=$2 i
	shift 2
	"$@" >"$out" 2>"$out.err" &
	printf -v "$var" '%s' "$!"
	EXTRA_PIDS+=("$!")
	for ((i = 0; i < 100; i++)); do
		[ ! -s "$out" ] || return 0
		sleep 0.05
	done
	return 1
}
id_of() { # FILE PID: the id reserve --json printed for PID
	jq -r --argjson p "$2" '.[] | select(.pids[0] == $p) | .id' "$1"
}

free_pids F 6
check "root reserves six PIDs (reserve --json)" hold HOLD "$T/hold.json" "${CTL[@]}" reserve "${F[@]}" --json
assert_eq "reserve --json: an array of six {id, pids}" "$(jq -c '[.[] | keys] | unique' "$T/hold.json")" '[["id","pids"]]'
ID=()
for p in "${F[@]}"; do
	ID+=("$(id_of "$T/hold.json" "$p")")
done

# --- exec waits and exits with the command's status
run "${CTL[@]}" exec "${ID[0]}" -- sh -c 'echo "pid $$ ppid-is-daemon $PPID"; exit 7'
assert_eq "exec exits with the command's status" "$RUN_RC" 7
assert_eq "the command ran in the reserved PID, the daemon's child" "$RUN_OUT" "pid ${F[0]} ppid-is-daemon $DAEMON_PID"
check "its PID is free once it ended" wait_all_gone 1 "${F[0]}"
check "the holding reserve is told who claimed it" grep -q \
	"^Reservation ${ID[0]} was claimed by uid 0 (pid [0-9]*); its program runs there\.\$" "$T/hold.json.err"
run "${CTL[@]}" exec "${ID[0]}" -- true
assert_eq "a claimed reservation cannot be claimed again (125)" "$RUN_RC" 125
assert_match "ESRCH: it is gone" "$RUN_ERR" "exec failed \\(ESRCH\\): there is no reservation ${ID[0]}"

# --- a program that is not there: 127, and the reservation stays
run "${CTL[@]}" exec "${ID[1]}" -- /nonexistent/program
assert_eq "exec of a missing program exits 127" "$RUN_RC" 127
assert_match "ENOENT" "$RUN_ERR" '\(ENOENT\)'
assert_eq "the reservation still holds its PID" "$(count_holders "${F[1]}")" 1
check "and its holder is told of no claim" bash -c "! grep -q '^Reservation ${ID[1]} was claimed' '$T/hold.json.err'"

# --- --json: the process and how it ended
run "${CTL[@]}" exec "${ID[1]}" --json -- sh -c 'exit 3'
assert_eq "exec --json exits 3" "$RUN_RC" 3
assert_eq "exec --json: id, pids, exit_code, no signal" \
	"$(jq -c '[.id, .pids[0], .exit_code, .signal, .core_dumped]' <<<"$RUN_OUT")" "[${ID[1]},${F[1]},3,null,false]"

# --- signals are forwarded (through the daemon: there is no pidfd here)
"${CTL[@]}" exec "${ID[2]}" -- sleep 60 >"$T/sig.out" 2>"$T/sig.err" &
EXEC=$!
EXTRA_PIDS+=("$EXEC")
for ((i = 0; i < 50; i++)); do
	[ "$(cat "/proc/${F[2]}/comm" 2>/dev/null)" = sleep ] && break
	sleep 0.1
done
assert_eq "exec runs sleep in ${F[2]}" "$(cat "/proc/${F[2]}/comm" 2>/dev/null)" sleep
kill -TERM "$EXEC"
check "SIGTERM to exec reaches the command, and exec ends" wait_exit "$EXEC" 10
assert_eq "exec exits 128+15" "$WAIT_RC" 143
check "the command is gone" wait_all_gone 1 "${F[2]}"

# --- --no-wait: the ID and PIDs, and kill takes the ID
run "${CTL[@]}" exec "${ID[3]}" --no-wait -- sleep 60
assert_eq "exec --no-wait exits 0" "$RUN_RC" 0
assert_eq "exec --no-wait prints the ID and PIDs" "$RUN_OUT" "$(printf 'ID PIDS\n%-2s %s' "${ID[3]}" "${F[3]}")"
run "${CTL[@]}" kill "${ID[3]}"
assert_eq "kill takes the ID exec printed" "$RUN_RC" 0
check "the command is gone" wait_all_gone 1 "${F[3]}"
run "${CTL[@]}" exec "${ID[4]}" --no-wait --json -- sleep 60
assert_eq "exec --no-wait --json: {id, pids}" "$RUN_OUT" "{\"id\":${ID[4]},\"pids\":[${F[4]}]}"
run "${CTL[@]}" kill "${ID[4]}" --signal KILL
check "killed" wait_all_gone 1 "${F[4]}"

# --- --fd: an fd of pidrestorectl's, as itself or renumbered
echo "from fd 3" >"$T/three"
echo "from fd 5" >"$T/five"
run "${CTL[@]}" exec "${ID[5]}" --fd 3 --fd 5:4 -- sh -c 'cat <&3; cat <&4; [ -e /proc/$$/fd/5 ] || echo "no fd 5"' \
	3<"$T/three" 5<"$T/five"
assert_eq "exec --fd 3 --fd 5:4: the command reads both, and has no fd 5" "$RUN_OUT" \
	"$(printf 'from fd 3\nfrom fd 5\nno fd 5')"

# --- refusals
run "${CTL[@]}" exec abc -- true
assert_eq "a malformed ID is a usage error" "$RUN_RC" 2
assert_match "saying what an ID is" "$RUN_ERR" "invalid reservation ID 'abc'; IDs are the numbers reserve printed"
run "${CTL[@]}" exec 999999 -- true
assert_eq "an unknown ID: 125" "$RUN_RC" 125
assert_match "ESRCH, naming it" "$RUN_ERR" 'exec failed \(ESRCH\): there is no reservation 999999'
run "${CTL[@]}" exec 5
assert_eq "exec without a command is a usage error" "$RUN_RC" 2
assert_match "saying so" "$RUN_ERR" 'exec needs a reservation ID and a command'
run "${CTL[@]}" exec 5 --fd 77 -- true
assert_eq "--fd of an fd that is not open is a usage error" "$RUN_RC" 2
assert_match "naming it" "$RUN_ERR" '--fd 77: fd 77 is not open in pidrestorectl'
run "${CTL[@]}" exec 5 --fd 0:3 --fd 1:3 -- true
assert_eq "two --fd for one target is a usage error" "$RUN_RC" 2
assert_match "naming it" "$RUN_ERR" "gives the program's fd 3 twice"
run "${CTL[@]}" exec 5 --fd 3x -- true
assert_eq "a malformed --fd is a usage error" "$RUN_RC" 2
assert_match "saying the form" "$RUN_ERR" "invalid --fd '3x'; give FD or FD:TARGET"
run "${CTL[@]}" exec 5 --ttl 3 -- true
assert_match "an option of another verb is refused" "$RUN_ERR" '--ttl does not apply to exec'

# Another user's reservation: refused, and it stays.
pick_pid UP
check "uid $TEST_UID reserves $UP" hold UHOLD "$T/user.json" "${UCTL[@]}" reserve "$UP" --json
uid_id=$(id_of "$T/user.json" "$UP")
run "${CTL[@]}" exec "$uid_id" -- true
assert_eq "root may not claim uid $TEST_UID's reservation (125)" "$RUN_RC" 125
assert_match "EPERM: only its owner may" "$RUN_ERR" "exec failed \\(EPERM\\): reservation $uid_id belongs to uid $TEST_UID; only its owner may claim it"
pick_pid RP
check "root reserves $RP" hold RHOLD "$T/root2.json" "${CTL[@]}" reserve "$RP" --json
root_id=$(id_of "$T/root2.json" "$RP")
run "${UCTL[@]}" exec "$root_id" -- true
assert_eq "uid $TEST_UID may not claim root's reservation (125)" "$RUN_RC" 125
assert_match "EPERM, not saying whose" "$RUN_ERR" "exec failed \\(EPERM\\): reservation $root_id belongs to another user; only its owner may claim it"
assert_eq "both reservations still hold their PIDs" "$(count_holders "$UP" "$RP")" 2
run "${UCTL[@]}" exec "$uid_id" -- sh -c 'id -u; echo $$'
assert_eq "uid $TEST_UID claims its own from another pidrestorectl" "$RUN_OUT" "$(printf '%s\n%s' "$TEST_UID" "$UP")"

# --- spawn: --no-wait prints the ID kill needs; --json; --fd
pick_pid S1
run "${CTL[@]}" spawn --pid "$S1" --no-wait --no-legend -- sleep 60
assert_match "spawn --no-wait --no-legend: ID and PIDs" "$RUN_OUT" "^[0-9]+ +$S1\$"
sid=$(awk '{print $1}' <<<"$RUN_OUT")
run "${CTL[@]}" kill "$sid"
assert_eq "kill takes the ID spawn printed" "$RUN_RC" 0
check "and the program is gone" wait_all_gone 1 "$S1"
pick_pid S2
run "${CTL[@]}" spawn --pid "$S2" --no-wait --json=pretty -- sleep 60
assert_eq "spawn --no-wait --json=pretty: {id, pids}, indented" "$(jq -c '[.pids, (.id | type)]' <<<"$RUN_OUT"):$(wc -l <<<"$RUN_OUT")" \
	"[[$S2],\"number\"]:4"
run "${CTL[@]}" kill "$(jq .id <<<"$RUN_OUT")" --signal KILL
check "killed" wait_all_gone 1 "$S2"
pick_pid S3
run "${CTL[@]}" spawn --pid "$S3" --json -- sh -c 'kill -USR1 $$'
assert_eq "spawn --json of a command killed by SIGUSR1 exits 138" "$RUN_RC" 138
assert_eq "and prints how it ended" "$(jq -c '[.pids[0], .exit_code, .signal]' <<<"$RUN_OUT")" "[$S3,null,10]"
pick_pid S4
run "${CTL[@]}" spawn --pid "$S4" --fd 3:0 -- sh -c 'cat' 3<"$T/three"
assert_eq "spawn --fd 3:0 gives fd 3 as the command's stdin" "$RUN_OUT" "from fd 3"

kill -TERM "$HOLD" "$UHOLD" "$RHOLD" 2>/dev/null || true
finish
