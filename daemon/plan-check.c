/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The structural check of a tree plan. Freestanding: the holder links it. */
#include <linux/errno.h>

#include "plan-check.h"

#define TREE_PROC_KNOWN_FLAGS                                                                  \
	(TREE_PROC_SETSID | TREE_PROC_CLONE_PARENT | TREE_PROC_NEW_PIDNS | TREE_PROC_SUBREAPER | \
	 TREE_PROC_EXIT_SIGNAL | TREE_PROC_DUMPABLE | TREE_PROC_GROUP_LEADER)
#define TREE_PLAN_KNOWN_FLAGS (TREE_PLAN_THREADED | TREE_PLAN_TARGET_PIDNS)
#define SIGNAL_MAX 64

static size_t clones_size(uint32_t n_clones)
{
	return ((size_t)n_clones * sizeof(uint32_t) + 7) & ~(size_t)7;
}

size_t tree_plan_size(uint32_t n_procs, uint32_t n_clones, uint32_t n_threads)
{
	if (n_procs == 0 || n_procs > TREE_MAX_PROCS || n_clones > n_procs || n_threads > TREE_MAX_THREADS)
		return 0;
	return sizeof(struct tree_plan) + (size_t)n_procs * sizeof(struct tree_proc) + clones_size(n_clones) +
	       (size_t)n_threads * sizeof(struct tree_thread);
}

/* The first n_set_tid of n_levels entries are PIDs, the rest 0. */
static int ids_valid(const int32_t *ids, uint32_t n_levels, uint32_t n_set_tid)
{
	if (n_levels == 0 || n_levels > TREE_MAX_LEVELS || n_set_tid > n_levels)
		return 0;
	for (uint32_t i = 0; i < TREE_MAX_LEVELS; i++)
		if (i < n_set_tid ? ids[i] <= 0 : ids[i] != 0)
			return 0;
	return 1;
}

static const char *header_check(const struct tree_plan *plan, size_t len)
{
	if (plan->flags & ~TREE_PLAN_KNOWN_FLAGS)
		return "unknown plan flags";
	if (plan->n_nodes == 0 || plan->n_nodes > plan->n_procs)
		return "node count out of range";
	if (plan->n_groups > plan->n_procs + 1)
		return "more groups than processes and OUTER";
	if (!ids_valid(plan->builder_pids, plan->n_levels, plan->builder_n_set_tid))
		return "builder PIDs or level count invalid";
	if (!(plan->flags & TREE_PLAN_TARGET_PIDNS) && plan->target_pidns_fd_index != -1)
		return "target pid namespace index without its flag";
	if (len != tree_plan_size(plan->n_procs, plan->n_clones, plan->n_threads))
		return "size does not match the counts";
	return 0;
}

static const char *kind_check(const struct tree_plan *plan, const struct tree_proc *p, uint32_t i)
{
	int transient = p->kind == TREE_PROC_GHOST || p->kind == TREE_PROC_HELPER;

	if (p->kind < TREE_PROC_LIVE || p->kind > TREE_PROC_HELPER)
		return "unknown kind";
	if (p->flags & ~TREE_PROC_KNOWN_FLAGS)
		return "unknown flags";
	if (i < plan->n_nodes ? (p->node != (int32_t)i || p->kind == TREE_PROC_HELPER)
			      : (p->node != -1 || p->kind != TREE_PROC_HELPER))
		return "nodes come first, in request order, helpers after";
	if (p->kind == TREE_PROC_ZOMBIE) {
		if (p->flags & TREE_PROC_EXIT_SIGNAL ? p->exit_code == 0 || p->exit_code > SIGNAL_MAX
						     : p->exit_code > 255)
			return "zombie exit status out of range";
	} else if (p->exit_code || (p->flags & TREE_PROC_EXIT_SIGNAL)) {
		return "exit status on a process that is no zombie";
	}
	if (p->kind != TREE_PROC_LIVE && (p->n_threads || (p->flags & (TREE_PROC_SUBREAPER | TREE_PROC_DUMPABLE))))
		return "threads, subreaper or dumpable on a process that does not live";
	if (transient && ((p->flags & TREE_PROC_NEW_PIDNS) || p->n_set_tid == 0))
		return "a ghost or helper needs an explicit PID in its parent's namespace";
	return 0;
}

static const char *ids_check(const struct tree_plan_view *v, const struct tree_proc *p)
{
	uint32_t want;

	if (!ids_valid(p->pids, p->n_levels, p->n_set_tid))
		return "PIDs not a run of explicit ones followed by zeros";
	if ((p->flags & TREE_PROC_NEW_PIDNS) && (p->n_set_tid == 0 || p->pids[0] != 1))
		return "a new pid namespace's first process is pid 1";
	want = p->creator < 0 ? v->plan->n_levels : v->procs[p->creator].n_levels;
	if (p->n_levels != want + ((p->flags & TREE_PROC_NEW_PIDNS) ? 1 : 0))
		return "level count differs from its creator's";
	if (p->creator < 0 && !(p->flags & TREE_PROC_CLONE_PARENT))
		return "a root is cloned with CLONE_PARENT";
	if (p->creator >= 0 && (p->flags & TREE_PROC_CLONE_PARENT) &&
	    (v->procs[p->creator].flags & TREE_PROC_NEW_PIDNS))
		return "a pid namespace's init cannot clone with CLONE_PARENT";
	if ((uint64_t)p->first_thread + p->n_threads > v->plan->n_threads)
		return "threads out of range";
	if (p->n_threads && !(v->plan->flags & TREE_PLAN_THREADED))
		return "threads in a plan not marked threaded";
	for (uint32_t t = 0; t < p->n_threads; t++) {
		const struct tree_thread *th = &v->threads[p->first_thread + t];

		if (th->n_set_tid == 0 || !ids_valid(th->tids, p->n_levels, th->n_set_tid))
			return "thread TIDs invalid";
	}
	return 0;
}

