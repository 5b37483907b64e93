#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The manual pages keep up with the programs: every option that
# pidrestored --help and pidrestorectl --help show, every verb of
# pidrestorectl, and every function of pidrestore.h is in its page (in NAME
# and SYNOPSIS for the functions).
set -euo pipefail
: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
command -v man >/dev/null 2>&1 || { echo "SKIP: needs man (man-db)"; exit 77; }
n_failed=0 n_checked=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}
render() {
	MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null
}
# The text of one section (by its heading) of a rendered page.
section() { # TEXT HEADING
	awk -v h="$2" '$0 == h { on = 1; next } /^[A-Z][A-Z ]*$/ { on = 0 } on' <<<"$1"
}
# Every option the program's --help names is in the page.
options_in_page() { # PROGRAM PAGE
	local help text opt
	help=$("$1" --help)
	text=$(render "$2")
	for opt in $(grep -oE -- '(^|[ ,[])--[a-z][a-z-]*' <<<"$help" | grep -oE -- '--[a-z-]+' | sort -u); do
		n_checked=$((n_checked + 1))
		grep -qE -- "$opt([^A-Za-z0-9_-]|\$)" <<<"$text" || fail "$(basename "$2"): $opt (from $(basename "$1") --help) is not documented"
	done
}

ctl=$top_builddir/client/pidrestorectl
daemon=$top_builddir/daemon/pidrestored
options_in_page "$daemon" "$top_builddir/daemon/pidrestored.8"
options_in_page "$ctl" "$top_builddir/client/pidrestorectl.1"

# The verbs: the first word of each entry in --help's "Verbs:" list, each
# a heading of its own in the page's VERBS section.
verbs=$("$ctl" --help | awk '/^Verbs:$/ { on = 1; next } /^$/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort -u)
[ -n "$verbs" ] || fail "pidrestorectl --help lists no verbs"
verb_text=$(section "$(render "$top_builddir/client/pidrestorectl.1")" VERBS)
for verb in $verbs; do
	n_checked=$((n_checked + 1))
	grep -qE "^       $verb( |$)" <<<"$verb_text" || fail "pidrestorectl.1: the verb $verb has no entry under VERBS"
done

# The library: each function of the public header in NAME and SYNOPSIS.
functions=$(grep -oE '\bpidrestore_[a-z_]+\(' "$top_srcdir/client/pidrestore.h" | tr -d '(' | sort -u)
[ -n "$functions" ] || fail "no function found in pidrestore.h"
lib_text=$(render "$top_builddir/client/libpidrestore.3")
for fn in $functions; do
	n_checked=$((n_checked + 1))
	grep -qE "\b$fn\b" <<<"$(section "$lib_text" NAME)" || fail "libpidrestore.3: $fn is not in NAME"
	grep -qE "\b$fn\(" <<<"$(section "$lib_text" SYNOPSIS)" || fail "libpidrestore.3: $fn is not in SYNOPSIS"
done

echo "$n_checked names checked, $n_failed missing"
[ "$n_failed" -eq 0 ]
