#!/usr/bin/env bash
# The real units under a real systemd: systemd (as PID 1 of a fresh set of
# namespaces, in a cgroup of its own) listens on pidrestored.socket, starts
# pidrestored.service on the first connection and sees it ready (Type=notify);
# the hardened service still creates children that are the requester's (its
# mount namespace, its cgroup, no seccomp, no_new_privs or capability drop),
# an unprivileged user gets a PID in its own namespace through it, and
# stopping the service leaves a spawned process running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools nsenter unshare findmnt setpriv timeout
[ -x /lib/systemd/systemd ] || skip "needs systemd (/lib/systemd/systemd)"
CG2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$CG2" ] || skip "needs a cgroup v2 hierarchy"
setup
user_programs

CG=$CG2$(sed -n 's/^0:://p' /proc/self/cgroup)/pidrestore-test.${T##*.}
CG=${CG//\/\//\/}
mkdir "$CG" "$CG/requester"
PID1=
BOOT=

stop_systemd() {
	local i
	[ -n "$PID1" ] || return 0
	kill -s SIGRTMIN+4 "$PID1" 2>/dev/null || true
	for ((i = 0; i < 200; i++)); do
		kill -0 "$BOOT" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PID1" 2>/dev/null || true
	wait "$BOOT" 2>/dev/null || true
	PID1=
}
test_cleanup() {
	if [ "$N_FAILED" -gt 0 ] && [ -n "$PID1" ]; then
		inside systemctl status --no-pager pidrestored.socket pidrestored.service
		inside journalctl --no-pager -n 40 -u pidrestored.service
	fi
	stop_systemd
	# Processes left in the test's cgroups (the spawned sleep), then the
	# cgroups themselves, innermost first.
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null || true
		sleep 0.2
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
}

# The units, running this build's daemon. Everything else is as installed.
# The programs are copied to the container's /run: the build tree may be
# under /tmp or /home, which the service's PrivateTmp=/ProtectHome= hide, as
# they would hide any program not installed in the system's directories.
BIN=/run/pidrestore-test
mkdir "$T/units" "$T/bin-daemon"
cp "$PR_DAEMON" "$PR_HOLDER" "$T/bin-daemon/"
cp "$top_builddir/systemd/pidrestored.socket" "$T/units/"
sed -e "s|^ExecStart=[^ ]*/pidrestored |ExecStart=$BIN/pidrestored |" \
	-e "s|--holder [^ ]*/pidrestore-holder|--holder $BIN/pidrestore-holder|" \
	"$top_builddir/systemd/pidrestored.service" >"$T/units/pidrestored.service"
cat >"$T/units/pidrestore-test.target" <<'UNIT'
[Unit]
Description=pidrestore test boot
Wants=pidrestored.socket
After=pidrestored.socket
UNIT
: >"$T/console"

# PID 1 of the new namespaces: a read-only view of the host's root with its
# own /run and cgroup2, then systemd.
cat >"$T/pid1" <<'PID1'
#!/bin/bash
set -euo pipefail
T=$1
R=$T/root
mkdir "$R"
mount --rbind / "$R"
mount -o remount,bind,ro "$R"
mount -o remount,bind,ro "$R/sys" 2>/dev/null || mount -o bind,ro /sys "$R/sys"
mount --bind "$T/console" "$R/dev/console"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
mkdir -p "$R/run/systemd/system"
cp "$T"/units/* "$R/run/systemd/system/"
mkdir -p "$R/run/pidrestore-test"
cp "$T"/bin-daemon/* "$R/run/pidrestore-test/"
cd "$R"
pivot_root . .
umount -l .
cd /
export container=pidrestore-test
exec /lib/systemd/systemd --system --unit=pidrestore-test.target
PID1
chmod 755 "$T/pid1"

(
	echo "$BASHPID" >"$CG/cgroup.procs"
	exec unshare --pid --fork --mount --uts --net --cgroup --mount-proc \
		--propagation private "$T/pid1" "$T"
) >"$T/boot.log" 2>&1 </dev/null &
BOOT=$!

# The unshare's child is systemd.
for ((i = 0; i < 100; i++)); do
	PID1=$(cat /proc/"$BOOT"/task/*/children 2>/dev/null | awk '{print $1; exit}')
	[ -n "$PID1" ] && [ "$(cat "/proc/$PID1/comm" 2>/dev/null)" = systemd ] && break
	PID1=
	sleep 0.1
done
[ -n "$PID1" ] || { cat "$T/boot.log"; skip "systemd did not start as PID 1 of a namespace here"; }

# Commands inside the container run in its namespaces and in a cgroup of its
# tree, as a process of the container would.
inside() {
	(
		echo "$BASHPID" >"$CG/requester/cgroup.procs"
		exec nsenter -t "$PID1" -m -p -u -n -C -- "$@"
	)
}
state=
for ((i = 0; i < 300; i++)); do
	state=$(inside systemctl is-system-running 2>/dev/null || true)
	case "$state" in running | degraded) break ;; esac
	sleep 0.1
