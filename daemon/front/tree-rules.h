/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rules a tree request must follow before anything is built
 * (TREES.md §4): shape, levels, kinds, sessions and groups, distinct PIDs.
 * Pure: no policy (priv decides it), no kernel. The rules that depend on
 * how the tree is built (§5.1 sessions, groups joined by setpgid) are the
 * planner's (tree-plan.h), which refuses in the same form. */
#pragma once

#include "tree-request.h"

/* Checks t. Returns 0 with *facts filled (free with tree_facts_free()), or
 * -EINVAL / -ENOTSUP / -ENOMEM with f naming the node, the level and why;
 * facts is then empty. */
int tree_rules_check(const struct tree *t, struct tree_facts *facts, struct tree_fault *f);
