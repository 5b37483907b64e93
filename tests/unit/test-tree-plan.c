/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner (daemon/front/tree-plan.c): every plan is replayed against
 * the kernel's rules (TREES.md §2) by a small simulator — sessions are only
 * inherited at clone time, setsid is refused to a group leader, setpgid
 * joins only a group of the caller's session that it can name, a dead
 * leader's PID stays taken while its session or group has members,
 * CLONE_PARENT is refused to an init, orphans go to the nearest subreaper or
 * the init — and the result must be the tree that was asked for. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tree-build.h"
#include "tree-rules.h"
#include "tree-encode.h"
#include "tree-plan.h"

#define SIM_MAX 160
#define SIM_TIDS 64

enum sim_state { SIM_NONE, SIM_ALIVE, SIM_ZOMBIE, SIM_REAPED };

/* A simulated task: the plan's procs, then the builder, then the daemon. */
struct sim_task {
	enum sim_state state;
	int parent, sid, pgid;
	bool subreaper;
	unsigned int n_levels;
	tree_ns ns[PR_MAX_LEVELS];
	int32_t pids[PR_MAX_LEVELS];
};

struct sim_tid {
	tree_ns ns;
	int32_t tid;
};

struct sim {
	const struct tree *t;
	const struct plan *plan;
	int builder, daemon;
	struct sim_task task[SIM_MAX];
	struct sim_tid tids[SIM_TIDS];
	unsigned int n_tids;
	bool flag[SIM_MAX];        /* per group: its leader made it */
	bool did_setsid[SIM_MAX];
	char error[512];
};

__attribute__((format(printf, 2, 3)))
static int sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* The task that has (or had) pid in ns: a PID stays taken while its task
 * exists, or while a session or group it names has a member. */
static int sim_owner(const struct sim *s, tree_ns ns, int32_t pid)
{
	for (int k = 0; k <= s->daemon; k++) {
		const struct sim_task *tk = &s->task[k];

		if (tk->state == SIM_NONE)
			continue;
		for (unsigned int l = 0; l < tk->n_levels; l++)
			if (tk->ns[l] == ns && tk->pids[l] == pid)
				return k;
	}
	return -1;
}

static bool sim_names_group(const struct sim *s, int owner)
{
	for (int k = 0; k <= s->daemon; k++)
		if ((s->task[k].state == SIM_ALIVE || s->task[k].state == SIM_ZOMBIE) &&
		    (s->task[k].sid == owner || s->task[k].pgid == owner))
			return true;
	return false;
}

static bool sim_taken(const struct sim *s, tree_ns ns, int32_t pid)
{
	int owner = sim_owner(s, ns, pid);

	for (unsigned int k = 0; k < s->n_tids; k++)
		if (s->tids[k].ns == ns && s->tids[k].tid == pid)
			return true;
	if (owner < 0)
		return false;
	return s->task[owner].state != SIM_REAPED || sim_names_group(s, owner);
}

/* The kernel's allocator: the lowest free PID, which is what would catch
 * a plan that leaves a PID to it in a namespace where others are asked. */
static int32_t sim_alloc(const struct sim *s, tree_ns ns)
{
	int32_t pid = 2;

	while (sim_taken(s, ns, pid))
		pid++;
	return pid;
}

/* set_tid names a run of levels from the innermost out. */
static int sim_set_tid_ok(struct sim *s, const int32_t *want, unsigned int n, const char *who)
{
	for (unsigned int l = 1; l < n; l++)
		if (want[l] > 0 && want[l - 1] == 0)
			return sim_fail(s, "%s: set_tid with a 0 at level %u inside an explicit level %u: EINVAL", who, l - 1, l);
	return 0;
}

static int sim_take_pids(struct sim *s, struct sim_task *tk, const int32_t *want, const char *who)
{
	if (sim_set_tid_ok(s, want, tk->n_levels, who) < 0)
		return -1;
	for (unsigned int l = 0; l < tk->n_levels; l++) {
		if (want[l] > 0 && sim_taken(s, tk->ns[l], want[l]))
			return sim_fail(s, "%s: clone3 set_tid %d at level %u: EEXIST", who, want[l], l);
		tk->pids[l] = want[l] > 0 ? want[l] : sim_alloc(s, tk->ns[l]);
	}
	return 0;
}

static int sim_setsid(struct sim *s, int k)
{
	struct sim_task *tk = &s->task[k];

	for (int o = 0; o <= s->daemon; o++)
		if ((s->task[o].state == SIM_ALIVE || s->task[o].state == SIM_ZOMBIE) && s->task[o].pgid == k)
			return sim_fail(s, "proc %d: setsid: EPERM (its PID names a group)", k);
	tk->sid = tk->pgid = k;
	s->did_setsid[k] = true;
	return 0;
}

