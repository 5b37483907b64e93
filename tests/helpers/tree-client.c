/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-client: asks pidrestored for the reference tree of TREES.md §9
 * over the wire protocol, as a restorer would, and checks what it got.
 *
 *   tree-client [OPTION...] SOCKET
 *
 * The tree: R is pid 1 of a new pid namespace (L2); every node's PID in the
 * caller's own pid namespace (L1) is BASE + its L2 PID. Run it as the init
 * of a pid namespace of its own (unshare --user --map-root-user --pid
 * --fork --mount-proc): it reaps what is orphaned there.
 *
 * Options:
 *   --base N        L1 PIDs are N + the L2 PID (default 7000)
 *   --timeout-ms N  the build's deadline (default: the daemon's)
 *   --ttl N         the nodes expire after N seconds; waits for that, then
 *                   checks every PID free
 *   --squat L2PID   holds L1 PID BASE+L2PID with a process of its own first
 *   --check         checks every node from /proc (prints "ok"/"FAIL" lines)
 *   --claim REAPER  claims every live node, in random order, by exec of a
 *                   shell that reports its ids from inside (30 and B (10)
 *                   through REAPER, tree-reap, of their zombies 60 and 50
 *                   first), then sleeps; checks every report and the zombies'
 *                   status on the requester's pidfds; then kills the tree
 *   --blob FILE     with --claim: nodes 12 and 70 are claimed by the blob
 *                   FILE (tree-blob.bin), whose threads report from inside
 *                   too; refusals of bad blob claims are checked first
 *   --claim-all REAPER  the same with one claim-all of every live node (in
 *                   random order), by exec, or with --blob the threaded
 *                   nodes 12 and 70 by blob in the same claim-all; after
 *                   claim-alls it must refuse whole: of the zombie 60,
 *                   naming 21 twice, of a node there is not, and with
 *                   --blob of every live node with unsealed blobs
 *   --hold          prints the tree and waits for end of stream on stdin
 *   --foreign ID    instead: a blob claim of node 1 of tree ID, which
 *                   someone else holds (prints the "reply" line)
 *   --release       releases the tree afterwards; then checks every PID free
 *   --scale N       instead: N nodes, one root and its N-1 children, each
 *                   with 4 threads, PIDs from BASE, TIDs after them; prints
 *                   "scale nodes=N threads=T build_ms=X floor_ms=Y" where the
 *                   floor is N*4 clone3(set_tid) calls of its own, then
 *                   waits for a line on stdin and releases the tree
 *   --flat          the same tree in the caller's pid namespace alone: no
 *                   new one, each node BASE + its L2 PID (for refusals)
 *
 * Output: "reply error=N name=ENAME node=N level=L message=TEXT" for a
 * refusal; "built tree=ID nodes=N pidfds=N parts=N" for a tree; then check
 * lines; "released nodes=N"; "free pids=N busy=N". Exit status: 0 when the
 * exchange happened and every check passed, 1 otherwise, 2 on usage. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.pb-c.h"
#include "wire.h"

#define RECV_CAP (1u << 20)
#define MAX_NODES 64
#define REPLY_TIMEOUT_MS 20000
/* Where the test blob is mapped in a node: far from the holder's image. */
#define BLOB_ADDRESS 0x100000000000ULL
#define BLOB_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

struct node_def {
	int l2;
	int parent_l2;      /* 0: a root; -1: a ghost (placed) */
	int kind;           /* PIDRESTORE__TREE_NODE_KIND__... */
	int sid_l2, pgid_l2;
	int exit_code, exit_signal;
	int threads[4];
};

/* TREES.md §9, nodes in an order where parents come first. */
#define N(l2_, parent_, kind_, sid_, pgid_) \
	{ .l2 = l2_, .parent_l2 = parent_, .kind = kind_, .sid_l2 = sid_, .pgid_l2 = pgid_ }

static const struct node_def ref[] = {
	N(1, 0, 1, 1, 1),
	N(10, 1, 1, 10, 10),
	N(11, 10, 1, 1, 1),
	{ .l2 = 12, .parent_l2 = 10, .kind = 1, .sid_l2 = 10, .pgid_l2 = 10, .threads = { 80, 81, 82 } },
	N(13, 10, 1, 10, 10), N(14, 10, 1, 10, 10), N(15, 10, 1, 10, 10), N(16, 10, 1, 10, 10),
	{ .l2 = 50, .parent_l2 = 10, .kind = 2, .sid_l2 = 10, .pgid_l2 = 50, .exit_signal = SIGTERM },
	N(51, 10, 1, 10, 50), N(52, 10, 1, 10, 50), N(53, 10, 1, 10, 50), N(54, 10, 1, 10, 50),
	N(20, -1, 3, 20, 20),
	N(21, 1, 1, 20, 20), N(22, 1, 1, 20, 20), N(23, 1, 1, 20, 20), N(24, 1, 1, 20, 20),
	N(25, 1, 1, 20, 20), N(26, 1, 1, 20, 20), N(27, 1, 1, 20, 20), N(28, 1, 1, 20, 20),
	N(30, 1, 1, 1, 30),
	N(31, 30, 1, 1, 30), N(32, 30, 1, 1, 30), N(33, 30, 1, 1, 30), N(34, 30, 1, 1, 30),
	N(35, 30, 1, 1, 30), N(36, 30, 1, 1, 30), N(37, 30, 1, 1, 30), N(38, 30, 1, 1, 30),
	N(40, -1, 3, 1, 40),
	N(41, 1, 1, 1, 40), N(42, 1, 1, 1, 40), N(43, 1, 1, 1, 40), N(44, 1, 1, 1, 40), N(45, 1, 1, 1, 40),
	N(46, 30, 1, 1, 40), N(47, 30, 1, 1, 40), N(48, 30, 1, 1, 40),
	{ .l2 = 60, .parent_l2 = 30, .kind = 2, .sid_l2 = 1, .pgid_l2 = 30, .exit_code = 200 },
	{ .l2 = 70, .parent_l2 = 1, .kind = 1, .sid_l2 = 1, .pgid_l2 = 1, .threads = { 71, 72, 73, 74 } },
	N(90, 70, 1, 1, 1), N(91, 70, 1, 1, 1), N(92, 70, 1, 1, 1), N(93, 70, 1, 1, 1),
	N(94, 70, 1, 1, 1), N(95, 70, 1, 1, 1), N(96, 70, 1, 1, 1), N(97, 70, 1, 1, 1),
};
#define N_REF ((int)(sizeof(ref) / sizeof(ref[0])))

static struct {
	int base;
	unsigned int timeout_ms;
	int squat;
	bool check, release, flat, at_once;
	int scale;
	unsigned int ttl;
	const char *reaper;
	const char *blob;
	bool hold;
	uint64_t foreign;
} opt = { .base = 7000 };

