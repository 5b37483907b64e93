#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl check: every feature's answer matches what this test finds
# out by itself on this kernel, through a real daemon (the daemon's view:
# also for an unprivileged user) and with --local or without a daemon; the
# JSON field by field; --no-legend keeps the rows only; and on a "kernel"
# without clone3 and the pidfd ioctls (a seccomp filter), the daemon and the
# local probe say "no", explain what the daemon does without each, and exit 1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools jq findmnt setpriv unshare
# check reports what the daemon's own process can do, and valgrind 3.19 hides
# clone3() and pidfd_open() from it (its spawner, which valgrind does not
# follow, still clones: every other test runs under valgrind).
[ -z "${PR_VALGRIND:-}" ] || skip "under valgrind the daemon's own probes see no clone3() or pidfd_open(), and this test checks that view against the kernel's"
setup
user_programs

FEATURES="clone3-set-tid CLONE_PIDFD CLONE_INTO_CGROUP setns-pidfd CAP_CHECKPOINT_RESTORE SO_PEERPIDFD PIDFD_GET_INFO PIDFD_GET_PID_NAMESPACE cgroup2 pid_max cgroup-v1 PTRACE_SECCOMP_GET_FILTER"
REQUIRED="clone3-set-tid CLONE_PIDFD"
N_FEATURES=$(wc -w <<<"$FEATURES")

# ------------------------------------------------------------ direct probes

