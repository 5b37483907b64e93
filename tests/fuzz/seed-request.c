/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the seed corpus of fuzz-request: one file per request shape, each
 * the fd count byte the target reads first and then the packed Request.
 *
 *   seed-request DIR
 *
 * Built on demand (make tests/fuzz/seed-request); run it again when the
 * protocol grows a request type or a field, and commit what it writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pidrestore.pb-c.h"

static const char *dir;

static int write_seed(const char *name, uint8_t n_fds, Pidrestore__Request *req)
{
	size_t len = pidrestore__request__get_packed_size(req);
	uint8_t *buf = malloc(len + 1);
	char path[4096];
	FILE *f;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	buf[0] = n_fds;
	pidrestore__request__pack(req, buf + 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fwrite(buf, 1, len + 1, f) != len + 1)
		r = -errno;
	if (f && fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "seed-request: %s: %s\n", path, strerror(-r));
	free(buf);
	return r;
}

/* The seeds' request ids count up, as a client's would. */
static uint64_t next_id = 1;

/* Writes a Request with body (set through the union of the oneof) and
 * n_fds, stated in fd_count and as the count byte alike. */
static int seed(const char *name, uint8_t n_fds, Pidrestore__Request__BodyCase body_case, void *body)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;

	req.id = next_id++;
	req.has_fd_count = n_fds > 0;
	req.fd_count = n_fds;
	req.body_case = body_case;
	req.hello = body;
	return write_seed(name, n_fds, &req);
}

static int seed_spawn(const char *name, uint8_t n_fds, Pidrestore__ProcessSpec *process, Pidrestore__ExecSpec *exec)
{
	Pidrestore__SpawnRequest spawn = PIDRESTORE__SPAWN_REQUEST__INIT;

	spawn.process = process;
	spawn.exec = exec;
	return seed(name, n_fds, PIDRESTORE__REQUEST__BODY_SPAWN, &spawn);
}

static int seed_reserve(const char *name, uint8_t n_fds, Pidrestore__ProcessSpec **processes, size_t n, uint32_t ttl)
{
	Pidrestore__ReserveRequest reserve = PIDRESTORE__RESERVE_REQUEST__INIT;

	reserve.n_processes = n;
	reserve.processes = processes;
	reserve.has_ttl_sec = ttl > 0;
	reserve.ttl_sec = ttl;
	return seed(name, n_fds, PIDRESTORE__REQUEST__BODY_RESERVE, &reserve);
}

static Pidrestore__ProcessSpec process(int32_t *pids, size_t n_pids, int32_t pidns_fd_index)
{
	Pidrestore__ProcessSpec spec = PIDRESTORE__PROCESS_SPEC__INIT;

	spec.n_pids = n_pids;
	spec.pids = pids;
	spec.has_pidns_fd_index = pidns_fd_index >= 0;
	spec.pidns_fd_index = pidns_fd_index;
	return spec;
}

static ProtobufCBinaryData bytes(const char *s)
{
	return (ProtobufCBinaryData){ .len = strlen(s), .data = (uint8_t *)s };
}

static Pidrestore__FdMapping map(int32_t fd_index, int32_t target)
{
	Pidrestore__FdMapping m = PIDRESTORE__FD_MAPPING__INIT;

	m.fd_index = fd_index;
	m.target = target;
	return m;
}

static Pidrestore__TreeNode tree_node(Pidrestore__TreeNodeKind kind, int32_t parent, int32_t *pids, size_t n_pids)
{
	Pidrestore__TreeNode n = PIDRESTORE__TREE_NODE__INIT;

	n.kind = kind;
	n.parent = parent;
	n.n_pids = n_pids;
	n.pids = pids;
	return n;
}

/* A tree in a new pid namespace below a passed one: its init leads a
 * session, a dead leader's session of two, a zombie killed by SIGTERM, a
 * threaded node; a tree whose session cannot be built; a claim by blob and
 * a claim of all. */
