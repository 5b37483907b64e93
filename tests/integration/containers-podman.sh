#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A restorer inside rootless podman (uid 1000; --rootfs of host directories,
# no image), with the daemon's socket bound in. The container's processes
# run in the user namespace that owns their pid namespace, so the kernel's
# own rule decides: with the default capabilities (no CAP_SYS_ADMIN, no
# CAP_CHECKPOINT_RESTORE) the daemon refuses, saying so; with
# --cap-add=CHECKPOINT_RESTORE it serves PIDs inside, and still no host PID.
# Podman's default seccomp profile: see PODMAN_DEFAULT_SECCOMP below.
# See containers-lib.sh for the scenarios.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/containers-lib.sh"
require_root
require_tools podman setpriv timeout
setup
user_dir
ct_setup "$TEST_UID:$TEST_GID"

PODMAN_HOME=$T/u
PODMAN_OPTS=(--root "$PODMAN_HOME/storage" --runroot "$PODMAN_HOME/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend file)
RUN_OPTS=()

ct_exec() {
	timeout -k 5 90 "${AS_USER[@]}" \
		env HOME="$PODMAN_HOME" XDG_RUNTIME_DIR="$PODMAN_HOME/run" XDG_CONFIG_HOME="$PODMAN_HOME/config" \
		podman "${PODMAN_OPTS[@]}" run --rm --network none "${RUN_OPTS[@]}" \
		-v /usr:/usr:ro -v "$SOCK:$CT_SOCK_IN" --rootfs "$CT_ROOT" "$@"
}

# Rootless podman keeps a pause process holding its user namespace; it
# started with this test, so it ends with it.
test_cleanup() {
	local f
	for f in "$PODMAN_HOME/run/libpod/tmp/pause.pid" "/tmp/podman-run-$TEST_UID/libpod/tmp/pause.pid"; do
		[ -s "$f" ] && kill_if_ours "$(cat "$f")"
	done
	return 0
}

ct_start_daemon
mkdir -p "$PODMAN_HOME/run" "$PODMAN_HOME/config"
chown "$TEST_UID:$TEST_GID" "$PODMAN_HOME/run" "$PODMAN_HOME/config"
chmod 700 "$PODMAN_HOME/run"

# crun cannot run a rootless container on a hybrid cgroup layout whose v2
# hierarchy has controllers; runc can. Use the first that works.
probe=
for rt in "" runc; do
	if [ -n "$rt" ]; then
		command -v "$rt" >/dev/null 2>&1 || continue
		PODMAN_OPTS+=(--runtime "$rt")
	fi
	if out=$(ct_exec /bin/true 2>&1); then
		probe=ok
		break
	fi
	probe+="${rt:-default runtime}: $(printf '%s\n' "$out" | grep -v 'level=warning' | tail -n 1); "
done
[ "$probe" = ok ] || skip "rootless podman cannot run a container here as uid $TEST_UID: $probe"
echo "podman runs its containers with ${rt:-its default runtime}"

# Podman's default seccomp profile: pidrestored refuses a requester under a
# seccomp filter until it can copy the filter to the child. Once it can,
# flip PODMAN_DEFAULT_SECCOMP to "served" and the scenarios run under the
# default profile as well.
PODMAN_DEFAULT_SECCOMP=served
RUN_OPTS=(--cap-add CHECKPOINT_RESTORE)
if [ "$PODMAN_DEFAULT_SECCOMP" = refused ]; then
	ct_refused "podman, default seccomp profile" \
		"EPERM.*the requester runs under a seccomp filter \\(mode 2\\), which pidrestored cannot give the new process"
else
	ct_scenarios "podman, default seccomp profile"
fi

# Default capabilities: the kernel's rule gives nothing, nor does the daemon.
RUN_OPTS=(--security-opt seccomp=unconfined)
ct_refused "podman, default capabilities" \
	"EPERM.*pid $CT_PID at level 1 \\(pid:\\[[0-9]+\\]\\): uid $TEST_UID may not take it: the namespace's user namespace is the one uid $TEST_UID runs in \\(user:\\[[0-9]+\\]\\), where it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective"

RUN_OPTS=(--security-opt seccomp=unconfined --cap-add CHECKPOINT_RESTORE)
ct_scenarios "podman --cap-add CHECKPOINT_RESTORE"
check "the spawn inside was granted by the own-namespace rule" \
	ct_logged "granted spawn for uid $TEST_UID .*pids \\[$CT_PID(,0)?\\].* by rule own-namespace"
finish
