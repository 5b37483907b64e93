#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A restorer inside systemd-nspawn with a private user namespace
# (--private-users=pick; no --boot: PID 1 of this machine is not systemd,
# and the restorer is the container's first process), with the daemon's
# socket bound in. The container's root holds CAP_SYS_ADMIN in the user
# namespace that owns its pid namespace, so the kernel's own rule serves it
# PIDs inside, and no host PID. nspawn's default seccomp filter: see
# NSPAWN_DEFAULT_SECCOMP below. See containers-lib.sh for the scenarios.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/containers-lib.sh"
require_root
require_tools systemd-nspawn timeout
setup
ct_setup 0:0

NSPAWN_ENV=()
ct_exec() {
	# --register=no --keep-unit: no machined, no transient scope (there
	# may be no systemd to ask).
	timeout -k 5 90 env "${NSPAWN_ENV[@]}" systemd-nspawn --quiet --console=pipe --register=no --keep-unit \
		--private-users=pick --private-users-ownership=auto --directory="$CT_ROOT" \
		--bind-ro=/usr --bind="$SOCK:$CT_SOCK_IN" --chdir=/ "$@" \
		2> >(grep -v '^Attempted to remove disk file system under ' >&2)
}

ct_start_daemon
if ! probe=$(ct_exec /bin/true 2>&1); then
	skip "systemd-nspawn --private-users cannot start a container here: $(printf '%s\n' "$probe" | tail -n 1)"
fi

# nspawn's default seccomp filter: pidrestored refuses a requester under a
# seccomp filter until it can copy the filter to the child. Once it can,
# flip NSPAWN_DEFAULT_SECCOMP to "served" and the scenarios run under the
# default filter as well.
NSPAWN_DEFAULT_SECCOMP=served
if [ "$NSPAWN_DEFAULT_SECCOMP" = refused ]; then
	ct_refused "nspawn, default seccomp filter" \
		"EPERM.*the requester runs under a seccomp filter \\(mode 2\\), which pidrestored cannot give the new process"
else
	ct_scenarios "nspawn, default seccomp filter"
fi

# SYSTEMD_SECCOMP=0: nspawn installs no filter.
NSPAWN_ENV=(SYSTEMD_SECCOMP=0)
ct_scenarios "nspawn --private-users, no seccomp filter"
check "the spawn inside was granted by the own-namespace rule" \
	ct_logged "granted spawn for uid [0-9]+ .*pids \\[$CT_PID(,0)?\\].* by rule own-namespace"
finish
