# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the reservation tests (reserve-*.sh): sourced after lib.sh, never
# run. Adds long-lived client connections, PID blocks and /proc checks.
#
# A client is tests/helpers/reserve-client on a pair of fifos: client_open
# starts one, client_cmd sends it a line and collects its answer, so that the
# test can look at /proc while the connection (and its reservations) stays
# open.

RES_CLIENT=$PR_HELPERS/reserve-client
RES_PROBE=$PR_HELPERS/clone3-probe
RES_REAPER=$PR_HELPERS/reserve-reaper
HOLDER_COMM=pidrestore-hold

declare -A CL_W CL_R CL_PID CL_PROC
CL_OUT=
CL_LAST=

# res_setup: lib.sh's setup, with a cleanup that first stops the clients and
# the daemon gently (SIGTERM reaps the placeholders; a SIGKILLed daemon would
# leave them to PID 1, which does not reap everywhere).
res_setup() {
	local p
	for p in "$RES_CLIENT" "$RES_PROBE" "$RES_REAPER"; do
		[ -x "$p" ] || { echo "missing $p: build the tree first (make check builds it)" >&2; exit 99; }
	done
	setup
	trap res_cleanup EXIT
}

res_cleanup() {
	local rc=$? name i
	set +e
	for name in "${!CL_PID[@]}"; do
		kill -KILL "${CL_PID[$name]}" 2>/dev/null
	done
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			[ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null)" = S ] ||
				[ "$(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null)" = R ] || break
			sleep 0.1
		done
	fi
	(exit "$rc")
	cleanup
}

# client_open NAME [WRAPPER...]: starts a client, through WRAPPER (e.g.
# "unshare -pf --" or a setpriv line) when given, and waits for its ready
# line. CL_PROC[NAME] is the client's PID on the host, CL_LAST its ready line.
client_open() {
	local name=$1 w r line
	shift
	rm -f "$T/$name.in" "$T/$name.out"
	mkfifo -m 600 "$T/$name.in" "$T/$name.out"
	# Read-write opens of a fifo do not block: no deadlock if the client
	# fails to start; answers then time out.
	exec {w}<>"$T/$name.in"
	exec {r}<>"$T/$name.out"
	"$@" "${CLIENT_BIN:-$RES_CLIENT}" --socket "$SOCK" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	CL_PID[$name]=$!
	EXTRA_PIDS+=("$!")
	CL_W[$name]=$w
	CL_R[$name]=$r
	CL_LAST=
	if ! IFS= read -r -t 10 -u "$r" line; then
		echo "client $name did not start; its stderr:" >&2
		cat "$T/$name.err" >&2
		return 1
	fi
	CL_LAST=$line
	case $line in
	ready*) ;;
	*)
		echo "client $name: $line" >&2
		return 1
		;;
	esac
	# nspid=HOST [INNER...]: the first is the PID in the host's /proc.
	line=${line#*nspid=}
	CL_PROC[$name]=${line%% *}
	EXTRA_PIDS+=("${CL_PROC[$name]}")
}

# user_client: USER_CLIENT is a reserve-client the test user can run (a
# copy in $T when the build tree is out of its reach), for
# CLIENT_BIN=$USER_CLIENT client_open NAME "${AS_USER[@]}".
USER_CLIENT=
user_client() {
	USER_CLIENT=$RES_CLIENT
	if ! as_user test -x "$RES_CLIENT" 2>/dev/null; then
		mkdir -p "$T/bin"
		cp "$RES_CLIENT" "$T/bin/"
		chmod 755 "$T/bin" "$T/bin/reserve-client"
		USER_CLIENT=$T/bin/reserve-client
	fi
}

# client_cmd NAME LINE [TIMEOUT]: sends LINE, reads until the last line of the
# answer. CL_OUT holds every line, CL_LAST the last one ("ok ...", "error
# ...", "timeout ..."; "no answer" if none came within TIMEOUT seconds).
client_cmd() {
	local name=$1 cmd=$2 timeout=${3:-20} line
	CL_OUT=
	CL_LAST="no answer"
	printf '%s\n' "$cmd" >&"${CL_W[$name]}"
	while IFS= read -r -t "$timeout" -u "${CL_R[$name]}" line; do
		CL_OUT+=$line$'\n'
		case $line in
		ok* | error* | timeout*)
			CL_LAST=$line
			return 0
			;;
		esac
	done
	return 0
}

# client_pipeline NAME LINE...: sends all LINEs in one write, before reading
# any answer, so that the daemon may find the next request queued behind the
# reply to the previous one. CL_LASTS gets the last line of every answer.
CL_LASTS=()
client_pipeline() {
	local name=$1 line n=0
	shift
	CL_LASTS=()
	printf '%s\n' "$@" >&"${CL_W[$name]}"
	while [ "$n" -lt $# ] && IFS= read -r -t 20 -u "${CL_R[$name]}" line; do
		case $line in
		ok* | error* | timeout*)
			CL_LASTS+=("$line")
			n=$((n + 1))
			;;
		esac
	done
}

# client_quit NAME: ends the client normally (its connection closes) and
# waits up to 5 s for it.
client_quit() {
	local name=$1 i
	printf 'quit\n' >&"${CL_W[$name]}" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "${CL_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	client_forget "$name"
}

