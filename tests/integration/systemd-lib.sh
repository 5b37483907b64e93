# SPDX-License-Identifier: LGPL-2.1-or-later
# Boots the machine's systemd as PID 1 of a fresh set of namespaces, in a
# cgroup of its own, with this build's pidrestored.socket and
# pidrestored.service installed in it. Sourced after lib.sh, once setup ran.
#
#   systemd_units [DAEMON-ARGS...]  writes the units (the service gets the
#                                   extra arguments on its command line)
#   SYSTEMD_FILES                   a directory whose files land in the
#                                   container's /run/pidrestore-test
#   SYSTEMD_ROOT=overlay            (before systemd_boot) the container's root
#                                   is the host's behind a writable overlay,
#                                   with $T mounted at the same path, so that
#                                   packages can be installed in it; the
#                                   changes go with $T. Default: read-only.
#   systemd_boot                    boots it; skips the test if it cannot
#   inside CMD...                   runs CMD in the container, from a cgroup of
#                                   its tree, as a process of it would
#   systemd_cleanup                 from the test's test_cleanup
#
# The programs are copied to the container's /run: the build tree may be
# under /tmp or /home, which the service's PrivateTmp=/ProtectHome= hide, as
# they would hide any program not installed in the system's directories.

require_tools nsenter unshare findmnt setpriv timeout
[ -x /lib/systemd/systemd ] || skip "needs systemd (/lib/systemd/systemd)"
SYSTEMD_CG2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
[ -n "$SYSTEMD_CG2" ] || skip "needs a cgroup v2 hierarchy"

CG=$SYSTEMD_CG2$(sed -n 's/^0:://p' /proc/self/cgroup)/pidrestore-test.${T##*.}
CG=${CG//\/\//\/}
mkdir "$CG" "$CG/requester"
PID1=
BOOT=
SYSTEMD_ROOT=${SYSTEMD_ROOT:-readonly}
SYSTEMD_BIN=/run/pidrestore-test
SYSTEMD_FILES=$T/bin-daemon
mkdir "$T/units" "$SYSTEMD_FILES"

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

systemd_cleanup() {
	if [ "$N_FAILED" -gt 0 ] && [ -n "$PID1" ]; then
		inside systemctl status --no-pager pidrestored.socket pidrestored.service
		inside journalctl --no-pager -n 40 -u pidrestored.service
	fi
	stop_systemd
	# Processes left in the test's cgroups (a spawned sleep, say), then the
	# cgroups themselves, innermost first.
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null || true
		sleep 0.2
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
	fi
}

systemd_units() {
	local extra="$*"
	cp "$PR_DAEMON" "$PR_HOLDER" "$PR_CTL" "$SYSTEMD_FILES/"
	cp "$top_builddir/systemd/pidrestored.socket" "$T/units/"
	sed -e "s|^ExecStart=[^ ]*/pidrestored |ExecStart=$SYSTEMD_BIN/pidrestored |" \
		-e "s|^ExecReload=[^ ]*/pidrestorectl |ExecReload=$SYSTEMD_BIN/pidrestorectl |" \
		-e "s|--holder [^ ]*/pidrestore-holder|--holder $SYSTEMD_BIN/pidrestore-holder${extra:+ $extra}|" \
		"$top_builddir/systemd/pidrestored.service" >"$T/units/pidrestored.service"
	cat >"$T/units/pidrestore-test.target" <<'UNIT'
[Unit]
Description=pidrestore test boot
Wants=pidrestored.socket
After=pidrestored.socket
UNIT
}

# PID 1 of the new namespaces: a read-only view of the host's root with its
# own /run and cgroup2, then systemd.
systemd_boot() {
	local i state
	: >"$T/console"
	cat >"$T/pid1" <<'PID1'
#!/bin/bash
set -euo pipefail
T=$1
R=$T/root
mkdir "$R"
if [ "$2" = overlay ]; then
	# The upper layer on a file system of its own: overlayfs refuses one
	# that lies inside its lower layer's.
	mkdir "$T/layers"
	mount -t tmpfs -o mode=755 tmpfs "$T/layers"
	mkdir "$T/layers/upper" "$T/layers/work"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$T/layers/upper,workdir=$T/layers/work" "$R"
	mount -t proc proc "$R/proc"
	mount --rbind /dev "$R/dev"
	mount --rbind /sys "$R/sys"
	mount -o remount,bind,ro "$R/sys"
	mkdir -p "$R$T"
	mount --bind "$T" "$R$T"
else
	mount --rbind / "$R"
	mount -o remount,bind,ro "$R"
	mount -o remount,bind,ro "$R/sys" 2>/dev/null || mount -o bind,ro /sys "$R/sys"
fi
mount --bind "$T/console" "$R/dev/console"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
mkdir -p "$R/run/systemd/system"
cp "$T"/units/* "$R/run/systemd/system/"
mkdir -p "$R/run/pidrestore-test"
cp -R "$T"/bin-daemon/. "$R/run/pidrestore-test/"
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
			--propagation private "$T/pid1" "$T" "$SYSTEMD_ROOT"
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
}

inside() {
	(
		echo "$BASHPID" >"$CG/requester/cgroup.procs"
		exec nsenter -t "$PID1" -m -p -u -n -C -- "$@"
	)
}