static int seed_trees(Pidrestore__FdMapping **maps)
{
	static int32_t pids[8][2] = { { 1, 5001 }, { 2, 5002 }, { 3, 5003 }, { 4, 5004 }, { 5, 5005 }, { 6, 5006 }, { 7, 5007 } };
	static int32_t tids[2] = { 9, 0 };
	Pidrestore__TreeNode nodes[7], *np[7];
	Pidrestore__TreeThread thread = PIDRESTORE__TREE_THREAD__INIT, *tp = &thread;
	Pidrestore__TreeRequest tree = PIDRESTORE__TREE_REQUEST__INIT;
	Pidrestore__TreeClaimRequest claim = PIDRESTORE__TREE_CLAIM_REQUEST__INIT, *cp = &claim;
	Pidrestore__TreeClaimAllRequest all = PIDRESTORE__TREE_CLAIM_ALL_REQUEST__INIT;
	Pidrestore__TreeBlob blob = PIDRESTORE__TREE_BLOB__INIT;
	Pidrestore__TreeReleaseRequest release = PIDRESTORE__TREE_RELEASE_REQUEST__INIT;
	int r = 0;

	nodes[0] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_LIVE, -1, pids[0], 2);
	nodes[0].has_new_pidns = nodes[0].new_pidns = 1;
	nodes[0].has_sid = nodes[0].has_pgid = 1;
	nodes[0].comm.data = (uint8_t *)"init";
	nodes[0].comm.len = 4;
	nodes[0].has_comm = 1;
	nodes[1] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_GHOST, -1, pids[1], 2);
	nodes[2] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_LIVE, 0, pids[2], 2);
	nodes[3] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_LIVE, 0, pids[3], 2);
	nodes[2].has_sid = nodes[2].has_pgid = nodes[3].has_sid = nodes[3].has_pgid = 1;
	nodes[2].sid = nodes[2].pgid = nodes[3].sid = nodes[3].pgid = 1;
	nodes[4] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_ZOMBIE, 0, pids[4], 2);
	nodes[4].has_exit_signal = 1;
	nodes[4].exit_signal = 15;
	nodes[5] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_LIVE, 0, pids[5], 2);
	nodes[5].has_child_subreaper = nodes[5].child_subreaper = 1;
	thread.n_tids = 2;
	thread.tids = tids;
	nodes[5].n_threads = 1;
	nodes[5].threads = &tp;
	for (int i = 0; i < 6; i++)
		np[i] = &nodes[i];
	tree.n_nodes = 6;
	tree.nodes = np;
	tree.has_pidns_fd_index = 1;
	tree.pidns_fd_index = 0;
	tree.has_timeout_ms = tree.has_ttl_sec = 1;
	tree.timeout_ms = 5000;
	tree.ttl_sec = 60;
	r |= seed("tree", 1, PIDRESTORE__REQUEST__BODY_TREE, &tree);

	/* A grandchild in the outer session under a node that left it. */
	nodes[6] = tree_node(PIDRESTORE__TREE_NODE_KIND__TREE_LIVE, 2, pids[6], 2);
	nodes[6].has_sid = nodes[6].has_pgid = 1;
	nodes[6].sid = nodes[6].pgid = -1;
	np[6] = &nodes[6];
	tree.n_nodes = 7;
	tree.has_pidns_fd_index = 0;
	r |= seed("refused-tree-session", 0, PIDRESTORE__REQUEST__BODY_TREE, &tree);

	blob.memfd_index = 0;
	blob.address = 0x10000000;
	blob.entry = 0x10000040;
	blob.n_fds = 1;
	blob.fds = maps;
	claim.tree_id = 3;
	claim.node = 5;
	claim.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
	claim.blob = &blob;
	r |= seed("tree-claim-blob", 2, PIDRESTORE__REQUEST__BODY_TREE_CLAIM, &claim);
	all.tree_id = 3;
	all.n_claims = 1;
	all.claims = &cp;
	r |= seed("tree-claim-all", 2, PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL, &all);
	release.tree_id = 3;
	r |= seed("tree-release", 0, PIDRESTORE__REQUEST__BODY_TREE_RELEASE, &release);
	return r;
}

