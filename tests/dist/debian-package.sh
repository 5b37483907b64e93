#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages: built from a copy of this tree with dpkg-buildpackage
# (Debian's default build flags), lintian clean when lintian is installed,
# the symbols file matching the library's version script; then installed
# with dpkg into a real systemd booted as PID 1 in private namespaces (its
# root the host's behind a writable overlay), where the maintainer scripts
# enable and start the socket, a spawn goes through the socket-activated
# service as root and as an unprivileged user, a program builds against
# libpidrestore-dev, reinstalling (an upgrade) leaves the running daemon
# alone, and removal stops everything and leaves nothing running.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_root
require_tools dpkg-buildpackage dh dpkg-deb jq
# The packages build and run their own daemon: a valgrind run of this
# build's daemons has nothing to add here.
[ -z "${PR_VALGRIND:-}" ] || skip "builds packages of its own; nothing of this build runs under valgrind"
[ -d "$top_srcdir/debian" ] || skip "no debian/ in this tree (the release tarball leaves it out)"
setup
. "$TEST_DIR/../integration/systemd-lib.sh"
test_cleanup() {
	systemd_cleanup
}

# --- build, from a copy: the build writes into its source tree
mkdir -p "$T/pkg/src"
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z -co --exclude-standard | tar -c --null -T -) | tar -x -C "$T/pkg/src"
else
	tar -C "$top_srcdir" -c --exclude='./build*' --exclude=./autom4te.cache . | tar -x -C "$T/pkg/src"
fi
check "the copy has no configured tree in it" test ! -e "$T/pkg/src/config.status"
RUN_TIMEOUT=600 run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
	sh -c 'cd "$1" && dpkg-buildpackage -us -uc -b >../build.log 2>&1' sh "$T/pkg/src"
assert_eq "dpkg-buildpackage -us -uc -b" "$RUN_RC" 0
if [ "$RUN_RC" -ne 0 ]; then
	tail -n 40 "$T/pkg/build.log"
	finish
fi
DEBS=()
for p in pidrestored pidrestorectl libpidrestore0 libpidrestore-dev; do
	deb=$(find "$T/pkg" -maxdepth 1 -name "${p}_*.deb")
	check "the package $p is built" test -n "$deb"
	DEBS+=("$deb")
done
assert_match "the build used Debian's hardening flags" "$(cat "$T/pkg/build.log")" '-fstack-protector-strong'

contents() { # PACKAGE: its files, one a line
	dpkg-deb -c "$(find "$T/pkg" -maxdepth 1 -name "${1}_*.deb")" | awk '{print substr($6, 2)}' | grep -v '/$'
}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in /usr/sbin/pidrestored /usr/libexec/pidrestore/pidrestore-holder /lib/systemd/system/pidrestored.service \
	/usr/lib/sysusers.d/pidrestored.conf \
	/lib/systemd/system/pidrestored.socket /etc/pidrestore/pidrestored.conf /usr/share/man/man8/pidrestored.8.gz \
	/usr/share/man/man5/pidrestored.conf.5.gz /usr/share/doc/pidrestored/README.Debian; do
	assert_match "pidrestored has $f" "$(contents pidrestored)" "^$f\$"
done
assert_match "pidrestorectl has /usr/bin/pidrestorectl" "$(contents pidrestorectl)" '^/usr/bin/pidrestorectl$'
assert_match "pidrestorectl has its page" "$(contents pidrestorectl)" '^/usr/share/man/man1/pidrestorectl.1.gz$'
assert_match "pidrestorectl has the bash completion" "$(contents pidrestorectl)" \
	'^/usr/share/bash-completion/completions/pidrestorectl$'
assert_match "pidrestorectl has the zsh completion" "$(contents pidrestorectl)" '^/usr/share/zsh/vendor-completions/_pidrestorectl$'
assert_eq "pidrestorectl depends on libc only" "$(dpkg-deb -f "$(find "$T/pkg" -maxdepth 1 -name 'pidrestorectl_*.deb')" Depends)" \
	"$(dpkg-deb -f "$(find "$T/pkg" -maxdepth 1 -name 'pidrestorectl_*.deb')" Depends | grep -oE '^libc6 \([^)]*\)$')"
assert_match "libpidrestore0 has the library" "$(contents libpidrestore0)" "^/usr/lib/$multiarch/libpidrestore.so.0"
assert_no_match "libpidrestore0 has no .so link" "$(contents libpidrestore0)" 'libpidrestore.so$'
for f in /usr/include/pidrestore.h "/usr/lib/$multiarch/libpidrestore.so" "/usr/lib/$multiarch/pkgconfig/libpidrestore.pc" \
	/usr/share/man/man3/libpidrestore.3.gz /usr/share/man/man3/pidrestore_spawn.3.gz; do
	assert_match "libpidrestore-dev has $f" "$(contents libpidrestore-dev)" "^$f( |\$)"
done
assert_match "pidrestored depends on pidrestorectl (its ExecReload=)" \
	"$(dpkg-deb -f "${DEBS[0]}" Depends)" 'pidrestorectl \(= '

# The symbols file lists exactly the version script's functions, each in
# the versions the script gives it.
want=$(awk '/^LIBPIDRESTORE_[0-9.]* \{/ { node = $1 } match($0, /^[[:space:]]*pidrestore_[a-z_0-9]*;$/) { name = $1; sub(/;$/, "", name); print name "@" node }' \
	"$top_srcdir/client/libpidrestore.sym" | sort)
got=$(sed -n 's/^ \(pidrestore_[a-z_]*@LIBPIDRESTORE_[0-9.]*\) .*/\1/p' "$top_srcdir/debian/libpidrestore0.symbols" | sort)
assert_eq "debian/libpidrestore0.symbols matches client/libpidrestore.sym" "$got" "$want"

