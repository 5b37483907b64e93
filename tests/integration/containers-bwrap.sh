#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A restorer inside bubblewrap, rootless (uid 1000, its own user and pid
# namespaces, no capability), with the daemon's socket bound in. bwrap runs
# the sandbox in a user namespace nested in the one that owns its pid
# namespace, so the kernel's own rule gives the sandbox nothing there: the
# default policy refuses, saying so, and a grant Namespace=owned-by:1000
# (the user owns the sandbox's namespaces) lets it restore PIDs inside, and
# still no host PID. See containers-lib.sh for the scenarios.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/containers-lib.sh"
require_root
require_tools bwrap setpriv timeout
setup
ct_setup "$TEST_UID:$TEST_GID"

ct_exec() {
	local links=() d
	for d in bin sbin lib lib64 lib32 libx32; do
		[ -L "$CT_ROOT/$d" ] && links+=(--symlink "$(readlink "$CT_ROOT/$d")" "/$d")
	done
	timeout -k 5 60 "${AS_USER[@]}" bwrap --unshare-all --die-with-parent --new-session \
		--ro-bind /usr /usr "${links[@]}" --ro-bind "$CT_ROOT/etc" /etc --ro-bind "$CT_ROOT/opt" /opt \
		--proc /proc --dev /dev --tmpfs /tmp --bind "$SOCK" "$CT_SOCK_IN" --chdir / "$@"
}

ct_start_daemon
if ! probe=$(ct_exec /bin/true 2>&1); then
	skip "bwrap cannot make a sandbox here as uid $TEST_UID: $probe"
fi

ct_refused "bwrap, default policy" \
	"EPERM.*pid $CT_PID at level 1 \\(pid:\\[[0-9]+\\]\\): uid $TEST_UID may not take it: the namespace's user namespace is owned by uid $TEST_UID but its parent is the daemon's user namespace, not the one uid $TEST_UID runs in \\(user:\\[[0-9]+\\]\\): owning it gives uid $TEST_UID no capability there, and no grant for uid $TEST_UID covers pid $CT_PID there"

ct_policy "User=$TEST_UID
PIDs=2-65535
Namespace=owned-by:$TEST_UID"
ct_scenarios "bwrap, Namespace=owned-by:$TEST_UID"
check "the spawn inside was granted by the owned-by grant" \
	ct_logged "granted spawn for uid $TEST_UID .*pids \\[$CT_PID(,0)?\\].* by rule grant #1"
finish
