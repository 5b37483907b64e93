/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan-check.h"
#include "tree-encode.h"

/* Leading explicit entries: what set_tid names. */
static uint32_t leading_explicit(const int32_t *ids, uint32_t n)
{
	uint32_t k = 0;

	while (k < n && ids[k] > 0)
		k++;
	return k;
}

static uint32_t wire_kind(uint32_t kind)
{
	switch (kind) {
	case PLAN_PROC_LIVE:
		return TREE_PROC_LIVE;
	case PLAN_PROC_ZOMBIE:
		return TREE_PROC_ZOMBIE;
	case PLAN_PROC_HELPER:
		return TREE_PROC_HELPER;
	default:
		return TREE_PROC_GHOST;
	}
}

static uint32_t wire_flags(const struct plan_proc *pr, bool joined)
{
	uint32_t flags = 0;

	if (pr->setsid)
		flags |= TREE_PROC_SETSID;
	if (pr->clone_parent || pr->creator == PLAN_BUILDER)
		flags |= TREE_PROC_CLONE_PARENT;
	if (pr->new_pidns)
		flags |= TREE_PROC_NEW_PIDNS;
	if (pr->subreaper)
		flags |= TREE_PROC_SUBREAPER;
	if (pr->kind == PLAN_PROC_ZOMBIE && pr->exit_signal > 0)
		flags |= TREE_PROC_EXIT_SIGNAL;
	if (joined)
		flags |= TREE_PROC_GROUP_LEADER;
	return flags;
}

struct encoder {
	const struct plan *plan;
	size_t n_nodes;
	int32_t *wire_of;             /* plan proc -> wire proc */
	int32_t *plan_of;             /* wire proc -> plan proc */
	bool *joined;                 /* per group: someone joins it */
};

static void encode_proc(const struct encoder *e, const struct plan_proc *pr, struct tree_proc *w)
{
	memset(w, 0, sizeof(*w));
	w->kind = wire_kind(pr->kind);
	w->flags = wire_flags(pr, e->joined[pr->group] && pr->group > 0 && e->plan->groups[pr->group].leader >= 0 &&
				      &e->plan->procs[e->plan->groups[pr->group].leader] == pr);
	w->node = pr->node;
	w->creator = pr->creator == PLAN_BUILDER ? -1 : e->wire_of[pr->creator];
	w->first_thread = pr->first_thread;
	w->n_threads = pr->n_threads;
	w->n_levels = pr->n_levels;
	w->n_set_tid = leading_explicit(pr->pids, pr->n_levels);
	w->pgid_action = pr->pgid_action;
	/* Only JOIN and GROUP_LEADER name a group. */
	if (w->pgid_action == TREE_PGID_JOIN || (w->flags & TREE_PROC_GROUP_LEADER))
		w->pgid_barrier = (uint32_t)pr->group;
	w->pgid = pr->pgid_action == PLAN_PGID_JOIN ? pr->pgid : 0;
	w->exit_code = (uint32_t)(pr->exit_signal > 0 ? pr->exit_signal : pr->exit_code);
	w->pick_mask = pr->pick_mask;
	memcpy(w->comm, pr->comm, sizeof(w->comm) < sizeof(pr->comm) ? sizeof(w->comm) : sizeof(pr->comm));
	w->comm[TREE_COMM_LEN - 1] = '\0';
	memcpy(w->pids, pr->pids, sizeof(w->pids));
}

