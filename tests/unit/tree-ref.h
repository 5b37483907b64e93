/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reference tree of TREES.md §9 written as a plan by hand (what the
 * planner compiles it to), for tests that drive the tree builder without
 * front: L2 is a new pid namespace whose root R is pid 1, L1 (the test's
 * namespace) numbers each node 7000 + its L2 PID, L0 is the kernel's. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plan-check.h"
#include "tree-proto.h"

#define REF_L1_BASE 7000
#define REF_MAX_PROCS 64
#define REF_MAX_THREADS 16

struct ref_plan {
	struct tree_plan head;
	struct tree_proc procs[REF_MAX_PROCS];
	uint32_t clones[REF_MAX_PROCS + 1];
	struct tree_thread threads[REF_MAX_THREADS];
	int l2[REF_MAX_PROCS];       /* each proc's L2 PID */
};

/* Adds a proc with L2 pid l2 under creator (-1: the builder); the levels
 * below a new namespace are L2, L1, L0 (kernel). */
static inline int ref_add(struct ref_plan *r, uint32_t kind, int creator, uint32_t flags, int l2)
{
	int i = (int)r->head.n_procs++;
	struct tree_proc *p = &r->procs[i];

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->node = kind == TREE_PROC_HELPER ? -1 : i;
	p->creator = creator;
	p->flags = flags;
	p->n_levels = 3;
	p->n_set_tid = 2;
	p->pids[0] = l2;
	p->pids[1] = REF_L1_BASE + l2;
	r->l2[i] = l2;
	r->head.n_nodes = r->head.n_procs;
	return i;
}

static inline void ref_threads(struct ref_plan *r, int i, const int *tids, unsigned int n)
{
	struct tree_proc *p = &r->procs[i];

	p->first_thread = r->head.n_threads;
	p->n_threads = n;
	for (unsigned int t = 0; t < n; t++) {
		struct tree_thread *th = &r->threads[r->head.n_threads++];

		memset(th, 0, sizeof(*th));
		th->n_set_tid = 2;
		th->tids[0] = tids[t];
		th->tids[1] = REF_L1_BASE + tids[t];
	}
	r->head.flags |= TREE_PLAN_THREADED;
}

static inline void ref_group(struct tree_proc *p, uint32_t action, uint32_t group, int pgid, int leader)
{
	p->pgid_action = action;
	p->pgid_barrier = group;
	p->pgid = pgid;
	if (leader)
		p->flags |= TREE_PROC_GROUP_LEADER;
}

/* Fills each creator's clone list, in proc order, the first `before`
 * children of proc `born_before_owner` being born before its setsid. */
static inline void ref_link(struct ref_plan *r, int born_before_owner, const int *before, int n_before)
{
	uint32_t next = 0;

	for (uint32_t i = 0; i < r->head.n_procs; i++) {
		struct tree_proc *p = &r->procs[i];

		p->first_clone = next;
		if ((int)i == born_before_owner)
			for (int k = 0; k < n_before; k++)
				r->clones[next++] = (uint32_t)before[k];
		p->n_before_setsid = (int)i == born_before_owner ? (uint32_t)n_before : 0;
		for (uint32_t c = 0; c < r->head.n_procs; c++) {
			int skip = 0;

			for (int k = 0; (int)i == born_before_owner && k < n_before; k++)
				skip |= before[k] == (int)c;
			if (r->procs[c].creator == (int)i && !skip)
				r->clones[next++] = c;
		}
		p->n_clones = next - p->first_clone;
	}
	r->head.n_clones = next;
}

/* Serializes into a fresh buffer of *len bytes (free()). */
static inline void *ref_serialize(const struct ref_plan *r, size_t *len)
{
	size_t procs = r->head.n_procs * sizeof(struct tree_proc);
	size_t clones = ((size_t)r->head.n_clones * 4 + 7) & ~(size_t)7;
	size_t threads = r->head.n_threads * sizeof(struct tree_thread);
	unsigned char *buf;

	*len = sizeof(r->head) + procs + clones + threads;
	buf = calloc(1, *len);
	if (!buf)
		abort();
	memcpy(buf, &r->head, sizeof(r->head));
	memcpy(buf + sizeof(r->head), r->procs, procs);
	memcpy(buf + sizeof(r->head) + procs, r->clones, r->head.n_clones * 4);
	memcpy(buf + sizeof(r->head) + procs + clones, r->threads, threads);
	return buf;
}

