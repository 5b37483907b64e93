/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rules of a tree request (daemon/front/tree-rules.c, TREES.md §4):
 * each refusal with its exact message, node and level; and the way in
 * from protobuf (daemon/front/tree-front.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plan-check.h"
#include "priv-proto.h"
#include "tree-build.h"
#include "tree-front.h"
#include "tree-rules.h"

static void expect(struct tb *b, int err, int node, int level, const char *message)
{
	struct tree_facts facts;
	struct tree_fault f = { 0 };
	int r = tree_rules_check(&b->t, &facts, &f);
	bool ok = r == -err && f.node == node && f.level == level && strcmp(f.why.text, message) == 0;

	CHECK(ok, "%s", message);
	if (!ok)
		printf("     got %d at node %d level %d: %s\n", r, f.node, f.level, f.why.text);
	tree_facts_free(&facts);
}

static int add1(struct tb *b, int kind, int parent, int32_t pid, int sid, int pgid)
{
	return tb_add(b, kind, parent, 1, &pid, sid, pgid);
}

/* A root that leads its session and group, and two children. */
static void base(struct tb *b)
{
	tb_init(b);
	add1(b, TREE_KIND_LIVE, TREE_ROOT, 100, 0, 0);
	add1(b, TREE_KIND_LIVE, 0, 101, TREE_INHERIT, TREE_INHERIT);
	add1(b, TREE_KIND_LIVE, 0, 102, TREE_INHERIT, TREE_INHERIT);
}

static void test_shape(void)
{
	struct tb b;

	base(&b);
	b.t.n_nodes = 0;
	expect(&b, EINVAL, -1, -1, "the tree has no nodes; give at least one");
	base(&b);
	b.t.n_nodes = TREE_MAX_NODES + 1;
	expect(&b, EINVAL, -1, -1, "the tree has 32769 nodes; at most 32768 fit in one request");
	base(&b);
	b.t.n_threads = TREE_MAX_THREADS + 1;
	expect(&b, EINVAL, -1, -1, "the tree has 262145 threads; at most 262144 fit in one request");
	base(&b);
	b.t.flags = 6;
	expect(&b, EINVAL, -1, -1, "unknown flags 0x6 in the tree request; this daemon knows 0x1 (TREE_THREAD_PIDFDS)");
	base(&b);
	b.nodes[1].kind = 7;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): kind 7 is not LIVE (1), ZOMBIE (2) or GHOST (3)");
	base(&b);
	b.nodes[2].kind = TREE_KIND_GHOST;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is a GHOST but names parent 0; a ghost has no parent: the daemon places it");
	base(&b);
	b.nodes[1].parent = 2;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): parent 2 is not a node before it (0..0) nor -1 (a root); list every parent before its children");
	base(&b);
	b.nodes[1].parent = -5;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): parent -5 is not a node before it (0..0) nor -1 (a root); list every parent before its children");
	base(&b);
	b.nodes[1].kind = TREE_KIND_ZOMBIE;
	b.nodes[2].parent = 1;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): its parent node 1 (pid 101) is a ZOMBIE, and a zombie has no children (they were reparented when it exited); give node 2 (pid 102) the parent it was reparented to");
	base(&b);
	b.nodes[1].kind = TREE_KIND_GHOST;
	b.nodes[1].parent = TREE_ROOT;
	b.nodes[2].parent = 1;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): its parent node 1 (pid 101) is a GHOST, and a ghost has no children; a ghost only holds a dead leader's PID");
	base(&b);
	b.nodes[2].comm_has_nul = true;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): its comm contains a NUL byte");
	base(&b);
	b.nodes[2].comm_len = 16;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): its comm has 16 bytes; the kernel keeps at most 15");
}

