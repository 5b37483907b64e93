/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Trees written by hand for the unit tests of the tree checks and the
 * planner, and the reference tree of TREES.md §9. */
#pragma once

#include <string.h>

#include "tree-request.h"

#define TB_MAX_NODES 96
#define TB_MAX_THREADS 32

struct tb {
	struct tree t;
	struct tree_node nodes[TB_MAX_NODES];
	struct tree_tids threads[TB_MAX_THREADS];
};

static inline void tb_init(struct tb *b)
{
	memset(b, 0, sizeof(*b));
	b->t.nodes = b->nodes;
	b->t.threads = b->threads;
}

/* Adds a node with n PIDs; returns its index. */
static inline int tb_add(struct tb *b, int kind, int parent, unsigned int n, const int32_t *pids, int sid, int pgid)
{
	struct tree_node *nd = &b->nodes[b->t.n_nodes];

	nd->kind = kind;
	nd->parent = parent;
	nd->n_pids = n;
	for (unsigned int l = 0; l < n; l++)
		nd->pids[l] = pids[l];
	nd->sid = sid;
	nd->pgid = pgid;
	nd->first_thread = (uint32_t)b->t.n_threads;
	return (int)b->t.n_nodes++;
}

/* Adds a thread to the last node added. */
static inline void tb_thread(struct tb *b, unsigned int n, const int32_t *tids)
{
	struct tree_tids *th = &b->threads[b->t.n_threads++];

	th->n_tids = n;
	for (unsigned int l = 0; l < n; l++)
		th->tids[l] = tids[l];
	b->nodes[b->t.n_nodes - 1].n_threads++;
}

/* A node of the reference tree: L2 pid p, L1 pid 7000 + p. */
static inline int tb_ref(struct tb *b, int kind, int parent, int p, int sid, int pgid)
{
	int32_t pids[2] = { p, 7000 + p };

	return tb_add(b, kind, parent, 2, pids, sid, pgid);
}

static inline void tb_ref_thread(struct tb *b, int tid)
{
	int32_t tids[2] = { tid, 7000 + tid };

	tb_thread(b, 2, tids);
}

/* The reference tree of TREES.md §9: 48 processes and 2 ghosts, built in
 * L2, a new pid namespace whose root R is its pid 1; L1 = 7000 + L2. Its
 * node indexes, for the checks, in ref[] by L2 pid. */
static inline void tb_reference(struct tb *b, int ref[100])
{
	int32_t root_pids[2] = { 1, 7001 };
	int R, B, G20, N30, G40, N50, N70;

	tb_init(b);
	R = ref[1] = tb_add(b, TREE_KIND_LIVE, TREE_ROOT, 2, root_pids, TREE_INHERIT, TREE_INHERIT);
	b->nodes[R].new_pidns = true;
	b->nodes[R].sid = R;
	b->nodes[R].pgid = R;
	B = ref[10] = tb_ref(b, TREE_KIND_LIVE, R, 10, TREE_INHERIT, TREE_INHERIT);
	b->nodes[B].sid = B;
	b->nodes[B].pgid = B;
	ref[11] = tb_ref(b, TREE_KIND_LIVE, B, 11, R, R);
	ref[12] = tb_ref(b, TREE_KIND_LIVE, B, 12, TREE_INHERIT, TREE_INHERIT);
	for (int t = 80; t <= 82; t++)
		tb_ref_thread(b, t);
	for (int p = 13; p <= 16; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, B, p, TREE_INHERIT, TREE_INHERIT);
	N50 = ref[50] = tb_ref(b, TREE_KIND_ZOMBIE, B, 50, B, TREE_INHERIT);
	b->nodes[N50].pgid = N50;
	b->nodes[N50].has_exit_signal = true;
	b->nodes[N50].exit_signal = 15;
	for (int p = 51; p <= 54; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, B, p, B, N50);
	G20 = ref[20] = tb_ref(b, TREE_KIND_GHOST, TREE_ROOT, 20, TREE_INHERIT, TREE_INHERIT);
	for (int p = 21; p <= 28; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, R, p, G20, G20);
	N30 = ref[30] = tb_ref(b, TREE_KIND_LIVE, R, 30, R, TREE_INHERIT);
	b->nodes[N30].pgid = N30;
	for (int p = 31; p <= 38; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, N30, p, TREE_INHERIT, TREE_INHERIT);
	G40 = ref[40] = tb_ref(b, TREE_KIND_GHOST, TREE_ROOT, 40, R, TREE_INHERIT);
	for (int p = 41; p <= 45; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, R, p, R, G40);
	for (int p = 46; p <= 48; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, N30, p, R, G40);
	ref[60] = tb_ref(b, TREE_KIND_ZOMBIE, N30, 60, TREE_INHERIT, TREE_INHERIT);
	b->nodes[ref[60]].has_exit_code = true;
	b->nodes[ref[60]].exit_code = 200;
	N70 = ref[70] = tb_ref(b, TREE_KIND_LIVE, R, 70, R, R);
	for (int t = 71; t <= 74; t++)
		tb_ref_thread(b, t);
	for (int p = 90; p <= 97; p++)
		ref[p] = tb_ref(b, TREE_KIND_LIVE, N70, p, TREE_INHERIT, TREE_INHERIT);
}