int main(int argc, char **argv)
{
	Pidrestore__Hello hello = PIDRESTORE__HELLO__INIT;
	Pidrestore__StatusRequest status = PIDRESTORE__STATUS_REQUEST__INIT;
	Pidrestore__ReleaseRequest release = PIDRESTORE__RELEASE_REQUEST__INIT;
	Pidrestore__ExecRequest claim = PIDRESTORE__EXEC_REQUEST__INIT;
	Pidrestore__ExecSpec exec = PIDRESTORE__EXEC_SPEC__INIT, by_fd = PIDRESTORE__EXEC_SPEC__INIT;
	Pidrestore__ProcessSpec procs[3], *proc_ptrs[3] = { &procs[0], &procs[1], &procs[2] };
	Pidrestore__FdMapping maps[2], *map_ptrs[2] = { &maps[0], &maps[1] };
	ProtobufCBinaryData args[2] = { bytes("true"), bytes("--version") }, env[1] = { bytes("LANG=C") };
	uint64_t ids[3] = { 1, 2, 3 };
	int32_t one_pid[1] = { 4242 }, two_pids[2] = { 1, 300000 }, deepest[33], negative[1] = { -7 };
	int r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: seed-request DIR\n");
		return 2;
	}
	dir = argv[1];

	hello.min_version = 1;
	hello.max_version = 1;
	hello.client = (char *)"seed-request";
	r |= seed("hello", 0, PIDRESTORE__REQUEST__BODY_HELLO, &hello);
	r |= seed("status", 0, PIDRESTORE__REQUEST__BODY_STATUS, &status);
	release.n_reservation_ids = 3;
	release.reservation_ids = ids;
	r |= seed("release-ids", 0, PIDRESTORE__REQUEST__BODY_RELEASE, &release);
	release.n_reservation_ids = 0;
	release.has_all = 1;
	release.all = 1;
	r |= seed("release-all", 0, PIDRESTORE__REQUEST__BODY_RELEASE, &release);

	/* spawn --pid 4242 -- true --version, with LANG=C; then the same with
	 * stdin and stdout mapped and a working directory. */
	procs[0] = process(one_pid, 1, -1);
	exec.has_path = 1;
	exec.path = bytes("/bin/true");
	exec.n_argv = 2;
	exec.argv = args;
	exec.n_envp = 1;
	exec.envp = env;
	r |= seed_spawn("spawn-path", 0, &procs[0], &exec);
	maps[0] = map(0, 0);
	maps[1] = map(1, 1);
	exec.n_fds = 2;
	exec.fds = map_ptrs;
	exec.has_cwd_fd_index = 1;
	exec.cwd_fd_index = 2;
	r |= seed_spawn("spawn-fds", 3, &procs[0], &exec);

	/* A new pid namespace below a passed one, the program passed as fd. */
	procs[1] = process(two_pids, 2, 1);
	procs[1].has_new_pidns = 1;
	procs[1].new_pidns = 1;
	by_fd.has_program_fd_index = 1;
	by_fd.program_fd_index = 0;
	r |= seed_spawn("spawn-new-pidns", 2, &procs[1], &by_fd);

	/* Three reservations, one in a passed namespace, with a TTL; then one
	 * with the most levels there are. */
	procs[0] = process(one_pid, 1, -1);
	procs[1] = process(two_pids, 2, 0);
	procs[2] = process(NULL, 0, -1);
	r |= seed_reserve("reserve-three", 1, proc_ptrs, 3, 30);
	for (int i = 0; i < 33; i++)
		deepest[i] = 1000 + i;
	procs[0] = process(deepest, 33, -1);
	r |= seed_reserve("reserve-33-levels", 0, proc_ptrs, 1, 0);

	/* Claim a reservation, with one fd mapped. */
	exec = (Pidrestore__ExecSpec)PIDRESTORE__EXEC_SPEC__INIT;
	exec.has_path = 1;
	exec.path = bytes("sh");
	maps[0] = map(0, 2);
	exec.n_fds = 1;
	exec.fds = map_ptrs;
	claim.reservation_id = 42;
	claim.exec = &exec;
	r |= seed("exec", 1, PIDRESTORE__REQUEST__BODY_EXEC, &claim);

	/* The admin requests: a policy check in a passed namespace for another
	 * uid, a listing of everything, and a kill. */
	{
		Pidrestore__PolicyRequest policy = PIDRESTORE__POLICY_REQUEST__INIT;
		Pidrestore__PolicyCheck check = PIDRESTORE__POLICY_CHECK__INIT;
		Pidrestore__ListRequest list = PIDRESTORE__LIST_REQUEST__INIT;
		Pidrestore__KillRequest kill = PIDRESTORE__KILL_REQUEST__INIT;

		procs[0] = process(two_pids, 2, 0);
		check.has_uid = 1;
		check.uid = 1000;
		check.process = &procs[0];
		policy.check = &check;
		r |= seed("policy-check", 1, PIDRESTORE__REQUEST__BODY_POLICY, &policy);
		list.has_all = 1;
		list.all = 1;
		r |= seed("list-all", 0, PIDRESTORE__REQUEST__BODY_LIST, &list);
		kill.n_ids = 3;
		kill.ids = ids;
		kill.has_signal = 1;
		kill.signal = 9;
		r |= seed("kill", 0, PIDRESTORE__REQUEST__BODY_KILL, &kill);
	}

	r |= seed_trees(map_ptrs);

	/* Refused ones: a negative PID, and fds on a request that takes none. */
	procs[0] = process(negative, 1, -1);
	r |= seed_reserve("refused-negative-pid", 0, proc_ptrs, 1, 0);
	r |= seed("refused-fds-on-status", 2, PIDRESTORE__REQUEST__BODY_STATUS, &status);

	return r < 0 ? 1 : 0;
}