static int sim_fork_phase(struct sim *s, int k);

static int sim_clone(struct sim *s, int creator, int k)
{
	const struct plan_proc *pr = &s->plan->procs[k];
	struct sim_task *c = &s->task[creator], *tk = &s->task[k];
	char who[32];
	unsigned int off = pr->new_pidns ? 1 : 0;

	snprintf(who, sizeof(who), "proc %d", k);
	if (pr->clone_parent && creator != s->builder && s->plan->procs[creator].new_pidns)
		return sim_fail(s, "%s: CLONE_PARENT by an init (proc %d): EINVAL", who, creator);
	tk->state = SIM_ALIVE;
	tk->parent = pr->clone_parent ? c->parent : creator;
	tk->sid = c->sid;
	tk->pgid = c->pgid;
	tk->subreaper = pr->subreaper;
	tk->n_levels = c->n_levels + off;
	if (pr->new_pidns)
		tk->ns[0] = 1000 + k;
	memcpy(tk->ns + off, c->ns, c->n_levels * sizeof(tree_ns));
	if (tk->n_levels != pr->n_levels)
		return sim_fail(s, "%s: it has %u levels, the plan %u", who, tk->n_levels, pr->n_levels);
	if (pr->transient && pr->pids[0] == 0)
		return sim_fail(s, "%s: a ghost or helper whose PID is the kernel's: its parent cannot reap it by PID", who);
	if (sim_take_pids(s, tk, pr->pids, who) < 0)
		return -1;
	return sim_fork_phase(s, k);
}

/* What a process does before anyone sets a group: its born-before
 * children, setsid, the rest. */
static int sim_fork_phase(struct sim *s, int k)
{
	const struct plan_proc *pr = k == s->builder ? NULL : &s->plan->procs[k];
	uint32_t first = pr ? pr->first_child : s->plan->builder_first_child;
	uint32_t n = pr ? pr->n_children : s->plan->builder_n_children;
	bool after = false;

	for (uint32_t c = 0; c < n; c++) {
		int child = s->plan->children[first + c];

		if (s->plan->procs[child].creator != (pr ? k : PLAN_BUILDER))
			return sim_fail(s, "proc %d is listed under proc %d, which is not its creator", child, k);
		if (s->plan->procs[child].born_before && after)
			return sim_fail(s, "proc %d: a born-before child after the others", child);
		if (!s->plan->procs[child].born_before && !after) {
			after = true;
			if (pr && pr->setsid && sim_setsid(s, k) < 0)
				return -1;
		}
		if (sim_clone(s, k, child) < 0)
			return -1;
	}
	if (!after && pr && pr->setsid && sim_setsid(s, k) < 0)
		return -1;
	/* Threads come after the children, each TID still free. */
	for (uint32_t th = 0; pr && th < pr->n_threads; th++) {
		const struct plan_thread *pt = &s->plan->threads[pr->first_thread + th];

		if (pt->tids[0] == 0 || sim_set_tid_ok(s, pt->tids, pt->n_tids, "a thread") < 0)
			return sim_fail(s, "proc %d: thread %u without an explicit innermost TID", k, th);
		for (uint32_t l = 0; l < pt->n_tids; l++) {
			int32_t tid = pt->tids[l] > 0 ? pt->tids[l] : sim_alloc(s, s->task[k].ns[l]);

			if (sim_taken(s, s->task[k].ns[l], tid))
				return sim_fail(s, "proc %d: thread TID %d at level %u: EEXIST", k, tid, l);
			s->tids[s->n_tids++] = (struct sim_tid){ s->task[k].ns[l], tid };
		}
	}
	return 0;
}

/* setpgid(0, pgid) by task k. */
static int sim_setpgid(struct sim *s, int k, int32_t pgid)
{
	struct sim_task *tk = &s->task[k];
	int owner;

	if (tk->sid == k)
		return sim_fail(s, "proc %d: setpgid by a session leader: EPERM", k);
	if (pgid == 0) {
		tk->pgid = k;
		return 0;
	}
	owner = sim_owner(s, tk->ns[0], pgid);
	if (owner < 0)
		return sim_fail(s, "proc %d: setpgid(0, %d): no such group in its namespace: EPERM", k, pgid);
	for (int o = 0; o <= s->daemon; o++)
		if ((s->task[o].state == SIM_ALIVE || s->task[o].state == SIM_ZOMBIE) && s->task[o].pgid == owner &&
		    s->task[o].sid == tk->sid) {
			tk->pgid = owner;
			return 0;
		}
	return sim_fail(s, "proc %d: setpgid(0, %d): no such group in its session: EPERM", k, pgid);
}

