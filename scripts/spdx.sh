#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The license line every source file carries at its top (after a #! line):
#
#   scripts/spdx.sh --check [DIR]   lists the files without it, each with the
#                                   line to add; exits 1 if there is one
#   scripts/spdx.sh --add [DIR]     adds it to them, in the comment syntax of
#                                   each kind of file
#
# DIR is the source tree (default: the one this script is in). The files are
# those git tracks there, or without git every file but what autoreconf and
# builds generate. Sources are: C and headers, the version script, the
# .proto, shell scripts (and any file starting with #!), Makefile.am and
# *.mk, configure.ac, the *.in templates (units, manual pages, .pc),
# the example policy and debian/rules. Data (fuzz corpora, dictionaries)
# and prose (*.md) carry none.
set -euo pipefail

LICENSE=LGPL-2.1-or-later
mode=${1:-}
top=${2:-$(cd "$(dirname "$0")/.." && pwd)}
case "$mode" in
--check | --add) ;;
*)
	echo "usage: $0 --check|--add [SOURCE-DIR]" >&2
	exit 2
	;;
esac

list_files() {
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files
	else
		# distcheck builds in _build/ and installs in _inst/ inside the tree.
		(cd "$top" && find . -type f \
			! -path './.git/*' ! -path './build*' ! -path './_*' ! -path './autom4te.cache/*' \
			! -path './build-aux/*' ! -path './m4/*' ! -path './debian/tmp/*' ! -path './config.*' \
			! -name configure ! -name Makefile.in ! -name aclocal.m4 ! -name '*.tar.*' | sed 's|^\./||')
	fi
}

# The line for a file, in its comment syntax; nothing for a file that
# carries none.
line_for() {
	case "$1" in
	tests/fuzz/corpus/* | *.md | *.dict | LICENSES/*) return 0 ;;
	*.c | *.h | *.sym) echo "/* SPDX-License-Identifier: $LICENSE */" ;;
	*.proto) echo "// SPDX-License-Identifier: $LICENSE" ;;
	*.[1-8].in) echo ".\\\" SPDX-License-Identifier: $LICENSE" ;;
	configure.ac) echo "dnl SPDX-License-Identifier: $LICENSE" ;;
	*.sh | *.mk | Makefile.am | *.in | debian/rules | systemd/*.conf) echo "# SPDX-License-Identifier: $LICENSE" ;;
	*) if [ "$(head -c 2 "$top/$1")" = '#!' ]; then echo "# SPDX-License-Identifier: $LICENSE"; fi ;;
	esac
}

missing=0
while IFS= read -r f; do
	[ -f "$top/$f" ] || continue
	line=$(line_for "$f")
	[ -n "$line" ] || continue
	# Within the first three lines: after a #! line, or a page's first lines.
	head -n 3 "$top/$f" | grep -q "SPDX-License-Identifier: $LICENSE" && continue
	if [ "$mode" = --check ]; then
		if [ "$(head -c 2 "$top/$f")" = '#!' ]; then
			echo "$f: no SPDX line; add this line right after its #! line: $line"
		else
			echo "$f: no SPDX line; add this as its first line: $line"
		fi
		missing=$((missing + 1))
		continue
	fi
	tmp=$top/$f.spdx-tmp
	if [ "$(head -c 2 "$top/$f")" = '#!' ]; then
		{ head -n 1 "$top/$f"; printf '%s\n' "$line"; tail -n +2 "$top/$f"; } >"$tmp"
	else
		{ printf '%s\n' "$line"; cat "$top/$f"; } >"$tmp"
	fi
	chmod --reference="$top/$f" "$tmp"
	mv "$tmp" "$top/$f"
	echo "spdx: $f"
done < <(list_files)

if [ "$mode" = --check ] && [ "$missing" -gt 0 ]; then
	echo "$missing files lack the line (scripts/spdx.sh --add adds it to each)"
	exit 1
fi
exit 0
