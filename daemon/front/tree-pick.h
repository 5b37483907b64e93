/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PIDs the daemon picks for a tree (TREES.md §5.3): in a pid namespace where
 * the request names PIDs, every PID left to the daemon (the builder's,
 * helpers', a 0 of a node, ghost or thread) is chosen outside the request's
 * PIDs, at or above a floor, each once; the kernel's allocator could
 * otherwise hand a transient process a PID a node needs later in the build.
 * In a namespace where the request names none, the kernel chooses. */
#pragma once

#include "tree-request.h"

struct tree_picker;

/* The PIDs and TIDs t names, per namespace (facts from tree_rules_check()), and
 * the floor picks start at (at least 2: 1 is an init's). NULL when out of
 * memory. */
struct tree_picker *tree_picker_new(const struct tree *t, const struct tree_facts *facts, int32_t floor);
void tree_picker_free(struct tree_picker *p);

/* Whether the daemon picks the PIDs left to it in ns. */
bool tree_picker_picks(const struct tree_picker *p, tree_ns ns);

/* The daemon picks in ns too: set_tid names only a run of levels from the
 * innermost out, so a 0 inside an explicit PID must be picked, and so must
 * then every other 0 of that namespace, lest the kernel hand one out that
 * a pick takes later. */
void tree_picker_require(struct tree_picker *p, tree_ns ns);

/* A PID for a process in namespace ns: 0 when the request names no PID
 * there (the kernel's choice), else the next free one above the floor.
 * *picked says which. */
int32_t tree_pick(struct tree_picker *p, tree_ns ns, bool *picked);
