#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs pidrestore-bench for `make bench`:
#
#   run-bench.sh PATH-TO-pidrestore-bench [OPTIONS...]
#
# The benchmark holds over 10000 host PIDs at once and takes them again and
# again. Under the default pid_max of 32768 every other process on the machine
# gets its PIDs from that same small space, round and round, so a range that
# large would be hit by someone's fork midway through the run. The kernel
# hands out PIDs in ascending order, so with pid_max raised no other process
# comes near a range just below the new limit for the length of a run.
# pid_max is set back to what it was on every way out.
set -euo pipefail

bench=${1:?usage: run-bench.sh PATH-TO-pidrestore-bench [OPTIONS...]}
shift

if [ "$(id -u)" -ne 0 ]; then
	echo "make bench: needs root (the floors clone3 with set_tid; the daemon must be allowed any PID): run sudo make bench" >&2
	exit 1
fi

WANT_PID_MAX=1048576
PID_RANGE=900000-1000000
PID_MAX_FILE=/proc/sys/kernel/pid_max

old_pid_max=$(cat "$PID_MAX_FILE")
restore_pid_max() {
	echo "$old_pid_max" >"$PID_MAX_FILE"
}
if [ "$old_pid_max" -lt "$WANT_PID_MAX" ]; then
	trap restore_pid_max EXIT
	# A signal runs the EXIT trap too, by way of exit.
	trap 'exit 130' INT TERM HUP
	echo "$WANT_PID_MAX" >"$PID_MAX_FILE"
	echo "make bench: pid_max raised from $old_pid_max to $WANT_PID_MAX for the run" >&2
fi

"$bench" --pids "$PID_RANGE" "$@"
