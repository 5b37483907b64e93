#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libpidrestore(3) shows the example program exactly as it is built and
# tested: the page's source holds the file, escaped for roff, and the page
# as man renders it shows the file's text, character for character but for
# white space.
set -euo pipefail
: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
page=$top_builddir/client/libpidrestore.3
example=$top_srcdir/client/examples/restore-pid.c
command -v man >/dev/null 2>&1 || { echo "SKIP: needs man (man-db)"; exit 77; }
n_failed=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}

# The roff source between the marker comment and .EE.
block=$(awk '/^\.\\" The example below is/ { on = 1; next }
	on && /^\.\\"/ { next }
	on && /^\.EE$/ { exit }
	on { print }' "$page")
# Escaped where roff would change the text: a bare - may render as a
# hyphen, quotes as typographic ones, and a leading . or ' is a request.
bare=$(grep -nE "(^|[^\\])-|['\`]|^\." <<<"$block" || true)
if [ -n "$bare" ]; then
	fail "characters roff would change are not escaped in the example of $page:"
	printf '%s\n' "$bare" | sed 's/^/  /'
fi
from_source=$(printf '%s\n' "$block" |
	perl -pe 's/^\\&//; s/\\(e|-|\(aq|\(ga)/{ "e" => "\\", "-" => "-", "(aq" => "\x27", "(ga" => "`" }->{$1}/ge')
if [ -z "$from_source" ]; then
	fail "$page has no example block after the marker comment"
elif ! diff -u "$example" <(printf '%s\n' "$from_source"); then
	fail "the example in $page differs from $example"
else
	echo "ok   the page's source holds $example"
fi

# As rendered: the lines after "The program:" up to SEE ALSO.
squeeze() {
	sed -E 's/[[:space:]]+/ /g; s/^ //; s/ $//' | sed '/^$/d'
}
rendered=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null |
	sed -n '/^ *The program:$/,/^SEE ALSO$/p' | sed '1d;$d' | squeeze)
if [ "$rendered" = "$(squeeze <"$example")" ]; then
	echo "ok   the rendered page shows $example"
else
	fail "the rendered example differs from $example:"
	diff <(squeeze <"$example") <(printf '%s\n' "$rendered") | sed 's/^/  /' || true
fi
[ "$n_failed" -eq 0 ]