static int failures;
static uint64_t tree_id;
static int pidfd_of[MAX_NODES];
static uint64_t reservation_of[MAX_NODES];

static int index_of(int l2)
{
	for (int i = 0; i < N_REF; i++)
		if (ref[i].l2 == l2)
			return i;
	return -1;
}

/* ------------------------------------------------------------ the wire */

static int recv_response(int sock, uint64_t id, Pidrestore__ServerMessage **ret, int *fds, size_t *n_fds)
{
	static uint8_t buf[RECV_CAP];

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct wire_packet pkt;
		Pidrestore__ServerMessage *m;
		int r = poll(&p, 1, REPLY_TIMEOUT_MS);

		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		r = wire_recv(sock, buf, sizeof(buf), &pkt);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		*n_fds = 0;
		for (size_t i = 0; i < pkt.n_fds; i++)
			fds[(*n_fds)++] = pkt.fds[i];
		m = pidrestore__server_message__unpack(NULL, pkt.len, buf);
		if (!m)
			return -EBADMSG;
		if (m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE && m->response->id == id) {
			*ret = m;
			return 1;
		}
		wire_close_fds(&pkt, 0);
		pidrestore__server_message__free_unpacked(m, NULL);
	}
}

static int send_request(int sock, Pidrestore__Request *req)
{
	size_t len = pidrestore__request__get_packed_size(req);
	uint8_t *buf = malloc(len);
	int r;

	if (!buf)
		return -ENOMEM;
	pidrestore__request__pack(req, buf);
	r = wire_send(sock, buf, len, NULL, 0);
	free(buf);
	return r;
}

static int hello(int sock)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	Pidrestore__ServerMessage *m;
	int fds[256];
	size_t n_fds;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)"tree-client";
	req.id = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = send_request(sock, &req);
	if (r >= 0)
		r = recv_response(sock, 1, &m, fds, &n_fds);
	if (r <= 0)
		return r ? r : -EPROTO;
	r = m->response->error ? -m->response->error : 0;
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

/* ------------------------------------------------------------ the tree */

struct request_room {
	Pidrestore__TreeNode nodes[MAX_NODES];
	Pidrestore__TreeNode *node_ptrs[MAX_NODES];
	Pidrestore__TreeThread threads[MAX_NODES][4];
	Pidrestore__TreeThread *thread_ptrs[MAX_NODES][4];
	int32_t pids[MAX_NODES][2];
	int32_t tids[MAX_NODES][4][2];
};

static void node_init(struct request_room *rm, int i)
{
	const struct node_def *d = &ref[i];
	Pidrestore__TreeNode *n = &rm->nodes[i];

	pidrestore__tree_node__init(n);
	n->kind = (Pidrestore__TreeNodeKind)d->kind;
	n->has_parent = 1;
	n->parent = d->parent_l2 > 0 ? index_of(d->parent_l2) : -1;
	rm->pids[i][0] = opt.flat ? opt.base + d->l2 : d->l2;
	rm->pids[i][1] = opt.base + d->l2;
	n->pids = rm->pids[i];
	n->n_pids = opt.flat ? 1 : 2;
	n->has_new_pidns = !opt.flat && d->l2 == 1;
	n->new_pidns = n->has_new_pidns;
	n->has_sid = n->has_pgid = 1;
	n->sid = index_of(d->sid_l2);
	n->pgid = index_of(d->pgid_l2);
	if (d->kind == PIDRESTORE__TREE_NODE_KIND__TREE_ZOMBIE) {
		n->has_exit_code = d->exit_code != 0;
		n->exit_code = d->exit_code;
		n->has_exit_signal = d->exit_signal != 0;
		n->exit_signal = d->exit_signal;
	}
	for (int t = 0; t < 4 && d->threads[t]; t++) {
		Pidrestore__TreeThread *th = &rm->threads[i][t];

		pidrestore__tree_thread__init(th);
		rm->tids[i][t][0] = opt.flat ? opt.base + d->threads[t] : d->threads[t];
		rm->tids[i][t][1] = opt.base + d->threads[t];
		th->tids = rm->tids[i][t];
		th->n_tids = opt.flat ? 1 : 2;
		rm->thread_ptrs[i][t] = th;
		n->threads = rm->thread_ptrs[i];
		n->n_threads = (size_t)t + 1;
	}
	rm->node_ptrs[i] = n;
}

/* Sends the tree and takes every part of the answer. Returns 0 when built. */
static int tree_build(int sock)
{
	static struct request_room rm;
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeRequest tr = PIDRESTORE__TREE_REQUEST__INIT;
	int parts = 0, n_pidfds = 0, n_nodes = 0, r;
	bool more = true;

	for (int i = 0; i < N_REF; i++)
		node_init(&rm, i);
	tr.nodes = rm.node_ptrs;
	tr.n_nodes = N_REF;
	tr.has_timeout_ms = opt.timeout_ms != 0;
	tr.timeout_ms = opt.timeout_ms;
	tr.has_ttl_sec = opt.ttl != 0;
	tr.ttl_sec = opt.ttl;
	req.id = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE;
	req.tree = &tr;
	r = send_request(sock, &req);
	if (r < 0)
		return r;
	while (more) {
		Pidrestore__ServerMessage *m;
		const Pidrestore__Response *resp;
		int fds[256];
		size_t n_fds;

		r = recv_response(sock, 2, &m, fds, &n_fds);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		resp = m->response;
		more = false;
		if (resp->error || resp->body_case != PIDRESTORE__RESPONSE__BODY_TREE) {
			const char *name = strerrorname_np(resp->error);

			printf("reply error=%d name=%s node=%d level=%d message=%s\n", resp->error, name ? name : "-",
			       resp->tree && resp->tree->has_error_node ? resp->tree->error_node : -2,
			       resp->tree && resp->tree->has_error_level ? resp->tree->error_level : -2,
			       resp->message ? resp->message : "");
			r = -resp->error;
		} else {
			const Pidrestore__TreeReply *tr2 = resp->tree;

			tree_id = tr2->tree_id;
			more = tr2->has_more && tr2->more;
			for (size_t k = 0; k < tr2->n_nodes; k++) {
				const Pidrestore__TreeNodeInfo *ni = tr2->nodes[k];

				n_nodes++;
				if (ni->has_pidfd_index && ni->pidfd_index >= 0 && (size_t)ni->pidfd_index < n_fds &&
				    ni->node >= 0 && ni->node < MAX_NODES) {
					pidfd_of[ni->node] = fds[ni->pidfd_index];
					fds[ni->pidfd_index] = -1;
					n_pidfds++;
				}
				if (ni->has_reservation_id && ni->node >= 0 && ni->node < MAX_NODES)
					reservation_of[ni->node] = ni->reservation_id;
			}
			parts++;
			r = 0;
		}
		for (size_t k = 0; k < n_fds; k++)
			if (fds[k] >= 0)
				close(fds[k]);
		pidrestore__server_message__free_unpacked(m, NULL);
	}
	if (r == 0)
		printf("built tree=%llu nodes=%d pidfds=%d parts=%d\n", (unsigned long long)tree_id, n_nodes, n_pidfds,
		       parts);
	return r;
}

