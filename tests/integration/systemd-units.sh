#!/usr/bin/env bash
# The real units under a real systemd: systemd (as PID 1 of a fresh set of
# namespaces, in a cgroup of its own) listens on pidrestored.socket, starts
# pidrestored.service on the first connection and sees it ready (Type=notify);
# the hardened service still creates children that are the requester's (its
# mount namespace, its cgroup, no seccomp, no_new_privs or capability drop),
# an unprivileged user gets a PID in its own namespace through it, and
# stopping the service leaves a spawned process running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
setup
. "$TEST_DIR/systemd-lib.sh"
user_programs
test_cleanup() {
	systemd_cleanup
}

systemd_units
systemd_boot

run inside systemctl is-active pidrestored.socket
assert_eq "pidrestored.socket is active" "$RUN_OUT" active
run inside systemctl is-active pidrestored.service
assert_eq "pidrestored.service waits for its first connection" "$RUN_OUT" inactive
run inside stat -c '%a %F' /run/pidrestore/pidrestored.sock /run/pidrestore
assert_eq "socket mode 0666, directory 0755" "$RUN_OUT" $'666 socket\n755 directory'

run inside "$PR_CTL" status
assert_eq "the first connection starts the service" "$RUN_RC" 0
assert_match "the service says it was socket-activated" "$RUN_OUT" 'Activation: *socket' 
# Type=notify: active only once READY=1 reached systemd.
for ((i = 0; i < 50; i++)); do
	[ "$(inside systemctl show -p ActiveState --value pidrestored.service)" != active ] || break
	sleep 0.1
done
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "pidrestored.service is active: READY=1 reached systemd" "$RUN_OUT" active
run inside systemctl show -p SubState --value pidrestored.service
assert_eq "pidrestored.service is running" "$RUN_OUT" running
run inside systemctl show -p StatusText --value pidrestored.service
assert_ne "pidrestored.service reports a STATUS= text" "$RUN_OUT" ""
MAIN=$(inside systemctl show -p MainPID --value pidrestored.service)

run inside "$PR_CTL" spawn --pid 4242 -- sh -c 'echo $$'
assert_eq "root gets PID 4242 through the socket-activated service" "$RUN_OUT" 4242

# A long-running child, then what it inherited.
run inside "$PR_CTL" spawn --pid 4243 --no-wait -- sleep 300
assert_eq "spawn --no-wait of sleep as PID 4243" "$RUN_RC" 0
run inside cat /proc/4243/comm
assert_eq "sleep runs as PID 4243" "$RUN_OUT" sleep
req_mnt=$(inside readlink /proc/self/ns/mnt)
run inside readlink /proc/4243/ns/mnt
assert_eq "the child is in the requester's mount namespace" "$RUN_OUT" "$req_mnt"
svc_mnt=$(inside readlink "/proc/$MAIN/ns/mnt")
assert_ne "(the service has a mount namespace of its own)" "$svc_mnt" "$req_mnt"
req_conf=$(inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status)
run inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/4243/status
assert_eq "the child has the requester's ids, capabilities, no_new_privs and seccomp mode" \
	"$RUN_OUT" "$req_conf"
svc_conf=$(inside grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$MAIN/status")
echo "# the service itself runs with: $(printf '%s\n' "$svc_conf" | tr -s '\n\t' '  ')"
run inside grep '^0::' /proc/4243/cgroup
assert_eq "the child is in the requester's cgroup, not the service's" "$RUN_OUT" "0::/requester"

# An unprivileged user, in its own user and pid namespaces.
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	unshare -Urpf --mount-proc "$USER_CTL" spawn --pid 77 -- sh -c 'echo $$'
assert_eq "uid $TEST_UID gets PID 77 in its own namespace through the service" "$RUN_OUT" 77
run inside setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --clear-groups -- \
	"$USER_CTL" spawn --pid 4244 -- true
assert_match "uid $TEST_UID is refused a PID of the container's namespace" "$RUN_ERR" '\(EPERM\)'

# Stopping the service leaves the child running.
run inside systemctl stop pidrestored.service
assert_eq "systemctl stop pidrestored.service" "$RUN_RC" 0
run inside systemctl show -p ActiveState --value pidrestored.service
assert_eq "the service is inactive" "$RUN_OUT" inactive
run inside systemctl show -p Result --value pidrestored.service
assert_eq "the service stopped cleanly (exit 0 on SIGTERM)" "$RUN_OUT" success
run inside cat /proc/4243/comm
assert_eq "the spawned sleep still runs after the service stopped" "$RUN_OUT" sleep
run inside systemctl is-active pidrestored.socket
assert_eq "the socket stays active for the next connection" "$RUN_OUT" active
run inside "$PR_CTL" status
assert_eq "a new connection starts the service again" "$RUN_RC" 0

finish
