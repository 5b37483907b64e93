# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the containers-*.sh tests, sourced after lib.sh: a restorer's
# scenarios run inside a real container runtime with the daemon's socket
# bind-mounted in, as the README's "Containers" section describes.
#
# The container's root is a directory of this test ($CT_ROOT): the host's
# /usr, bind-mounted read-only by the runtime (bin, sbin, lib and lib64 are
# symlinks into it, as on a merged-/usr host), copies of the host's passwd,
# group and loader cache, and /opt with pidrestorectl, the test helper
# reserve-client and the scenario scripts below. No image is pulled.
#
# A test defines ct_exec CMD...: CMD run inside a new container of its
# runtime, stdin from /dev/null, stdout and stderr passed through. Then:
#   ct_setup OWNER          the root directory, owned by OWNER (uid:gid)
#   ct_policy [GRANT-LINES] rewrites the daemon's policy file and reloads it
#   ct_scenarios DESC       the scenarios below, one container run
#
# The scenarios (scenario.sh, run in the container as its restorer):
#   - spawn with a chosen PID inside (CT_PID), which the child sees as $$;
#   - reserve two PIDs (CT_R1, CT_R2) in one request and claim the first
#     (libpidrestore's pidrestore_exec, through reserve-client), then
#     release the second, which is free again afterwards;
#   - a host PID (chosen at level 0) refused with a message naming it;
#   - the spawned and the claimed child compared with a process the
#     container starts itself: uids, gids, groups, capabilities,
#     NoNewPrivs, Seccomp mode and how system calls a seccomp profile
#     denies fail (syscalls.py, with the host's /usr/bin/python3), every
#     namespace, the root directory and the v2 cgroup (see CT_CGROUP_FIELD
#     for the v1 ones).

CT_ROOT=
CT_CONF=
CT_PID=4242
CT_R1=4243
CT_R2=4244
CT_SOCK_IN=/run/pidrestore/pidrestored.sock

# The fields of /proc/PID/status and the namespaces a child must share
# with the container's own processes.
CT_STATUS_FIELDS="Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp"
CT_NAMESPACES="cgroup ipc mnt net pid user uts time"
# The v2 cgroup (cgroup2) is always compared. Every hierarchy's (cgroup, the
# whole of /proc/PID/cgroup) only once the daemon joins a requester's v1
# cgroups: set CT_CGROUP_FIELD=cgroup then. Today a child sits in the
# daemon's v1 cgroups, which differ from the container's under nspawn.
CT_CGROUP_FIELD=cgroup

# Skips unless this host has a merged /usr (bin, sbin, lib are symlinks into
# it), which lets the container's root be the host's /usr alone.
ct_require_merged_usr() {
	local d
	for d in bin sbin lib; do
		[ -L "/$d" ] || skip "/$d is not a symlink into /usr (no merged /usr): the container's root cannot be made of the host's /usr alone"
	done
}