/* Groups: leaders make theirs and raise the flags; members wait for the
 * flag. Rounds until nothing is left, or nothing moves (a wait cycle). */
static int sim_group_phase(struct sim *s)
{
	const struct plan *plan = s->plan;
	bool done[SIM_MAX] = { false };
	bool progress = true;

	s->flag[0] = true;
	for (size_t g = 1; g < plan->n_groups; g++)
		if (plan->procs[plan->groups[g].leader].setsid)
			s->flag[g] = true;
	while (progress) {
		progress = false;
		for (size_t k = 0; k < plan->n_procs; k++) {
			const struct plan_proc *pr = &plan->procs[k];
			int32_t pgid = pr->pgid;

			if (done[k])
				continue;
			if (pr->pgid_action == PLAN_PGID_JOIN && !s->flag[pr->group])
				continue;
			if (pr->pgid_action == PLAN_PGID_CREATE) {
				if (sim_setpgid(s, (int)k, 0) < 0)
					return -1;
				s->flag[pr->group] = true;
			} else if (pr->pgid_action == PLAN_PGID_JOIN) {
				int leader = plan->groups[pr->group].leader;

				if (pgid == 0) {
					if (leader == PLAN_BUILDER || s->task[leader].ns[0] != s->task[k].ns[0])
						return sim_fail(s, "proc %zu: pgid from the slot, but its leader is in another namespace", k);
					pgid = s->task[leader].pids[0];
				}
				if (sim_setpgid(s, (int)k, pgid) < 0)
					return -1;
			}
			done[k] = true;
			progress = true;
		}
	}
	for (size_t k = 0; k < plan->n_procs; k++)
		if (!done[k])
			return sim_fail(s, "proc %zu waits for the flag of group %d forever", k, plan->procs[k].group);
	return 0;
}

/* k exits: its children go to the nearest subreaper above it in its
 * namespace, or to the namespace's init (the daemon for the outermost). */
static int sim_exit(struct sim *s, int k, enum sim_state state)
{
	struct sim_task *tk = &s->task[k];
	int reaper = -1;

	for (int a = tk->parent; a != s->daemon && a >= 0 && reaper < 0; a = s->task[a].parent) {
		if (s->task[a].ns[0] != tk->ns[0] && !(s->task[a].n_levels > 0 && s->task[a].pids[0] == 1))
			break;
		if (s->task[a].subreaper || (s->task[a].pids[0] == 1 && s->task[a].ns[0] == tk->ns[0]))
			reaper = a;
	}
	if (reaper < 0)
		reaper = s->daemon;
	for (int o = 0; o <= s->daemon; o++)
		if (s->task[o].state != SIM_NONE && s->task[o].state != SIM_REAPED && s->task[o].parent == k)
			s->task[o].parent = reaper;
	tk->state = state;
	return 0;
}

static int sim_exit_phase(struct sim *s)
{
	const struct plan *plan = s->plan;

	/* Ghosts and helpers, then zombies, then the builder; each parent
	 * reaps its transient child by PID. */
	for (size_t k = 0; k < plan->n_procs; k++) {
		if (!plan->procs[k].transient)
			continue;
		if (s->task[k].parent != s->daemon && s->task[s->task[k].parent].state != SIM_ALIVE)
			return sim_fail(s, "proc %zu exits but its parent %d is not alive to reap it", k, s->task[k].parent);
		sim_exit(s, (int)k, SIM_REAPED);
	}
	for (size_t k = 0; k < plan->n_procs; k++)
		if (plan->procs[k].kind == PLAN_PROC_ZOMBIE)
			sim_exit(s, (int)k, SIM_ZOMBIE);
	for (int o = 0; o < s->builder; o++)
		if (s->task[o].state == SIM_ALIVE && s->task[o].parent == s->builder)
			return sim_fail(s, "proc %d is still the builder's child when it exits", o);
	s->task[s->builder].state = SIM_REAPED;
	return 0;
}

/* The task a request's sid/pgid names. */
static int sim_named(const struct sim *s, int32_t ref)
{
	return ref == TREE_OUTER ? s->builder : s->plan->proc_of_node[ref];
}

