#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `systemd-analyze security` on the service unit built from
# systemd/pidrestored.service.in: its overall exposure level is at most the
# one README.md records, so that a change that loosens the confinement fails
# here until README says why; and every setting the score counts against is
# one the unit names in a comment (why it is left out). systemd-units.sh
# checks that systemd rates the loaded unit as it rates the file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_tools systemd-analyze
systemd-analyze --help 2>&1 | grep -q -- '--offline=' ||
	skip "this systemd-analyze cannot rate a unit file offline (security --offline=yes needs systemd 250)"
setup

SERVICE_UNIT=$top_builddir/systemd/pidrestored.service
README=$top_srcdir/README.md
check "the service unit was built" test -s "$SERVICE_UNIT"

# The C locale makes the output plain ASCII: "+ " for a setting in place,
# "- " for one missing, "-> Overall exposure level for UNIT: 7.9 EXPOSED :-(".
run env LC_ALL=C systemd-analyze security --offline=yes --no-pager "$SERVICE_UNIT"
assert_eq "systemd-analyze security --offline=yes exits 0" "$RUN_RC" 0
got=$(sed -nE 's/^-> Overall exposure level for pidrestored\.service: ([0-9]+\.[0-9]+) ([A-Z]+).*/\1 \2/p' \
	<<<"$RUN_OUT")
assert_match "it rates pidrestored.service" "$got" '^[0-9]+\.[0-9]+ [A-Z]+$'
echo "# rated: $got"

recorded=$(sed -nE 's/.*systemd-analyze security pidrestored\.service` rates it \*\*([0-9]+\.[0-9]+) ([A-Z]+)\*\*.*/\1 \2/p' \
	"$README")
assert_match "README.md records a rating" "$recorded" '^[0-9]+\.[0-9]+ [A-Z]+$'
echo "# README.md: $recorded"
check "the exposure level (${got%% *}) is at most README's (${recorded%% *})" \
	awk -v got="${got%% *}" -v rec="${recorded%% *}" 'BEGIN { exit !(got + 0 <= rec + 0) }'

# "- RootDirectory=/RootImage=  ...": the first setting of each missing line.
missing=$(sed -nE 's/^- ([A-Za-z]+)=.*/\1/p' <<<"$RUN_OUT" | sort -u)
assert_ne "the rating lists settings the unit leaves out" "$missing" ""
unexplained=
for setting in $missing; do
	grep -Eq "^#.*\\<$setting=" "$SERVICE_UNIT" || unexplained="$unexplained $setting="
done
assert_eq "the unit says why it leaves out each setting the rating misses" "$unexplained" ""

finish