ct_setup() {
	local owner=$1 d
	ct_require_merged_usr
	CT_ROOT=$T/rootfs
	mkdir -p "$CT_ROOT"/{usr,etc,proc,dev,sys,run/pidrestore,tmp,opt,root,var/tmp}
	for d in bin sbin lib lib64 lib32 libx32; do
		[ -L "/$d" ] && ln -s "$(readlink "/$d")" "$CT_ROOT/$d"
	done
	cp /etc/passwd /etc/group /etc/nsswitch.conf "$CT_ROOT/etc/"
	[ -e /etc/ld.so.cache ] && cp /etc/ld.so.cache "$CT_ROOT/etc/"
	cp /usr/lib/os-release "$CT_ROOT/etc/os-release" 2>/dev/null || cp /etc/os-release "$CT_ROOT/etc/os-release"
	: >"$CT_ROOT/etc/hosts"
	: >"$CT_ROOT/etc/resolv.conf"
	: >"$CT_ROOT/etc/hostname"
	: >"$CT_ROOT/etc/machine-id"
	cp "$PR_CTL" "$PR_HELPERS/reserve-client" "$CT_ROOT/opt/"
	ct_write_scripts
	chmod 755 "$CT_ROOT" "$CT_ROOT/opt" "$CT_ROOT"/opt/*
	chown -R "$owner" "$CT_ROOT"
	chmod 1777 "$CT_ROOT/tmp" "$CT_ROOT/var/tmp"
}

ct_write_scripts() {
	# profile.sh TAG: what this shell is, one TAG:KEY=VALUE line each.
	cat >"$CT_ROOT/opt/profile.sh" <<EOF
#!/bin/sh
t=\$1
echo "\$t:pid=\$\$"
for f in $CT_STATUS_FIELDS; do
	v=\$(sed -n "s/^\$f:[[:space:]]*//p" /proc/\$\$/status | tr -s ' \t' ' ' | sed 's/ \$//')
	echo "\$t:\$f=\$v"
done
for n in $CT_NAMESPACES; do
	echo "\$t:ns-\$n=\$(readlink /proc/\$\$/ns/\$n)"
done
echo "\$t:root=\$(stat -L -c %d:%i /proc/\$\$/root)"
echo "\$t:cgroup2=\$(sed -n 's/^0:://p' /proc/\$\$/cgroup)"
echo "\$t:syscalls=\$(/usr/bin/python3 /opt/syscalls.py 2>&1 || echo failed)"
echo "\$t:cgroup=\$(tr '\n' ' ' </proc/\$\$/cgroup)"
echo "\$t:end"
EOF
	# syscalls.py: how system calls that seccomp profiles deny fail here,
	# each with arguments it refuses without doing anything.
	cat >"$CT_ROOT/opt/syscalls.py" <<'EOF'
import ctypes, errno, platform
calls = {"x86_64": [("clone3", 435, (0, 0)), ("keyctl", 250, (-1, 0)), ("add_key", 248, (0, 0, 0, 0, 0)),
                    ("bpf", 321, (-1, 0, 0)), ("unshare", 272, (-1,)), ("perf_event_open", 298, (0, 0, -1, -1, 0))]}
libc = ctypes.CDLL(None, use_errno=True)
out = []
for name, nr, args in calls.get(platform.machine(), []):
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    out.append("%s:%s" % (name, errno.errorcode.get(ctypes.get_errno(), "?") if r < 0 else r))
print(" ".join(out) or "no-table-for-" + platform.machine())
EOF
	# claim.sh R1 R2: reserves R1 and R2 in one request, claims R1 with
	# profile.sh (its output to /tmp/claimed.out), releases R2; with
	# pidrestorectl's reserve, exec and release where it has exec, else
	# with reserve-client (libpidrestore's pidrestore_exec).
	cat >"$CT_ROOT/opt/claim.sh" <<'EOF'
#!/bin/bash
set -u
CTL=(/opt/pidrestorectl --socket "$SOCK_IN")
# The waits are long for a daemon under valgrind, where one reserve may
# take over 10 s; each ends as soon as what it waits for is there.
free_after() { # PID: 1 once PID is gone (30 s at most), else 0
	for i in $(seq 300); do [ -e "/proc/$1" ] || break; sleep 0.1; done
	[ -e "/proc/$1" ] && echo 0 || echo 1
}
wait_claimed() {
	for i in $(seq 300); do grep -q '^claimed:end' /tmp/claimed.out 2>/dev/null && break; sleep 0.1; done
	cat /tmp/claimed.out
}
if "${CTL[@]}" --help 2>/dev/null | grep -q '^ *exec ID'; then
	echo "claim-with=pidrestorectl"
	"${CTL[@]}" reserve "$1" "$2" --json >/tmp/reserve.json 2>/tmp/reserve.err &
	holder=$!
	for i in $(seq 600); do jq -e 'length == 2' /tmp/reserve.json >/dev/null 2>&1 && break; sleep 0.1; done
	id1=$(jq -r ".[] | select(.pids[0] == $1) | .id" /tmp/reserve.json 2>/dev/null)
	id2=$(jq -r ".[] | select(.pids[0] == $2) | .id" /tmp/reserve.json 2>/dev/null)
	[ -n "$id1" ] && [ -n "$id2" ] && echo "rc-reserve:ok 2" || echo "rc-reserve:error $(cat /tmp/reserve.json /tmp/reserve.err)"
	echo "reserved-ids=$id1 $id2"
	echo "in-use-after-reserve=$([ -e /proc/$1 ] && echo 1 || echo 0)$([ -e /proc/$2 ] && echo 1 || echo 0)"
	if "${CTL[@]}" exec "$id1" -- sh /opt/profile.sh claimed >/tmp/claimed.out 2>&1; then
		echo "rc-exec:ok"
	else
		echo "rc-exec:error $?"
	fi
	wait_claimed
	n=$("${CTL[@]}" release "$id2" 2>&1) && echo "rc-release:ok 1" || echo "rc-release:error $n"
	echo "released-free=$(free_after "$2")"
	kill -INT "$holder"
	wait "$holder"
	exit 0
fi
echo "claim-with=reserve-client"
coproc RC { /opt/reserve-client --socket "$SOCK_IN" 2>&1; }
in=${RC[0]} out=${RC[1]}
say() { echo "$1" >&"$out"; }
# answer: the lines up to the one starting with ok/error/timeout, prefixed.
answer() {
	local line
	while read -r -t 20 line <&"$in"; do
		echo "rc-$1:$line"
		case $line in ok* | error* | timeout*) return 0 ;; esac
	done
	echo "rc-$1:no answer"
}
read -r -t 20 ready <&"$in" && echo "rc-ready:$ready"
say "reserve $1 $2"
answer reserve >/tmp/reserve.out
cat /tmp/reserve.out
id1=$(sed -n "s/^rc-reserve:proc \([0-9]*\) $1[, ].*/\1/p" /tmp/reserve.out)
id2=$(sed -n "s/^rc-reserve:proc \([0-9]*\) $2[, ].*/\1/p" /tmp/reserve.out)
echo "reserved-ids=$id1 $id2"
echo "in-use-after-reserve=$([ -e /proc/$1 ] && echo 1 || echo 0)$([ -e /proc/$2 ] && echo 1 || echo 0)"
say "exec $id1 exec sh /opt/profile.sh claimed >/tmp/claimed.out 2>&1"
answer exec
wait_claimed
say "release $id2"
answer release
echo "released-free=$(free_after "$2")"
say quit
wait
EOF
	# scenario.sh PID R1 R2 HOSTPID: everything the restorer does.
	cat >"$CT_ROOT/opt/scenario.sh" <<'EOF'
