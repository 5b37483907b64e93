#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The refusals of a tree that priv decides itself, before anything is
# cloned: threads while fs.suid_dumpable is 1, and thread TIDs in a pid
# namespace that the requester's user namespace does not own (its threads
# are made after their process entered that user namespace).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
require_tools setpriv unshare timeout
require_userns
setup
GRANT_LO=20000
GRANT_HI=20999
CONF=$T/pidrestored.conf
cat >"$CONF" <<CONF
[Policy]
OwnNamespaces=yes

[Grant]
User=$TEST_UID
PIDs=$GRANT_LO-$GRANT_HI
Namespace=host
CONF
start_daemon --config "$CONF"
user_programs
CLIENT=$USER_HELPERS/tree-client
BUILDS_BEFORE=$(grep -cE 'tree [0-9]+ of uid' "$T/daemon.log" || true)

# --- fs.suid_dumpable=1: a thread that dropped could be traced while
# another of its process is still root
OLD_DUMPABLE=$(cat /proc/sys/fs/suid_dumpable)
restore_dumpable() { echo "$OLD_DUMPABLE" >/proc/sys/fs/suid_dumpable; }
trap 'restore_dumpable; cleanup' EXIT
echo 1 >/proc/sys/fs/suid_dumpable
run timeout 60 "${AS_USER[@]}" unshare -Urpf --mount-proc "$CLIENT" "$SOCK"
restore_dumpable
assert_match "suid_dumpable=1: a threaded tree is refused (EPERM), saying why and what to do" "$RUN_OUT" \
	'^reply error=1 name=EPERM node=-1 level=-1 message=fs.suid_dumpable is 1: .*set it to 0 or 2$'

# --- thread TIDs in the host's pid namespace for a requester in a user
# namespace of its own (the host PIDs themselves are granted)
run timeout 60 "${AS_USER[@]}" unshare -Ur "$CLIENT" --flat --base "$GRANT_LO" "$SOCK"
assert_match "thread TIDs outside the requester's namespaces: ENOTSUP naming node 3 (L2 12) at level 0" "$RUN_OUT" \
	"^reply error=95 name=EOPNOTSUPP node=3 level=0 message=node 3: thread TID $((GRANT_LO + 80)) at level 0 is in a pid namespace the requester's user namespace does not own"

assert_eq "nothing was built for either" "$(grep -cE 'tree [0-9]+ of uid' "$T/daemon.log" || true)" "$BUILDS_BEFORE"
stop_daemon
assert_eq "the daemon stops with status 0" "$DAEMON_RC" 0
assert_no_match "no sanitizer report in the daemon's log" "$(cat "$T/daemon.log")" 'Sanitizer|runtime error'
finish
