#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Audit records of grants and denials. Under a real journald (systemd as PID
# 1 of fresh namespaces, journald started in it, pidrestored.service run by
# it) a grant and a denial appear in `journalctl -o json` with their
# structured fields, the place in the source that logged them (CODE_FILE=,
# CODE_LINE=, CODE_FUNC=) and the requester as OBJECT_PID=; without journald
# the same records go to stderr, one line each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools jq setpriv timeout
setup
user_programs

GRANTED=40000
REFUSED=40001

# --- without journald: stderr, one line per record
pick_pid P
pick_pid Q
cat >"$T/stderr.conf" <<CONF
[Grant]
User=$TEST_UID
PIDs=$P
CONF
start_daemon --config "$T/stderr.conf"
run as_user "$USER_CTL" --socket "$SOCK" spawn --pid "$P" -- true
assert_eq "stderr: the granted spawn runs" "$RUN_RC" 0
run as_user "$USER_CTL" --socket "$SOCK" spawn --pid "$Q" -- true
assert_match "stderr: the refused spawn is EPERM" "$RUN_ERR" '\(EPERM\)'
stop_daemon
grant_line=$(grep 'PIDRESTORE_OUTCOME=granted' "$T/daemon.log" || true)
deny_line=$(grep 'PIDRESTORE_OUTCOME=denied' "$T/daemon.log" || true)
assert_eq "stderr: one grant record" "$(printf '%s\n' "$grant_line" | grep -c .)" 1
assert_eq "stderr: one denial record" "$(printf '%s\n' "$deny_line" | grep -c .)" 1
host_ns=$(stat -L -c %i /proc/self/ns/pid)
for f in "PIDRESTORE_REQUESTER_UID=$TEST_UID" "PIDRESTORE_REQUESTER_GID=$TEST_GID" 'PIDRESTORE_REQUESTER_PID=[0-9]+' \
	"PIDRESTORE_PIDS=$P" 'PIDRESTORE_LEVELS=0' "PIDRESTORE_PIDNS=$host_ns" \
	'PIDRESTORE_RULE="grant #1 \(stderr.conf:1\)"' 'PIDRESTORE_REQUEST=spawn'; do
	assert_match "stderr: the grant has $f" "$grant_line" " $f( |$)"
done
for f in "PIDRESTORE_REQUESTER_UID=$TEST_UID" "PIDRESTORE_PIDS=$Q" 'PIDRESTORE_LEVELS=0' "PIDRESTORE_PIDNS=$host_ns" \
	'PIDRESTORE_RULE=refused' 'PIDRESTORE_ERRNO=EPERM' 'PIDRESTORE_REASON="pid [0-9]+ at level 0'; do
	assert_match "stderr: the denial has $f" "$deny_line" " $f( |$)"
done

# --- under journald
. "$TEST_DIR/systemd-lib.sh"
test_cleanup() {
	systemd_cleanup
}
cat >"$SYSTEMD_FILES/pidrestored.conf" <<CONF
[Grant]
User=$TEST_UID
PIDs=$GRANTED
CONF
systemd_units --config "$SYSTEMD_BIN/pidrestored.conf"
# The granted request comes from a unit of its own, so that the record can
# name it; the refused one from a plain process.
cat >"$T/units/pidrestore-audit-client.service" <<UNIT
[Service]
Type=oneshot
User=$TEST_UID
Group=$TEST_GID
ExecStart=$USER_CTL spawn --pid $GRANTED -- true
UNIT
systemd_boot
run inside systemctl start systemd-journald.socket systemd-journald.service
assert_eq "journald starts in the container" "$RUN_RC" 0

run inside systemctl start pidrestore-audit-client.service
assert_eq "a unit of uid $TEST_UID is granted PID $GRANTED through the service" "$RUN_RC" 0
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$USER_CTL" spawn --pid "$REFUSED" -- true
assert_match "uid $TEST_UID is refused PID $REFUSED" "$RUN_ERR" '\(EPERM\)'

