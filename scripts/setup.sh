#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets pidrestore up on this machine and shows it working: installs what is
# missing, builds, starts the daemon, and runs three requests (root takes a
# chosen host PID; an unprivileged user asking for the same is refused; the
# same user gets a chosen PID inside a pid namespace of its own).
#
# With systemd as PID 1 it installs (make install) and enables
# pidrestored.socket. Otherwise it runs the daemon from the build tree in the
# background, with its pid file and log in /run/pidrestore/.
#
# Environment: BUILDDIR (default: build/main in the source tree), PREFIX
# (default /usr/local), DEMO_UID (the unprivileged user, default 1000; no
# passwd entry needed).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${BUILDDIR:-$top/build/main}
prefix=${PREFIX:-/usr/local}
demo_uid=${DEMO_UID:-1000}
rundir=/run/pidrestore
sock=$rundir/pidrestored.sock

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: run it as root (or with sudo: sudo $0): it installs packages and starts a privileged daemon" >&2
	exit 1
fi

"$top/scripts/deps.sh"

echo "setup: building in $builddir"
(cd "$top" && autoreconf -fi)
mkdir -p "$builddir"
cd "$builddir"
"$top/configure" --prefix="$prefix" --sysconfdir=/etc >configure.out 2>&1 || { cat configure.out; exit 1; }
make -j"$(nproc 2>/dev/null || echo 2)" >make.out 2>&1 || { cat make.out; exit 1; }

# The daemon's unprivileged half runs as this system user (the packages
# make it with systemd-sysusers).
if ! getent passwd pidrestore >/dev/null 2>&1; then
	echo "setup: creating the system user pidrestore"
	useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin \
		--comment "pidrestored unprivileged half" pidrestore
fi

if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
	echo "setup: systemd is PID 1: installing and enabling pidrestored.socket"
	make install >install.out 2>&1 || { cat install.out; exit 1; }
	ldconfig || true
	systemctl daemon-reload
	systemctl enable --now pidrestored.socket
	systemctl restart pidrestored.service 2>/dev/null || true
	ctl=$prefix/bin/pidrestorectl
	how_to_stop="systemctl disable --now pidrestored.socket pidrestored.service"
else
	echo "setup: systemd is not PID 1: running the daemon from the build tree"
	mkdir -p "$rundir"
	if [ -s "$rundir/pidrestored.pid" ]; then
		old=$(cat "$rundir/pidrestored.pid")
		if [ "$(cat "/proc/$old/comm" 2>/dev/null)" = pidrestored ]; then
			echo "setup: stopping the daemon started before (pid $old)"
			kill -TERM "$old"
			for _ in $(seq 50); do [ -e "/proc/$old" ] || break; sleep 0.1; done
		fi
	fi
	setsid "$builddir/daemon/pidrestored" --socket "$sock" \
		--holder "$builddir/daemon/holder/pidrestore-holder" \
		>"$rundir/pidrestored.log" 2>&1 </dev/null &
	echo "$!" >"$rundir/pidrestored.pid"
	ctl=$builddir/client/pidrestorectl
	how_to_stop="kill \$(cat $rundir/pidrestored.pid)"
fi

for _ in $(seq 100); do
	"$ctl" --socket "$sock" status >/dev/null 2>&1 && break
	sleep 0.1
done
if ! "$ctl" --socket "$sock" status; then
	echo "setup: the daemon does not answer on $sock" >&2
	[ -f "$rundir/pidrestored.log" ] && tail -n 20 "$rundir/pidrestored.log" >&2
	exit 1
fi

# The unprivileged user must be able to run pidrestorectl: a build tree in a
# private home directory is out of its reach, so use a copy then.
user_ctl=$ctl
if ! setpriv --reuid="$demo_uid" --regid="$demo_uid" --clear-groups test -x "$ctl" 2>/dev/null; then
	mkdir -p "$rundir/bin"
	install -m 755 "$ctl" "$rundir/bin/pidrestorectl"
	user_ctl=$rundir/bin/pidrestorectl
fi

pid_max=$(cat /proc/sys/kernel/pid_max)
pid=
for _ in $(seq 200); do
	p=$((20000 + RANDOM % 10000))
	[ "$p" -lt "$pid_max" ] && [ ! -e "/proc/$p" ] && { pid=$p; break; }
done
[ -n "$pid" ] || { echo "setup: no free PID found for the demonstration" >&2; exit 1; }

cd /
demo() { # shows the command, then runs it
	echo
	echo "\$ $1"
	shift
	"$@" || echo "(exit status $?)"
}
# shellcheck disable=SC2016 # $$ is for the child's shell
demo "pidrestorectl spawn --pid $pid -- sh -c 'echo \"I am pid \$\$\"'    # as root" \
	"$ctl" --socket "$sock" spawn --pid "$pid" -- sh -c 'echo "I am pid $$"'
# shellcheck disable=SC2016
demo "setpriv --reuid=$demo_uid --regid=$demo_uid --clear-groups pidrestorectl spawn --pid $pid -- sh -c 'echo \"I am pid \$\$\"'" \
	setpriv --reuid="$demo_uid" --regid="$demo_uid" --clear-groups -- \
	"$user_ctl" --socket "$sock" spawn --pid "$pid" -- sh -c 'echo "I am pid $$"'
# shellcheck disable=SC2016
demo "setpriv --reuid=$demo_uid --regid=$demo_uid --clear-groups unshare -Urpf --mount-proc pidrestorectl spawn --pid 4242 -- sh -c 'echo \"I am pid \$\$ in my own pid namespace\"'" \
	setpriv --reuid="$demo_uid" --regid="$demo_uid" --clear-groups -- \
	unshare -Urpf --mount-proc "$user_ctl" --socket "$sock" spawn --pid 4242 -- \
	sh -c 'echo "I am pid $$ in my own pid namespace"'

echo
echo "setup: pidrestored is serving on $sock"
echo "setup: pidrestorectl is $ctl"
echo "setup: to stop it: $how_to_stop"