done
case "$state" in
running | degraded) ;;
*)
	tail -n 30 "$T/console" || true
	skip "systemd did not finish booting in a namespace (state '$state')"
	;;
esac
echo "# systemd booted: $state"

run inside systemctl is-active pidrestored.socket
assert_eq "pidrestored.socket is active" "$RUN_OUT" active
run inside systemctl is-active pidrestored.service
assert_eq "pidrestored.service waits for its first connection" "$RUN_OUT" inactive
run inside stat -c '%a %F' /run/pidrestore/pidrestored.sock /run/pidrestore
assert_eq "socket mode 0666, directory 0755" "$RUN_OUT" $'666 socket\n755 directory'

run inside "$PR_CTL" status
assert_eq "the first connection starts the service" "$RUN_RC" 0
assert_match "the service says it was socket-activated" "$RUN_OUT" 'Activation: *socket' 
# Type=notify: active only once READY=1 reached systemd.
for ((i = 0; i < 50; i++)); do
	[ "$(inside systemctl show -p ActiveState --value pidrestored.service)" != active ] || break
	sleep 0.1
done
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "pidrestored.service is active: READY=1 reached systemd" "$RUN_OUT" active
run inside systemctl show -p SubState --value pidrestored.service
assert_eq "pidrestored.service is running" "$RUN_OUT" running
run inside systemctl show -p StatusText --value pidrestored.service
assert_ne "pidrestored.service reports a STATUS= text" "$RUN_OUT" ""
MAIN=$(inside systemctl show -p MainPID --value pidrestored.service)

run inside "$PR_CTL" spawn --pid 4242 -- sh -c 'echo $$'
assert_eq "root gets PID 4242 through the socket-activated service" "$RUN_OUT" 4242

# A long-running child, then what it inherited.
run inside "$PR_CTL" spawn --pid 4243 --no-wait -- sleep 300
assert_eq "spawn --no-wait of sleep as PID 4243" "$RUN_RC" 0
run inside cat /proc/4243/comm
assert_eq "sleep runs as PID 4243" "$RUN_OUT" sleep
req_mnt=$(inside readlink /proc/self/ns/mnt)
run inside readlink /proc/4243/ns/mnt
assert_eq "the child is in the requester's mount namespace" "$RUN_OUT" "$req_mnt"
svc_mnt=$(inside readlink "/proc/$MAIN/ns/mnt")
assert_ne "(the service has a mount namespace of its own)" "$svc_mnt" "$req_mnt"
req_conf=$(inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status)
run inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/4243/status
assert_eq "the child has the requester's ids, capabilities, no_new_privs and seccomp mode" \
	"$RUN_OUT" "$req_conf"
svc_conf=$(inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$MAIN/status")
echo "# the service itself runs with: $(printf '%s\n' "$svc_conf" | tr -s '\n\t' '  ')"
run inside grep '^0::' /proc/4243/cgroup
assert_eq "the child is in the requester's cgroup, not the service's" "$RUN_OUT" "0::/requester"

# An unprivileged user, in its own user and pid namespaces.
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	unshare -Urpf --mount-proc "$USER_CTL" spawn --pid 77 -- sh -c 'echo $$'
assert_eq "uid $TEST_UID gets PID 77 in its own namespace through the service" "$RUN_OUT" 77
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	"$USER_CTL" spawn --pid 4244 -- true
assert_match "uid $TEST_UID is refused a PID of the container's namespace" "$RUN_ERR" '\(EPERM\)'

# Stopping the service leaves the child running.
run inside systemctl stop pidrestored.service
assert_eq "systemctl stop pidrestored.service" "$RUN_RC" 0
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "the service is inactive" "$RUN_OUT" inactive
run inside systemctl show -p Result --value pidrestored.service
assert_eq "the service stopped cleanly (exit 0 on SIGTERM)" "$RUN_OUT" success
run inside cat /proc/4243/comm
assert_eq "the spawned sleep still runs after the service stopped" "$RUN_OUT" sleep
run inside systemctl is-active pidrestored.socket
assert_eq "the socket stays active for the next connection" "$RUN_OUT" active
run inside "$PR_CTL" status
assert_eq "a new connection starts the service again" "$RUN_RC" 0

finish
