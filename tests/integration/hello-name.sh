#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Hello's client name is free text from the requester: in the daemon's log
# it is cut short, and every byte that is not printable ASCII, control
# characters and bytes of 0x80 and above alike, is written as \xHH, so that
# nothing a client sends reaches the log (or a terminal showing it) raw.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
setup
start_daemon
RAW=$PR_HELPERS/raw-request

name=$'caf\xc3\xa9 \xff\x1b[31mred\n\\x41'
run "$RAW" --client-name "$name" "$SOCK" hello
assert_match "the Hello is answered" "$RUN_OUT" '^hello version=[0-9]+'
sleep 0.2
line=$(grep -a 'hello from' "$T/daemon.log" | tail -n 1)
assert_eq "the name is logged with every such byte escaped" "$line" \
	"pidrestored: connection 2: hello from \"caf\\xc3\\xa9 \\xff\\x1b[31mred\\x0a\\x5cx41\", protocol 1"
check "no byte of 0x80 or more is in the log" \
	sh -c "! LC_ALL=C grep -aq '[$(printf '\200')-$(printf '\377')]' '$T/daemon.log'"
check "no escape character is in the log" sh -c "! grep -aq $'\\x1b' '$T/daemon.log'"

long=$(printf '\xe9%.0s' $(seq 100))
run "$RAW" --client-name "$long" "$SOCK" hello
line=$(grep -a 'hello from' "$T/daemon.log" | tail -n 1)
assert_match "a long name is cut short, escapes whole" "$line" '"(\\xe9){20}\.\.\.", protocol'
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
finish