static const char *group_check(const struct tree_plan *plan, const struct tree_proc *p)
{
	int uses_group = p->pgid_action == TREE_PGID_JOIN || (p->flags & TREE_PROC_GROUP_LEADER);

	if (p->pgid_action > TREE_PGID_JOIN)
		return "unknown group action";
	if (uses_group ? p->pgid_barrier >= plan->n_groups : p->pgid_barrier != 0)
		return "group index out of range";
	if (p->pgid_action == TREE_PGID_JOIN ? p->pgid < 0 || (p->flags & TREE_PROC_GROUP_LEADER) : p->pgid != 0)
		return "group id where no group is joined";
	if ((p->flags & TREE_PROC_SETSID) && p->pgid_action != TREE_PGID_KEEP)
		return "a session leader keeps its own group";
	if (p->comm[TREE_COMM_LEN - 1] != 0)
		return "comm not NUL-terminated";
	return 0;
}

/* Every proc with a creator is in its creator's clone list exactly once. */
static const char *clones_check(const struct tree_plan_view *v, uint32_t *seen, int *bad)
{
	const struct tree_plan *plan = v->plan;
	uint32_t next = 0;

	for (uint32_t i = 0; i < plan->n_procs; i++)
		seen[i] = 0;
	for (uint32_t i = 0; i < plan->n_procs; i++) {
		const struct tree_proc *p = &v->procs[i];

		*bad = (int)i;
		/* Lists follow each other in proc order, so none overlaps. */
		if (p->first_clone != next || p->n_clones > plan->n_clones - next ||
		    p->n_before_setsid > p->n_clones)
			return "clone list out of place";
		if (p->n_before_setsid && !(p->flags & TREE_PROC_SETSID))
			return "children born before a setsid that does not happen";
		for (uint32_t k = 0; k < p->n_clones; k++) {
			uint32_t c = v->clones[next + k];

			if (c >= plan->n_procs || v->procs[c].creator != (int32_t)i || seen[c])
				return "clone list names a process this one does not create, or twice";
			seen[c] = 1;
		}
		next += p->n_clones;
	}
	*bad = -1;
	if (next != plan->n_clones)
		return "clone table longer than the lists";
	for (uint32_t i = 0; i < plan->n_procs; i++)
		if (v->procs[i].creator >= 0 && !seen[i]) {
			*bad = (int)i;
			return "a process nobody clones";
		}
	return 0;
}

/* Walking up from every proc reaches a root: marks hold the walk that
 * first passed a proc (i + 1), or 2^32-1 once it is known to lead to one. */
static const char *creators_acyclic(const struct tree_plan_view *v, uint32_t *mark, int *bad)
{
	const uint32_t done = 0xffffffffu;

	for (uint32_t i = 0; i < v->plan->n_procs; i++)
		mark[i] = 0;
	for (uint32_t i = 0; i < v->plan->n_procs; i++) {
		int32_t p = (int32_t)i;

		while (p >= 0 && mark[p] != done) {
			if (mark[p] == i + 1) {
				*bad = (int)i;
				return "creators form a cycle";
			}
			mark[p] = i + 1;
			p = v->procs[p].creator;
		}
		for (p = (int32_t)i; p >= 0 && mark[p] != done; p = v->procs[p].creator)
			mark[p] = done;
	}
	return 0;
}

int tree_plan_check(const void *buf, size_t len, uint32_t *scratch, struct tree_plan_view *view,
		    const char **what, int *proc)
{
	const struct tree_plan *plan = buf;
	struct tree_plan_view v;
	const char *why;

	*proc = -1;
	*what = "not a tree plan";
	if (len < sizeof(*plan) || plan->magic != TREE_PLAN_MAGIC || plan->n_procs == 0 ||
	    plan->n_procs > TREE_MAX_PROCS)
		return -EPROTO;
	why = header_check(plan, len);
	if (why) {
		*what = why;
		return -EINVAL;
	}
	v.plan = plan;
	v.procs = (const struct tree_proc *)(plan + 1);
	v.clones = (const uint32_t *)(v.procs + plan->n_procs);
	v.threads = (const struct tree_thread *)((const unsigned char *)v.clones + clones_size(plan->n_clones));

	for (uint32_t i = 0; i < plan->n_procs; i++) {
		const struct tree_proc *p = &v.procs[i];

		*proc = (int)i;
		if (p->creator < -1 || p->creator >= (int32_t)plan->n_procs || p->creator == (int32_t)i)
			why = "creator out of range";
		else
			why = kind_check(plan, p, i);
		if (!why)
			why = group_check(plan, p);
		if (why) {
			*what = why;
			return -EINVAL;
		}
	}
	why = clones_check(&v, scratch, proc);
	if (!why)
		why = creators_acyclic(&v, scratch, proc);
	/* Levels are compared with the creator's, which must be known to be
	 * acyclic first. */
	for (uint32_t i = 0; !why && i < plan->n_procs; i++) {
		*proc = (int)i;
		why = ids_check(&v, &v.procs[i]);
	}
	if (why) {
		*what = why;
		return -EINVAL;
	}
	*what = 0;
	*proc = -1;
	*view = v;
	return 0;
}