if command -v lintian >/dev/null 2>&1; then
	run lintian --fail-on error,warning "$(find "$T/pkg" -maxdepth 1 -name '*.changes')"
	assert_eq "lintian: no error, no warning" "$RUN_RC:$RUN_OUT" "0:"
else
	echo "# lintian is not installed: not run"
fi

# --- installed into a booted systemd
SYSTEMD_ROOT=overlay
cat >"$T/units/pidrestore-test.target" <<'UNIT'
[Unit]
Description=pidrestore package test boot
UNIT
systemd_boot
# A container image's policy-rc.d (exit 101) keeps maintainer scripts from
# starting and stopping services; a booted machine has none. (The overlay
# takes the removal.)
inside rm -f /usr/sbin/policy-rc.d
# The package makes the user the daemon's unprivileged half runs as.
inside sh -c 'if getent passwd pidrestore >/dev/null; then userdel pidrestore; fi'
run inside dpkg -i "${DEBS[@]}"
assert_eq "dpkg -i of the four packages" "$RUN_RC" 0
check "the installation made the system user pidrestore (sysusers.d)" inside getent passwd pidrestore
assert_eq "the socket is enabled" "$(inside systemctl is-enabled pidrestored.socket)" enabled
assert_eq "the socket is started" "$(inside systemctl is-active pidrestored.socket)" active
assert_eq "the service waits for the first connection" "$(inside systemctl is-active pidrestored.service || true)" inactive
check "/etc/pidrestore/pidrestored.conf is a conffile" \
	inside sh -c 'dpkg-query -W -f="\${Conffiles}\n" pidrestored | grep -q /etc/pidrestore/pidrestored.conf'

run inside /usr/bin/pidrestorectl spawn --pid 4242 -- sh -c 'echo $$'
assert_eq "root: a spawn through the socket-activated service gets PID 4242" "$RUN_OUT" 4242
assert_eq "the first connection started the service" "$(inside systemctl is-active pidrestored.service)" active
main=$(inside systemctl show -p MainPID --value pidrestored.service)
assert_eq "the service runs the installed daemon" "$(inside readlink "/proc/$main/exe")" /usr/sbin/pidrestored
spawner=$(inside /usr/bin/pidrestorectl status --json=short | jq -r .spawner_pid)
front=$(inside /usr/bin/pidrestorectl status --json=short | jq -r .front_pid)
assert_eq "its front runs as the pidrestore user" "$(inside stat -c %U "/proc/$front")" pidrestore
assert_eq "its spawner runs the installed holder" "$(inside readlink "/proc/$spawner/exe")" \
	/usr/libexec/pidrestore/pidrestore-holder

AS_CT_USER=(setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups --)
if inside "${AS_CT_USER[@]}" unshare -Urpf --mount-proc true >/dev/null 2>&1; then
	run inside "${AS_CT_USER[@]}" unshare -Urpf --mount-proc /usr/bin/pidrestorectl spawn --pid 100 -- sh -c 'echo $$'
	assert_eq "uid $TEST_UID: PID 100 in a pid namespace of its own" "$RUN_OUT" 100
else
	echo "# uid $TEST_UID cannot create user namespaces here: its own namespace is not tried"
fi
run inside "${AS_CT_USER[@]}" /usr/bin/pidrestorectl spawn --pid 4243 -- true
assert_match "uid $TEST_UID: refused a PID of the daemon's namespace (the shipped policy grants none)" \
	"$RUN_ERR" '\(EPERM\)'
run inside systemctl reload pidrestored.service
assert_eq "systemctl reload runs the installed pidrestorectl" "$RUN_RC" 0

# libpidrestore-dev: the example program builds against it and runs.
if command -v cc >/dev/null 2>&1; then
	cp "$top_srcdir/client/examples/restore-pid.c" "$T/restore-pid.c"
	run inside sh -c 'cc -o "$1/restore-pid" "$1/restore-pid.c" $(pkg-config --cflags --libs libpidrestore)' sh "$T"
	assert_eq "a program builds with pkg-config libpidrestore" "$RUN_RC" 0
	run inside "$T/restore-pid" 4244 /bin/sh -c 'echo $$'
	assert_match "and gets PID 4244 through libpidrestore0" "$RUN_OUT" '^4244$'
fi

# An upgrade (the same packages again) leaves the daemon running.
run inside dpkg -i "${DEBS[@]}"
assert_eq "dpkg -i again (an upgrade)" "$RUN_RC" 0
assert_eq "the upgrade did not restart the daemon" "$(inside systemctl show -p MainPID --value pidrestored.service)" "$main"

# Removal: everything stops, nothing is left running.
run inside dpkg --purge pidrestored pidrestorectl libpidrestore-dev libpidrestore0
assert_eq "dpkg --purge of the four packages" "$RUN_RC" 0
assert_eq "the service is stopped" "$(inside systemctl is-active pidrestored.service || true)" inactive
assert_eq "the socket is stopped" "$(inside systemctl is-active pidrestored.socket || true)" inactive
check "the socket file is gone" inside test ! -e /run/pidrestore/pidrestored.sock
left=$(inside sh -c 'for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null) || continue; case $c in pidrestore*) echo "${p#/proc/} $c";; esac; done')
assert_eq "no pidrestored or pidrestore-holder process is left" "$left" ""
check "the daemon is gone from the disk" inside test ! -e /usr/sbin/pidrestored
check "purge removed /etc/pidrestore" inside test ! -e /etc/pidrestore
assert_eq "no unit is left enabled" "$(inside sh -c 'ls /etc/systemd/system/sockets.target.wants/ 2>/dev/null | grep pidrestore' || true)" ""
finish