static void test_kinds(void)
{
	struct tb b;
	int32_t two[2] = { 1, 200 };

	base(&b);
	b.nodes[2].kind = TREE_KIND_ZOMBIE;
	tb_thread(&b, 1, (int32_t[1]){ 300 });
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is a ZOMBIE with 1 threads; only a LIVE node has threads besides its main one");
	base(&b);
	b.nodes[2].kind = TREE_KIND_ZOMBIE;
	b.nodes[2].subreaper = true;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is a ZOMBIE; only a LIVE node can be a child subreaper");
	base(&b);
	b.nodes[2].kind = TREE_KIND_GHOST;
	b.nodes[2].parent = TREE_ROOT;
	b.nodes[2].new_pidns = true;
	expect(&b, EINVAL, 2, 0, "node 2 (pid 102) is a GHOST and cannot make a pid namespace; only a LIVE node can be the init of a new one");
	base(&b);
	b.nodes[2].kind = TREE_KIND_ZOMBIE;
	b.nodes[2].new_pidns = true;
	expect(&b, EINVAL, 2, 0, "node 2 (pid 102) is a ZOMBIE and cannot be the init of a new pid namespace: the namespace ends when its init exits");
	base(&b);
	two[0] = 5;
	tb_add(&b, TREE_KIND_LIVE, 0, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[3].new_pidns = true;
	expect(&b, EINVAL, 3, 0, "node 3 (pid 5) is the init of a new pid namespace, so its pid there (level 0) is 1, not 5");
	base(&b);
	b.nodes[1].has_exit_code = true;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101) is LIVE: only a ZOMBIE has an exit code or signal");
	base(&b);
	b.nodes[1].kind = TREE_KIND_ZOMBIE;
	b.nodes[1].has_exit_code = b.nodes[1].has_exit_signal = true;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101) has both an exit code and a signal; a zombie either exited or was killed: give one");
	b.nodes[1].has_exit_signal = false;
	b.nodes[1].exit_code = 256;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): exit code 256 is not in 0..255");
	b.nodes[1].has_exit_code = false;
	b.nodes[1].has_exit_signal = true;
	b.nodes[1].exit_signal = 65;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): 65 is not a signal (1..64)");
	b.nodes[1].exit_signal = 19;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101): signal 19 (SIGSTOP) does not end a process by default, so no zombie was killed by it; give a signal that does (e.g. 15, SIGTERM) or an exit code");
}

static void test_levels(void)
{
	struct tb b;
	int32_t two[2] = { 0, 0 };

	tb_init(&b);
	add1(&b, TREE_KIND_GHOST, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	expect(&b, EINVAL, -1, -1, "the tree has only GHOSTs; a ghost stands for a dead leader of live or zombie members: give them");
	tb_init(&b);
	tb_add(&b, TREE_KIND_LIVE, TREE_ROOT, 0, two, TREE_INHERIT, TREE_INHERIT);
	expect(&b, EINVAL, 0, -1, "node 0, the first root, gives 0 PIDs; give its PID in the target pid namespace (0 for any)");
	base(&b);
	tb_add(&b, TREE_KIND_LIVE, 1, 2, two, TREE_INHERIT, TREE_INHERIT);
	expect(&b, EINVAL, 3, -1, "node 3 has 2 PIDs but is in 1 pid namespaces (its parent's); give one PID per level, innermost first, 0 for any");
	base(&b);
	tb_thread(&b, 2, two);
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): thread 0 has 2 TIDs but the node has 1 levels; give one TID per level, innermost first, 0 for any");
	base(&b);
	b.nodes[2].sid = 9;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): sid 9 is neither a node index (0..2) nor -1 (the outer session and group)");
	base(&b);
	b.nodes[2].pgid = -7;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102): pgid -7 is neither a node index (0..2) nor -1 (the outer session and group)");
}