#!/bin/sh
P=$1 R1=$2 R2=$3 HP=$4
export SOCK_IN=/run/pidrestore/pidrestored.sock
sh /opt/profile.sh own
/opt/pidrestorectl --socket "$SOCK_IN" spawn --pid "$P" -- sh -c 'exec sh /opt/profile.sh spawned' 2>/tmp/spawn.err
echo "spawn-rc=$?"
sed 's/^/spawn-err:/' /tmp/spawn.err
bash /opt/claim.sh "$R1" "$R2"
/opt/pidrestorectl --socket "$SOCK_IN" spawn --pid "$((P + 10)),$HP" -- true 2>/tmp/host.err
echo "host-rc=$?"
sed 's/^/host-err:/' /tmp/host.err
EOF
}

# The value of KEY for TAG in the scenario output ($RUN_OUT).
ct_value() {
	printf '%s\n' "$RUN_OUT" | sed -n "s/^$1:$2=//p" | head -n 1
}

# ct_logged ERE: the daemon logged a line matching ERE (audit lines are
# written before the reply they are about).
ct_logged() {
	grep -Eq -- "$1" "$T/daemon.log"
}

# ct_start_daemon: the daemon with a policy file of no grants.
ct_start_daemon() {
	CT_CONF=$T/pidrestored.conf
	printf '# written by %s\n[Policy]\nOwnNamespaces=yes\n' "$TEST_NAME" >"$CT_CONF"
	start_daemon --config "$CT_CONF"
	chmod 666 "$SOCK"
}

# ct_policy GRANT-LINES: the policy file with one [Grant] of these lines,
# reloaded (SIGHUP); waits until the daemon logged the reload.
CT_RELOADS=0
ct_policy() {
	printf '# written by %s\n[Policy]\nOwnNamespaces=yes\n\n[Grant]\n%s\n' "$TEST_NAME" "$1" >"$CT_CONF"
	kill -HUP "$DAEMON_PID"
	CT_RELOADS=$((CT_RELOADS + 1))
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(grep -c "policy reloaded: 1 grants from 1 files ($CT_CONF" "$T/daemon.log" || true)
		[ "$n" -ge "$CT_RELOADS" ] && return 0
		sleep 0.1
	done
	echo "the daemon did not reload $CT_CONF" >&2
	return 1
}