ct_ns=$(inside stat -L -c %i /proc/1/ns/pid)
journal() { # OUTCOME: that record, as one JSON object
	local i out
	for ((i = 0; i < 50; i++)); do
		out=$(inside journalctl --no-pager -o json -t pidrestored "PIDRESTORE_OUTCOME=$1" 2>/dev/null | head -n 1)
		[ -z "$out" ] || break
		sleep 0.1
	done
	printf '%s' "$out"
}
grant=$(journal granted)
deny=$(journal denied)
assert_ne "journalctl -o json shows the grant" "$grant" ""
assert_ne "journalctl -o json shows the denial" "$deny" ""
field() { # JSON KEY
	jq -r --arg k "$2" '.[$k] // "(none)"' <<<"$1"
}
assert_eq "grant: requester uid" "$(field "$grant" PIDRESTORE_REQUESTER_UID)" "$TEST_UID"
assert_eq "grant: requester gid" "$(field "$grant" PIDRESTORE_REQUESTER_GID)" "$TEST_GID"
assert_match "grant: requester pid" "$(field "$grant" PIDRESTORE_REQUESTER_PID)" '^[0-9]+$'
assert_eq "grant: requester unit" "$(field "$grant" PIDRESTORE_REQUESTER_UNIT)" pidrestore-audit-client.service
assert_eq "grant: PIDs" "$(field "$grant" PIDRESTORE_PIDS)" "$GRANTED"
assert_eq "grant: levels" "$(field "$grant" PIDRESTORE_LEVELS)" 0
assert_eq "grant: namespace inode" "$(field "$grant" PIDRESTORE_PIDNS)" "$ct_ns"
assert_eq "grant: rule" "$(field "$grant" PIDRESTORE_RULE)" "grant #1 (pidrestored.conf:1)"
assert_eq "grant: outcome" "$(field "$grant" PIDRESTORE_OUTCOME)" granted
assert_eq "grant: request" "$(field "$grant" PIDRESTORE_REQUEST)" spawn
assert_eq "grant: catalog id" "$(field "$grant" MESSAGE_ID)" 767ec22c8e214c1095c20986e2cb6c02
assert_match "grant: the message says it" "$(field "$grant" MESSAGE)" "^granted spawn for uid $TEST_UID"
assert_eq "grant: priority info" "$(field "$grant" PRIORITY)" 6
assert_eq "denial: requester uid" "$(field "$deny" PIDRESTORE_REQUESTER_UID)" "$TEST_UID"
assert_match "denial: requester pid" "$(field "$deny" PIDRESTORE_REQUESTER_PID)" '^[0-9]+$'
assert_eq "denial: PIDs" "$(field "$deny" PIDRESTORE_PIDS)" "$REFUSED"
assert_eq "denial: levels" "$(field "$deny" PIDRESTORE_LEVELS)" 0
assert_eq "denial: namespace inode" "$(field "$deny" PIDRESTORE_PIDNS)" "$ct_ns"
assert_eq "denial: rule" "$(field "$deny" PIDRESTORE_RULE)" refused
assert_eq "denial: outcome" "$(field "$deny" PIDRESTORE_OUTCOME)" denied
assert_eq "denial: errno" "$(field "$deny" PIDRESTORE_ERRNO)" EPERM
assert_match "denial: the reason names the level, PID and what was missing" "$(field "$deny" PIDRESTORE_REASON)" \
	"^pid $REFUSED at level 0 .*no grant for uid $TEST_UID covers pid $REFUSED in the host namespace"
assert_eq "denial: catalog id" "$(field "$deny" MESSAGE_ID)" d62f7f7c08a044fc8eb6d7283e0fa19f
assert_eq "denial: priority notice" "$(field "$deny" PRIORITY)" 5

# Where each record was logged: the file that decided, not the logging module.
for record in grant deny; do
	json=${!record}
	assert_eq "$record: CODE_FILE= is the file that logged it" "$(field "$json" CODE_FILE)" daemon/priv/audit.c
	assert_match "$record: CODE_LINE= is a line number" "$(field "$json" CODE_LINE)" '^[1-9][0-9]*$'
	assert_match "$record: CODE_FUNC= is a function name" "$(field "$json" CODE_FUNC)" '^[a-z_]+$'
	assert_eq "$record: OBJECT_PID= is the requester" "$(field "$json" OBJECT_PID)" \
		"$(field "$json" PIDRESTORE_REQUESTER_PID)"
done
assert_ne "the grant and the denial come from different lines" \
	"$(field "$grant" CODE_LINE)" "$(field "$deny" CODE_LINE)"
serving=$(inside journalctl --no-pager -o json -t pidrestored --grep '^serving on ' 2>/dev/null | head -n 1)
assert_eq "a plain message: CODE_FILE= is the file that logged it" "$(field "$serving" CODE_FILE)" daemon/priv/server.c
assert_eq "a plain message: CODE_FUNC=" "$(field "$serving" CODE_FUNC)" on_front_packet
assert_eq "a plain message: no OBJECT_PID=" "$(field "$serving" OBJECT_PID)" "(none)"
assert_eq "no record names the logging module as its source" \
	"$(inside journalctl --no-pager -o json -t pidrestored 2>/dev/null | jq -r 'select(.CODE_FILE | test("log\\.c$")) | .MESSAGE')" ""

finish
