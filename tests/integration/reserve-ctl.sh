#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl reserve and release as a user runs them: reserve in the
# background prints the reservations and holds them; release by id from
# another invocation frees that PID (the holding pidrestorectl is not told
# and keeps holding the rest until it is signalled); --ttl ends it by itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools timeout
res_setup
start_daemon

free_pids F 2
"$PR_CTL" --socket "$SOCK" reserve "${F[0]}" "${F[1]}" --json >"$T/ctl.out" 2>"$T/ctl.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
check "reserve --json prints the reservations while it holds them" wait_file "$T/ctl.out"
json=$(cat "$T/ctl.out")
assert_match "the JSON lists both, with their PIDs" "$json" \
	"^\[\{\"id\":[0-9]+,\"pids\":\[${F[0]}\]\},\{\"id\":[0-9]+,\"pids\":\[${F[1]}\]\}\]\$"
mapfile -t IDS < <(grep -o '"id":[0-9]*' <<<"$json" | cut -d: -f2)
assert_eq "both PIDs are placeholders" "$(count_holders "${F[@]}")" 2
run "$PR_CTL" --socket "$SOCK" status --json
assert_match "status counts 2 reservations" "$RUN_OUT" '"reservations":2,'

run "$PR_CTL" --socket "$SOCK" release "${IDS[0]}"
assert_eq "release ID from another pidrestorectl exits 0" "$RUN_RC" 0
assert_eq "and says so" "$RUN_OUT" "Released 1 reservation."
check "that PID is free within a second" wait_all_gone 1 "${F[0]}"
sleep 0.3
assert_match "the holding pidrestorectl is told, and by whom" "$(cat "$T/ctl.err")" \
	"^Reservation ${IDS[0]} was released by uid 0 \(pid [0-9]+\)\.$"
check "and keeps running" kill -0 "$CTL"
assert_eq "the other PID is still held" "$(count_holders "${F[1]}")" 1

run "$PR_CTL" --socket "$SOCK" release 999999
assert_eq "release of an unknown id exits 1" "$RUN_RC" 1
assert_match "with ESRCH" "$RUN_ERR" '\(ESRCH\)'
run "$PR_CTL" --socket "$SOCK" release "${IDS[0]}"
assert_match "releasing the same id twice: ESRCH" "$RUN_ERR" '\(ESRCH\)'

run "$PR_CTL" --socket "$SOCK" release --all
assert_eq "release --all from another connection releases root's last one" "$RUN_OUT" "Released 1 reservation."
check "the last PID is free" wait_all_gone 1 "${F[1]}"
check "the holding pidrestorectl, told, has none left and exits" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
assert_match "it said so" "$(cat "$T/ctl.err")" "^Reservation ${IDS[1]} was released by uid 0 \(pid [0-9]+\)\.$"

# --- SIGINT: it releases what it still holds
free_pids E 1
"$PR_CTL" --socket "$SOCK" reserve "${E[0]}" >"$T/ctl1.out" 2>"$T/ctl1.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
wait_file "$T/ctl1.out" || true
kill -INT "$CTL"
check "SIGINT ends the holding pidrestorectl" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
assert_match "it releases what it still held" "$(cat "$T/ctl1.err")" '^Released 1 reservation\.$'
check "its PID is free" wait_all_gone 1 "${E[0]}"

# --- the table, SIGTERM
free_pids G 2
"$PR_CTL" --socket "$SOCK" reserve "${G[0]}" "${G[1]}" >"$T/ctl2.out" 2>"$T/ctl2.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
wait_file "$T/ctl2.out" || true
sleep 0.2
assert_match "reserve prints a table: a header" "$(head -n1 "$T/ctl2.out")" '^ID +PIDS$'
assert_eq "and one row per reservation" "$(awk 'NR > 1 {print $2}' "$T/ctl2.out" | tr '\n' ' ')" "${G[0]} ${G[1]} "
kill -TERM "$CTL"
check "SIGTERM ends it" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
check "and its PIDs are free" wait_all_gone 1 "${G[@]}"

# --- --ttl: it ends by itself
free_pids H 1
"$PR_CTL" --socket "$SOCK" reserve "${H[0]}" --ttl 1 >"$T/ctl3.out" 2>"$T/ctl3.err" &
CTL=$!
EXTRA_PIDS+=("$CTL")
wait_file "$T/ctl3.out" || true
check "reserve --ttl 1 exits by itself" wait_exit "$CTL"
assert_eq "with status 0" "$WAIT_RC" 0
assert_match "it says the reservation expired" "$(cat "$T/ctl3.err")" '^Reservation [0-9]+ expired\.$'
check "its PID is free" wait_all_gone 1 "${H[0]}"

# --- a busy PID
run "$PR_CTL" --socket "$SOCK" reserve "$$"
assert_eq "reserve of a busy PID exits 1" "$RUN_RC" 1
assert_match "naming EEXIST and the PID" "$RUN_ERR" "\(EEXIST\).*pid $$ "

run "$PR_CTL" --socket "$SOCK" status --json
assert_match "no reservation left" "$RUN_OUT" '"reservations":0,'
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
