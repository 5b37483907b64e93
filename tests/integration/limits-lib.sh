# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the tests of the daemon's limits (conn-*.sh, flood.sh): sourced
# after lib.sh, never run.

FLOOD=$PR_HELPERS/flood-client
USER_FLOOD=

# flood_programs: lib.sh's user_programs, and a flood-client that the test
# users can run (USER_FLOOD).
flood_programs() {
	user_programs
	USER_FLOOD=$FLOOD
	if [ "$USER_HELPERS" != "$PR_HELPERS" ]; then
		cp "$FLOOD" "$USER_HELPERS/"
		chmod 755 "$USER_HELPERS/flood-client"
		USER_FLOOD=$USER_HELPERS/flood-client
	fi
}

# wait_line FILE ERE [SECONDS]: waits up to SECONDS (default 10) until a line
# of FILE matches ERE (a background client's output).
wait_line() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ms_since T: whole milliseconds from T (an $EPOCHREALTIME) to now.
ms_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }'
}

# wait_gone PID [SECONDS]: waits up to SECONDS (default 60) for a background
# process of the test to end; then wait collects its status.
wait_gone() {
	timeout "${2:-60}" tail --pid="$1" -f /dev/null || true
}
