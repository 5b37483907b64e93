#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The real units under a real systemd (PID 1 of a fresh set of namespaces, in
# a cgroup of its own): the first connection to pidrestored.socket starts
# pidrestored.service, which systemd sees ready with the daemon's STATUS=
# text; the service is confined as the unit says (its own mount, network and
# IPC namespaces, a read-only /proc/sys, IP and device deny-all on its
# cgroup, no private session keyring) and none of it reaches what it
# creates: a child spawned through it and one the requester forks itself
# are alike, for root and for an unprivileged user, plain and in namespaces
# of their own. `systemctl stop` leaves a spawned child running in the
# requester's cgroup, `systemctl restart` serves again, `systemctl reload`
# rereads the policy and fails, saying why in the status line, when the new
# one is refused, and what `systemd-analyze security` says of the loaded
# unit is what it says of the file (unit-security.sh holds that to README.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
setup
. "$TEST_DIR/systemd-lib.sh"
user_programs
test_cleanup() {
	systemd_cleanup
}

# A grant, so that an unprivileged user outside namespaces of its own gets
# PIDs of the container's pid namespace too.
cat >"$SYSTEMD_FILES/policy.conf" <<EOF
[Grant]
User=$TEST_UID
PIDs=5000-5099
Namespace=host
EOF
systemd_units --config "$SYSTEMD_BIN/policy.conf"
systemd_boot

run inside systemctl is-active pidrestored.socket
assert_eq "pidrestored.socket is active" "$RUN_OUT" active
run inside systemctl is-active pidrestored.service
assert_eq "pidrestored.service waits for its first connection" "$RUN_OUT" inactive
run inside stat -c '%a %F' /run/pidrestore/pidrestored.sock /run/pidrestore
assert_eq "socket mode 0666, directory 0755" "$RUN_OUT" $'666 socket\n755 directory'

# --- activation, readiness and status

run inside "$PR_CTL" status
assert_eq "the first connection starts the service" "$RUN_RC" 0
assert_match "the service says it was socket-activated" "$RUN_OUT" 'Activation: *socket'
# Type=notify: active only once READY=1 reached systemd.
wait_active() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(inside systemctl show -p ActiveState --value pidrestored.service)" != active ] || break
		sleep 0.1
	done
}
wait_active
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "pidrestored.service is active: READY=1 reached systemd" "$RUN_OUT" active
run inside systemctl show -p SubState --value pidrestored.service
assert_eq "pidrestored.service is running" "$RUN_OUT" running
SERVING="Serving on /run/pidrestore/pidrestored.sock"
run inside systemctl show -p StatusText --value pidrestored.service
assert_eq "systemd has the daemon's STATUS= text" "$RUN_OUT" "$SERVING"
run inside systemctl status --no-pager --lines=0 pidrestored.service
assert_eq "systemctl status exits 0 for a running service" "$RUN_RC" 0
assert_match "systemctl status: active (running)" "$RUN_OUT" 'Active: active \(running\)'
assert_match "systemctl status: the daemon's status line" "$RUN_OUT" "Status: \"$SERVING\""
assert_match "systemctl status: started by the socket" "$RUN_OUT" 'TriggeredBy: .*pidrestored\.socket'
MAIN=$(inside systemctl show -p MainPID --value pidrestored.service)

run inside "$PR_CTL" spawn --pid 4242 -- sh -c 'echo $$'
assert_eq "root gets PID 4242 through the socket-activated service" "$RUN_OUT" 4242

# --- the service's confinement is in force...

ns_of() { # PID NS
	inside readlink "/proc/$1/ns/$2"
}
for ns in mnt net ipc; do
	assert_ne "the service has a $ns namespace of its own" "$(ns_of "$MAIN" "$ns")" "$(ns_of self "$ns")"
done
run inside grep '^0::' "/proc/$MAIN/cgroup"
assert_eq "the service runs in its own cgroup" "$RUN_OUT" "0::/system.slice/pidrestored.service"
# The last mount at a path is the one on top, the one the service sees.
run inside awk '$5 == "/proc/sys" || $5 == "/sys/fs/cgroup" { top[$5] = $6 }
	END { for (m in top) print m, (top[m] ~ /(^|,)ro(,|$)/ ? "ro" : "rw") }' "/proc/$MAIN/mountinfo"
