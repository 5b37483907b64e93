/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The structural check of a tree plan (tree-proto.h), shared by the code
 * that writes a plan (front), the code that acts on one (priv) and the one
 * that carries it out (the holder, which links no libc: this is
 * freestanding C). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tree-proto.h"

/* The pieces of a plan buffer, once checked. */
struct tree_plan_view {
	const struct tree_plan *plan;
	const struct tree_proc *procs;
	const uint32_t *clones;
	const struct tree_thread *threads;
};

/* Bytes of scratch tree_plan_check() needs for a plan of n_procs procs. */
static inline size_t tree_check_scratch_size(uint32_t n_procs)
{
	return (size_t)n_procs * sizeof(uint32_t);
}

/* The size of a plan with these counts, or 0 if they are out of bounds. */
size_t tree_plan_size(uint32_t n_procs, uint32_t n_clones, uint32_t n_threads);

/* Checks that buf (len bytes, 8-aligned) is a plan every part of which can
 * be acted on without further bounds checks: sizes, counts, every index in
 * range, every proc but the roots in clones[] exactly once and by its
 * creator, no cycle of creators, PIDs as tree-proto.h describes them.
 * scratch holds tree_check_scratch_size(n_procs) bytes, n_procs as the
 * header says (a buffer shorter than the header, or with more than
 * TREE_MAX_PROCS procs, fails before scratch is used). Fills view and
 * returns 0, or returns -EPROTO (not a plan: magic or size) or -EINVAL with
 * *what saying which rule failed and *proc its proc index (-1: the
 * header). */
int tree_plan_check(const void *buf, size_t len, uint32_t *scratch, struct tree_plan_view *view,
		    const char **what, int *proc);
