#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The unit files built from systemd/*.in: the settings DESIGN §8 asks for; no
# hardening that the daemon's children would inherit (§6), but the hardening
# they do not; and a clean `systemd-analyze verify`. verify checks that
# ExecStart= exists, so it runs on a copy whose ExecStart= points at the
# daemon and holder of this build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_tools systemd-analyze
setup

SOCKET_UNIT=$top_builddir/systemd/pidrestored.socket
SERVICE_UNIT=$top_builddir/systemd/pidrestored.service
check "the socket unit was built" test -s "$SOCKET_UNIT"
check "the service unit was built" test -s "$SERVICE_UNIT"

key() { # FILE KEY: the values of KEY=, one per line
	sed -n "s/^$2=//p" "$1"
}

assert_eq "socket: ListenSequentialPacket=" "$(key "$SOCKET_UNIT" ListenSequentialPacket)" \
	/run/pidrestore/pidrestored.sock
assert_eq "socket: SocketMode=0666" "$(key "$SOCKET_UNIT" SocketMode)" 0666
assert_eq "socket: DirectoryMode=0755" "$(key "$SOCKET_UNIT" DirectoryMode)" 0755
assert_eq "socket: RemoveOnStop=yes" "$(key "$SOCKET_UNIT" RemoveOnStop)" yes
assert_eq "service: Type=notify" "$(key "$SERVICE_UNIT" Type)" notify
assert_eq "service: Requires= the socket" "$(key "$SERVICE_UNIT" Requires)" pidrestored.socket
assert_eq "service: After= the socket" "$(key "$SERVICE_UNIT" After)" pidrestored.socket
exec_start=$(key "$SERVICE_UNIT" ExecStart)
assert_match "service: ExecStart= runs pidrestored with the installed holder" "$exec_start" \
	'^/[^ ]*/pidrestored --holder /[^ ]*/pidrestore-holder$'
assert_no_match "service: ExecStart= does not bind a socket of its own" "$exec_start" '--socket'
assert_match "service: ExecReload= asks the daemon and waits for its answer" \
	"$(key "$SERVICE_UNIT" ExecReload)" '^/[^ ]*/pidrestorectl reload$'
check "no @substitution@ is left in the units" \
	sh -c '! grep -n "@[a-z_]*@" "$1" "$2"' sh "$SOCKET_UNIT" "$SERVICE_UNIT"

# Hardening a child would inherit: a seccomp filter, a bounding set, no_new_privs,
# a process attribute; or that the daemon cannot work with.
inherited='SystemCallFilter|SystemCallArchitectures|SystemCallLog|RestrictAddressFamilies|NoNewPrivileges|CapabilityBoundingSet|AmbientCapabilities|MemoryDenyWriteExecute|RestrictNamespaces|LockPersonality|RestrictRealtime|RestrictSUIDSGID|ProtectClock|ProtectKernelModules|ProtectKernelLogs|ProtectKernelTunables|ProtectHostname|PrivateDevices|PrivateUsers|DynamicUser|User|Group|ProcSubset|Nice|CPUSchedulingPolicy|IOSchedulingClass|CPUAffinity|NUMAPolicy|Personality|SecureBits|TimerSlackNSec|CoredumpFilter|OOMScoreAdjust|Limit[A-Z]+'
found=$(grep -En "^[[:space:]]*($inherited)=" "$SERVICE_UNIT" || true)
assert_eq "service: no hardening that the children would inherit" "$found" ""
check "service: a comment says why" grep -q 'inherit' "$SERVICE_UNIT"
# And the hardening they do not inherit (systemd-units.sh shows it at work).
for setting in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateMounts=yes \
	ProtectControlGroups=yes ProtectProc=invisible PrivateNetwork=yes PrivateIPC=yes \
	IPAddressDeny=any DevicePolicy=closed UMask=0077 KeyringMode=inherit KillMode=process; do
	assert_eq "service: $setting" "$(key "$SERVICE_UNIT" "${setting%%=*}")" "${setting#*=}"
done
assert_eq "service: /proc/sys and /sys read-only" "$(key "$SERVICE_UNIT" ReadOnlyPaths)" \
	"/proc/sys /sys -/proc/sysrq-trigger"
assert_match "service: kernel images, symbols and modules out of reach" \
	"$(key "$SERVICE_UNIT" InaccessiblePaths)" '-/proc/kcore .*-/proc/kallsyms .*-/usr/lib/modules'

# verify, on copies that run this build's daemon.
mkdir "$T/units"
cp "$SOCKET_UNIT" "$T/units/pidrestored.socket"
sed -e "s|^ExecStart=[^ ]*/pidrestored |ExecStart=$PR_DAEMON |" \
	-e "s|--holder [^ ]*/pidrestore-holder|--holder $PR_HOLDER|" \
	-e "s|^ExecReload=[^ ]*/pidrestorectl |ExecReload=$PR_CTL |" \
	"$SERVICE_UNIT" >"$T/units/pidrestored.service"
assert_eq "the copy runs this build's daemon" "$(key "$T/units/pidrestored.service" ExecStart)" \
	"$PR_DAEMON --holder $PR_HOLDER"
# verify runs man for each Documentation=: the pages of this build, as a
# manual tree.
mkdir -p "$T/man/man5" "$T/man/man8"
cp "$top_builddir/daemon/pidrestored.8" "$T/man/man8/"
cp "$top_builddir/daemon/pidrestored.conf.5" "$T/man/man5/"
export MANPATH=$T/man
for unit in "$SERVICE_UNIT" "$SOCKET_UNIT"; do
	check "$(basename "$unit") names its manual page" grep -q '^Documentation=man:pidrestored(8)' "$unit"
done
run systemd-analyze verify "$T/units/pidrestored.socket" "$T/units/pidrestored.service"
assert_eq "systemd-analyze verify passes" "$RUN_RC" 0
assert_eq "systemd-analyze verify says nothing about them" \
	"$(printf '%s\n%s\n' "$RUN_OUT" "$RUN_ERR" | grep -i pidrestore || true)" ""

# verify does look at the files: a broken copy fails.
mkdir "$T/broken"
cp "$T/units/pidrestored.socket" "$T/broken/"
sed "s|^ExecStart=.*|ExecStart=$T/no-such-daemon|" "$T/units/pidrestored.service" \
	>"$T/broken/pidrestored.service"
run systemd-analyze verify "$T/broken/pidrestored.socket" "$T/broken/pidrestored.service"
assert_ne "systemd-analyze verify fails on a unit whose program is missing" "$RUN_RC" 0
finish