/* Group 0 is OUTER, the builder's. */
enum { REF_OUTER, REF_G5, REF_G2, REF_G3, REF_GROUPS };

/* The §9 tree. Returns the proc index of each L2 PID in idx_of[100]. */
static inline void ref_build(struct ref_plan *r, int idx_of[100])
{
	int R, B, ghost20, p30, ghost40, p70, i, l2;
	const int t12[] = { 80, 81, 82 }, t70[] = { 71, 72, 73, 74 };
	int before[1];

	memset(r, 0, sizeof(*r));
	for (i = 0; i < 100; i++)
		idx_of[i] = -1;
	r->head.magic = TREE_PLAN_MAGIC;
	r->head.n_levels = 2;                 /* L1 (explicit), L0 (kernel) */
	r->head.target_pidns_fd_index = -1;
	r->head.n_groups = REF_GROUPS;
	r->head.timeout_ms = 5000;

	R = ref_add(r, TREE_PROC_LIVE, -1, TREE_PROC_CLONE_PARENT | TREE_PROC_NEW_PIDNS | TREE_PROC_SETSID, 1);
	B = ref_add(r, TREE_PROC_LIVE, R, TREE_PROC_SETSID, 10);
	before[0] = ref_add(r, TREE_PROC_LIVE, B, 0, 11);
	i = ref_add(r, TREE_PROC_LIVE, B, 0, 12);
	ref_threads(r, i, t12, 3);
	for (l2 = 13; l2 <= 16; l2++)
		ref_add(r, TREE_PROC_LIVE, B, 0, l2);
	i = ref_add(r, TREE_PROC_ZOMBIE, B, TREE_PROC_EXIT_SIGNAL, 50);
	r->procs[i].exit_code = 15; /* SIGTERM */
	ref_group(&r->procs[i], TREE_PGID_OWN, REF_G5, 0, 1);
	for (l2 = 51; l2 <= 54; l2++)
		ref_group(&r->procs[ref_add(r, TREE_PROC_LIVE, B, 0, l2)], TREE_PGID_JOIN, REF_G5, 50, 0);
	ghost20 = ref_add(r, TREE_PROC_GHOST, R, TREE_PROC_SETSID, 20);
	for (l2 = 21; l2 <= 28; l2++)
		ref_add(r, TREE_PROC_LIVE, ghost20, TREE_PROC_CLONE_PARENT, l2);
	p30 = ref_add(r, TREE_PROC_LIVE, R, 0, 30);
	ref_group(&r->procs[p30], TREE_PGID_OWN, REF_G2, 0, 1);
	for (l2 = 31; l2 <= 38; l2++)
		ref_group(&r->procs[ref_add(r, TREE_PROC_LIVE, p30, 0, l2)], TREE_PGID_JOIN, REF_G2, 30, 0);
	ghost40 = ref_add(r, TREE_PROC_GHOST, R, 0, 40);
	ref_group(&r->procs[ghost40], TREE_PGID_OWN, REF_G3, 0, 1);
	for (l2 = 41; l2 <= 45; l2++)
		ref_group(&r->procs[ref_add(r, TREE_PROC_LIVE, R, 0, l2)], TREE_PGID_JOIN, REF_G3, 40, 0);
	for (l2 = 46; l2 <= 48; l2++)
		ref_group(&r->procs[ref_add(r, TREE_PROC_LIVE, p30, 0, l2)], TREE_PGID_JOIN, REF_G3, 40, 0);
	i = ref_add(r, TREE_PROC_ZOMBIE, p30, 0, 60);
	r->procs[i].exit_code = 200;
	ref_group(&r->procs[i], TREE_PGID_JOIN, REF_G2, 30, 0);
	p70 = ref_add(r, TREE_PROC_LIVE, R, 0, 70);
	ref_threads(r, p70, t70, 4);
	for (l2 = 90; l2 <= 97; l2++)
		ref_add(r, TREE_PROC_LIVE, p70, 0, l2);
	ref_link(r, B, before, 1);
	for (i = 0; i < (int)r->head.n_procs; i++)
		idx_of[r->l2[i]] = i;
}