# ct_scenarios DESC: runs scenario.sh in a new container and checks it all.
ct_scenarios() {
	local d=$1 hp f n own
	pick_pid hp
	RUN_TIMEOUT=120 run ct_exec /bin/sh /opt/scenario.sh "$CT_PID" "$CT_R1" "$CT_R2" "$hp"
	assert_match "$d: the container ran the scenarios" "$RUN_OUT" '^own:end$'

	# spawn with a chosen PID inside
	assert_eq "$d: spawn --pid $CT_PID exits 0" "$(printf '%s\n' "$RUN_OUT" | sed -n 's/^spawn-rc=//p')" 0
	assert_eq "$d: the spawned child is PID $CT_PID in the container" "$(ct_value spawned pid)" "$CT_PID"

	# reserve two, claim one, release the other
	echo "$d: claimed with $(printf '%s\n' "$RUN_OUT" | sed -n 's/^claim-with=//p')"
	assert_match "$d: both PIDs reserved in one request" "$RUN_OUT" '^rc-reserve:ok 2$'
	assert_eq "$d: both are taken in the container while reserved" \
		"$(printf '%s\n' "$RUN_OUT" | sed -n 's/^in-use-after-reserve=//p')" 11
	assert_match "$d: the claim (exec) of PID $CT_R1 succeeds" "$RUN_OUT" '^rc-exec:ok$'
	assert_eq "$d: the claimed program runs as PID $CT_R1" "$(ct_value claimed pid)" "$CT_R1"
	assert_match "$d: the release of PID $CT_R2 succeeds" "$RUN_OUT" '^rc-release:ok 1$'
	assert_eq "$d: PID $CT_R2 is free again in the container" \
		"$(printf '%s\n' "$RUN_OUT" | sed -n 's/^released-free=//p')" 1

	# a host PID is refused, clearly
	assert_ne "$d: a host PID ($hp at level 0) is refused" \
		"$(printf '%s\n' "$RUN_OUT" | sed -n 's/^host-rc=//p')" 0
	assert_match "$d: the refusal names the host PID and what is missing" "$RUN_OUT" \
		"^host-err:pidrestorectl: spawn failed \\(EPERM\\): pid $hp at level 0 \\(pid:\\[[0-9]+\\], the daemon's pid namespace\\): uid [0-9]+ may not take it: no grant for uid [0-9]+ covers pid $hp in the host namespace"

	# the children are what the container would have started itself
	assert_match "$d: the container's own ids and capabilities were read" \
		"$(ct_value own Uid) $(ct_value own CapEff)" '^[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9a-f]{16}$'
	for f in $CT_STATUS_FIELDS root cgroup2 syscalls $CT_CGROUP_FIELD; do
		own=$(ct_value own "$f")
		assert_eq "$d: spawned child's $f is the container's" "$(ct_value spawned "$f")" "$own"
		assert_eq "$d: claimed child's $f is the container's" "$(ct_value claimed "$f")" "$own"
	done
	for n in $CT_NAMESPACES; do
		own=$(ct_value own "ns-$n")
		assert_match "$d: the container's $n namespace was read" "$own" "^$n:\\[[0-9]+\\]\$"
		assert_eq "$d: spawned child's $n namespace is the container's" "$(ct_value spawned "ns-$n")" "$own"
		assert_eq "$d: claimed child's $n namespace is the container's" "$(ct_value claimed "ns-$n")" "$own"
	done
}

# ct_refused DESC ERE [CMD-PREFIX...]: a spawn with a chosen PID inside a
# new container is refused with a message matching ERE.
ct_refused() {
	local d=$1 ere=$2
	RUN_TIMEOUT=60 run ct_exec /opt/pidrestorectl --socket "$CT_SOCK_IN" spawn --pid "$CT_PID" -- true
	assert_eq "$d: refused, exit 125" "$RUN_RC" 125
	assert_match "$d: the message says why" "$RUN_ERR" "$ere"
}
