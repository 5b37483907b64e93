#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The policy file a fresh install gets is valid and grants nothing, and
# pidrestored --check-config says so; a broken file gets FILE:LINE and exit 1,
# and so does a file named by --config that does not exist (a typo must not
# pass for "the defaults").
set -euo pipefail
: "${top_builddir:=$PWD}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
daemon=$top_builddir/daemon/pidrestored
example=$top_srcdir/systemd/pidrestored.conf
n_failed=0
fail() {
	echo "FAIL: $*"
	n_failed=$((n_failed + 1))
}

out=$("$daemon" --check-config --config "$example" 2>&1) || fail "the example does not load: $out"
case "$out" in
"$example: 0 grants from 1 file ($example); own namespaces on; no PID floor") echo "ok   the example grants nothing: $out" ;;
*) fail "unexpected summary of the example: $out" ;;
esac

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$example" "$dir/pidrestored.conf"
mkdir "$dir/pidrestored.conf.d"
printf '[Grant]\nUser=0\nPIDs=300-200\n' >"$dir/pidrestored.conf.d/10-broken.conf"
if out=$("$daemon" --check-config --config "$dir/pidrestored.conf" 2>&1); then
	fail "a broken drop-in passed --check-config: $out"
else
	case "$out" in
	"pidrestored: $dir/pidrestored.conf.d/10-broken.conf:3: PIDs=: range 300-200 starts after it ends"*) echo "ok   a broken drop-in: $out" ;;
	*) fail "unexpected message for a broken drop-in: $out" ;;
	esac
fi
if out=$("$daemon" --check-config -c "$dir/typo.conf" 2>&1); then
	fail "--check-config passed a --config file that does not exist: $out"
else
	case "$out" in
	"pidrestored: $dir/typo.conf: no such file; the policy file named by --config must exist"*) echo "ok   a missing --config file: $out" ;;
	*) fail "unexpected message for a missing --config file: $out" ;;
	esac
fi
# The default path is another matter: a fresh install may have no file.
default=$("$daemon" --help | sed -n 's/.*the policy file (default \([^)]*\)).*/\1/p')
if [ -n "$default" ] && [ ! -e "$default" ]; then
	out=$("$daemon" --check-config 2>&1) || fail "--check-config fails without the default file $default: $out"
	case "$out" in
	"$default: 0 grants from 0 files;"*) echo "ok   no default file: the defaults: $out" ;;
	*) fail "unexpected summary without the default file: $out" ;;
	esac
else
	echo "ok   # the default policy file ${default:-(not found in --help)} exists here: not tried without it"
fi
[ "$n_failed" -eq 0 ]
