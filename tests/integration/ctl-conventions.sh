#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl keeps the conventions of systemd's *ctl tools: no verb is
# status; --json=off|short|pretty and -j (pretty on a terminal, short
# otherwise); a pager on a terminal for the query verbs, --no-pager and
# $PIDRESTORE_PAGER / $PAGER; -q/--quiet; --no-legend on every table.
# Each with its refusals: a bad --json mode, and -q or --no-legend where
# there is nothing they apply to.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/reserve-lib.sh"
require_root
require_tools jq script timeout
res_setup
start_daemon
CTL=("$PR_CTL" --socket "$SOCK")

# on_tty CMD...: runs CMD with a terminal as its stdout (script(1)); its
# output, without the terminal's carriage returns, in TTY_OUT.
on_tty() {
	local q
	printf -v q '%q ' "$@"
	TTY_OUT=$(timeout -k 5 30 script -qec "$q" /dev/null </dev/null | tr -d '\r')
}

# --- no verb: status
run "${CTL[@]}"
assert_eq "no verb: exit 0" "$RUN_RC" 0
assert_match "no verb shows the status" "$RUN_OUT" 'Daemon version: '
run "${CTL[@]}" --json
assert_eq "--json and no verb: status in JSON" "$(jq .daemon_pid <<<"$RUN_OUT")" "$DAEMON_PID"
run "${CTL[@]}" nosuchverb
assert_eq "an unknown verb is still a usage error" "$RUN_RC" 2

# --- --json=MODE and -j
run "${CTL[@]}" status --json=off
assert_match "--json=off: the table" "$RUN_OUT" '^ +Daemon version: '
run "${CTL[@]}" status --json=short
assert_eq "--json=short: one line" "$(wc -l <<<"$RUN_OUT"):$(jq -r .protocol_version <<<"$RUN_OUT" | grep -c .)" "1:1"
run "${CTL[@]}" status --json=pretty
assert_match "--json=pretty: indented" "$RUN_OUT" '^  "daemon_version": '
run "${CTL[@]}" status --json --json=off
assert_match "the last --json wins: off" "$RUN_OUT" '^ +Daemon version: '
run "${CTL[@]}" status -j
assert_eq "-j, not on a terminal: one line" "$(wc -l <<<"$RUN_OUT")" 1
on_tty env PIDRESTORE_PAGER=cat "${CTL[@]}" status -j
assert_match "-j on a terminal: indented" "$TTY_OUT" '^  "daemon_version": '
run "${CTL[@]}" status --json=yaml
assert_eq "--json=yaml is a usage error" "$RUN_RC" 2
assert_match "naming the modes" "$RUN_ERR" 'invalid --json=yaml; use --json=short \(one line\), --json=pretty or --json=off'
run "${CTL[@]}" release --all -j
assert_match "-j where there is no JSON is refused" "$RUN_ERR" '--json does not apply to release'

# --- the pager
on_tty env PAGER='sed s/^/PAGED:/' "${CTL[@]}" status
assert_match "on a terminal, status goes through \$PAGER" "$TTY_OUT" '^PAGED: +Daemon version: '
on_tty env PAGER='sed s/^/PAGED:/' PIDRESTORE_PAGER='sed s/^/OURS:/' "${CTL[@]}" list
assert_match "\$PIDRESTORE_PAGER comes before \$PAGER" "$TTY_OUT" '^OURS:'
on_tty env PAGER='sed s/^/PAGED:/' "${CTL[@]}" --no-pager status
assert_no_match "--no-pager: no pager" "$TTY_OUT" 'PAGED:'
assert_match "and the output is there" "$TTY_OUT" 'Daemon version: '
on_tty env PAGER='sed s/^/PAGED:/' "${CTL[@]}" status --no-pager
assert_no_match "--no-pager after the verb as well" "$TTY_OUT" 'PAGED:'
on_tty env PAGER=cat "${CTL[@]}" stats
assert_match "PAGER=cat: no pager, the output as is" "$TTY_OUT" '^Since the daemon started'
on_tty env PAGER=/nonexistent/pager LESS= PATH=/nonexistent "${CTL[@]}" policy
assert_match "a pager that cannot be run loses nothing" "$TTY_OUT" 'Grants: 0'
run env PAGER='sed s/^/PAGED:/' "${CTL[@]}" status
assert_no_match "not on a terminal: no pager" "$RUN_OUT" 'PAGED:'
free_pids N 1
on_tty env PAGER='sed s/^/PAGED:/' "${CTL[@]}" spawn --pid "${N[0]}" -- echo spawned
assert_eq "spawn is never paged" "$TTY_OUT" spawned

