/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree-pick.h"
#include "tree-plan.h"

/* The planner works on entities: node i is entity i, the helper under
 * node L is entity n + L, the builder is PLAN_BUILDER. Procs get their
 * indexes at the end, in creation order. */
#define UNSET (-3)
#define NONE (-4)

/* How a live or zombie node comes to be. */
enum via {
	VIA_PARENT,               /* cloned by its parent (a root: by the builder) */
	VIA_GHOST,                /* cloned by its session's ghost, CLONE_PARENT */
	VIA_HELPER,               /* cloned by a helper under its session's leader */
	VIA_ZOMBIE,               /* cloned by its session's leader, a zombie: it goes to
	                           * its intended parent when the leader exits */
};

struct planner {
	const struct tree *t;
	const struct tree_facts *facts;
	struct plan *plan;
	struct tree_fault *f;
	size_t n;                 /* nodes */
	size_t n_ent;             /* 2 n: nodes, then the helper slot of each */
	int32_t *req_bb;          /* per leader: the session its born-before children need */
	bool *born_before;
	uint8_t *via;
	int32_t *place;           /* session ghost: its parent; group ghost: its creator */
	bool *has_helper;         /* per node L: a helper under L */
	int32_t *creator;         /* per entity, UNSET for none */
	bool *clone_parent;
	uint8_t *phase;           /* order among a creator's children */
	int32_t *proc_of;         /* per entity */
	int32_t *birth_pg;        /* per entity: the group it is born in (an entity) */
};

static const struct tree_node *node(const struct planner *p, int32_t i)
{
	return &p->t->nodes[i];
}

static bool is_ghost(const struct planner *p, int32_t i)
{
	return node(p, i)->kind == TREE_KIND_GHOST;
}

static int32_t parent_of(const struct planner *p, int32_t i)
{
	return node(p, i)->parent == TREE_ROOT ? PLAN_BUILDER : node(p, i)->parent;
}

/* "session 20" (the leader's innermost PID) or "session of node 6". */
static const char *session_name(const struct planner *p, int32_t s, char *buf, size_t len)
{
	if (s == TREE_OUTER)
		snprintf(buf, len, "the outer session");
	else if (node(p, s)->pids[0] > 0)
		snprintf(buf, len, "session %d (node %d)", node(p, s)->pids[0], s);
	else
		snprintf(buf, len, "the session of node %d", s);
	return buf;
}

