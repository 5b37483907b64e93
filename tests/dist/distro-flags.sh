#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The holder is freestanding (no libc, no start files, no dynamic loader), so
# a distribution's default build flags must not reach what makes it so:
# configured with dpkg-buildflags' CFLAGS, CPPFLAGS and LDFLAGS (all
# hardening on), and then with what other distributions add (CET, stack
# clash probes, LTO, _FORTIFY_SOURCE=3 through -Wp, -pie), the holder still
# links, is a static executable with no undefined symbol, no interpreter and
# no RELRO segment, and (as root) serves a spawn through this tree's daemon.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_tools dpkg-buildflags readelf nm
setup
[ ! -f "$top_srcdir/config.status" ] ||
	skip "the source tree is configured in place; this test configures it again elsewhere"

HOLDER=daemon/holder/pidrestore-holder
mkdir "$T/build"
cd "$T/build"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
run env CFLAGS="$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" "$top_srcdir/configure" --disable-dependency-tracking
assert_eq "configure takes dpkg-buildflags' flags" "$RUN_RC" 0
[ "$RUN_RC" -eq 0 ] || finish
assert_match "configure kept the stack protector in CFLAGS" "$(sed -n 's/^CFLAGS = //p' Makefile)" \
	'-fstack-protector-strong'

# holder_is_freestanding WHAT: the built holder, read from its ELF headers.
holder_is_freestanding() {
	local what=$1 headers
	headers=$(readelf -hlW "$HOLDER")
	assert_match "$what: an executable, not position independent" "$headers" 'Type: +EXEC '
	assert_no_match "$what: no interpreter (no dynamic loader)" "$headers" 'INTERP'
	assert_no_match "$what: no RELRO segment (nobody would make it read-only)" "$headers" 'GNU_RELRO'
	assert_no_match "$what: no dynamic section" "$headers" 'DYNAMIC'
	assert_eq "$what: no undefined symbol (no __stack_chk_fail, no __memcpy_chk)" \
		"$(nm -u "$HOLDER" | tr '\n' ' ')" ""
}

run make V=1 "$HOLDER"
assert_eq "the holder builds with dpkg-buildflags' flags" "$RUN_RC" 0
if [ "$RUN_RC" -ne 0 ]; then
	printf '%s\n' "$RUN_ERR" | tail -n 5 | sed 's/^/  /'
	finish
fi
holder_is_freestanding "dpkg-buildflags"
cp "$HOLDER" "$T/holder-dpkg"

rm -f daemon/holder/*.o "$HOLDER"
run make V=1 "$HOLDER" \
	CFLAGS="$(dpkg-buildflags --get CFLAGS) -fstack-clash-protection -fcf-protection=full -flto=auto -fPIE -Wp,-D_FORTIFY_SOURCE=3" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS) -pie -flto=auto"
assert_eq "the holder builds with CET, stack clash probes, LTO, -fPIE and -pie on top" "$RUN_RC" 0
[ "$RUN_RC" -ne 0 ] || holder_is_freestanding "with CET, LTO and -pie"

# The holder built with the distribution's flags at work: a spawn at a
# chosen PID, by this tree's daemon.
if [ "$(id -u)" -eq 0 ]; then
	cd "$T"
	PR_HOLDER=$T/holder-dpkg
	start_daemon
	pick_pid P
	run "$PR_CTL" --socket "$SOCK" spawn --pid "$P" -- sh -c 'echo $$'
	assert_eq "a spawn through the holder built with dpkg-buildflags gets PID $P" "$RUN_OUT" "$P"
else
	echo "# not root: the spawn through this holder is left out"
fi
finish
