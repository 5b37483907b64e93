#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pidrestorectl needs nothing but libc, so that one bind mount brings it
# into a container: its only DT_NEEDED is libc.so.6 (with sanitizers, their
# runtimes as well), and in a root that holds only it, libc and the dynamic
# loader, it runs and speaks to a daemon's socket placed there. The shared
# libpidrestore still links protobuf-c for the programs that use it.
set -euo pipefail
: "${top_builddir:=$PWD}"
ctl=$top_builddir/client/pidrestorectl
lib=$top_builddir/client/.libs/libpidrestore.so
command -v readelf >/dev/null 2>&1 || { echo "SKIP: needs readelf (binutils)"; exit 77; }
n_failed=0 n_checked=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}
ok() {
	n_checked=$((n_checked + 1))
	echo "ok: $*"
}

needed=$(readelf -d "$ctl" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort)
# A sanitizer build links the runtimes of ASan and UBSan besides.
others=$(grep -vxE 'libc\.so\.6|lib(asan|ubsan)\.so\.[0-9]+|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+\.so\.6' <<<"$needed" || true)
if grep -qE 'libasan' <<<"$needed"; then
	[ -z "$others" ] && ok "pidrestorectl (sanitizer build) needs libc and the sanitizer runtimes only" ||
		fail "pidrestorectl needs $(tr '\n' ' ' <<<"$others")"
else
	[ "$needed" = libc.so.6 ] && ok "pidrestorectl needs libc.so.6 only" ||
		fail "pidrestorectl needs: $(tr '\n' ' ' <<<"$needed") (want libc.so.6 only)"
fi
if [ -e "$lib" ]; then
	readelf -d "$lib" | grep -q 'NEEDED.*libprotobuf-c' && ok "the shared libpidrestore links libprotobuf-c" ||
		fail "the shared libpidrestore does not link libprotobuf-c"
fi

# In a root of its own: libc, the loader, pidrestorectl.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 && command -v ldd >/dev/null 2>&1 &&
	! grep -qE 'libasan' <<<"$needed"; then
	root=$(mktemp -d "${TMPDIR:-/tmp}/pidrestore-ctl-static.XXXXXX")
	trap 'rm -rf "$root"' EXIT
	for f in $(ldd "$ctl" | grep -oE '/[^ ]+'); do
		mkdir -p "$root$(dirname "$f")"
		cp -L "$f" "$root$f"
	done
	cp "$ctl" "$root/pidrestorectl"
	out=$(unshare -m chroot "$root" /pidrestorectl --version 2>&1) && [ "$out" = "pidrestorectl $(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")" ] &&
		ok "it runs in a root with only libc and the loader" || fail "in a root of its own: $out"
	out=$(unshare -m chroot "$root" /pidrestorectl --socket /nonexistent list 2>&1 || true)
	[[ $out == *"cannot connect to /nonexistent"* ]] && ok "and reaches for the socket it is given" ||
		fail "in a root of its own, list said: $out"
else
	echo "# not root, no unshare or a sanitizer build: the run in a root of its own is left out"
fi

echo "$n_checked checks, $n_failed failed"
[ "$n_checked" -gt 0 ] && [ "$n_failed" -eq 0 ]