/* The result is the tree asked for. */
static int sim_compare(struct sim *s, const struct tree_facts *facts)
{
	const struct tree *t = s->t;

	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *nd = &t->nodes[i];
		int k = s->plan->proc_of_node[i];
		const struct sim_task *tk = &s->task[k];
		int want_parent = nd->parent == TREE_ROOT ? s->daemon : s->plan->proc_of_node[nd->parent];

		if (nd->kind == TREE_KIND_GHOST) {
			if (tk->state != SIM_REAPED || !sim_names_group(s, k))
				return sim_fail(s, "ghost node %zu: its PID is not held by its members", i);
			continue;
		}
		if (tk->state != (nd->kind == TREE_KIND_ZOMBIE ? SIM_ZOMBIE : SIM_ALIVE))
			return sim_fail(s, "node %zu: state %d", i, tk->state);
		if (tk->parent != want_parent)
			return sim_fail(s, "node %zu: parent task %d, not %d", i, tk->parent, want_parent);
		if (tk->sid != sim_named(s, facts->sid[i]))
			return sim_fail(s, "node %zu: session of task %d, not %d", i, tk->sid, sim_named(s, facts->sid[i]));
		if (tk->pgid != sim_named(s, facts->pgid[i]))
			return sim_fail(s, "node %zu: group of task %d, not %d", i, tk->pgid, sim_named(s, facts->pgid[i]));
		for (unsigned int l = 0; l < nd->n_pids; l++)
			if (nd->pids[l] > 0 && tk->pids[l] != nd->pids[l])
				return sim_fail(s, "node %zu: pid %d at level %u, not %d", i, tk->pids[l], l, nd->pids[l]);
	}
	for (size_t k = 0; k < s->plan->n_procs; k++)
		if (s->plan->procs[k].transient && s->task[k].state != SIM_REAPED)
			return sim_fail(s, "transient proc %zu is left", k);
	return 0;
}

/* Replays plan; "" or what went wrong in s->error. */
static int sim_run(struct sim *s, const struct tree *t, const struct tree_facts *facts, const struct plan *plan)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->plan = plan;
	if (plan->n_procs + 2 > SIM_MAX)
		return sim_fail(s, "plan too large for the simulator");
	s->builder = (int)plan->n_procs;
	s->daemon = s->builder + 1;
	for (size_t k = 0; k < plan->n_procs; k++)
		if (plan->procs[k].creator >= (int32_t)k)
			return sim_fail(s, "proc %zu is created by proc %d, which comes later", k, plan->procs[k].creator);
	s->task[s->daemon] = (struct sim_task){ .state = SIM_ALIVE, .parent = -1, .sid = s->daemon, .pgid = s->daemon };
	s->task[s->builder] = (struct sim_task){ .state = SIM_ALIVE, .parent = s->daemon, .n_levels = plan->base_levels };
	for (uint32_t l = 0; l < plan->base_levels; l++)
		s->task[s->builder].ns[l] = -1 - (tree_ns)l;
	if (sim_take_pids(s, &s->task[s->builder], plan->builder_pids, "builder") < 0)
		return -1;
	s->task[s->builder].sid = s->task[s->builder].pgid = s->builder;
	if (sim_fork_phase(s, s->builder) < 0 || sim_group_phase(s) < 0 || sim_exit_phase(s) < 0)
		return -1;
	return sim_compare(s, facts);
}

static struct sim sim;

/* Checks and plans b; 0, or the planner's error with f set. */
static int plan_of(struct tb *b, struct tree_facts *facts, struct plan *plan, struct tree_fault *f)
{
	int r = tree_rules_check(&b->t, facts, f);

	*plan = (struct plan){ 0 };
	if (r < 0)
		return r;
	return plan_compile(&b->t, facts, 1000, plan, f);
}

/* The plan's records pass the builder's own check, nodes first. */
static void expect_encodes(const struct tb *b, const struct plan *plan)
{
	struct tree_fault f = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = tree_encode_plan(plan, b->t.n_nodes, &buf, &len, &f);
	const struct tree_plan *hdr = (const struct tree_plan *)buf;
	bool ordered = r == 0;

	for (size_t i = 0; r == 0 && i < hdr->n_procs; i++) {
		const struct tree_proc *w = (const struct tree_proc *)(hdr + 1) + i;

		ordered &= i < b->t.n_nodes ? w->node == (int32_t)i : w->node == -1 && w->kind == TREE_PROC_HELPER;
	}
	CHECK(r == 0 && ordered, "its records pass tree_plan_check(), nodes in request order then helpers: %s", f.why.text);
	free(buf);
}

