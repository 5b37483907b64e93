#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The service manager's watchdog: with WATCHDOG_USEC set the daemon sends
# WATCHDOG=1 on NOTIFY_SOCKET at least every half interval while it serves;
# without it, it sends none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
setup

NOTIFY=$T/notify
"$PR_HELPERS/notify-listen" "$NOTIFY" 60 >"$T/notify.log" 2>&1 &
LISTENER=$!
for ((i = 0; i < 50; i++)); do [ -S "$NOTIFY" ] && break; sleep 0.1; done
check "the notify listener is bound" test -S "$NOTIFY"

pings() { grep -c "WATCHDOG=1\$" "$T/notify.log" || true; }

# 200 ms interval: a ping at least every 100 ms, so 1.5 s brings well over 5.
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=200000 start_daemon
sleep 1.5
n=$(pings)
check "WATCHDOG=1 pings arrive while the daemon serves (got $n in 1.5 s)" test "$n" -ge 5
check "they come from the daemon" grep -q "^$DAEMON_PID WATCHDOG=1\$" "$T/notify.log"
run "$PR_CTL" --socket "$SOCK" status
assert_eq "the daemon still serves" "$RUN_RC" 0
stop_daemon

: >"$T/notify.log"
NOTIFY_SOCKET=$NOTIFY start_daemon
sleep 1
assert_eq "no WATCHDOG_USEC: no pings" "$(pings)" 0
check "READY=1 still arrives" grep -q "READY=1\$" "$T/notify.log"
stop_daemon
kill "$LISTENER" 2>/dev/null || true
finish
