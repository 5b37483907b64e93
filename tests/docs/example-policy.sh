#!/usr/bin/env bash
# The policy file a fresh install gets is valid and grants nothing, and
# pidrestored --check-config says so; a broken file gets FILE:LINE and exit 1.
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
[ "$n_failed" -eq 0 ]