static int tree_release(int sock)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeReleaseRequest rr = PIDRESTORE__TREE_RELEASE_REQUEST__INIT;
	Pidrestore__ServerMessage *m;
	int fds[256];
	size_t n_fds;
	int r;

	rr.tree_id = tree_id;
	req.id = 3;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_RELEASE;
	req.tree_release = &rr;
	r = send_request(sock, &req);
	if (r >= 0)
		r = recv_response(sock, 3, &m, fds, &n_fds);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	if (m->response->error)
		printf("release error=%d message=%s\n", m->response->error, m->response->message ? m->response->message : "");
	else if (m->response->body_case == PIDRESTORE__RESPONSE__BODY_TREE_RELEASE)
		printf("released nodes=%zu\n", m->response->tree_release->n_released_nodes);
	r = m->response->error ? -m->response->error : 0;
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

/* ------------------------------------------------------------ checks */

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures += !ok;
}

static const char *status_field(const char *path, const char *name, char *out, size_t size)
{
	char line[512];
	size_t len = strlen(name);
	FILE *f = fopen(path, "re");

	out[0] = 0;
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			char *v = line + len + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(out, size, "%s", v);
			break;
		}
	fclose(f);
	return out;
}

static void expect(const char *path, const char *name, const char *want, int l2)
{
	char got[256];

	status_field(path, name, got, sizeof(got));
	check(!strcmp(got, want), "L2 %d %s: \"%s\" (want \"%s\")", l2, name, got, want);
}

/* A root clone3(set_tid) of pid in this namespace: 0 (free), -EEXIST, ... */
static int pid_probe(pid_t pid)
{
	struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup; }
		args = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&pid, .set_tid_size = 1 };
	long r = syscall(SYS_clone3, &args, sizeof(args));

	if (r == 0)
		_exit(0);
	if (r < 0)
		return -errno;
	waitpid((pid_t)r, NULL, __WALL);
	return 0;
}

static void check_node(int i, const char *self_path)
{
	const struct node_def *d = &ref[i];
	char path[96], want[128], mine[256];
	pid_t pid = opt.base + d->l2;
	int nthreads = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(want, sizeof(want), "%d", d->parent_l2 > 0 ? opt.base + d->parent_l2 : 0);
	expect(path, "PPid", want, d->l2);
	snprintf(want, sizeof(want), "%d\t%d", pid, d->l2);
	expect(path, "NSpid", want, d->l2);
	snprintf(want, sizeof(want), "%d\t%d", opt.base + d->sid_l2, d->sid_l2);
	expect(path, "NSsid", want, d->l2);
	snprintf(want, sizeof(want), "%d\t%d", opt.base + d->pgid_l2, d->pgid_l2);
	expect(path, "NSpgid", want, d->l2);
	/* READY comes just before a node parks: a moment to get there. */
	for (int k = 0; k < 100 && !strcmp(status_field(path, "State", mine, sizeof(mine)), "R (running)"); k++)
		usleep(1000);
	expect(path, "State", d->kind == PIDRESTORE__TREE_NODE_KIND__TREE_ZOMBIE ? "Z (zombie)" : "S (sleeping)", d->l2);
	for (const char *const *f = (const char *const[]){ "Uid", "Gid", "Groups", NULL }; *f; f++)
		expect(path, *f, status_field(self_path, *f, mine, sizeof(mine)), d->l2);
	check(pidfd_of[i] >= 0, "L2 %d: a pidfd", d->l2);
	if (d->kind != PIDRESTORE__TREE_NODE_KIND__TREE_LIVE)
		return;
	for (const char *const *f = (const char *const[]){ "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", NULL }; *f; f++)
		expect(path, *f, status_field(self_path, *f, mine, sizeof(mine)), d->l2);
	while (nthreads < 4 && d->threads[nthreads])
		nthreads++;
	snprintf(want, sizeof(want), "%d", nthreads + 1);
	expect(path, "Threads", want, d->l2);
	for (int t = 0; t < nthreads; t++) {
		char tpath[128];

		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%d/status", pid, opt.base + d->threads[t]);
		snprintf(want, sizeof(want), "%d\t%d", opt.base + d->threads[t], d->threads[t]);
		expect(tpath, "NSpid", want, d->threads[t]);
		for (const char *const *f = (const char *const[]){ "Uid", "Gid", "CapEff", "CapBnd", "NoNewPrivs", NULL }; *f; f++)
			expect(tpath, *f, status_field(self_path, *f, mine, sizeof(mine)), d->threads[t]);
	}
}

static void check_tree(void)
{
	char path[64], got[64];

	for (int i = 0; i < N_REF; i++)
		if (ref[i].kind == PIDRESTORE__TREE_NODE_KIND__TREE_GHOST) {
			snprintf(path, sizeof(path), "/proc/%d", opt.base + ref[i].l2);
			check(access(path, F_OK) < 0, "ghost %d is gone", ref[i].l2);
			check(pid_probe(opt.base + ref[i].l2) == -EEXIST, "ghost %d's PID is still taken", ref[i].l2);
		} else {
			check_node(i, "/proc/self/status");
		}
	check(kill(-(opt.base + 40), SIGUSR1) == 0, "group 40 can be signalled");
	for (int l2 = 30; l2 <= 48; l2++) {
		bool member = l2 >= 41;

		snprintf(path, sizeof(path), "/proc/%d/status", opt.base + l2);
		if (l2 > 30 && l2 < 41)
			continue;
		status_field(path, "ShdPnd", got, sizeof(got));
		check(!!(strtoull(got, NULL, 16) & (1u << (SIGUSR1 - 1))) == member, "L2 %d: SIGUSR1 %s", l2,
		      member ? "pending" : "not sent");
	}
}

/* After a release or a failure: every PID of the tree free again. */
static void check_free(void)
{
	int busy = 0;

	for (int tries = 0; tries < 500; tries++) {
		busy = 0;
		while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
			;
		for (int i = 0; i < N_REF; i++) {
			if (ref[i].l2 + opt.base == opt.base + opt.squat && opt.squat)
				continue;
			busy += pid_probe(opt.base + ref[i].l2) != 0;
			for (int t = 0; t < 4 && ref[i].threads[t]; t++)
				busy += pid_probe(opt.base + ref[i].threads[t]) != 0;
		}
		if (!busy)
			break;
		usleep(10000);
	}
	printf("free busy=%d\n", busy);
	failures += busy != 0;
}

