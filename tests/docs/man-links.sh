#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every function of libpidrestore's ABI (client/libpidrestore.sym) has a
# page of its own in section 3 that is a link to libpidrestore(3), which
# names the function; there is no link page for a name outside the ABI; and
# once installed, `man 3 FUNCTION` shows libpidrestore(3).
set -euo pipefail
: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
n_failed=0 n_checked=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}
functions=$(sed -n 's/^[[:space:]]*\(pidrestore_[a-z_]*\);$/\1/p' "$top_srcdir/client/libpidrestore.sym" | sort -u)
[ -n "$functions" ] || { echo "FAIL: no function found in client/libpidrestore.sym"; exit 1; }
name_section=$(sed -n '/^\.SH NAME/,/^\.SH/p' "$top_builddir/client/libpidrestore.3")
for f in $functions; do
	n_checked=$((n_checked + 1))
	page=$top_builddir/client/man3/$f.3
	if [ ! -f "$page" ]; then
		fail "$f: no page client/man3/$f.3 (add it to LIBPIDRESTORE_LINK_PAGES in Makefile.am)"
		continue
	fi
	[ "$(cat "$page")" = ".so man3/libpidrestore.3" ] || fail "$f: client/man3/$f.3 is not the line .so man3/libpidrestore.3"
	grep -qw -- "$f" <<<"$name_section" || fail "$f: not in the NAME section of libpidrestore(3)"
done
for page in "$top_builddir"/client/man3/*.3; do
	[ -e "$page" ] || continue
	f=$(basename "$page" .3)
	grep -qx -- "$f" <<<"$functions" || fail "client/man3/$f.3: $f is not a function of the ABI"
done

# Installed, man resolves the link.
if command -v man >/dev/null 2>&1; then
	dest=$(mktemp -d)
	trap 'rm -rf "$dest"' EXIT
	make -s --no-print-directory -C "$top_builddir" install-man DESTDIR="$dest" mandir=/man >/dev/null
	for f in pidrestore_spawn pidrestore_wait_event; do
		n_checked=$((n_checked + 1))
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -M "$dest/man" 3 "$f" 2>&1 | head -n 1) || true
		case "$out" in
		LIBPIDRESTORE\(3\)*) echo "ok   man 3 $f shows libpidrestore(3)" ;;
		*) fail "man 3 $f, installed: '$out', not libpidrestore(3)" ;;
		esac
	done
fi
echo "$n_checked checks, $n_failed problems"
[ "$n_failed" -eq 0 ]
