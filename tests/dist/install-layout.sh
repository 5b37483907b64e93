#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make install puts every file where configure was told, and nowhere else:
#  - this build tree, installed with DESTDIR: exactly the expected files, each
#    in its configured directory; make uninstall takes them all back;
#  - a tree configured with --prefix=DIR: everything under DIR, the units in
#    DIR/lib/systemd/system;
#  - --with-systemdsystemunitdir=DIR: the units in DIR;
#  - --without-systemdsystemunitdir: no unit installed, and no directory
#    named "no";
#  - the installed libpidrestore.pc requires nothing of a user of the shared
#    library (a static build names libprotobuf-c in Requires.private).
# The configured trees install only their data files (make install-data),
# which needs no compiler: units, the .pc, manuals, header, example policy.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
require_tools pkg-config
setup

# installed_files DESTDIR: the files (and symlinks) under it, one a line,
# without the DESTDIR, sorted.
installed_files() {
	(cd "$1" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort)
}

# --- this build tree, all of it
cat >"$T/dirs.mk" <<'MK'
print-dirs:
	@echo "bindir=$(bindir)"
	@echo "sbindir=$(sbindir)"
	@echo "libdir=$(libdir)"
	@echo "pkglibexecdir=$(pkglibexecdir)"
	@echo "includedir=$(includedir)"
	@echo "mandir=$(mandir)"
	@echo "sysconfdir=$(sysconfdir)"
	@echo "systemdsystemunitdir=$(systemdsystemunitdir)"
	@echo "sysusersdir=$(sysusersdir)"
	@echo "bashcompletiondir=$(bashcompletiondir)"
	@echo "zshcompletiondir=$(zshcompletiondir)"
MK
dirs=$(make -s --no-print-directory -C "$top_builddir" -f Makefile -f "$T/dirs.mk" print-dirs)
eval "$dirs"
want=$(
	{
		echo "$bindir/pidrestorectl"
		echo "$sbindir/pidrestored"
		echo "$pkglibexecdir/pidrestore-holder"
		echo "$libdir/libpidrestore.la"
		echo "$libdir/libpidrestore.so"
		echo "$libdir/libpidrestore.so.0"
		echo "$libdir/libpidrestore.so.0.2.0"
		echo "$libdir/pkgconfig/libpidrestore.pc"
		echo "$includedir/pidrestore.h"
		echo "$includedir/pidrestore-blob.h"
		echo "$mandir/man1/pidrestorectl.1"
		echo "$mandir/man3/libpidrestore.3"
		sed -n "s|^[[:space:]]*\(pidrestore_[a-z_]*\);\$|$mandir/man3/\1.3|p" "$top_srcdir/client/libpidrestore.sym"
		echo "$mandir/man5/pidrestored.conf.5"
		echo "$mandir/man8/pidrestored.8"
		echo "$sysconfdir/pidrestore/pidrestored.conf"
		[ -z "$bashcompletiondir" ] || echo "$bashcompletiondir/pidrestorectl"
		[ -z "$zshcompletiondir" ] || echo "$zshcompletiondir/_pidrestorectl"
		if [ -n "$systemdsystemunitdir" ]; then
			echo "$systemdsystemunitdir/pidrestored.service"
			echo "$systemdsystemunitdir/pidrestored.socket"
			echo "$sysusersdir/pidrestored.conf"
		fi
	} | LC_ALL=C sort -u
)
run make -C "$top_builddir" install DESTDIR="$T/full"
assert_eq "make install DESTDIR= of this build tree" "$RUN_RC" 0
got=$(installed_files "$T/full")
assert_eq "make install installs exactly these files" "$got" "$want"
check "make install creates the drop-in directory" test -d "$T/full$sysconfdir/pidrestore/pidrestored.conf.d"
run make -C "$top_builddir" uninstall DESTDIR="$T/full"
assert_eq "make uninstall DESTDIR=" "$RUN_RC" 0
assert_eq "make uninstall leaves no file behind" "$(installed_files "$T/full")" ""

# --- trees configured here, their data files
# configure_tree DIR ARGS...: configures a tree in $T/DIR.
configure_tree() {
	local dir=$T/$1
	shift
	mkdir "$dir"
	(cd "$dir" && "$top_srcdir/configure" --cache-file="$T/config.cache" "$@") >"$dir.configure.log" 2>&1 || {
		tail -n 20 "$dir.configure.log"
		return 1
	}
}
[ ! -f "$top_srcdir/config.status" ] ||
	skip "the source tree is configured in place; this test configures it again elsewhere"