static int encode(struct encoder *e, uint8_t **ret, size_t *ret_len, struct tree_fault *f)
{
	const struct plan *plan = e->plan;
	uint32_t n_clones = 0, next = 0, helpers = 0;
	struct tree_plan *hdr;
	struct tree_proc *procs;
	struct tree_thread *threads;
	uint32_t *clones, *scratch;
	struct tree_plan_view view;
	const char *what = NULL;
	size_t len;
	int bad = -1, r;

	for (size_t k = 0; k < plan->n_procs; k++) {
		const struct plan_proc *pr = &plan->procs[k];

		e->wire_of[k] = pr->node >= 0 ? pr->node : (int32_t)(e->n_nodes + helpers++);
		e->plan_of[e->wire_of[k]] = (int32_t)k;
		if (pr->creator != PLAN_BUILDER)
			n_clones++;
		if (pr->pgid_action == PLAN_PGID_JOIN)
			e->joined[pr->group] = true;
	}
	len = tree_plan_size((uint32_t)plan->n_procs, n_clones, (uint32_t)plan->n_threads);
	if (len == 0)
		return tree_fault_set(f, -1, -1, EINVAL, "the tree needs %zu processes and %zu threads; at most %u and %u", plan->n_procs,
				      plan->n_threads, TREE_MAX_PROCS, TREE_MAX_THREADS);
	hdr = calloc(1, len);
	scratch = calloc(plan->n_procs, sizeof(*scratch));
	if (!hdr || !scratch) {
		free(hdr);
		free(scratch);
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	}
	procs = (struct tree_proc *)(hdr + 1);
	clones = (uint32_t *)(procs + plan->n_procs);
	threads = (struct tree_thread *)((uint8_t *)clones + ((n_clones * sizeof(uint32_t) + 7) & ~(size_t)7));
	*hdr = (struct tree_plan){
		.magic = TREE_PLAN_MAGIC,
		.flags = (plan->n_threads > 0 ? TREE_PLAN_THREADED : 0) | (plan->has_pidns_fd ? TREE_PLAN_TARGET_PIDNS : 0),
		.n_procs = (uint32_t)plan->n_procs,
		.n_nodes = (uint32_t)e->n_nodes,
		.n_clones = n_clones,
		.n_threads = (uint32_t)plan->n_threads,
		.n_groups = (uint32_t)plan->n_groups,
		.builder_n_set_tid = leading_explicit(plan->builder_pids, plan->base_levels),
		.timeout_ms = plan->timeout_ms,
		.ttl_s = plan->ttl_sec,
		.target_pidns_fd_index = plan->has_pidns_fd ? plan->pidns_fd_index : -1,
		.n_levels = plan->base_levels,
		.builder_pick_mask = plan->builder_pick_mask,
	};
	memcpy(hdr->builder_pids, plan->builder_pids, sizeof(hdr->builder_pids));
	/* In wire order, each proc's children in one run. */
	for (size_t w = 0; w < plan->n_procs; w++) {
		const struct plan_proc *pr = &plan->procs[e->plan_of[w]];
		struct tree_proc *wp = &procs[w];

		encode_proc(e, pr, wp);
		wp->first_clone = next;
		for (uint32_t c = 0; c < pr->n_children; c++) {
			const struct plan_proc *child = &plan->procs[plan->children[pr->first_child + c]];

			clones[next++] = (uint32_t)e->wire_of[plan->children[pr->first_child + c]];
			wp->n_clones++;
			wp->n_before_setsid += child->born_before;
		}
	}
	for (size_t t = 0; t < plan->n_threads; t++) {
		threads[t].n_set_tid = leading_explicit(plan->threads[t].tids, plan->threads[t].n_tids);
		threads[t].pick_mask = plan->threads[t].pick_mask;
		memcpy(threads[t].tids, plan->threads[t].tids, sizeof(threads[t].tids));
	}
	r = tree_plan_check(hdr, len, scratch, &view, &what, &bad);
	free(scratch);
	if (r < 0) {
		free(hdr);
		return tree_fault_set(f, bad >= 0 && (size_t)bad < e->n_nodes ? bad : -1, -1, EINVAL,
				      "the daemon made a plan for this tree that does not check (proc %d: %s); please report this",
				      bad, what ? what : "malformed");
	}
	*ret = (uint8_t *)hdr;
	*ret_len = len;
	return 0;
}

int tree_encode_plan(const struct plan *plan, size_t n_nodes, uint8_t **ret, size_t *ret_len, struct tree_fault *f)
{
	struct encoder e = { .plan = plan, .n_nodes = n_nodes };
	int r;

	*ret = NULL;
	*ret_len = 0;
	e.wire_of = calloc(plan->n_procs + 1, sizeof(*e.wire_of));
	e.plan_of = calloc(plan->n_procs + 1, sizeof(*e.plan_of));
	e.joined = calloc(plan->n_groups + 1, sizeof(*e.joined));
	if (!e.wire_of || !e.plan_of || !e.joined)
		r = tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	else
		r = encode(&e, ret, ret_len, f);
	free(e.wire_of);
	free(e.plan_of);
	free(e.joined);
	return r;
}