static void test_reference(void)
{
	struct tb b;
	struct tree_facts facts;
	struct plan plan;
	struct tree_fault f = { 0 };
	int ref[100], r, helpers = 0, ghosts = 0;

	tb_reference(&b, ref);
	CHECK(b.t.n_nodes == 50, "the reference tree has 50 nodes (48 + 2 ghosts): %zu", b.t.n_nodes);
	r = plan_of(&b, &facts, &plan, &f);
	CHECK(r == 0, "the reference tree is planned: %d %s", r, f.why.text);
	if (r < 0)
		goto out;
	r = sim_run(&sim, &b.t, &facts, &plan);
	CHECK(r == 0, "the reference plan replays to the reference tree: %s", sim.error);
	expect_encodes(&b, &plan);
	for (size_t k = 0; k < plan.n_procs; k++) {
		helpers += plan.procs[k].kind == PLAN_PROC_HELPER;
		ghosts += plan.procs[k].kind == PLAN_PROC_SESSION_GHOST || plan.procs[k].kind == PLAN_PROC_GROUP_GHOST;
	}
	CHECK(plan.n_procs == 50 && helpers == 0 && ghosts == 2, "50 processes, 2 of them ghosts, no helper: %zu %d %d",
	      plan.n_procs, ghosts, helpers);
	CHECK(plan.procs[plan.proc_of_node[ref[11]]].born_before, "11 is born before B's setsid");
	CHECK(plan.procs[plan.proc_of_node[ref[10]]].setsid, "B calls setsid");
	CHECK(plan.procs[plan.proc_of_node[ref[20]]].kind == PLAN_PROC_SESSION_GHOST &&
		      plan.procs[plan.proc_of_node[ref[20]]].creator == plan.proc_of_node[ref[1]],
	      "ghost 20 is a session ghost under R");
	CHECK(plan.procs[plan.proc_of_node[ref[21]]].clone_parent &&
		      plan.procs[plan.proc_of_node[ref[21]]].creator == plan.proc_of_node[ref[20]],
	      "21 is made by ghost 20 with CLONE_PARENT");
	CHECK(plan.procs[plan.proc_of_node[ref[40]]].kind == PLAN_PROC_GROUP_GHOST, "ghost 40 is a group ghost");
	CHECK(plan.procs[plan.proc_of_node[ref[46]]].pgid_action == PLAN_PGID_JOIN &&
		      plan.procs[plan.proc_of_node[ref[46]]].pgid == 40,
	      "46 joins group 40 by its L2 number");
	CHECK(plan.procs[plan.proc_of_node[ref[50]]].pgid_action == PLAN_PGID_CREATE, "zombie 50 makes group 50");
	CHECK(plan.procs[plan.proc_of_node[ref[60]]].exit_code == 200, "zombie 60 exits 200");
	CHECK(plan.builder_pids[0] == 1000 && plan.builder_pick_mask == 1,
	      "the builder's L1 PID is picked outside the request's: %d", plan.builder_pids[0]);
	CHECK(plan.procs[plan.proc_of_node[ref[1]]].clone_parent, "R is made with CLONE_PARENT");

	/* The simulator catches plans that are wrong. */
	plan.procs[plan.proc_of_node[ref[11]]].born_before = false;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "11 born after B's setsid is caught: %s", sim.error);
	plan.procs[plan.proc_of_node[ref[11]]].born_before = true;
	plan.builder_pids[0] = 7010;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "a builder on B's L1 PID is caught: %s", sim.error);
	plan.builder_pids[0] = 1000;
	plan.procs[plan.proc_of_node[ref[46]]].pgid_action = PLAN_PGID_KEEP;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "46 left in group 30 is caught: %s", sim.error);
	plan.procs[plan.proc_of_node[ref[46]]].pgid_action = PLAN_PGID_JOIN;
	plan.procs[plan.proc_of_node[ref[40]]].pgid_action = PLAN_PGID_KEEP;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "group 40 never made is caught: %s", sim.error);
	plan.procs[plan.proc_of_node[ref[40]]].pgid_action = PLAN_PGID_CREATE;
	plan.procs[plan.proc_of_node[ref[20]]].setsid = false;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "a session ghost that does not setsid is caught: %s", sim.error);
	plan.procs[plan.proc_of_node[ref[20]]].setsid = true;
	plan.procs[plan.proc_of_node[ref[10]]].pgid_action = PLAN_PGID_CREATE;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) < 0, "setpgid by a session leader is caught: %s", sim.error);
	plan.procs[plan.proc_of_node[ref[10]]].pgid_action = PLAN_PGID_KEEP;
	CHECK(sim_run(&sim, &b.t, &facts, &plan) == 0, "and the plan mended replays again: %s", sim.error);
