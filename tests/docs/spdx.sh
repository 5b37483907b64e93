#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole project is under LGPL-2.1-or-later: its text is in LICENSES/,
# and every source file says so in an SPDX line at its top, including files
# added later (scripts/spdx.sh says which lack it and what to add).
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
n_failed=0
if grep -q 'GNU LESSER GENERAL PUBLIC LICENSE' "$top_srcdir/LICENSES/LGPL-2.1-or-later.txt" 2>/dev/null &&
	grep -q 'Version 2.1, February 1999' "$top_srcdir/LICENSES/LGPL-2.1-or-later.txt"; then
	echo "ok   LICENSES/LGPL-2.1-or-later.txt holds the LGPL 2.1"
else
	echo "FAIL: LICENSES/LGPL-2.1-or-later.txt is missing or not the LGPL 2.1 (Debian has it in /usr/share/common-licenses/LGPL-2.1)"
	n_failed=$((n_failed + 1))
fi
if out=$(bash "$top_srcdir/scripts/spdx.sh" --check "$top_srcdir"); then
	echo "ok   every source file has its SPDX-License-Identifier line"
else
	printf 'FAIL: %s\n' "$out"
	n_failed=$((n_failed + 1))
fi
[ "$n_failed" -eq 0 ]