# client_kill NAME: SIGKILL, as if the client crashed.
client_kill() {
	local name=$1
	kill -KILL "${CL_PROC[$name]}" "${CL_PID[$name]}" 2>/dev/null || true
	wait "${CL_PID[$name]}" 2>/dev/null || true
	client_forget "$name"
}

client_forget() {
	local name=$1
	wait "${CL_PID[$name]}" 2>/dev/null || true
	exec {CL_W[$name]}>&- {CL_R[$name]}<&-
	unset "CL_PID[$name]" "CL_W[$name]" "CL_R[$name]"
}

# Fields of CL_OUT's "proc ID PIDS pidfd=X" lines: RES_IDS, RES_PIDS (the
# comma lists), RES_HOST (the last, outermost PID of each), RES_PIDFD.
parse_procs() {
	local tag id pids fd
	RES_IDS=() RES_PIDS=() RES_HOST=() RES_PIDFD=()
	while read -r tag id pids fd; do
		[ "$tag" = proc ] || continue
		RES_IDS+=("$id")
		RES_PIDS+=("$pids")
		RES_HOST+=("${pids##*,}")
		RES_PIDFD+=("${fd#pidfd=}")
	done <<<"$CL_OUT"
}

# free_pids VAR N: N distinct host PIDs that no process uses now, where the
# kernel's allocator will come last: going down from just behind the PID it
# handed out most recently (it allocates upwards and wraps), so that the
# processes this test forks meanwhile do not take them; and outside lib.sh's
# pick_pid range, where tests running alongside take PIDs. A process group or
# session ID whose leader is gone has no /proc entry but is still in use, so
# those are skipped too. Sets the array VAR.
free_pids() {
	local -n out=$1
	local n=$2 max last p k
	local -A grp=()
	for p in $(ps -eo pgid=,sid=); do
		grp[$p]=1
	done
	max=$(cat /proc/sys/kernel/pid_max)
	last=$(cat /proc/sys/kernel/ns_last_pid)
	out=()
	p=$((last - 200))
	for ((k = 0; k < max && ${#out[@]} < n; k++, p--)); do
		[ "$p" -ge 1000 ] || p=$((max - 1))
		[ "$p" -lt "$PID_RANGE_LO" ] || [ "$p" -gt "$PID_RANGE_HI" ] || continue
		[ -e "/proc/$p" ] || [ -n "${grp[$p]:-}" ] || out+=("$p")
	done
	[ "${#out[@]}" -eq "$n" ] || { echo "free_pids: only ${#out[@]} of $n PIDs free" >&2; return 1; }
}

comm_of() {
	cat "/proc/$1/comm" 2>/dev/null || echo "(none)"
}

proc_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo gone; return 0; }
	stat=${stat##*) }
	echo "${stat%% *}"
}

# count_present PID...: how many of the PIDs have an entry in /proc (any
# state, zombies too: a zombie still holds its PID).
count_present() {
	local p n=0
	for p in "$@"; do
		[ ! -e "/proc/$p" ] || n=$((n + 1))
	done
	echo "$n"
}

# count_holders PID...: how many of the PIDs are placeholders.
count_holders() {
	local p n=0 c
	for p in "$@"; do
		c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
		[ "$c" != "$HOLDER_COMM" ] || n=$((n + 1))
	done
	echo "$n"
}

# wait_all_gone SECONDS PID...: until no PID has a /proc entry. Sets
# GONE_AFTER_MS to how long that took.
GONE_AFTER_MS=
wait_all_gone() {
	local secs=$1 t0 now
	shift
	t0=$(date +%s%N)
	while :; do
		now=$(date +%s%N)
		if [ "$(count_present "$@")" -eq 0 ]; then
			GONE_AFTER_MS=$(((now - t0) / 1000000))
			return 0
		fi
		[ $(((now - t0) / 1000000)) -lt $((secs * 1000)) ] || break
		sleep 0.05
	done
	GONE_AFTER_MS=
	return 1
}

# The PIDs of the children of process $1, one per line.
children_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# zombie_children PID: how many children of PID are zombies.
zombie_children() {
	local c n=0
	for c in $(children_of "$1"); do
		[ "$(proc_state "$c")" != Z ] || n=$((n + 1))
	done
	echo "$n"
}

# probe_pids [--pidns PATH] PID...: PROBE_OUT gets clone3-probe's lines.
probe_pids() {
	PROBE_OUT=$("$RES_PROBE" "$@" 2>&1) || PROBE_OUT+=$'\n'"clone3-probe failed"
}

# probe_count WORD: how many PROBE_OUT lines end in WORD.
probe_count() {
	printf '%s\n' "$PROBE_OUT" | grep -c " $1\$" || true
}

join_by() {
	local IFS=$1
	shift
	echo "$*"
}

# wait_file FILE [SECONDS]: until FILE is not empty (default 5 s), as a
# pidrestorectl in the background prints what it holds.
wait_file() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		[ ! -s "$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# wait_lines FILE N: until FILE has N lines (5 s), as processes report
# into it.
wait_lines() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(wc -l <"$1")" -lt "$2" ] || return 0
		sleep 0.1
	done
	return 1
}

# wait_exit PID [SECONDS]: until the background job PID ends (default 5 s);
# WAIT_RC is its exit status.
wait_exit() {
	local i
	WAIT_RC=
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1" && WAIT_RC=0 || WAIT_RC=$?
}