/* ------------------------------------------------------------ claims */

/* One line from inside: its ids as its own /proc/self says, with no
 * child process (a shell reaps every child it has). */
static const char report_script[] =
	"l=\"claimed pid=$$\"; while read -r k v; do case $k in NSpid:|NSsid:|NSpgid:|PPid:|Uid:|Threads:) "
	"set -- $v; IFS=,; l=\"$l $k$*\"; unset IFS;; esac; done < /proc/self/status; echo \"$l\"; ";

static int claim(int sock, int i, int out_fd, uint64_t id)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ExecRequest er = PIDRESTORE__EXEC_REQUEST__INIT;
	Pidrestore__ExecSpec spec = PIDRESTORE__EXEC_SPEC__INIT;
	Pidrestore__FdMapping map = PIDRESTORE__FD_MAPPING__INIT, err = PIDRESTORE__FD_MAPPING__INIT, *maps[] = { &map, &err };
	Pidrestore__ServerMessage *m;
	char script[1024], *argv_s[] = { "sh", "-c", script };
	ProtobufCBinaryData argv[3];
	int fds[256];
	size_t n_fds, len;
	uint8_t *buf;
	int r;

	/* The reaper first: the report's shell would reap every child. */
	if (ref[i].l2 == 30 || ref[i].l2 == 10)
		snprintf(script, sizeof(script), "exec %s %d sh -c '%sexec sleep 1000'", opt.reaper,
			 ref[i].l2 == 30 ? 60 : 50, report_script);
	else
		snprintf(script, sizeof(script), "%sexec sleep 1000", report_script);
	for (int k = 0; k < 3; k++)
		argv[k] = (ProtobufCBinaryData){ .len = strlen(argv_s[k]), .data = (uint8_t *)argv_s[k] };
	spec.has_path = 1;
	spec.path = (ProtobufCBinaryData){ .len = 7, .data = (uint8_t *)"/bin/sh" };
	spec.argv = argv;
	spec.n_argv = 3;
	map.fd_index = 0;
	map.target = 1;
	err.fd_index = 1;
	err.target = 2;
	spec.fds = maps;
	spec.n_fds = 2;
	er.reservation_id = reservation_of[i];
	er.exec = &spec;
	req.id = id;
	req.has_fd_count = 1;
	req.fd_count = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_EXEC;
	req.exec = &er;
	len = pidrestore__request__get_packed_size(&req);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	pidrestore__request__pack(&req, buf);
	r = wire_send(sock, buf, len, (int[]){ out_fd, out_fd }, 2);
	free(buf);
	if (r >= 0)
		r = recv_response(sock, id, &m, fds, &n_fds);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	r = m->response->error ? -m->response->error : 0;
	if (r)
		printf("claim of L2 %d: error=%d %s\n", ref[i].l2, m->response->error, m->response->message ? m->response->message : "");
	else
		check(m->response->body_case == PIDRESTORE__RESPONSE__BODY_EXEC &&
			      m->response->exec->threads_lost == (ref[i].threads[0] != 0),
		      "the exec reply of L2 %d says threads_lost=%d", ref[i].l2, ref[i].threads[0] != 0);
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

/* ------------------------------------------------------------ blob claims */

/* The blob in a memfd, with seals. */
static int blob_memfd(unsigned int seals)
{
	static char image[1 << 16];
	static ssize_t len = -1;
	int fd;

	if (len < 0) {
		int in = open(opt.blob, O_RDONLY | O_CLOEXEC);

		len = in >= 0 ? read(in, image, sizeof(image)) : -1;
		if (in >= 0)
			close(in);
		if (len <= 0) {
			fprintf(stderr, "tree-client: cannot read %s\n", opt.blob);
			exit(1);
		}
	}
	fd = memfd_create("tree-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, image, (size_t)len) != len || (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		fprintf(stderr, "tree-client: cannot make the blob's memfd: %m\n");
		exit(1);
	}
	return fd;
}

/* A blob claim of node with fds[0] (the blob) and the map fds[1..n) at
 * targets. Returns 0 or -errno with the reply's message in msg. */
static int blob_claim(int sock, uint64_t tree, int node, uint64_t address, uint64_t entry, const int *fds, int n,
		      const int *targets, uint64_t id, char *msg, size_t msg_size)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeClaimRequest cr = PIDRESTORE__TREE_CLAIM_REQUEST__INIT;
	Pidrestore__TreeBlob blob = PIDRESTORE__TREE_BLOB__INIT;
	Pidrestore__FdMapping maps[4], *map_ptrs[4];
	Pidrestore__ServerMessage *m;
	int got[256];
	size_t n_got, len;
	uint8_t *buf;
	int r;

	for (int k = 1; k < n; k++) {
		pidrestore__fd_mapping__init(&maps[k - 1]);
		maps[k - 1].fd_index = k;
		maps[k - 1].target = targets[k - 1];
		map_ptrs[k - 1] = &maps[k - 1];
	}
	blob.memfd_index = 0;
	blob.address = address;
	blob.entry = entry;
	blob.fds = map_ptrs;
	blob.n_fds = (size_t)n - 1;
	cr.tree_id = tree;
	cr.node = node;
	cr.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
	cr.blob = &blob;
	req.id = id;
	req.has_fd_count = 1;
	req.fd_count = (uint32_t)n;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_CLAIM;
	req.tree_claim = &cr;
	len = pidrestore__request__get_packed_size(&req);
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	pidrestore__request__pack(&req, buf);
	r = wire_send(sock, buf, len, fds, (size_t)n);
	free(buf);
	if (r >= 0)
		r = recv_response(sock, id, &m, got, &n_got);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	snprintf(msg, msg_size, "%s", m->response->message ? m->response->message : "");
	r = m->response->error ? -m->response->error : 0;
	if (r == 0 && (m->response->body_case != PIDRESTORE__RESPONSE__BODY_TREE_CLAIM ||
		       m->response->tree_claim->node->node != node ||
		       m->response->tree_claim->node->state != PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED))
		r = -EBADMSG;
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

/* A refusal with exactly this errno and message. */
static void expect_refusal(const char *what, int r, int err, const char *msg, const char *want)
{
	check(r == -err && !strcmp(msg, want), "blob refusal, %s: %s (error %d)", what, msg, -r);
}