# --- -q / --quiet
free_pids F 2
"${CTL[@]}" reserve "${F[@]}" -q --no-legend >"$T/res.out" 2>"$T/res.err" &
RES=$!
EXTRA_PIDS+=("$RES")
check "reserve -q --no-legend prints its reservations" wait_file "$T/res.out"
sleep 0.2
assert_eq "reserve --no-legend: two rows, no header" "$(awk '{print $2}' "$T/res.out" | tr '\n' ' ')" "${F[0]} ${F[1]} "
mapfile -t IDS < <(awk '{print $1}' "$T/res.out")
run "${CTL[@]}" release -q "${IDS[0]}"
assert_eq "release -q: exit 0, nothing printed" "$RUN_RC:$RUN_OUT:$RUN_ERR" "0::"
run "${CTL[@]}" release --quiet "${IDS[0]}"
assert_eq "release --quiet of one already gone: still exit 1 with the error" "$RUN_RC" 1
assert_match "the error is printed" "$RUN_ERR" '\(ESRCH\)'
kill -TERM "$RES"
for ((i = 0; i < 50; i++)); do kill -0 "$RES" 2>/dev/null || break; sleep 0.1; done
assert_eq "reserve -q said nothing on stderr, holding or releasing" "$(cat "$T/res.err")" ""
check "its PIDs are free" wait_all_gone 1 "${F[@]}"
free_pids K 1
run "${CTL[@]}" spawn --pid "${K[0]}" --no-wait --no-legend -- sleep 60
run "${CTL[@]}" kill -q "$(awk '{print $1}' <<<"$RUN_OUT")"
assert_eq "kill -q: exit 0, nothing printed" "$RUN_RC:$RUN_OUT" "0:"
check "the program is gone" wait_pid_gone "${K[0]}" 5
run "${CTL[@]}" reload -q
assert_eq "reload -q: exit 0, nothing printed" "$RUN_RC:$RUN_OUT" "0:"
run "${CTL[@]}" policy --check -q --pid "${K[0]}"
assert_eq "policy --check -q: root is allowed, exit 0, nothing printed" "$RUN_RC:$RUN_OUT" "0:"
# Under valgrind the daemon's own probes see no clone3() (valgrind does not
# emulate it), so check finds a required feature missing and exits 1.
CHECK_RC=${PR_VALGRIND:+1}
run "${CTL[@]}" check -q
assert_eq "check -q: exit ${CHECK_RC:-0} here, nothing printed" "$RUN_RC:$RUN_OUT" "${CHECK_RC:-0}:"
run "${CTL[@]}" status -q
assert_eq "status -q is refused (exit 2)" "$RUN_RC" 2
assert_match "saying it does not apply" "$RUN_ERR" '--quiet does not apply to status'
run "${CTL[@]}" list --quiet
assert_match "list --quiet is refused" "$RUN_ERR" '--quiet does not apply to list'
run "${CTL[@]}" policy -q
assert_match "policy -q without --check is refused" "$RUN_ERR" 'go with policy --check'

# --- --no-legend on every table
run "${CTL[@]}" policy --check --no-legend --pid "${K[0]}"
assert_match "policy --check --no-legend: the level rows only" "$RUN_OUT" "^0 +${K[0]} +pid:\\[[0-9]+\\] +root"
assert_eq "one row, no verdict line, no header" "$(grep -c . <<<"$RUN_OUT")" 1
run "${CTL[@]}" check --no-legend --local
assert_no_match "check --no-legend: no header" "$RUN_OUT" 'FEATURE|Kernel:|Probed by'
run "${CTL[@]}" policy --no-legend
assert_eq "policy --no-legend without --check is refused (the policy is no table)" "$RUN_RC" 2
run "${CTL[@]}" status --no-legend
assert_match "status --no-legend is refused" "$RUN_ERR" '--no-legend does not apply to status'
finish