static void test_ids(void)
{
	struct tb b;

	base(&b);
	add1(&b, TREE_KIND_GHOST, TREE_ROOT, 150, 0, 1);
	expect(&b, EINVAL, 3, -1, "node 3 (pid 150) is a GHOST in the group of node 1 (pid 101); a ghost holds the PID of a dead group leader, so its pgid is itself");
	base(&b);
	b.nodes[2].sid = 1;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is in the session of node 1 (pid 101), which is not a session leader (it is in the session of node 0 (pid 100)); a session's id is its leader's PID, and a leader's sid is itself");
	base(&b);
	b.nodes[1].sid = 1;
	expect(&b, EINVAL, 1, -1, "node 1 (pid 101) leads its session but is in the group of node 0 (pid 100); a session leader is the leader of its own group (pgid = its pid)");
	base(&b);
	b.nodes[2].pgid = 1;
	expect(&b, ENOTSUP, 2, -1, "node 2 (pid 102) is in the group of node 1 (pid 101), which has left it for the group of node 0 (pid 100); a group is rebuilt only with its leader (alive, zombie or ghost) in it");
	base(&b);
	b.nodes[2].pgid = TREE_OUTER;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is in the outer group but in the session of node 0 (pid 100); the outer group is in the outer session only");
	base(&b);
	b.nodes[0].sid = b.nodes[0].pgid = TREE_OUTER;
	b.nodes[1].sid = b.nodes[1].pgid = 1;
	b.nodes[2].pgid = 1;
	expect(&b, EINVAL, 2, -1, "node 2 (pid 102) is in the outer session but in the group of node 1 (pid 101), which is in the session of node 1 (pid 101); all members of a group are in their leader's session");
}

