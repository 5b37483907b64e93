#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's layout (DESIGN §2): its modules include each other without a
# cycle (a module reports upward through a callback it was given, never by
# calling its caller by name), and no file in daemon/ grows past about 700
# lines.
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
MAX_LINES=750
n_failed=0
cd "$top_srcdir/daemon"

# One edge a line, "module header": a module (a .c and its .h, by name)
# includes the header of another module of the daemon.
declare -A headers=()
while IFS= read -r h; do
	headers[$(basename "$h" .h)]=1
done < <(find . -name '*.h')
edges=$(
	find . -name '*.[ch]' | while IFS= read -r f; do
		m=$(basename "$f")
		m=${m%.*}
		sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while IFS= read -r h; do
			t=$(basename "$h" .h)
			if [ -n "${headers[$t]:-}" ] && [ "$t" != "$m" ]; then
				echo "$m $t"
			fi
		done
	done | sort -u
)
if loop=$(tsort <<<"$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
	echo "ok   the daemon's modules include each other without a cycle ($(wc -l <<<"$edges") edges)"
else
	echo "FAIL: the daemon's modules include each other in a cycle; break it with a callback: $(grep -v 'contains a loop' <<<"$loop" | sed 's/^tsort: //' | tr '\n' ' ')"
	n_failed=$((n_failed + 1))
fi

while IFS= read -r f; do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$MAX_LINES" ]; then
		echo "FAIL: daemon/${f#./} has $n lines, more than $MAX_LINES: split it by responsibility"
		n_failed=$((n_failed + 1))
	fi
done < <(find . -name '*.[ch]' | sort)
[ "$n_failed" -gt 0 ] || echo "ok   no file in daemon/ has more than $MAX_LINES lines"
[ "$n_failed" -eq 0 ]