assert_eq "the service sees /proc/sys and the cgroup tree read-only" \
	"$(sort <<<"$RUN_OUT")" $'/proc/sys ro\n/sys/fs/cgroup ro'
run inside stat -c %a "/proc/$MAIN/root/home"
assert_eq "the service's /home is an inaccessible directory (mode 0)" "$RUN_OUT" 0
run inside systemctl show -p DevicePolicy -p KeyringMode -p ProtectProc pidrestored.service
assert_eq "closed device policy, no private keyring, /proc hidepid" "$RUN_OUT" \
	$'DevicePolicy=closed\nKeyringMode=inherit\nProtectProc=invisible'
run inside systemctl show -p IPAddressDeny --value pidrestored.service
assert_eq "IP deny-all on the service's cgroup" "$(tr ' ' '\n' <<<"$RUN_OUT" | sort | paste -sd ' ')" \
	"0.0.0.0/0 ::/0"
# ...and adds nothing a child would inherit to the daemon itself.
req_conf=$(inside grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status)
run inside grep -E '^(CapBnd|NoNewPrivs|Seccomp):' "/proc/$MAIN/status"
assert_eq "the service has no seccomp filter, no_new_privs or smaller bounding set" \
	"$RUN_OUT" "$req_conf"

# --- ...and none of it reaches a child. probe: what a process is, one line
# per property, read about the shell itself ($$), the spawned or forked process.
cp "$PR_HELPERS/session-keyring" "$T/"
cat >"$T/probe" <<'PROBE'
#!/bin/sh
dir=$(dirname "$0")
grep -E '^(Umask|Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Cpus_allowed_list):' /proc/$$/status |
	tr -s ' \t' ' '