static void blob_refusals(int sock)
{
	int i12 = index_of(12), out = open("/dev/null", O_WRONLY | O_CLOEXEC), fds[2], pipe_fds[2], r;
	char msg[600], want[600];
	uint64_t id = 300;

	fds[1] = out;
	fds[0] = blob_memfd(0);
	r = blob_claim(sock, tree_id, i12, BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
	expect_refusal("an unsealed memfd", r, EINVAL, msg,
		       "the blob's memfd is not sealed against change (missing F_SEAL_WRITE F_SEAL_SHRINK F_SEAL_GROW): add the seals with fcntl(F_ADD_SEALS) before the claim, so that it cannot change after the daemon checked it");
	close(fds[0]);
	if (pipe2(pipe_fds, O_CLOEXEC) == 0) {
		fds[0] = pipe_fds[0];
		r = blob_claim(sock, tree_id, i12, BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
		expect_refusal("a pipe for a memfd", r, EINVAL, msg,
			       "the blob (fd index 0) is not a memfd: pass one from memfd_create(MFD_ALLOW_SEALING) sealed with F_SEAL_WRITE, F_SEAL_SHRINK and F_SEAL_GROW");
		close(pipe_fds[0]);
		close(pipe_fds[1]);
	}
	fds[0] = blob_memfd(BLOB_SEALS);
	r = blob_claim(sock, tree_id, i12, BLOB_ADDRESS + 16, BLOB_ADDRESS + 16, fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
	expect_refusal("an address not page aligned", r, EINVAL, msg,
		       "blob address 0x100000000010 is not page aligned: link the blob at a multiple of 4096");
	r = blob_claim(sock, tree_id, i12, BLOB_ADDRESS, BLOB_ADDRESS + (1 << 20), fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
	snprintf(want, sizeof(want), "blob entry 0x100000100000 is outside the blob (0x100000000000 to 0x%llx): give the address of its entry function as mapped",
		 BLOB_ADDRESS + (unsigned long long)lseek(fds[0], 0, SEEK_END));
	expect_refusal("an entry outside the blob", r, EINVAL, msg, want);
	r = blob_claim(sock, tree_id, index_of(50), BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
	snprintf(want, sizeof(want), "node %d of tree %llu is a zombie: only a live node can be claimed", index_of(50),
		 (unsigned long long)tree_id);
	expect_refusal("a zombie node", r, EINVAL, msg, want);
	/* The holder's own image is there: the node says so and stays
	 * claimable. */
	r = blob_claim(sock, tree_id, i12, 0x400000, 0x400000, fds, 2, (int[]){ 1 }, id++, msg, sizeof(msg));
	expect_refusal("an address the holder uses", r, EEXIST, msg,
		       "cannot execute the blob in node 3: mapping the blob at its address failed: File exists");
	close(fds[0]);
	close(out);
}

/* Node i by the blob, reporting to out_fd; *pipe_wr ends it. */
static int blob_claim_node(int sock, int i, int out_fd, uint64_t id, int *pipe_wr)
{
	int pipe_fds[2], fds[3], r;
	char msg[600];

	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -errno;
	fds[0] = blob_memfd(BLOB_SEALS);
	fds[1] = out_fd;
	fds[2] = pipe_fds[0];
	r = blob_claim(sock, tree_id, i, BLOB_ADDRESS, BLOB_ADDRESS, fds, 3, (int[]){ 1, 0 }, id, msg, sizeof(msg));
	close(fds[0]);
	close(pipe_fds[0]);
	if (r < 0) {
		printf("blob claim of L2 %d: error=%d %s\n", ref[i].l2, -r, msg);
		close(pipe_fds[1]);
		return r;
	}
	*pipe_wr = pipe_fds[1];
	return 0;
}

/* What the blob in node d and its threads said, from the reports. */
static void blob_check_reports(FILE *f, const struct node_def *d)
{
	char line[512], want[256];
	int n = 1;

	while (n < 5 && d->threads[n - 1])
		n++;
	for (int k = 0; k < n; k++) {
		int tid = k ? d->threads[k - 1] : d->l2;
		bool found = false;
		size_t len;

		snprintf(want, sizeof(want), "blob pid=%d tid=%d uid=0 gid=0 NSpid:%d,%d Uid:0,0,0,0 block:%d,%d,", d->l2,
			 tid, opt.base + tid, tid, tid, opt.base + tid);
		len = strlen(want);
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (strncmp(line, want, len))
				continue;
			found = true;
			if (!k) {
				char tail[32];

				snprintf(tail, sizeof(tail), " threads=%d", n - 1);
				found = strlen(line) > strlen(tail) && !strcmp(line + strlen(line) - strlen(tail), tail);
			}
		}
		check(found, "L2 %d %s %d reports from the blob: %s...", d->l2, k ? "thread" : "main thread", tid, want);
	}
}

/* A blob claim of someone else's tree. */
static int foreign_claim(int sock)
{
	int fds[2] = { blob_memfd(BLOB_SEALS), open("/dev/null", O_WRONLY | O_CLOEXEC) }, r;
	char msg[600];

	r = blob_claim(sock, opt.foreign, 1, BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, 400, msg, sizeof(msg));
	printf("reply error=%d name=%s message=%s\n", -r, r ? strerrorname_np(-r) : "-", msg);
	close(fds[0]);
	close(fds[1]);
	return r;
}

/* What one exec claim is made of: its stdout and stderr are the fds at
 * fd_base and fd_base + 1 of its request. */
struct claim_room {
	Pidrestore__ExecSpec spec;
	Pidrestore__FdMapping map, err, *maps[2];
	char script[1024];
	char *argv_s[3];
	ProtobufCBinaryData argv[3];
};

static void claim_spec(int i, int fd_base, struct claim_room *c)
{
	/* The reaper first: the report's shell would reap every child. */
	if (ref[i].l2 == 30 || ref[i].l2 == 10)
		snprintf(c->script, sizeof(c->script), "exec %s %d sh -c '%sexec sleep 1000'", opt.reaper,
			 ref[i].l2 == 30 ? 60 : 50, report_script);
	else
		snprintf(c->script, sizeof(c->script), "%sexec sleep 1000", report_script);
	c->argv_s[0] = "sh";
	c->argv_s[1] = "-c";
	c->argv_s[2] = c->script;
	for (int k = 0; k < 3; k++)
		c->argv[k] = (ProtobufCBinaryData){ .len = strlen(c->argv_s[k]), .data = (uint8_t *)c->argv_s[k] };
	pidrestore__exec_spec__init(&c->spec);
	pidrestore__fd_mapping__init(&c->map);
	pidrestore__fd_mapping__init(&c->err);
	c->spec.has_path = 1;
	c->spec.path = (ProtobufCBinaryData){ .len = 7, .data = (uint8_t *)"/bin/sh" };
	c->spec.argv = c->argv;
	c->spec.n_argv = 3;
	c->map.fd_index = fd_base;
	c->map.target = 1;
	c->err.fd_index = fd_base + 1;
	c->err.target = 2;
	c->maps[0] = &c->map;
	c->maps[1] = &c->err;
	c->spec.fds = c->maps;
	c->spec.n_fds = 2;
}

/* Sends req with the n_fds fds; returns the daemon's -errno, 0, or a
 * failure of the exchange, printing a refusal with its message. */
static int exchange(int sock, Pidrestore__Request *req, const int *send_fds, size_t n_fds, const char *what)
{
	Pidrestore__ServerMessage *m;
	int fds[256];
	size_t n_got, len;
	uint8_t *buf;
	int r;

	req->has_fd_count = n_fds > 0;
	req->fd_count = (uint32_t)n_fds;
	len = pidrestore__request__get_packed_size(req);
	buf = malloc(len);

	if (!buf || n_fds > WIRE_MAX_FDS) {
		free(buf);
		return -ENOMEM;
	}
	pidrestore__request__pack(req, buf);
	r = wire_send(sock, buf, len, send_fds, n_fds);
	free(buf);
	if (r >= 0)
		r = recv_response(sock, req->id, &m, fds, &n_got);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	r = m->response->error ? -m->response->error : 0;
	if (r)
		printf("%s: error=%d %s\n", what, m->response->error, m->response->message ? m->response->message : "");
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

static bool by_blob(int i);

/* What one blob claim of a claim-all is made of: the blob's memfd, then
 * its report fd at 1 and the read end of its pipe at 0. */
struct blob_room {
	Pidrestore__TreeBlob blob;
	Pidrestore__FdMapping maps[2], *map_ptrs[2];
};

static void blob_spec(int fd_base, struct blob_room *b)
{
	pidrestore__tree_blob__init(&b->blob);
	b->blob.memfd_index = fd_base;
	b->blob.address = BLOB_ADDRESS;
	b->blob.entry = BLOB_ADDRESS;
	for (int k = 0; k < 2; k++) {
		pidrestore__fd_mapping__init(&b->maps[k]);
		b->maps[k].fd_index = fd_base + 1 + k;
		b->maps[k].target = 1 - k;
		b->map_ptrs[k] = &b->maps[k];
	}
	b->blob.fds = b->map_ptrs;
	b->blob.n_fds = 2;
}

/* One claim-all of the nodes order[0..n) (request node indexes): by the
 * blob (its memfd sealed with blob_seals) for a node by_blob(), then
 * pipe_wr[node] ends it; else by exec. */
static int claim_at_once(int sock, const int *order, int n, int out_fd, uint64_t id, unsigned int blob_seals,
			 int *pipe_wr)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeClaimAllRequest all = PIDRESTORE__TREE_CLAIM_ALL_REQUEST__INIT;
	static Pidrestore__TreeClaimRequest claims[MAX_NODES], *ptrs[MAX_NODES];
	static struct claim_room rooms[MAX_NODES];
	static struct blob_room blobs[MAX_NODES];
	int fds[WIRE_MAX_FDS], opened[WIRE_MAX_FDS], pipe_fds[2], r;
	size_t n_fds = 0, n_opened = 0;

	for (int k = 0; k < n; k++) {
		int i = order[k];

		pidrestore__tree_claim_request__init(&claims[k]);
		claims[k].tree_id = tree_id;
		claims[k].node = i;
		ptrs[k] = &claims[k];
		if (i < N_REF && by_blob(i) && pipe2(pipe_fds, O_CLOEXEC) == 0) {
			blob_spec((int)n_fds, &blobs[k]);
			claims[k].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
			claims[k].blob = &blobs[k].blob;
			fds[n_fds++] = opened[n_opened++] = blob_memfd(blob_seals);
			fds[n_fds++] = out_fd;
			fds[n_fds++] = opened[n_opened++] = pipe_fds[0];
			pipe_wr[i] = pipe_fds[1];
			continue;
		}
		/* A node the tree lacks is claimed with node 0's command. */
		claim_spec(i < N_REF ? i : 0, (int)n_fds, &rooms[k]);
		claims[k].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC;
		claims[k].exec = &rooms[k].spec;
		fds[n_fds++] = out_fd;
		fds[n_fds++] = out_fd;
	}
	all.tree_id = tree_id;
	all.claims = ptrs;
	all.n_claims = (size_t)n;
	req.id = id;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL;
	req.tree_claim_all = &all;
	r = exchange(sock, &req, fds, n_fds, "claim-all");
	for (size_t k = 0; k < n_opened; k++)
		close(opened[k]);
	/* Refused: no blob runs to read its pipe. */
	for (int k = 0; r < 0 && k < n; k++)
		if (order[k] < N_REF && by_blob(order[k]) && pipe_wr[order[k]] >= 0) {
			close(pipe_wr[order[k]]);
			pipe_wr[order[k]] = -1;
		}
	return r;
}

/* The claim-all refusals, each before any node is told: a zombie, a node
 * named twice, a node the tree does not have. */
static void claim_all_refusals(int sock, int out_fd, const int *order, int n)
{
	int zombie[] = { index_of(60) }, twice[] = { index_of(21), index_of(22), index_of(21) }, none[] = { 77 };
	int pipe_wr[MAX_NODES];

	for (int i = 0; i < MAX_NODES; i++)
		pipe_wr[i] = -1;
	check(claim_at_once(sock, zombie, 1, out_fd, 90, BLOB_SEALS, pipe_wr) == -EINVAL, "claim-all of the zombie 60: EINVAL");
	check(claim_at_once(sock, twice, 3, out_fd, 91, BLOB_SEALS, pipe_wr) == -EINVAL, "claim-all naming 21 twice: EINVAL");
	check(claim_at_once(sock, none, 1, out_fd, 92, BLOB_SEALS, pipe_wr) == -EINVAL, "claim-all of node 77: EINVAL");
	/* Every live node, the blobs' memfds unsealed: refused whole, and
	 * the claim-all after it finds every node still parked. */
	if (opt.blob)
		check(claim_at_once(sock, order, n, out_fd, 93, 0, pipe_wr) == -EINVAL,
		      "claim-all of every live node with unsealed blobs: EINVAL");
}

/* The status the kernel kept for a reaped zombie, through the requester's
 * pidfd (PIDFD_INFO_EXIT, 6.15). */
static int pidfd_exit_status(int pidfd)
{
	struct { uint64_t mask, cgroupid; uint32_t ids[11]; int32_t exit_code; } info = { .mask = 1ull << 3 };

	for (int k = 0; k < 500; k++) {
		if (ioctl(pidfd, _IOWR(0xFF, 11, info), &info) == 0 && (info.mask & (1ull << 3)))
			return info.exit_code;
		info.mask = 1ull << 3;
		usleep(10000);
	}
	return -1;
}

static bool by_blob(int i)
{
	return opt.blob && ref[i].threads[0];
}

static void claim_all(int sock)
{
	char path[] = "/tmp/tree-client-XXXXXX", line[512], want[256];
	/* The nodes share this file description with its offset, which the
	 * reads below move: only O_APPEND keeps a report written meanwhile
	 * from landing on an earlier one. */
	int order[N_REF], n = 0, out_fd = mkostemp(path, O_APPEND | O_CLOEXEC), lines = 0, want_lines = 2,
			  blob_pipe[MAX_NODES];
	FILE *f;

	if (out_fd < 0) {
		check(false, "a file for the claims' reports: %m");
		return;
	}
	unlink(path);
	for (int i = 0; i < N_REF; i++)
		if (ref[i].kind == PIDRESTORE__TREE_NODE_KIND__TREE_LIVE)
			order[n++] = i;
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	for (int i = n - 1; i > 0; i--) {
		int j = rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (opt.blob && !opt.at_once)
		blob_refusals(sock);
	if (opt.at_once) {
		claim_all_refusals(sock, out_fd, order, n);
		for (int k = 0; k < n; k++)
			blob_pipe[order[k]] = -1;
		check(claim_at_once(sock, order, n, out_fd, 100, BLOB_SEALS, blob_pipe) == 0, "claim-all of the %d live nodes%s",
		      n, opt.blob ? ", the threaded ones by blob" : "");
		want_lines += n;
		for (int k = 0; k < n; k++)
			for (int t = 0; by_blob(order[k]) && t < 4 && ref[order[k]].threads[t]; t++)
				want_lines++;
	}
	for (int k = 0; !opt.at_once && k < n; k++) {
		int i = order[k];

		blob_pipe[i] = -1;
		if (by_blob(i)) {
			check(blob_claim_node(sock, i, out_fd, 100 + (uint64_t)k, &blob_pipe[i]) == 0, "claim of L2 %d by blob",
			      ref[i].l2);
			for (int t = 0; t < 4 && ref[i].threads[t]; t++)
				want_lines++;
		} else {
			check(claim(sock, i, out_fd, 100 + (uint64_t)k) == 0, "claim of L2 %d by exec", ref[i].l2);
		}
		want_lines++;
	}
	if (opt.blob) {
		char msg[600];
		int fds[2] = { blob_memfd(BLOB_SEALS), open("/dev/null", O_WRONLY | O_CLOEXEC) };
		int r = blob_claim(sock, tree_id, index_of(12), BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, 350, msg,
				   sizeof(msg));

		snprintf(want, sizeof(want), "node %d of tree %llu is already claimed", index_of(12), (unsigned long long)tree_id);
		expect_refusal("a node claimed by blob already", r, EBUSY, msg, want);
		r = blob_claim(sock, tree_id, index_of(11), BLOB_ADDRESS, BLOB_ADDRESS, fds, 2, (int[]){ 1 }, 351, msg,
			       sizeof(msg));
		snprintf(want, sizeof(want), "node %d of tree %llu is already claimed", index_of(11), (unsigned long long)tree_id);
		expect_refusal("a node claimed by exec already", r, EBUSY, msg, want);
		close(fds[0]);
		close(fds[1]);
	}
	/* Every node reports once, the two reapers once more, every thread
	 * of a node claimed by blob once. */
	for (int tries = 0; tries < 1000 && lines < want_lines; tries++) {
		lines = 0;
		lseek(out_fd, 0, SEEK_SET);
		f = fdopen(dup(out_fd), "r");
		while (f && fgets(line, sizeof(line), f))
			lines++;
		if (f)
			fclose(f);
		if (lines < want_lines)
			usleep(10000);
	}
	check(lines == want_lines, "%d reports from inside the claimed nodes (want %d)", lines, want_lines);
	lseek(out_fd, 0, SEEK_SET);
	f = fdopen(dup(out_fd), "r");
	for (int i = 0; f && i < N_REF; i++) {
		const struct node_def *d = &ref[i];
		bool found = false;

		if (d->kind != PIDRESTORE__TREE_NODE_KIND__TREE_LIVE)
			continue;
		if (by_blob(i)) {
			blob_check_reports(f, d);
			continue;
		}
		/* Its getpid(), and its ids as the requester's /proc shows them. */
		snprintf(want, sizeof(want),
			 "claimed pid=%d PPid:%d Uid:0,0,0,0 NSpid:%d,%d NSpgid:%d,%d NSsid:%d,%d Threads:1", d->l2,
			 d->parent_l2 > 0 ? opt.base + d->parent_l2 : 0, opt.base + d->l2, d->l2, opt.base + d->pgid_l2,
			 d->pgid_l2, opt.base + d->sid_l2, d->sid_l2);
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			found |= !strcmp(line, want);
		}
		check(found, "L2 %d reports from inside: %s", d->l2, want);
	}
	if (f) {
		bool r60 = false, r50 = false;

		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "claimed ", 8) && strncmp(line, "blob ", 5))
				printf("# %s", line);
			r60 |= !strncmp(line, "reaped 60 code=200", 18);
			r50 |= !strncmp(line, "reaped 50 signal=15", 19);
		}
		fclose(f);
		check(r60, "claimed 30 reaps 60: exit code 200");
		check(r50, "claimed B reaps 50: SIGTERM");
	}
	check(pidfd_exit_status(pidfd_of[index_of(60)]) == 200 << 8, "the requester's pidfd of 60: exit code 200");
	check(pidfd_exit_status(pidfd_of[index_of(50)]) == SIGTERM, "the requester's pidfd of 50: SIGTERM");
	/* Told to, the blob ends its whole process, threads included. */
	for (int i = 0; opt.blob && i < N_REF; i++) {
		struct pollfd p = { .fd = pidfd_of[i], .events = POLLIN };
		char status[64], status_path[64];

		if (!by_blob(i) || blob_pipe[i] < 0)
			continue;
		check(write(blob_pipe[i], "*", 1) == 1, "told the blob in L2 %d to exit", ref[i].l2);
		close(blob_pipe[i]);
		check(poll(&p, 1, 5000) == 1, "the blob's process L2 %d exited", ref[i].l2);
		snprintf(status_path, sizeof(status_path), "/proc/%d/status", opt.base + ref[i].l2);
		for (int tries = 0; tries < 100 && strcmp(status_field(status_path, "State", status, sizeof(status)), "Z (zombie)");
		     tries++)
			usleep(10000);
		check(!strcmp(status_field(status_path, "State", status, sizeof(status)), "Z (zombie)") &&
			      !strcmp(status_field(status_path, "Threads", status, sizeof(status)), "1"),
		      "L2 %d is a zombie with no thread left", ref[i].l2);
	}
	close(out_fd);
	/* R is the init of L2: its end ends the tree. */
	syscall(SYS_pidfd_send_signal, pidfd_of[0], SIGKILL, NULL, 0);
}

/* ------------------------------------------------------------ scale */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What a process of its own makes in the same time: one clone3(set_tid)
 * per process and thread of the tree, each child gone at once. */
static double floor_ms(int n, pid_t first)
{
	double t0 = now_ms();

	for (int k = 0; k < n; k++) {
		pid_t want = first + k;
		struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup; }
			args = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1 };
		long pid = syscall(SYS_clone3, &args, sizeof(args));

		if (pid == 0)
			_exit(0);
		if (pid < 0)
			return -1;
		waitpid((pid_t)pid, NULL, 0);
	}
	return now_ms() - t0;
}