out:
	plan_free(&plan);
	tree_facts_free(&facts);
}

/* A plan that must fail with ENOTSUP and this message. */
static void expect_refusal(struct tb *b, int node, const char *message)
{
	struct tree_facts facts;
	struct plan plan;
	struct tree_fault f = { 0 };
	int r = plan_of(b, &facts, &plan, &f);

	CHECK(r == -ENOTSUP && f.node == node && strcmp(f.why.text, message) == 0, "refused at node %d: \"%s\"%s%d %d %s", node,
	      message, r == -ENOTSUP && f.node == node && strcmp(f.why.text, message) == 0 ? "" : " but got: ", r, f.node, f.why.text);
	plan_free(&plan);
	tree_facts_free(&facts);
}

/* A plan that must succeed and replay to the tree. */
static void expect_plan(struct tb *b, const char *what)
{
	struct tree_facts facts;
	struct plan plan;
	struct tree_fault f = { 0 };
	int r = plan_of(b, &facts, &plan, &f);

	if (r == 0)
		r = sim_run(&sim, &b->t, &facts, &plan);
	CHECK(r == 0, "%s: %s%s", what, f.why.text, r == 0 ? "" : sim.error);
	if (r == 0)
		expect_encodes(b, &plan);
	plan_free(&plan);
	tree_facts_free(&facts);
}

static const int32_t one[1] = { 0 };

static int add1(struct tb *b, int kind, int parent, int32_t pid, int sid, int pgid)
{
	return tb_add(b, kind, parent, 1, &pid, sid, pgid);
}

static void test_sessions(void)
{
	struct tb b;
	int a, c, d;

	/* A leader born before for two sessions: refused. */
	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	b.nodes[a].sid = b.nodes[a].pgid = a;                   /* S_a */
	c = add1(&b, TREE_KIND_LIVE, a, 101, TREE_INHERIT, TREE_INHERIT);
	b.nodes[c].sid = b.nodes[c].pgid = c;                   /* S_c, born in S_a */
	add1(&b, TREE_KIND_LIVE, c, 102, a, a);                 /* needs c born-before in S_a */
	d = add1(&b, TREE_KIND_LIVE, c, 103, TREE_OUTER, TREE_OUTER);
	(void)d;
	expect_refusal(&b, 2, "session 100 (node 0) cannot be reproduced for node 2 (pid 102): its parent node 1 (pid 101) is in another session; a helper under the session's leader could create it, but when the helper exits its child goes to the init of the leader's pid namespace, outside the tree, not to node 1 (pid 101) (only the namespace's init or a child subreaper above the leader can be the parent)");

	/* A chain of born-before: c is born before a's setsid, e before c's. */
	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	b.nodes[a].sid = b.nodes[a].pgid = a;
	c = add1(&b, TREE_KIND_LIVE, a, 101, TREE_OUTER, TREE_OUTER);
	b.nodes[c].sid = b.nodes[c].pgid = c;
	add1(&b, TREE_KIND_LIVE, c, 102, TREE_OUTER, TREE_OUTER);
	expect_plan(&b, "a grandchild in the outer session under two leaders is born before both setsids");

	/* The outer session below a root that left it, with no way back. */
	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	c = add1(&b, TREE_KIND_LIVE, a, 101, TREE_INHERIT, TREE_INHERIT);
	b.nodes[c].sid = b.nodes[c].pgid = c;
	d = add1(&b, TREE_KIND_LIVE, c, 102, TREE_INHERIT, TREE_INHERIT);
	add1(&b, TREE_KIND_LIVE, d, 103, TREE_OUTER, TREE_OUTER);
	expect_refusal(&b, 3, "the outer session cannot be reproduced for node 3 (pid 103): its parent node 2 (pid 102) is in another session, and the outer session is only inherited from the builder: make node 3 (pid 103) a descendant of a root in the outer session");

	/* A dead leader's session whose members have two parents. */
	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	c = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 101, TREE_INHERIT, TREE_INHERIT);
	d = add1(&b, TREE_KIND_GHOST, TREE_ROOT, 150, TREE_INHERIT, TREE_INHERIT);
	add1(&b, TREE_KIND_LIVE, a, 102, d, d);
	add1(&b, TREE_KIND_LIVE, c, 103, d, d);
	expect_refusal(&b, 3, "session 150 (node 2) cannot be reproduced for node 3 (pid 102): its leader is dead, and the ghost that stands for it makes members as children of one parent only, but they have node 1 (pid 101) and node 0 (pid 100)");

	/* A dead leader's session of roots: its ghost is the daemon's child. */
	tb_init(&b);
	d = add1(&b, TREE_KIND_GHOST, TREE_ROOT, 150, TREE_INHERIT, TREE_INHERIT);
	add1(&b, TREE_KIND_LIVE, TREE_ROOT, 151, d, d);
	add1(&b, TREE_KIND_LIVE, TREE_ROOT, 152, d, d);
	expect_plan(&b, "roots in a dead leader's session");
}