static void test_ghosts(void)
{
	struct tb b;
	int32_t two[2] = { 1, 300 };

	base(&b);
	add1(&b, TREE_KIND_GHOST, TREE_ROOT, 150, TREE_INHERIT, TREE_INHERIT);
	expect(&b, EINVAL, 3, -1, "node 3 (pid 150) is a GHOST that no LIVE or ZOMBIE node names as its session or group; a ghost stands for a dead leader whose session or group still has members");
	base(&b);
	tb_add(&b, TREE_KIND_GHOST, TREE_ROOT, 2, (int32_t[2]){ 150, 151 }, 0, TREE_INHERIT);
	b.nodes[2].pgid = 3;
	expect(&b, EINVAL, 3, -1, "node 3 (pid 150) is a GHOST with 2 PIDs, but its member node 2 (pid 102) is in 1 pid namespaces; give the ghost one PID per level of the namespace its members see it in (1..1)");
	/* Members in two sibling namespaces cannot share a dead leader. */
	base(&b);
	tb_add(&b, TREE_KIND_LIVE, 0, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[3].new_pidns = true;
	two[1] = 301;
	tb_add(&b, TREE_KIND_LIVE, 0, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[4].new_pidns = true;
	tb_add(&b, TREE_KIND_GHOST, TREE_ROOT, 2, (int32_t[2]){ 5, 305 }, 0, TREE_INHERIT);
	tb_add(&b, TREE_KIND_LIVE, 3, 2, (int32_t[2]){ 6, 306 }, 0, 5);
	tb_add(&b, TREE_KIND_LIVE, 4, 2, (int32_t[2]){ 7, 307 }, 0, 5);
	expect(&b, EINVAL, 5, -1, "node 5 (pid 5) is a GHOST named by node 6 (pid 6) and by node 7 (pid 7), which are not in the same pid namespaces at the ghost's 2 levels; the members of a dead leader's session or group see it in one pid namespace");
}

static void test_distinct(void)
{
	struct tb b;
	int32_t two[2] = { 1, 300 };

	base(&b);
	b.nodes[2].pids[0] = 101;
	expect(&b, EINVAL, 2, 0, "node 2 (pid 101) asks for pid 101 at level 0, which node 1 (pid 101) has in the same pid namespace (its level 0); PIDs and TIDs in one pid namespace are distinct");
	base(&b);
	tb_thread(&b, 1, (int32_t[1]){ 100 });
	expect(&b, EINVAL, 2, 0, "thread 0 of node 2 (pid 102) asks for TID 100 at level 0, which node 0 (pid 100) has in the same pid namespace (its level 0); PIDs and TIDs in one pid namespace are distinct");
	/* The same number in two namespaces is two PIDs. */
	base(&b);
	tb_add(&b, TREE_KIND_LIVE, 0, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[3].new_pidns = true;
	tb_add(&b, TREE_KIND_LIVE, 3, 2, (int32_t[2]){ 100, 301 }, TREE_INHERIT, TREE_INHERIT);
	expect(&b, 0, 0, 0, "");
	/* But one namespace's init and another node asking for pid 1 there
	 * collide. */
	tb_add(&b, TREE_KIND_LIVE, 3, 2, (int32_t[2]){ 1, 302 }, TREE_INHERIT, TREE_INHERIT);
	expect(&b, EINVAL, 5, 0, "node 5 (pid 1) asks for pid 1 at level 0, which node 3 (pid 1) has in the same pid namespace (its level 0); PIDs and TIDs in one pid namespace are distinct");
}

/* A request that passes leaves the facts the planner needs. */
static void test_facts(void)
{
	struct tb b;
	struct tree_facts facts;
	struct tree_fault f = { 0 };
	int ref[100];

	tb_reference(&b, ref);
	CHECK(tree_rules_check(&b.t, &facts, &f) == 0, "the reference tree passes: %s", f.why.text);
	CHECK(facts.base_levels == 1, "its base is one level (L1)");
	CHECK(facts.sid[ref[12]] == ref[10] && facts.pgid[ref[12]] == ref[10], "12 inherits B's session and group");
	CHECK(facts.sid[ref[1]] == ref[1] && facts.sid[ref[20]] == ref[20] && facts.sid[ref[40]] == ref[1],
	      "R and ghost 20 lead sessions; ghost 40 is in R's");
	CHECK(facts.ns[ref[40]][0] == ref[1] && facts.ns[ref[40]][1] == -1, "ghost 40 is in R's namespace, under the outer one");
	tree_facts_free(&facts);
}

/* From protobuf: the reference tree goes to priv as a plan that checks. */
static void test_front(void)
{
	struct tb b;
	int ref[100];
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeRequest tree = PIDRESTORE__TREE_REQUEST__INIT;
	Pidrestore__TreeNode nodes[64], *np[64];
	Pidrestore__TreeThread threads[16], *tp[16];
	struct tree_fault f;
	uint8_t *rec = NULL;
	long n;

	tb_reference(&b, ref);
	for (size_t i = 0; i < b.t.n_nodes; i++) {
		const struct tree_node *nd = &b.nodes[i];

		pidrestore__tree_node__init(&nodes[i]);
		np[i] = &nodes[i];
		nodes[i].kind = (Pidrestore__TreeNodeKind)nd->kind;
		nodes[i].parent = nd->parent;
		nodes[i].n_pids = nd->n_pids;
		nodes[i].pids = (int32_t *)nd->pids;
		nodes[i].has_new_pidns = nodes[i].new_pidns = nd->new_pidns;
		nodes[i].has_sid = nd->sid != TREE_INHERIT;
		nodes[i].sid = nd->sid;
		nodes[i].has_pgid = nd->pgid != TREE_INHERIT;
		nodes[i].pgid = nd->pgid;
		nodes[i].has_exit_code = nd->has_exit_code;
		nodes[i].exit_code = nd->exit_code;
		nodes[i].has_exit_signal = nd->has_exit_signal;
		nodes[i].exit_signal = nd->exit_signal;
		nodes[i].n_threads = nd->n_threads;
		nodes[i].threads = tp + nd->first_thread;
	}
	for (size_t k = 0; k < b.t.n_threads; k++) {
		pidrestore__tree_thread__init(&threads[k]);
		tp[k] = &threads[k];
		threads[k].n_tids = b.threads[k].n_tids;
		threads[k].tids = b.threads[k].tids;
	}
	tree.n_nodes = b.t.n_nodes;
	tree.nodes = np;
	req.id = 7;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE;
	req.tree = &tree;
	n = tree_front_record(&req, 0, &rec, &f);
	CHECK(n > (long)sizeof(struct priv_request), "the reference tree makes a record: %s", n < 0 ? f.why.text : "");
	if (n > 0) {
		struct priv_request pr;
		struct tree_plan_view view;
		uint32_t *scratch = calloc(128, sizeof(*scratch));
		const char *what = NULL;
		int bad = -1;

		memcpy(&pr, rec, sizeof(pr));
		CHECK(pr.body == PRIV_BODY_TREE && pr.id == 7 && pr.len == (size_t)n - sizeof(pr), "a PRIV_BODY_TREE record");
		CHECK(tree_plan_check(rec + sizeof(pr), pr.len, scratch, &view, &what, &bad) == 0 && view.plan->n_nodes == 50,
		      "whose plan checks: %s", what ? what : "");
		free(scratch);
	}
	free(rec);

	nodes[3].has_sid = 1;
	nodes[3].sid = -2;
	n = tree_front_record(&req, 0, &rec, &f);
	CHECK(n == -EINVAL && f.node == 3 && strcmp(f.why.text, "node 3: sid -2 is neither a node index (0..49) nor -1 (the outer session and group)") == 0,
	      "a sid below -1 is refused: %s", f.why.text);
	free(rec);
	nodes[3].has_sid = 0;
	nodes[23].has_sid = 1;
	nodes[23].sid = TREE_OUTER;
	nodes[23].has_pgid = 1;
	nodes[23].pgid = TREE_OUTER;
	n = tree_front_record(&req, 0, &rec, &f);
	CHECK(n == -ENOTSUP && f.node == 23, "an unbuildable session is refused with ENOTSUP: %s", f.why.text);
	free(rec);
	{
		uint8_t out[1024];
		size_t len = tree_front_error(7, &f, out, sizeof(out));
		Pidrestore__ServerMessage *m = pidrestore__server_message__unpack(NULL, len, out);

		CHECK(m && m->response && m->response->error == ENOTSUP && m->response->body_case == PIDRESTORE__RESPONSE__BODY_TREE &&
			      m->response->tree->error_node == 23 && m->response->tree->error_level == -1 &&
			      strcmp(m->response->message, f.why.text) == 0,
		      "its error reply names node 23 and the reason");
		if (m)
			pidrestore__server_message__free_unpacked(m, NULL);
	}
}

/* The scale the daemon is measured at: 1000 nodes with 4 threads each, in
 * a pid namespace of their own under named PIDs, fits one packet an
 * unprivileged client can send with the kernel's default socket buffer
 * (net.core.wmem_default, 212992 bytes), and is checked and planned. */
static void test_large(void)
{
	enum { N = 1000, THREADS = 4 };
	static Pidrestore__TreeNode nodes[N], *np[N];
	static Pidrestore__TreeThread threads[N * THREADS], *tp[N * THREADS];
	static int32_t pids[N][2], tids[N * THREADS][2];
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeRequest tree = PIDRESTORE__TREE_REQUEST__INIT;
	struct tree_fault f;
	uint8_t *rec = NULL;
	size_t size;
	long n;

	for (int i = 0; i < N; i++) {
		pidrestore__tree_node__init(&nodes[i]);
		np[i] = &nodes[i];
		nodes[i].kind = PIDRESTORE__TREE_NODE_KIND__TREE_LIVE;
		nodes[i].parent = i == 0 ? -1 : (i - 1) / 8;
		pids[i][0] = i + 1;
		pids[i][1] = 10000 + i;
		nodes[i].n_pids = 2;
		nodes[i].pids = pids[i];
		nodes[i].n_threads = i == 0 ? 0 : THREADS;
		nodes[i].threads = tp + i * THREADS;
		for (int k = 0; k < THREADS; k++) {
			int t = i * THREADS + k;

			pidrestore__tree_thread__init(&threads[t]);
			tp[t] = &threads[t];
			tids[t][0] = 2000 + t;
			tids[t][1] = 20000 + t;
			threads[t].n_tids = 2;
			threads[t].tids = tids[t];
		}
	}
	nodes[0].has_new_pidns = nodes[0].new_pidns = 1;
	tree.n_nodes = N;
	tree.nodes = np;
	req.id = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE;
	req.tree = &tree;
	size = pidrestore__request__get_packed_size(&req);
	CHECK(size < 212992 - 32 && size <= TREE_MAX_MESSAGE, "1000 nodes x 4 threads take %zu bytes: one packet", size);
	n = tree_front_record(&req, 0, &rec, &f);
	CHECK(n > 0, "and are checked and planned: %s", n < 0 ? f.why.text : "");
	free(rec);
}

int main(void)
{
	test_shape();
	test_kinds();
	test_levels();
	test_ids();
	test_ghosts();
	test_distinct();
	test_facts();
	test_front();
	test_large();
	return check_summary();
}