static int scale_run(int sock)
{
	int n = opt.scale, nt = 4 * n, parts = 0;
	Pidrestore__TreeNode *nodes = calloc((size_t)n, sizeof(*nodes));
	Pidrestore__TreeNode **ptrs = calloc((size_t)n, sizeof(*ptrs));
	Pidrestore__TreeThread *threads = calloc((size_t)nt, sizeof(*threads));
	Pidrestore__TreeThread **tptrs = calloc((size_t)nt, sizeof(*tptrs));
	int32_t *ids = calloc((size_t)(n + nt), sizeof(*ids));
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeRequest tr = PIDRESTORE__TREE_REQUEST__INIT;
	double t0, build, fl;
	bool more = true;
	char line[16];
	int r;

	if (!nodes || !ptrs || !threads || !tptrs || !ids)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		pidrestore__tree_node__init(&nodes[i]);
		nodes[i].kind = PIDRESTORE__TREE_NODE_KIND__TREE_LIVE;
		nodes[i].has_parent = 1;
		nodes[i].parent = i ? 0 : -1;
		ids[i] = opt.base + i;
		nodes[i].pids = &ids[i];
		nodes[i].n_pids = 1;
		for (int t = 0; t < 4; t++) {
			int k = 4 * i + t;

			pidrestore__tree_thread__init(&threads[k]);
			ids[n + k] = opt.base + n + k;
			threads[k].tids = &ids[n + k];
			threads[k].n_tids = 1;
			tptrs[k] = &threads[k];
		}
		nodes[i].threads = &tptrs[4 * i];
		nodes[i].n_threads = 4;
		ptrs[i] = &nodes[i];
	}
	tr.nodes = ptrs;
	tr.n_nodes = (size_t)n;
	tr.has_timeout_ms = 1;
	tr.timeout_ms = 120000;
	req.id = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE;
	req.tree = &tr;
	t0 = now_ms();
	r = send_request(sock, &req);
	while (r >= 0 && more) {
		Pidrestore__ServerMessage *m;
		int fds[256];
		size_t n_fds;

		r = recv_response(sock, 2, &m, fds, &n_fds);
		if (r <= 0) {
			r = r ? r : -ECONNRESET;
			break;
		}
		for (size_t k = 0; k < n_fds; k++)
			close(fds[k]);
		if (m->response->error) {
			printf("reply error=%d message=%s\n", m->response->error, m->response->message ? m->response->message : "");
			r = -m->response->error;
		} else {
			tree_id = m->response->tree->tree_id;
			more = m->response->tree->has_more && m->response->tree->more;
			parts++;
		}
		pidrestore__server_message__free_unpacked(m, NULL);
		if (r < 0)
			break;
	}
	build = now_ms() - t0;
	if (r >= 0) {
		fl = floor_ms(n + nt, opt.base + n + nt + 1000);
		printf("scale nodes=%d threads=%d parts=%d build_ms=%.1f floor_ms=%.1f\n", n, nt, parts, build, fl);
		if (!fgets(line, sizeof(line), stdin))
			line[0] = 0;
		r = tree_release(sock);
	}
	free(nodes);
	free(ptrs);
	free(threads);
	free(tptrs);
	free(ids);
	return r;
}