__attribute__((format(printf, 4, 5)))
static int session_fault(struct planner *p, int32_t s, int32_t i, const char *fmt, ...)
{
	char sname[64], nname[48], reason[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return tree_fault_set(p->f, i, -1, ENOTSUP, "%s cannot be reproduced for %s: %s", session_name(p, s, sname, sizeof(sname)),
			      tree_node_name(p->t, i, nname, sizeof(nname)), reason);
}

/* Whether the namespaces of entity a's children (those without a
 * namespace of their own) are ns[0..n). */
static bool children_ns_are(const struct planner *p, int32_t a, const tree_ns *ns, uint32_t n)
{
	if (a == PLAN_BUILDER) {
		if (n != p->facts->base_levels)
			return false;
		for (uint32_t l = 0; l < n; l++)
			if (ns[l] != -1 - (tree_ns)l)
				return false;
		return true;
	}
	return node(p, a)->n_pids == n && memcmp(p->facts->ns[a], ns, n * sizeof(*ns)) == 0;
}

/* Where the children of a process of namespace home go when it exits,
 * from its parent from up: the nearest subreaper, or the namespace's init
 * (PLAN_BUILDER: one outside the tree). */
static int32_t reaper_from(const struct planner *p, int32_t from, tree_ns home)
{
	for (int32_t a = from; a != PLAN_BUILDER; a = parent_of(p, a)) {
		if (node(p, a)->subreaper)
			return a;
		if (node(p, a)->new_pidns && p->facts->ns[a][0] == home)
			return a;
	}
	return PLAN_BUILDER;
}

/* Node i must be born in session r, and its parent is not in it when it
 * clones: a ghost or a helper makes it (§5.1). */
static int session_elsewhere(struct planner *p, int32_t i, int32_t r)
{
	int32_t parent = parent_of(p, i), reaper;
	char pname[48], other[48];

	if (parent == PLAN_BUILDER)
		snprintf(pname, sizeof(pname), "the daemon (it is a root)");
	else
		tree_node_name(p->t, parent, pname, sizeof(pname));
	if (r == TREE_OUTER)
		return session_fault(p, r, i, "its parent %s is in another session, and the outer session is only inherited from the builder: make %s a descendant of a root in the outer session",
				     pname, tree_node_name(p->t, i, other, sizeof(other)));
	if (is_ghost(p, r)) {
		if (p->place[r] != UNSET && p->place[r] != parent)
			return session_fault(p, r, i, "its leader is dead, and the ghost that stands for it makes members as children of one parent only, but they have %s and %s",
					     p->place[r] == PLAN_BUILDER ? "the daemon" : tree_node_name(p->t, p->place[r], other, sizeof(other)),
					     pname);
		if (!children_ns_are(p, parent, p->facts->ns[r], node(p, r)->n_pids))
			return session_fault(p, r, i, "its leader is dead, and the ghost that stands for it would be a child of %s, whose children are not in the pid namespace of the ghost's PIDs",
					     pname);
		p->place[r] = parent;
		p->via[i] = VIA_GHOST;
		return 0;
	}
	if (node(p, r)->kind == TREE_KIND_ZOMBIE) {
		/* The leader itself creates it before it exits. */
		reaper = reaper_from(p, parent_of(p, r), p->facts->ns[r][0]);
		if (reaper != parent)
			return session_fault(p, r, i, "its parent %s is in another session, and its leader is a ZOMBIE, whose children go to %s when it exits, not to %s (only the namespace's init or a child subreaper above the leader can be the parent)",
					     pname, reaper == PLAN_BUILDER ? "the init of its pid namespace, outside the tree"
									   : tree_node_name(p->t, reaper, other, sizeof(other)),
					     pname);
		p->via[i] = VIA_ZOMBIE;
		return 0;
	}
	/* A helper, a child of the leader, creates it and exits. */
	reaper = reaper_from(p, r, p->facts->ns[r][0]);
	if (reaper != parent)
		return session_fault(p, r, i, "its parent %s is in another session; a helper under the session's leader could create it, but when the helper exits its child goes to %s, not to %s (only the namespace's init or a child subreaper above the leader can be the parent)",
				     pname, reaper == PLAN_BUILDER ? "the init of the leader's pid namespace, outside the tree"
								   : tree_node_name(p->t, reaper, other, sizeof(other)),
				     pname);
	p->has_helper[r] = true;
	p->via[i] = VIA_HELPER;
	return 0;
}

/* Whether leader could be born in session r by inheritance: above it only
 * leaders (each born before its setsid in turn) up to a node of r. */
static bool can_inherit(const struct planner *p, int32_t leader, int32_t r)
{
	for (int32_t a = parent_of(p, leader); a != PLAN_BUILDER; a = parent_of(p, a)) {
		if (p->facts->sid[a] == r)
			return true;
		if (p->facts->sid[a] != a)
			return false;
	}
	return r == TREE_OUTER;
}

/* §5.1, children before parents: each node needs a birth session; a
 * leader's born-before children decide its own. */
static int plan_sessions(struct planner *p)
{
	for (int32_t i = (int32_t)p->n - 1; i >= 0; i--) {
		int32_t s = p->facts->sid[i], parent, r;
		int32_t parent_sid;
		int err;

		if (is_ghost(p, i))
			continue;
		r = s == i ? p->req_bb[i] : s;
		if (r == NONE)
			continue;
		parent = parent_of(p, i);
		parent_sid = parent == PLAN_BUILDER ? TREE_OUTER : p->facts->sid[parent];
		if (r == parent_sid)
			continue;
		if (parent != PLAN_BUILDER && parent_sid == parent && (p->req_bb[parent] == NONE || p->req_bb[parent] == r) &&
		    can_inherit(p, parent, r)) {
			p->born_before[i] = true;
			p->req_bb[parent] = r;
			continue;
		}
		err = session_elsewhere(p, i, r);
		if (err < 0)
			return err;
	}
	return 0;
}

/* §5.2: a group ghost is the child of a node of its session whose
 * children are in the ghost's pid namespace; a LIVE one if there is. */
static int plan_group_ghosts(struct planner *p)
{
	for (int32_t g = 0; g < (int32_t)p->n; g++) {
		int32_t s = p->facts->sid[g], best = UNSET;
		char name[48];

		if (!is_ghost(p, g) || s == g)
			continue;
		for (int32_t c = 0; c < (int32_t)p->n && best == UNSET; c++)
			if (node(p, c)->kind == TREE_KIND_LIVE && p->facts->sid[c] == s &&
			    children_ns_are(p, c, p->facts->ns[g], node(p, g)->n_pids))
				best = c;
		for (int32_t c = 0; c < (int32_t)p->n && best == UNSET; c++)
			if (node(p, c)->kind == TREE_KIND_ZOMBIE && p->facts->sid[c] == s &&
			    children_ns_are(p, c, p->facts->ns[g], node(p, g)->n_pids))
				best = c;
		if (best == UNSET && s == TREE_OUTER && children_ns_are(p, PLAN_BUILDER, p->facts->ns[g], node(p, g)->n_pids))
			best = PLAN_BUILDER;
		if (best == UNSET)
			return tree_fault_set(p->f, g, -1, ENOTSUP, "the group of %s cannot be reproduced: its leader is dead, and no LIVE or ZOMBIE node of its session has children in the pid namespace of its PIDs to hold them",
					      tree_node_name(p->t, g, name, sizeof(name)));
		p->place[g] = best;
	}
	return 0;
}

/* Who clones each entity, with CLONE_PARENT or not, and in which phase
 * of its creator's program: 0 born before its setsid, 1 the nodes after,
 * 2 ghosts, 3 the helper. */
static void plan_creators(struct planner *p)
{
	for (int32_t e = 0; e < (int32_t)p->n_ent; e++)
		p->creator[e] = UNSET;
	for (int32_t i = 0; i < (int32_t)p->n; i++) {
		int32_t parent = parent_of(p, i);

		if (is_ghost(p, i)) {
			if (p->place[i] == UNSET)
				continue;
			p->creator[i] = p->place[i];
			/* A session ghost under the builder makes roots: it
			 * must be the daemon's child, as they are. */
			p->clone_parent[i] = p->place[i] == PLAN_BUILDER && p->facts->sid[i] == i;
			p->phase[i] = 2;
			continue;
		}
		if (p->has_helper[i]) {
			p->creator[p->n + i] = i;
			p->phase[p->n + i] = 3;
		}
		switch (p->via[i]) {
		case VIA_GHOST:
			p->creator[i] = p->facts->sid[i];
			p->clone_parent[i] = true;
			break;
		case VIA_HELPER:
			p->creator[i] = (int32_t)p->n + p->facts->sid[i];
			break;
		case VIA_ZOMBIE:
			p->creator[i] = p->facts->sid[i];
			break;
		default:
			p->creator[i] = parent;
			p->clone_parent[i] = parent == PLAN_BUILDER;
			break;
		}
		p->phase[i] = p->born_before[i] ? 0 : 1;
	}
}

/* The children lists, per creator in phase then index order, and the
 * procs in creation order (depth first from the builder). */
static int plan_order(struct planner *p)
{
	struct plan *plan = p->plan;
	uint32_t *first = NULL, *count = NULL, *fill = NULL;
	int32_t *lists = NULL, *stack = NULL;
	size_t n_lists = p->n_ent + 1, total = 0, depth = 0;
	int r = -ENOMEM;

	/* Slot 0 is the builder's list, slot e + 1 entity e's. */
	first = calloc(n_lists, sizeof(*first));
	count = calloc(n_lists, sizeof(*count));
	fill = calloc(n_lists, sizeof(*fill));
	lists = calloc(p->n_ent + 1, sizeof(*lists));
	stack = calloc(p->n_ent + 1, sizeof(*stack));
	if (!first || !count || !fill || !lists || !stack)
		goto out;
	for (size_t e = 0; e < p->n_ent; e++)
		if (p->creator[e] != UNSET) {
			count[p->creator[e] + 1]++;
			total++;
		}
	for (size_t c = 1; c < n_lists; c++)
		first[c] = first[c - 1] + count[c - 1];
	for (uint8_t phase = 0; phase <= 3; phase++)
		for (size_t e = 0; e < p->n_ent; e++)
			if (p->creator[e] != UNSET && p->phase[e] == phase) {
				size_t c = (size_t)(p->creator[e] + 1);

				lists[first[c] + fill[c]++] = (int32_t)e;
			}

	plan->procs = calloc(total ? total : 1, sizeof(*plan->procs));
	plan->children = calloc(total ? total : 1, sizeof(*plan->children));
	if (!plan->procs || !plan->children)
		goto out;
	/* Depth first: push the builder's children in reverse, so that they
	 * come out in clone order. */
	for (uint32_t k = count[0]; k > 0; k--)
		stack[depth++] = lists[first[0] + k - 1];
	while (depth > 0) {
		int32_t e = stack[--depth];
		size_t c = (size_t)e + 1;

		p->proc_of[e] = (int32_t)plan->n_procs++;
		for (uint32_t k = count[c]; k > 0; k--)
			stack[depth++] = lists[first[c] + k - 1];
	}
	/* Every entity was reached: creators form a tree under the builder. */
	if (plan->n_procs != total) {
		r = tree_fault_set(p->f, -1, -1, ENOTSUP, "the tree cannot be ordered for building");
		goto out;
	}
	for (size_t c = 0; c < n_lists; c++) {
		uint32_t at = (uint32_t)plan->n_children;

		for (uint32_t k = 0; k < count[c]; k++)
			plan->children[plan->n_children++] = p->proc_of[lists[first[c] + k]];
		if (c == 0) {
			plan->builder_first_child = at;
			plan->builder_n_children = count[0];
		} else if (p->creator[c - 1] != UNSET) {
			plan->procs[p->proc_of[c - 1]].first_child = at;
			plan->procs[p->proc_of[c - 1]].n_children = count[c];
		}
	}
	for (size_t e = 0; e < p->n_ent; e++) {
		struct plan_proc *pr;

		if (p->creator[e] == UNSET)
			continue;
		pr = &plan->procs[p->proc_of[e]];
		pr->creator = p->creator[e] == PLAN_BUILDER ? PLAN_BUILDER : p->proc_of[p->creator[e]];
		pr->clone_parent = p->clone_parent[e];
		pr->born_before = p->phase[e] == 0;
	}
	r = 0;
out:
	free(first);
	free(count);
	free(fill);
	free(lists);
	free(stack);
	return r;
}

/* What each process is, from its node (or, for a helper, its leader). */
static void fill_procs(struct planner *p)
{
	for (size_t e = 0; e < p->n_ent; e++) {
		struct plan_proc *pr;
		int32_t i = (int32_t)(e < p->n ? e : e - p->n);
		const struct tree_node *nd = node(p, i);

		if (p->creator[e] == UNSET)
			continue;
		pr = &p->plan->procs[p->proc_of[e]];
		pr->n_levels = nd->n_pids;
		memcpy(pr->ns, p->facts->ns[i], sizeof(pr->ns));
		if (e >= p->n) {
			pr->kind = PLAN_PROC_HELPER;
			pr->node = -1;
			pr->transient = true;
			continue;
		}
		pr->node = i;
		memcpy(pr->pids, nd->pids, sizeof(pr->pids));
		if (nd->new_pidns)
			pr->pids[0] = 1;
		pr->new_pidns = nd->new_pidns;
		pr->subreaper = nd->subreaper;
		pr->setsid = p->facts->sid[i] == i;
		pr->first_thread = nd->first_thread;
		pr->n_threads = nd->n_threads;
		memcpy(pr->comm, nd->comm, sizeof(pr->comm));
		switch (nd->kind) {
		case TREE_KIND_LIVE:
			pr->kind = PLAN_PROC_LIVE;
			break;
		case TREE_KIND_ZOMBIE:
			pr->kind = PLAN_PROC_ZOMBIE;
			pr->exit_code = nd->has_exit_code ? nd->exit_code : 0;
			pr->exit_signal = nd->has_exit_signal ? nd->exit_signal : 0;
			break;
		default:
			pr->kind = pr->setsid ? PLAN_PROC_SESSION_GHOST : PLAN_PROC_GROUP_GHOST;
			pr->transient = true;
			break;
		}
	}
}

/* Requires picks below the outermost explicit (or picked) level of ids
 * (levels [from, n)), and at level 0 with need0. Returns whether it
 * required a namespace that was not. */
static bool require_prefix(struct tree_picker *picker, const tree_ns *ns, const int32_t *ids, uint32_t from, uint32_t n,
			   bool need0)
{
	int top = need0 && n > from ? (int)from : -1;
	bool changed = false;

	for (uint32_t l = from; l < n; l++)
		if (ids[l] > 0 || tree_picker_picks(picker, ns[l]))
			top = (int)l;
	for (int l = (int)from; l <= top; l++)
		if (ids[l] == 0 && !tree_picker_picks(picker, ns[l])) {
			tree_picker_require(picker, ns[l]);
			changed = true;
		}
	return changed;
}

/* Where the daemon must pick (§5.3): namespaces with requested PIDs, and,
 * until nothing changes, those of a 0 inside an explicit entry (set_tid
 * names a prefix only); threads, ghosts and helpers have an explicit
 * innermost PID (a ghost's or helper's parent reaps it by PID). */
static void require_picks(struct planner *p, struct tree_picker *picker)
{
	const struct plan *plan = p->plan;
	tree_ns base[PR_MAX_LEVELS];
	bool changed = true;

	for (uint32_t l = 0; l < plan->base_levels; l++)
		base[l] = -1 - (tree_ns)l;
	while (changed) {
		changed = require_prefix(picker, base, plan->builder_pids, 0, plan->base_levels, false);
		for (size_t k = 0; k < plan->n_procs; k++) {
			const struct plan_proc *pr = &plan->procs[k];

			changed |= require_prefix(picker, pr->ns, pr->pids, pr->new_pidns ? 1 : 0, pr->n_levels,
						  pr->transient && !pr->new_pidns);
			for (uint32_t th = pr->first_thread; th < pr->first_thread + pr->n_threads; th++)
				changed |= require_prefix(picker, pr->ns, p->t->threads[th].tids, 0, pr->n_levels, true);
		}
	}
}

/* §5.3, in creation order: the builder, then each process and its threads. */
static int pick_pids(struct planner *p, int32_t floor)
{
	struct plan *plan = p->plan;
	struct tree_picker *picker = tree_picker_new(p->t, p->facts, floor);
	bool picked;

	if (!picker)
		return tree_fault_set(p->f, -1, -1, ENOMEM, "the daemon is out of memory");
	require_picks(p, picker);
	for (uint32_t l = 0; l < plan->base_levels; l++) {
		plan->builder_pids[l] = tree_pick(picker, -1 - (tree_ns)l, &picked);
		plan->builder_pick_mask |= picked ? 1ull << l : 0;
	}
	for (size_t k = 0; k < plan->n_procs; k++) {
		struct plan_proc *pr = &plan->procs[k];

		for (uint32_t l = pr->new_pidns ? 1 : 0; l < pr->n_levels; l++) {
			if (pr->pids[l] > 0)
				continue;
			pr->pids[l] = tree_pick(picker, pr->ns[l], &picked);
			pr->pick_mask |= picked ? 1ull << l : 0;
		}
		for (uint32_t th = pr->first_thread; th < pr->first_thread + pr->n_threads; th++) {
			struct plan_thread *pt = &plan->threads[th];

			pt->n_tids = p->t->threads[th].n_tids;
			memcpy(pt->tids, p->t->threads[th].tids, sizeof(pt->tids));
			for (uint32_t l = 0; l < pt->n_tids; l++) {
				if (pt->tids[l] > 0)
					continue;
				pt->tids[l] = tree_pick(picker, pr->ns[l], &picked);
				pt->pick_mask |= picked ? 1ull << l : 0;
			}
		}
	}
	tree_picker_free(picker);
	return 0;
}

static bool does_setsid(const struct planner *p, size_t e)
{
	return e < p->n && p->facts->sid[e] == (int32_t)e;
}

/* The group each entity ends in, as an entity (PLAN_BUILDER: outer). */
static int32_t final_pg(const struct planner *p, size_t e)
{
	return e < p->n ? p->facts->pgid[e] : p->birth_pg[e];
}

/* The id of group leader g as process k sees it: g's PID in k's innermost
 * namespace. Returns 0 and sets *pgid (0: g's getpid(), which the group's
 * slot carries), or -ENOTSUP. */
static int join_value(struct planner *p, const struct plan_proc *k, int32_t g, int32_t *pgid)
{
	const struct plan *plan = p->plan;
	const struct plan_proc *gp = g == PLAN_BUILDER ? NULL : &plan->procs[p->proc_of[g]];
	tree_ns home = k->ns[0];
	int level = -1;
	int32_t value = 0;
	char name[48], lname[48];

	if (!gp) {
		if (home < 0 && -1 - home < (tree_ns)plan->base_levels)
			level = -1 - home;
		if (level >= 0)
			value = plan->builder_pids[level];
	} else {
		for (uint32_t l = 0; l < gp->n_levels && level < 0; l++)
			if (gp->ns[l] == home)
				level = (int)l;
		if (level >= 0)
			value = gp->pids[level];
	}
	tree_node_name(p->t, k->node, name, sizeof(name));
	if (g == PLAN_BUILDER)
		snprintf(lname, sizeof(lname), "the outer group");
	else
		snprintf(lname, sizeof(lname), "the group of %s", tree_node_name(p->t, g, (char[48]){ 0 }, 48));
	if (level < 0)
		return tree_fault_set(p->f, k->node, 0, ENOTSUP, "%s cannot join %s: it is not born in it, and setpgid names a group by its leader's PID, which the leader has not in %s's pid namespace (level 0)",
				      name, lname, name);
	if (value == 0 && level != 0)
		return tree_fault_set(p->f, g == PLAN_BUILDER ? k->node : g, level, ENOTSUP, "%s cannot join %s: its leader's PID at level %d is left to the kernel, and only a leader in the same innermost pid namespace can tell it; give that PID",
				      name, lname, level);
	*pgid = value;
	return 0;
}

/* §5.2: the groups, then what each process does about its own. */
static int plan_groups(struct planner *p)
{
	struct plan *plan = p->plan;
	int32_t *group_of = calloc(p->n_ent, sizeof(*group_of));
	int32_t *ent_of = calloc(plan->n_procs + 1, sizeof(*ent_of));
	int r = 0;

	plan->groups = calloc(plan->n_procs + 1, sizeof(*plan->groups));
	if (!group_of || !ent_of || !plan->groups) {
		free(group_of);
		free(ent_of);
		return tree_fault_set(p->f, -1, -1, ENOMEM, "the daemon is out of memory");
	}
	plan->groups[plan->n_groups++] = (struct plan_group){ PLAN_BUILDER, PLAN_BUILDER };
	/* Births in creation order: a creator's group is known before its
	 * children's. */
	for (size_t e = 0; e < p->n_ent; e++)
		if (p->creator[e] != UNSET)
			ent_of[p->proc_of[e]] = (int32_t)e;
	for (size_t k = 0; k < plan->n_procs; k++) {
		const struct plan_proc *pr = &plan->procs[k];
		size_t e = (size_t)ent_of[k];
		int32_t c = p->creator[e];

		if (c == PLAN_BUILDER)
			p->birth_pg[e] = PLAN_BUILDER;
		else if (pr->born_before || !does_setsid(p, (size_t)c))
			p->birth_pg[e] = p->birth_pg[c];
		else
			p->birth_pg[e] = c;
	}
	for (size_t e = 0; e < p->n_ent; e++) {
		int32_t s = e < p->n ? p->facts->sid[e] : TREE_OUTER;

		if (p->creator[e] == UNSET || final_pg(p, e) != (int32_t)e)
			continue;
		group_of[e] = (int32_t)plan->n_groups;
		plan->groups[plan->n_groups++] = (struct plan_group){
			.leader = p->proc_of[e],
			.session = s == TREE_OUTER ? PLAN_BUILDER : p->proc_of[s],
		};
	}
	for (size_t e = 0; e < p->n_ent && r == 0; e++) {
		struct plan_proc *pr;
		int32_t g = final_pg(p, e);

		if (p->creator[e] == UNSET)
			continue;
		pr = &plan->procs[p->proc_of[e]];
		pr->group = g == PLAN_BUILDER ? 0 : group_of[g];
		if (does_setsid(p, e) || g == p->birth_pg[e])
			pr->pgid_action = PLAN_PGID_KEEP;
		else if (g == (int32_t)e)
			pr->pgid_action = PLAN_PGID_CREATE;
		else {
			pr->pgid_action = PLAN_PGID_JOIN;
			r = join_value(p, pr, g, &pr->pgid);
		}
	}
	free(group_of);
	free(ent_of);
	return r;
}

static int plan_tree(struct planner *p, int32_t floor)
{
	struct plan *plan = p->plan;
	int r;

	for (size_t i = 0; i < p->n; i++) {
		p->req_bb[i] = NONE;
		p->place[i] = UNSET;
		p->via[i] = VIA_PARENT;
	}
	r = plan_sessions(p);
	if (r < 0)
		return r;
	for (int32_t g = 0; g < (int32_t)p->n; g++)
		if (is_ghost(p, g) && p->facts->sid[g] == g && p->place[g] == UNSET)
			return session_fault(p, g, g, "no member of it is born into it: its members' parents are in it already");
	r = plan_group_ghosts(p);
	if (r < 0)
		return r;
	plan_creators(p);
	r = plan_order(p);
	if (r == -ENOMEM)
		return tree_fault_set(p->f, -1, -1, ENOMEM, "the daemon is out of memory");
	if (r < 0)
		return r;
	plan->threads = calloc(p->t->n_threads ? p->t->n_threads : 1, sizeof(*plan->threads));
	plan->proc_of_node = calloc(p->n, sizeof(*plan->proc_of_node));
	if (!plan->threads || !plan->proc_of_node)
		return tree_fault_set(p->f, -1, -1, ENOMEM, "the daemon is out of memory");
	plan->n_threads = p->t->n_threads;
	for (size_t i = 0; i < p->n; i++)
		plan->proc_of_node[i] = p->proc_of[i];
	fill_procs(p);
	r = pick_pids(p, floor);
	if (r < 0)
		return r;
	return plan_groups(p);
}

int plan_compile(const struct tree *t, const struct tree_facts *facts, int32_t pick_floor, struct plan *plan,
	      struct tree_fault *f)
{
	struct planner p = { .t = t, .facts = facts, .plan = plan, .f = f, .n = t->n_nodes, .n_ent = 2 * t->n_nodes };
	int r;

	*plan = (struct plan){
		.base_levels = facts->base_levels,
		.flags = t->flags,
		.timeout_ms = t->timeout_ms,
		.ttl_sec = t->ttl_sec,
		.has_pidns_fd = t->has_pidns_fd,
		.pidns_fd_index = t->pidns_fd_index,
	};
	p.req_bb = calloc(p.n, sizeof(*p.req_bb));
	p.born_before = calloc(p.n, sizeof(*p.born_before));
	p.via = calloc(p.n, sizeof(*p.via));
	p.place = calloc(p.n, sizeof(*p.place));
	p.has_helper = calloc(p.n, sizeof(*p.has_helper));
	p.creator = calloc(p.n_ent, sizeof(*p.creator));
	p.clone_parent = calloc(p.n_ent, sizeof(*p.clone_parent));
	p.phase = calloc(p.n_ent, sizeof(*p.phase));
	p.proc_of = calloc(p.n_ent, sizeof(*p.proc_of));
	p.birth_pg = calloc(p.n_ent, sizeof(*p.birth_pg));
	if (!p.req_bb || !p.born_before || !p.via || !p.place || !p.has_helper || !p.creator || !p.clone_parent ||
	    !p.phase || !p.proc_of || !p.birth_pg)
		r = tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	else
		r = plan_tree(&p, pick_floor);
	free(p.req_bb);
	free(p.born_before);
	free(p.via);
	free(p.place);
	free(p.has_helper);
	free(p.creator);
	free(p.clone_parent);
	free(p.phase);
	free(p.proc_of);
	free(p.birth_pg);
	return r;
}

void plan_free(struct plan *plan)
{
	free(plan->procs);
	free(plan->threads);
	free(plan->groups);
	free(plan->children);
	free(plan->proc_of_node);
	*plan = (struct plan){ 0 };
}