/* A session whose leader lives elsewhere: a helper under the leader, and
 * the child reparents to the init of the namespace. */
static void test_helper(void)
{
	struct tb b;
	int32_t two[2] = { 1, 500 };
	int init, leader, mid;

	tb_init(&b);
	init = tb_add(&b, TREE_KIND_LIVE, TREE_ROOT, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[init].new_pidns = true;
	b.nodes[init].sid = b.nodes[init].pgid = init;
	two[0] = 2, two[1] = 502;
	mid = tb_add(&b, TREE_KIND_LIVE, init, 2, two, TREE_INHERIT, TREE_INHERIT);
	two[0] = 3, two[1] = 503;
	leader = tb_add(&b, TREE_KIND_LIVE, mid, 2, two, TREE_INHERIT, TREE_INHERIT);
	b.nodes[leader].sid = b.nodes[leader].pgid = leader;
	two[0] = 4, two[1] = 504;
	/* A child of the init in the leader's session, its own group. */
	tb_add(&b, TREE_KIND_LIVE, init, 2, two, leader, 3);
	b.nodes[3].pgid = 3;
	expect_plan(&b, "a child of the init in a session led below it, through a helper");

	/* The same under a subreaper between: the child goes there. */
	b.nodes[mid].subreaper = true;
	expect_refusal(&b, 3, "session 3 (node 2) cannot be reproduced for node 3 (pid 4): its parent node 0 (pid 1) is in another session; a helper under the session's leader could create it, but when the helper exits its child goes to node 1 (pid 2), not to node 0 (pid 1) (only the namespace's init or a child subreaper above the leader can be the parent)");
	b.nodes[3].parent = mid;
	expect_plan(&b, "a child of a subreaper in a session led below it");
}

/* A zombie session leader whose member lives under the init: the leader
 * creates it before it exits, and it goes to the init. */
static void test_zombie_leader(void)
{
	struct tb b;
	int init, z, mid;

	tb_init(&b);
	init = tb_add(&b, TREE_KIND_LIVE, TREE_ROOT, 2, (int32_t[2]){ 1, 800 }, TREE_INHERIT, TREE_INHERIT);
	b.nodes[init].new_pidns = true;
	b.nodes[init].sid = b.nodes[init].pgid = init;
	z = tb_add(&b, TREE_KIND_ZOMBIE, init, 2, (int32_t[2]){ 2, 802 }, TREE_INHERIT, TREE_INHERIT);
	b.nodes[z].sid = b.nodes[z].pgid = z;
	tb_add(&b, TREE_KIND_LIVE, init, 2, (int32_t[2]){ 3, 803 }, z, z);
	tb_add(&b, TREE_KIND_LIVE, init, 2, (int32_t[2]){ 4, 804 }, z, TREE_INHERIT);
	b.nodes[3].pgid = 3;
	expect_plan(&b, "members of a zombie leader's session under the init, made by the zombie");

	/* Under a node that is neither the init nor a subreaper: refused. */
	tb_init(&b);
	init = tb_add(&b, TREE_KIND_LIVE, TREE_ROOT, 2, (int32_t[2]){ 1, 800 }, TREE_INHERIT, TREE_INHERIT);
	b.nodes[init].new_pidns = true;
	b.nodes[init].sid = b.nodes[init].pgid = init;
	mid = tb_add(&b, TREE_KIND_LIVE, init, 2, (int32_t[2]){ 2, 802 }, TREE_INHERIT, TREE_INHERIT);
	z = tb_add(&b, TREE_KIND_ZOMBIE, mid, 2, (int32_t[2]){ 3, 803 }, TREE_INHERIT, TREE_INHERIT);
	b.nodes[z].sid = b.nodes[z].pgid = z;
	tb_add(&b, TREE_KIND_LIVE, mid, 2, (int32_t[2]){ 5, 805 }, z, z);
	expect_refusal(&b, 3, "session 3 (node 2) cannot be reproduced for node 3 (pid 5): its parent node 1 (pid 2) is in another session, and its leader is a ZOMBIE, whose children go to node 0 (pid 1) when it exits, not to node 1 (pid 2) (only the namespace's init or a child subreaper above the leader can be the parent)");
	b.nodes[mid].subreaper = true;
	expect_plan(&b, "the same under a subreaper");
}

/* PIDs the daemon picks avoid the request's, and zeros elsewhere stay the
 * kernel's. */
static void test_picks(void)
{
	struct tb b;
	struct tree_facts facts;
	struct plan plan;
	struct tree_fault f = { 0 };
	int a, g;

	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 1000, TREE_INHERIT, TREE_INHERIT);
	b.nodes[a].sid = b.nodes[a].pgid = a;
	add1(&b, TREE_KIND_LIVE, a, 0, TREE_INHERIT, TREE_INHERIT);
	g = add1(&b, TREE_KIND_GHOST, TREE_ROOT, 1001, a, TREE_INHERIT);
	add1(&b, TREE_KIND_LIVE, a, 1003, a, g);
	tb_thread(&b, 1, one);
	CHECK(plan_of(&b, &facts, &plan, &f) == 0, "planned: %s", f.why.text);
	CHECK(plan.builder_pids[0] == 1002, "the builder takes 1002, the first free at or above the floor: %d", plan.builder_pids[0]);
	CHECK(plan.procs[plan.proc_of_node[1]].pids[0] == 1004 && plan.procs[plan.proc_of_node[1]].pick_mask == 1,
	      "a 0 next to named PIDs is picked: %d", plan.procs[plan.proc_of_node[1]].pids[0]);
	CHECK(plan.threads[0].tids[0] == 1005 && plan.threads[0].pick_mask == 1, "a thread's 0 too: %d", plan.threads[0].tids[0]);
	CHECK(sim_run(&sim, &b.t, &facts, &plan) == 0, "and it replays: %s", sim.error);
	plan_free(&plan);
	tree_facts_free(&facts);

	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 0, TREE_INHERIT, TREE_INHERIT);
	add1(&b, TREE_KIND_LIVE, a, 0, TREE_INHERIT, TREE_INHERIT);
	CHECK(plan_of(&b, &facts, &plan, &f) == 0 && plan.builder_pids[0] == 0 && plan.builder_pick_mask == 0 &&
		      plan.procs[1].pids[0] == 0,
	      "where no PID is named, the kernel chooses");
	plan_free(&plan);
	tree_facts_free(&facts);
}

