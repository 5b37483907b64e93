#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every manual page renders at 80 columns without a warning from man or groff,
# passes mandoc's lint without a warning (its date too), and has the
# sections a reader looks for (FILES in those of programs and files).
set -euo pipefail
: "${top_builddir:=$PWD}"
pages=("$top_builddir"/daemon/*.[1-8] "$top_builddir"/client/*.[1-8])
command -v man >/dev/null 2>&1 || { echo "SKIP: needs man (man-db)"; exit 77; }
n_failed=0 n_pages=0
for page in "${pages[@]}"; do
	[ -f "$page" ] || continue
	n_pages=$((n_pages + 1))
	out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null) || true
	if [ -n "$out" ]; then
		echo "FAIL: $page: warnings:"
		printf '%s\n' "$out" | sed 's/^/  /'
		n_failed=$((n_failed + 1))
		continue
	fi
	if command -v mandoc >/dev/null 2>&1; then
		lint=$(mandoc -Tlint -W warning "$page" 2>&1) || true
		if [ -n "$lint" ]; then
			echo "FAIL: $page: mandoc -Tlint -W warning:"
			printf '%s\n' "$lint" | sed 's/^/  /'
			n_failed=$((n_failed + 1))
		fi
	else
		echo "# mandoc is not installed (scripts/deps.sh installs it): no lint of $page"
	fi
	text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null)
	sections=(NAME SYNOPSIS DESCRIPTION "SEE ALSO")
	case "$page" in *.[158]) sections+=(FILES) ;; esac
	for section in "${sections[@]}"; do
		if ! grep -q "^$section\$" <<<"$text"; then
			echo "FAIL: $page: no $section section"
			n_failed=$((n_failed + 1))
		fi
	done
	if grep -q '@[a-z_]*@' "$page"; then
		echo "FAIL: $page: an unsubstituted @variable@ is left"
		n_failed=$((n_failed + 1))
	fi
	long=$(awk 'length > 80' <<<"$text")
	if [ -n "$long" ]; then
		echo "FAIL: $page: lines wider than 80 columns:"
		printf '%s\n' "$long" | sed 's/^/  /'
		n_failed=$((n_failed + 1))
	fi
	echo "ok   $page"
done
[ "$n_pages" -gt 0 ] || { echo "FAIL: no manual page found in $top_builddir"; exit 1; }
echo "$n_pages pages, $n_failed problems"
[ "$n_failed" -eq 0 ]