prefix=$T/home/x
check "configure --prefix=$prefix" configure_tree prefixed --prefix="$prefix"
run make -C "$T/prefixed" install-data DESTDIR="$T/d1"
assert_eq "make install-data DESTDIR= (--prefix)" "$RUN_RC" 0
got=$(installed_files "$T/d1")
assert_eq "--prefix: every file is under the prefix" "$(grep -v "^$prefix/" <<<"$got" || true)" ""
assert_eq "--prefix: the units are under PREFIX/lib/systemd/system" \
	"$(grep '\.s[eo][rc][vk]' <<<"$got" | tr '\n' ' ')" \
	"$prefix/lib/systemd/system/pidrestored.service $prefix/lib/systemd/system/pidrestored.socket "
assert_match "--prefix: the policy is under PREFIX/etc" "$got" "^$prefix/etc/pidrestore/pidrestored.conf\$"
assert_match "--prefix: the bash completion is under PREFIX/share (or bash-completion.pc's, for its prefix)" "$got" \
	"^$prefix/share/bash-completion/completions/pidrestorectl\$"
assert_match "--prefix: the zsh completion is under PREFIX/share/zsh/site-functions" "$got" \
	"^$prefix/share/zsh/site-functions/_pidrestorectl\$"
assert_match "--prefix: the sysusers.d entry for front's user is under PREFIX/lib/sysusers.d" "$got" \
	"^$prefix/lib/sysusers.d/pidrestored.conf\$"

pc=$T/d1$prefix/lib/pkgconfig
check "the .pc is installed" test -f "$pc/libpidrestore.pc"
run env PKG_CONFIG_PATH="$pc" pkg-config --print-requires-private libpidrestore
assert_eq "pkg-config --print-requires-private libpidrestore: nothing" "$RUN_RC:$RUN_OUT" "0:"
run env PKG_CONFIG_PATH="$pc" pkg-config --print-requires libpidrestore
assert_eq "pkg-config --print-requires libpidrestore: nothing" "$RUN_RC:$RUN_OUT" "0:"
run env PKG_CONFIG_PATH="$pc" pkg-config --libs libpidrestore
assert_eq "pkg-config --libs libpidrestore" "${RUN_OUT% }" "-L$prefix/lib -lpidrestore"

check "configure --without-systemdsystemunitdir" configure_tree nounits --prefix="$prefix" --without-systemdsystemunitdir
# With a trailing slash, a unit directory that is not absolute lands inside.
run make -C "$T/nounits" install-data DESTDIR="$T/d2/"
assert_eq "make install-data DESTDIR= (--without-systemdsystemunitdir)" "$RUN_RC" 0
got=$(installed_files "$T/d2")
assert_eq "--without-systemdsystemunitdir: no unit installed" "$(grep -E '\.(service|socket)$' <<<"$got" || true)" ""
assert_eq "--without-systemdsystemunitdir: no file or directory named 'no'" \
	"$(find "$T/d2" "$T/nounits" -name no)" ""
assert_eq "--without-systemdsystemunitdir: everything else is under the prefix" \
	"$(grep -v "^$prefix/" <<<"$got" || true)" ""

check "configure --with-systemdsystemunitdir=DIR" configure_tree unitdir --prefix="$prefix" \
	--with-systemdsystemunitdir="$T/units" --without-bashcompletiondir --with-zshcompletiondir="$T/zsh"
run make -C "$T/unitdir" install-data DESTDIR="$T/d3"
assert_eq "--without-bashcompletiondir: no bash completion" \
	"$(grep -E '/pidrestorectl$' <<<"$(installed_files "$T/d3")" | grep -v '/bin/' || true)" ""
assert_match "--with-zshcompletiondir=DIR: the zsh completion is in DIR" "$(installed_files "$T/d3")" "^$T/zsh/_pidrestorectl\$"
assert_eq "make install-data DESTDIR= (--with-systemdsystemunitdir=DIR)" "$RUN_RC" 0
assert_eq "--with-systemdsystemunitdir=DIR: the units are in DIR" \
	"$(grep -E '\.(service|socket)$' <<<"$(installed_files "$T/d3")" | tr '\n' ' ')" \
	"$T/units/pidrestored.service $T/units/pidrestored.socket "

check "configure --enable-static" configure_tree static --prefix="$prefix" --enable-static
run make -C "$T/static" client/libpidrestore.pc
run env PKG_CONFIG_PATH="$T/static/client" pkg-config --print-requires-private libpidrestore
assert_eq "--enable-static: the .pc names libprotobuf-c for static linking" "$RUN_OUT" libprotobuf-c

run "$top_srcdir/configure" --with-systemdsystemunitdir=relative/dir
assert_ne "configure refuses a relative unit directory" "$RUN_RC" 0
finish