/* Groups: joins need a number, and a ghost needs a home. */
static void test_groups(void)
{
	struct tb b;
	int32_t two[2] = { 1, 0 };
	int init, a, g;

	/* A child in a namespace of its own born in its parent's group
	 * keeps it; joining another by setpgid needs a number it has not. */
	tb_init(&b);
	a = add1(&b, TREE_KIND_LIVE, TREE_ROOT, 100, TREE_INHERIT, TREE_INHERIT);
	b.nodes[a].sid = b.nodes[a].pgid = a;
	g = add1(&b, TREE_KIND_LIVE, a, 101, TREE_INHERIT, TREE_INHERIT);
	b.nodes[g].pgid = g;
	two[1] = 102;
	init = tb_add(&b, TREE_KIND_LIVE, g, 2, two, TREE_INHERIT, a);
	b.nodes[init].new_pidns = true;
	expect_plan(&b, "an init keeps the group it is born in");
	b.nodes[init].parent = a;
	b.nodes[init].pgid = g;
	expect_refusal(&b, init, "node 2 (pid 1) cannot join the group of node 1 (pid 101): it is not born in it, and setpgid names a group by its leader's PID, which the leader has not in node 2 (pid 1)'s pid namespace (level 0)");

	/* A group led by an init, joined from outside its namespace, where
	 * its outer PID is left to the kernel: nobody can name it. */
	tb_init(&b);
	two[1] = 0;
	init = tb_add(&b, TREE_KIND_LIVE, TREE_ROOT, 2, two, TREE_OUTER, TREE_INHERIT);
	b.nodes[init].new_pidns = true;
	b.nodes[init].pgid = init;
	add1(&b, TREE_KIND_LIVE, TREE_ROOT, 0, TREE_OUTER, init);
	expect_refusal(&b, init, "node 1 cannot join the group of node 0 (pid 1): its leader's PID at level 1 is left to the kernel, and only a leader in the same innermost pid namespace can tell it; give that PID");
	two[1] = 700;
	b.nodes[init].pids[1] = 700;
	expect_plan(&b, "the same with the init's outer PID given");
}

int main(void)
{
	test_reference();
	test_sessions();
	test_helper();
	test_zombie_leader();
	test_picks();
	test_groups();
	return check_summary();
}