KERNEL=$(uname -r)
kernel_at_least() { # MAJOR MINOR
	local major=${KERNEL%%.*} minor=${KERNEL#*.}
	minor=${minor%%[!0-9]*}
	[ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}
yes_if() {
	if "$@"; then echo yes; else echo no; fi
}
set_tid_works() {
	# pid 1 of a new pid namespace asks for PID 200 there.
	[ "$(unshare --pid --fork "$PR_HELPERS/clone3-probe" 200 2>/dev/null)" = "200 ok" ]
}
cap_last_cap_has_checkpoint_restore() {
	[ "$(cat /proc/sys/kernel/cap_last_cap)" -ge 40 ]
}
cgroup2_mount() {
	findmnt -t cgroup2 -n -o TARGET | head -n 1
}
has_cgroup2() {
	[ -n "$(cgroup2_mount)" ]
}
has_cgroup_v1() {
	[ -n "$(findmnt -t cgroup -n -o TARGET | head -n 1)" ]
}

declare -A WANT=(
	[clone3-set-tid]=$(yes_if set_tid_works)
	[CLONE_PIDFD]=$(yes_if kernel_at_least 5 2)
	[CLONE_INTO_CGROUP]=$(yes_if kernel_at_least 5 7)
	[setns-pidfd]=$(yes_if kernel_at_least 5 8)
	[CAP_CHECKPOINT_RESTORE]=$(yes_if cap_last_cap_has_checkpoint_restore)
	[SO_PEERPIDFD]=$(yes_if kernel_at_least 6 5)
	[PIDFD_GET_INFO]=$(yes_if kernel_at_least 6 13)
	[PIDFD_GET_PID_NAMESPACE]=$(yes_if kernel_at_least 6 11)
	[cgroup2]=$(yes_if has_cgroup2)
	[pid_max]=yes
	[cgroup-v1]=$(yes_if has_cgroup_v1)
	[PTRACE_SECCOMP_GET_FILTER]=$(yes_if kernel_at_least 4 4)
)
echo "direct probes on $KERNEL:"
for f in $FEATURES; do
	echo "  $f ${WANT[$f]}"
done

# Each feature's state in JSON, as "NAME STATE" lines.
states() {
	jq -r '.features[] | "\(.name) \(.state)"' <<<"$1"
}
detail_of() { # JSON NAME
	jq -r --arg n "$2" '.features[] | select(.name == $n) | .detail' <<<"$1"
}

# Compares every feature with the direct probes.
check_states() { # WHO JSON [SKIPPED...]
	local who=$1 json=$2 f got
	shift 2
	for f in $FEATURES; do
		[[ " $* " != *" $f "* ]] || continue
		got=$(jq -r --arg n "$f" '.features[] | select(.name == $n) | .state' <<<"$json")
		assert_eq "$who: $f" "$got" "${WANT[$f]}"
	done
}

# The details that name figures this test can read as well.
check_details() { # WHO JSON PROBER_PID
	local who=$1 json=$2 pid=$3
	assert_eq "$who: pid_max is the sysctl's" "$(detail_of "$json" pid_max)" \
		"pid_max $(cat /proc/sys/kernel/pid_max)"
	if has_cgroup2; then
		assert_eq "$who: cgroup2 is where findmnt finds it" "$(detail_of "$json" cgroup2)" \
			"cgroup2 at $(cgroup2_mount)"
	fi
	if has_cgroup_v1; then
		assert_match "$who: cgroup-v1 names the layout and counts the hierarchies" "$(detail_of "$json" cgroup-v1)" \
			"^$(if has_cgroup2; then echo hybrid; else echo legacy; fi) layout, $(findmnt -t cgroup -n -o TARGET | wc -l) hierarchies \\("
	fi
	if kernel_at_least 6 11; then
		assert_eq "$who: PIDFD_GET_PID_NAMESPACE gave the prober's pid namespace" \
			"$(detail_of "$json" PIDFD_GET_PID_NAMESPACE)" \
			"the prober's pidfd gave $(readlink "/proc/$pid/ns/pid")"
	fi
	if kernel_at_least 6 13; then
		assert_eq "$who: PIDFD_GET_INFO read the prober's pid and euid" \
			"$(detail_of "$json" PIDFD_GET_INFO)" \
			"the prober's pidfd says pid $pid, euid $(awk '/^Uid:/ {print $3}' "/proc/$pid/status")"
	fi
}

# ------------------------------------------------------------ the daemon's view

start_daemon
CTL=("$PR_CTL" --socket "$SOCK")
UCTL=(as_user "$USER_CTL" --socket "$SOCK")

run "${CTL[@]}" check --json
assert_eq "daemon: check --json exits 0" "$RUN_RC" 0
json=$RUN_OUT
assert_eq "daemon: kernel" "$(jq -r .kernel <<<"$json")" "$KERNEL"
assert_eq "daemon: probed by pidrestored" "$(jq -r .probed_by <<<"$json")" pidrestored
assert_eq "daemon: probed by the daemon's pid" "$(jq -r .probed_by_pid <<<"$json")" "$DAEMON_PID"
assert_eq "daemon: no local reason" "$(jq -r .local_reason <<<"$json")" null
assert_eq "daemon: usable" "$(jq -r .usable <<<"$json")" true
assert_eq "daemon: the features, in order" "$(jq -r '[.features[].name] | join(" ")' <<<"$json")" "$FEATURES"
assert_eq "daemon: required are exactly clone3-set-tid and CLONE_PIDFD" \
	"$(jq -r '[.features[] | select(.required) | .name] | join(" ")' <<<"$json")" "$REQUIRED"
assert_eq "daemon: available matches state" \
	"$(jq '[.features[] | select(.available != (.state == "yes"))] | length' <<<"$json")" 0
assert_eq "daemon: every feature has a detail and says what happens without it" \
	"$(jq '[.features[] | select(.detail == "" or .without == "")] | length' <<<"$json")" 0
check_states daemon "$json"
check_details daemon "$json" "$DAEMON_PID"
assert_eq "daemon: set_tid was tried with the daemon's privilege" \
	"$(detail_of "$json" clone3-set-tid)" "a child got PID 200 in a new pid namespace"
if [ "${WANT[CAP_CHECKPOINT_RESTORE]}" = yes ]; then
	cap_eff=$(awk '/^CapEff:/ {print $2}' "/proc/$DAEMON_PID/status")
	if (((0x$cap_eff >> 40) & 1)); then
		want_cap="the prober has it"
	elif (((0x$cap_eff >> 21) & 1)); then
		want_cap="the prober lacks it but has CAP_SYS_ADMIN"
	else
		want_cap="the prober lacks it and CAP_SYS_ADMIN"
	fi
	assert_eq "daemon: CAP_CHECKPOINT_RESTORE as the daemon's CapEff says" \
		"$(detail_of "$json" CAP_CHECKPOINT_RESTORE)" "cap_last_cap $(cat /proc/sys/kernel/cap_last_cap); $want_cap"
fi

run "${CTL[@]}" check --json=pretty
assert_eq "daemon: --json=pretty is the same document" "$(jq -c . <<<"$RUN_OUT")" "$(jq -c . <<<"$json")"
assert_eq "daemon: --json=pretty spans lines" "$(($(wc -l <<<"$RUN_OUT") > N_FEATURES))" 1

# The table: the prober, a legend, one row per feature.
run "${CTL[@]}" check
assert_eq "daemon: check exits 0" "$RUN_RC" 0
assert_match "daemon: the table names the daemon" "$RUN_OUT" "^Probed by: pidrestored \(pid $DAEMON_PID\)$"
assert_match "daemon: the table names the kernel" "$RUN_OUT" "^ +Kernel: $KERNEL$"
assert_match "daemon: the table has a legend" "$RUN_OUT" "^FEATURE +AVAILABLE +DETAIL$"
for f in $FEATURES; do
	assert_match "daemon: the row of $f" "$RUN_OUT" "^$f +${WANT[$f]} +[^ ]"
done
assert_no_match "daemon: nothing is missing, so no 'Without'" "$RUN_OUT" "^Without "

run "${CTL[@]}" check --no-legend
assert_eq "--no-legend exits 0" "$RUN_RC" 0
assert_eq "--no-legend: one line per feature, nothing else" "$(wc -l <<<"$RUN_OUT")" "$N_FEATURES"
assert_no_match "--no-legend: no legend" "$RUN_OUT" "^FEATURE|Probed by|Kernel:"
assert_eq "--no-legend: the rows in order" "$(awk '{print $1}' <<<"$RUN_OUT" | paste -sd ' ')" "$FEATURES"

# An unprivileged user gets the daemon's view, not its own.
run "${UCTL[@]}" check --json
assert_eq "user: check --json exits 0" "$RUN_RC" 0
ujson=$RUN_OUT
assert_eq "user: probed by the daemon" "$(jq -r .probed_by_pid <<<"$ujson")" "$DAEMON_PID"
assert_eq "user: the daemon's answer" "$(jq -c '[.features[] | [.name, .state]]' <<<"$ujson")" \
	"$(jq -c '[.features[] | [.name, .state]]' <<<"$json")"
assert_eq "user: set_tid as the daemon can use it" "$(detail_of "$ujson" clone3-set-tid)" \
	"a child got PID 200 in a new pid namespace"

# ------------------------------------------------------------ the local probe

run "${CTL[@]}" check --local --json
assert_eq "--local exits 0" "$RUN_RC" 0
ljson=$RUN_OUT
assert_eq "--local: probed here" "$(jq -r .probed_by <<<"$ljson")" local
assert_eq "--local: the reason" "$(jq -r .local_reason <<<"$ljson")" "--local"
assert_ne "--local: not by the daemon" "$(jq -r .probed_by_pid <<<"$ljson")" "$DAEMON_PID"
check_states local "$ljson"

# Without a daemon: the same probe, saying why.
run "$PR_CTL" --socket "$T/no-such.sock" check
assert_eq "no daemon: check exits 0" "$RUN_RC" 0
assert_match "no daemon: says it probed itself, and why" "$RUN_OUT" \
	"^Probed by: this process \(no daemon at $T/no-such.sock\)$"
run env PIDRESTORE_SOCKET="$T/no-such.sock" "$PR_CTL" check --json
assert_eq "no daemon (\$PIDRESTORE_SOCKET): the reason names the socket" \
	"$(jq -r .local_reason <<<"$RUN_OUT")" "no daemon at $T/no-such.sock"
check_states "no daemon" "$RUN_OUT"

# The user's own view: set_tid only in a user namespace of its own.
run as_user "$USER_CTL" --socket "$T/no-such.sock" check --json
assert_eq "user, no daemon: exits 0 or 1" "$((RUN_RC <= 1))" 1
ujson=$RUN_OUT
assert_eq "user, no daemon: lacks the capability" "$(detail_of "$ujson" CAP_CHECKPOINT_RESTORE)" \
	"cap_last_cap $(cat /proc/sys/kernel/cap_last_cap); the prober lacks it and CAP_SYS_ADMIN"
assert_eq "user, no daemon: cannot tell whether filters can be read" \
	"$(detail_of "$ujson" PTRACE_SECCOMP_GET_FILTER)" \
	"unknown: the prober may not read filters (EACCES: it needs CAP_SYS_ADMIN and no seccomp filter of its own)"
if as_user unshare -Urpf true 2>/dev/null; then
	assert_eq "user, no daemon: set_tid tried in a user+pid namespace of its own" \
		"$(detail_of "$ujson" clone3-set-tid)" "unprivileged: a child got PID 200 in a new user+pid namespace"
	check_states "user, no daemon" "$ujson" PTRACE_SECCOMP_GET_FILTER
else
	assert_match "user, no daemon, no user namespaces: set_tid is unknown" \
		"$(jq -r '.features[0].state' <<<"$ujson")" "^unknown$"
fi

# Without privilege and without user namespaces to try it in, nobody can
# tell whether set_tid works: "unknown", and exit 1.
DENY=$PR_HELPERS/seccomp-deny
if [ "$USER_HELPERS" != "$PR_HELPERS" ]; then
	cp "$DENY" "$USER_HELPERS/"
	chmod 755 "$USER_HELPERS/seccomp-deny"
	DENY=$USER_HELPERS/seccomp-deny
fi
run as_user "$DENY" unshare=EPERM "$USER_CTL" check --local --json
assert_eq "user, no user namespaces: exits 1" "$RUN_RC" 1
assert_eq "user, no user namespaces: set_tid is unknown, and not usable" \
	"$(jq -r '"\(.features[0].state) \(.features[0].available) \(.usable)"' <<<"$RUN_OUT")" "unknown false false"
assert_match "user, no user namespaces: says it needs privilege" "$(detail_of "$RUN_OUT" clone3-set-tid)" \
	"^unknown: needs privilege \(the prober lacks CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, and a user namespace to probe in: EPERM\)$"
run as_user "$DENY" unshare=EPERM "$USER_CTL" check --local --no-legend
assert_match "user, no user namespaces: the table says unknown" "$RUN_OUT" "^clone3-set-tid +unknown +unknown: "

# ------------------------------------------------------------ an older kernel

OLD_KERNEL="clone3=ENOSYS,ioctl=ENOTTY,setns=EINVAL,getsockopt=ENOPROTOOPT"
MISSING="clone3-set-tid CLONE_PIDFD CLONE_INTO_CGROUP setns-pidfd SO_PEERPIDFD PIDFD_GET_INFO PIDFD_GET_PID_NAMESPACE"

run "$PR_HELPERS/seccomp-deny" "$OLD_KERNEL" "$PR_CTL" check --local --json
assert_eq "old kernel, local: exits 1 (a required feature is missing)" "$RUN_RC" 1
ojson=$RUN_OUT
assert_eq "old kernel, local: not usable" "$(jq -r .usable <<<"$ojson")" false
for f in $MISSING; do
	assert_eq "old kernel, local: no $f" \
		"$(jq -r --arg n "$f" '.features[] | select(.name == $n) | .state' <<<"$ojson")" no
done
assert_eq "old kernel, local: clone3's absence named" "$(detail_of "$ojson" clone3-set-tid)" \
	"there is no clone3() (Linux 5.3)"
assert_eq "old kernel, local: cgroup2 and pid_max are still read" \
	"$(jq -r '[.features[] | select(.name == "cgroup2" or .name == "pid_max") | .state] | join(" ")' <<<"$ojson")" \
	"${WANT[cgroup2]} yes"

run "$PR_HELPERS/seccomp-deny" "$OLD_KERNEL" "$PR_CTL" check --local
assert_eq "old kernel, table: exits 1" "$RUN_RC" 1
for f in $MISSING; do
	assert_match "old kernel, table: says what the daemon does without $f" "$RUN_OUT" "^Without $f: [a-z]"
done
assert_match "old kernel, table: says the daemon cannot work" "$RUN_OUT" "^pidrestored cannot work here"
assert_eq "old kernel, table: no line wider than 80 columns but the rows" \
	"$(sed -n '/^Without /,$p' <<<"$RUN_OUT" | awk 'length > 80' | wc -l)" 0

# A daemon on that kernel answers for itself, whoever asks.
SOCK2=$T/sock2
"$PR_HELPERS/seccomp-deny" clone3=ENOSYS "$PR_DAEMON" --socket "$SOCK2" --holder "$PR_HOLDER" \
	>"$T/daemon2.log" 2>&1 </dev/null &
DAEMON2_PID=$!
test_cleanup() {
	kill -TERM "$DAEMON2_PID" 2>/dev/null
	wait "$DAEMON2_PID" 2>/dev/null
}
for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK2" ] && break
	sleep 0.1
done
run "$PR_CTL" --socket "$SOCK2" check --json
assert_eq "old-kernel daemon: exits 1" "$RUN_RC" 1
assert_eq "old-kernel daemon: answered itself" "$(jq -r .probed_by_pid <<<"$RUN_OUT")" "$DAEMON2_PID"
assert_eq "old-kernel daemon: no clone3-set-tid" "$(detail_of "$RUN_OUT" clone3-set-tid)" \
	"there is no clone3() (Linux 5.3)"
assert_eq "old-kernel daemon: the features that need no clone3 are there" \
	"$(jq -r '[.features[] | select(.state == "yes") | .name] | join(" ")' <<<"$RUN_OUT")" \
	"$(for f in setns-pidfd CAP_CHECKPOINT_RESTORE SO_PEERPIDFD PIDFD_GET_INFO PIDFD_GET_PID_NAMESPACE cgroup2 pid_max cgroup-v1; do
		[ "${WANT[$f]}" = yes ] && printf '%s ' "$f"
	done | sed 's/ $//')"
run "$PR_CTL" --socket "$SOCK2" check --local --json
assert_eq "old-kernel daemon, --local: this process has clone3" "$(jq -r '.features[0].state' <<<"$RUN_OUT")" \
	"${WANT[clone3-set-tid]}"

finish