# Fields 19, 40 and 41 of stat: nice, rt_priority, policy.
stat=$(cat /proc/$$/stat)
set -- ${stat##*) }
echo "sched: nice ${17} rt_priority ${38} policy ${39}"
echo "ioprio: $(ionice -p $$)"
echo "personality: $(cat /proc/$$/personality)"
ls -l /proc/$$/ns/ | sed -n 's/.* \([a-z_]*\) -> \(.*\)/ns \1 \2/p'
echo "cgroup $(grep '^0::' /proc/$$/cgroup)"
echo "oom_score_adj $(cat /proc/$$/oom_score_adj)"
echo "session keyring $("$dir/session-keyring" 2>&1)"
# An IP filter on its cgroup would turn "refused" into "not permitted".
echo "tcp to 127.0.0.1:1: $(bash -c 'exec 3<>/dev/tcp/127.0.0.1/1' 2>&1 | sed -n 's/^bash: connect: //p')"
# So would a device filter for opening a device outside DevicePolicy=closed.
echo "open /dev/kmsg: $({ (: </dev/kmsg) 2>&1 && echo opened; } | sed 's/.*: //')"
PROBE
chmod 755 "$T/probe" "$T/session-keyring"

# compare, run as the requester: the probe of a child it forks, a separator,
# then the probe of a child spawned through the service.
cat >"$T/compare" <<'CMP'
#!/bin/sh
"$3/probe"
echo "----"
exec "$1" spawn --pid "$2" -- "$3/probe"
CMP
chmod 755 "$T/compare"

# compare_in_container DESC PID CMD...: runs compare under CMD in the
# container; the halves must be equal, line for line.
compare_in_container() {
	local desc=$1 pid=$2 forked spawned
	shift 2
	run inside "$@" "$T/compare" "$USER_CTL" "$pid" "$T"
	assert_eq "$desc: spawn exits 0" "$RUN_RC" 0
	forked=$(sed '/^----$/,$d' <<<"$RUN_OUT")
	spawned=$(sed '1,/^----$/d' <<<"$RUN_OUT")
	assert_eq "$desc: the probe read 30 properties" "$(grep -c . <<<"$forked")" 30
	assert_eq "$desc: the spawned child is the forked one (diff forked spawned)" \
		"$(diff <(echo "$forked") <(echo "$spawned") | grep '^[<>]' || true)" ""
}

run inside bash -c 'exec 3<>/dev/tcp/127.0.0.1/1'
assert_match "(the container's loopback is up: a refused connection, not a filtered one)" \
	"$RUN_ERR" 'Connection refused'

compare_in_container "root" 4250 env
compare_in_container "root, own namespaces, groups, nnp, reduced bounding set" 4251 \
	unshare --mount --net --uts --ipc --cgroup --propagation private \
	setpriv --groups 4,24,4242 --no-new-privs --bounding-set -all,+chown,+kill,+setuid,+setgid,+sys_admin,+dac_override --
compare_in_container "uid $TEST_UID, granted PIDs of the container" 5000 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --groups="$TEST_GID,4242" --
compare_in_container "uid $TEST_UID in its own user+pid namespace" 300 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	unshare -Urpf --mount-proc
# CAP_CHECKPOINT_RESTORE stays: without it, no chosen PID (DESIGN §5 rule 2).
compare_in_container "uid $TEST_UID in its own namespaces, nnp, reduced bounding set" 301 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	unshare -Urpf --mount-proc --net --uts --ipc \
	setpriv --no-new-privs --bounding-set -all,+chown,+kill,+checkpoint_restore --
compare_in_container "uid $TEST_UID, nice 7, CPU 0 only, idle I/O class, no address randomization" 302 \
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	nice -n 7 taskset -c 0 ionice -c 3 setarch "$(uname -m)" -R \
	unshare -Urpf --mount-proc

run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	"$USER_CTL" spawn --pid 4244 -- true
assert_match "uid $TEST_UID is refused a PID of the container's namespace outside its grant" \
	"$RUN_ERR" '\(EPERM\)'

# --- what systemd-analyze security says of the loaded unit is what it says
# of the file, which unit-security.sh checks against README.md.
exposure() { # the "Overall exposure level" line, in the C locale's ASCII
	sed -n 's/^-> Overall exposure level for \([^:]*\): \([0-9.]* [A-Z]*\).*/\1: \2/p'
}
if env LC_ALL=C systemd-analyze security --offline=yes --no-pager "$T/units/pidrestored.service" \
	>"$T/offline" 2>&1; then
	run inside env LC_ALL=C systemd-analyze security --no-pager pidrestored.service
	assert_eq "systemd-analyze security under systemd exits 0" "$RUN_RC" 0
	assert_match "it rates the loaded service" "$(exposure <<<"$RUN_OUT")" '^pidrestored\.service: [0-9]'
	assert_eq "systemd rates the loaded service as the file is rated" \
		"$(exposure <<<"$RUN_OUT")" "$(exposure <"$T/offline")"
	echo "# $(exposure <"$T/offline")"
else
	echo "# systemd-analyze cannot rate a unit file offline: $(head -n 1 "$T/offline")"
fi

# --- stop, restart

run inside "$PR_CTL" spawn --pid 4243 --no-wait -- sleep 300
assert_eq "spawn --no-wait of sleep as PID 4243" "$RUN_RC" 0
run inside systemctl stop pidrestored.service
assert_eq "systemctl stop pidrestored.service" "$RUN_RC" 0
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "the service is inactive" "$RUN_OUT" inactive
run inside systemctl show -p Result --value pidrestored.service
assert_eq "the service stopped cleanly (exit 0 on SIGTERM)" "$RUN_OUT" success
run inside cat /proc/4243/comm
assert_eq "the spawned sleep still runs after the service stopped" "$RUN_OUT" sleep
run inside grep '^0::' /proc/4243/cgroup
assert_eq "it is in the requester's cgroup" "$RUN_OUT" "0::/requester"
run inside systemctl is-active pidrestored.socket
assert_eq "the socket stays active for the next connection" "$RUN_OUT" active
run inside "$PR_CTL" status
assert_eq "a new connection starts the service again" "$RUN_RC" 0
wait_active

OLD_MAIN=$(inside systemctl show -p MainPID --value pidrestored.service)
run inside systemctl restart pidrestored.service
assert_eq "systemctl restart pidrestored.service" "$RUN_RC" 0
wait_active
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "the restarted service is active" "$RUN_OUT" active
MAIN=$(inside systemctl show -p MainPID --value pidrestored.service)
assert_ne "a new daemon runs" "$MAIN" "$OLD_MAIN"
run inside systemctl show -p StatusText --value pidrestored.service
assert_eq "the new daemon reported its status" "$RUN_OUT" "$SERVING"
run inside "$PR_CTL" spawn --pid 4245 -- sh -c 'echo $$'
assert_eq "the restarted service serves: PID 4245" "$RUN_OUT" 4245
run inside cat /proc/4243/comm
assert_eq "the sleep spawned before the restarts still runs" "$RUN_OUT" sleep

# systemctl reload: the daemon rereads its policy file and answers.
inside sh -c "printf '[Grant]\nUser=%s\nPIDs=5100\nNamespace=host\n' $TEST_UID >>$SYSTEMD_BIN/policy.conf"
run inside systemctl reload pidrestored.service
assert_eq "systemctl reload pidrestored.service" "$RUN_RC" 0
for ((i = 0; i < 50; i++)); do
	[ "$(inside systemctl show -p StatusText --value pidrestored.service)" = "$SERVING" ] || break
	sleep 0.1
done
run inside systemctl show -p StatusText --value pidrestored.service
assert_eq "the daemon reread its policy: a second grant" "$RUN_OUT" "$SERVING; policy reloaded: 2 grants"
assert_eq "the same daemon still runs" "$(inside systemctl show -p MainPID --value pidrestored.service)" "$MAIN"

# A policy with an error: refused, the old one stays, and systemctl says so.
inside cp "$SYSTEMD_BIN/policy.conf" "$SYSTEMD_BIN/policy.good"
inside sh -c "printf '[Grant]\nUser=%s\nPIDs=5300-5200\n' $TEST_UID >>$SYSTEMD_BIN/policy.conf"
run inside systemctl reload pidrestored.service
assert_ne "systemctl reload fails when the new policy is refused" "$RUN_RC" 0
REFUSED="$SERVING with the old policy; reload refused: $SYSTEMD_BIN/policy.conf:11: PIDs=: range 5300-5200 starts after it ends; write it as 5200-5300"
for ((i = 0; i < 50; i++)); do
	[ "$(inside systemctl show -p StatusText --value pidrestored.service)" != "$REFUSED" ] || break
	sleep 0.1
done
run inside systemctl show -p StatusText --value pidrestored.service
assert_eq "the status line says the reload was refused, and why" "$RUN_OUT" "$REFUSED"
run inside systemctl status --no-pager pidrestored.service
assert_match "systemctl status shows the refusal" "$RUN_OUT" "Status: \"$SERVING with the old policy; reload refused: .*policy.conf:11"
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "the service stays active" "$RUN_OUT" active
assert_eq "the same daemon still runs after the refused reload" \
	"$(inside systemctl show -p MainPID --value pidrestored.service)" "$MAIN"
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- "$USER_CTL" spawn --pid 5100 -- sh -c 'echo $$'
assert_eq "the old policy stays in force: uid $TEST_UID still gets PID 5100" "$RUN_OUT" 5100
inside cp "$SYSTEMD_BIN/policy.good" "$SYSTEMD_BIN/policy.conf"
run inside systemctl reload pidrestored.service
assert_eq "systemctl reload of the fixed policy succeeds" "$RUN_RC" 0
for ((i = 0; i < 50; i++)); do
	[ "$(inside systemctl show -p StatusText --value pidrestored.service)" = "$REFUSED" ] || break
	sleep 0.1
done
assert_eq "the status line says the policy was reloaded" \
	"$(inside systemctl show -p StatusText --value pidrestored.service)" "$SERVING; policy reloaded: 2 grants"

# Stopping the socket stops the service (Requires=) and removes the file.
run inside systemctl stop pidrestored.socket
assert_eq "systemctl stop pidrestored.socket" "$RUN_RC" 0
run inside systemctl is-active pidrestored.service
assert_eq "the service stopped with its socket" "$RUN_OUT" inactive
run inside test -e /run/pidrestore/pidrestored.sock
assert_ne "the socket file is gone (RemoveOnStop=yes)" "$RUN_RC" 0

finish