int main(int argc, char **argv)
{
	pid_t squatter = -1;
	int sock, r, i;

	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--base") && i + 1 < argc - 1)
			opt.base = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc - 1)
			opt.timeout_ms = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--squat") && i + 1 < argc - 1)
			opt.squat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--check"))
			opt.check = true;
		else if (!strcmp(argv[i], "--release"))
			opt.release = true;
		else if (!strcmp(argv[i], "--flat"))
			opt.flat = true;
		else if (!strcmp(argv[i], "--ttl") && i + 1 < argc - 1)
			opt.ttl = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--scale") && i + 1 < argc - 1)
			opt.scale = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--claim") && i + 1 < argc - 1)
			opt.reaper = argv[++i];
		else if (!strcmp(argv[i], "--claim-all") && i + 1 < argc - 1)
			opt.reaper = argv[++i], opt.at_once = true;
		else if (!strcmp(argv[i], "--blob") && i + 1 < argc - 1)
			opt.blob = argv[++i];
		else if (!strcmp(argv[i], "--hold"))
			opt.hold = true;
		else if (!strcmp(argv[i], "--foreign") && i + 1 < argc - 1)
			opt.foreign = strtoull(argv[++i], NULL, 10);
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: tree-client [--base N] [--timeout-ms N] [--ttl N] [--squat L2PID] [--check] [--claim REAPER [--blob FILE]] [--claim-all REAPER [--blob FILE]] [--hold] [--foreign TREE --blob FILE] [--release] [--flat] SOCKET\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int k = 0; k < MAX_NODES; k++)
		pidfd_of[k] = -1;
	if (opt.squat) {
		pid_t want = opt.base + opt.squat;
		struct { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup; }
			args = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1 };

		squatter = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (squatter == 0) {
			pause();
			_exit(0);
		}
		if (squatter != want) {
			fprintf(stderr, "tree-client: cannot take pid %d: %m\n", want);
			return 1;
		}
	}
	sock = wire_connect(argv[i]);
	if (sock < 0 || hello(sock) < 0) {
		fprintf(stderr, "tree-client: cannot talk to %s\n", argv[i]);
		return 1;
	}
	if (opt.scale > 0)
		return scale_run(sock) < 0 ? 1 : 0;
	if (opt.foreign)
		return foreign_claim(sock) == -EPERM ? 0 : 1;
	r = tree_build(sock);
	if (r == 0 && opt.hold) {
		char c;

		while (read(0, &c, 1) > 0)
			;
	}
	if (r == 0 && opt.check)
		check_tree();
	if (r == 0 && opt.reaper)
		claim_all(sock);
	if (r == 0 && opt.ttl) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", opt.base + 97);
		check(access(path, F_OK) == 0, "before its TTL, the tree is there");
		sleep(opt.ttl);
	}
	if (r == 0 && opt.release && tree_release(sock) < 0)
		failures++;
	if (squatter > 0) {
		kill(squatter, SIGKILL);
		waitpid(squatter, NULL, 0);
	}
	if (r != 0 || opt.release || opt.reaper || opt.ttl)
		check_free();
	close(sock);
	if (r == -ETIMEDOUT || (r < 0 && r > -4096 && r != -EEXIST && r != -ETIMEDOUT && r != -EPERM && r != -EINVAL &&
				 r != -ENOTSUP && r != -ENOSPC))
		return 1;
	return failures ? 1 : 0;
}
