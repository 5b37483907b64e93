/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A compiled plan (tree-plan.h) into the records priv and the builder take
 * (tree-proto.h): procs renumbered so that the request's nodes come first
 * in request order and helpers after, each proc's children in one run of
 * clones[], the roots left to the builder. The result passes
 * tree_plan_check(), which front runs on it before sending. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tree-plan.h"

/* Encodes plan, made for a request of n_nodes nodes, into a new buffer
 * (*ret, *ret_len bytes; free() it). Returns 0, or -ENOMEM, or -EINVAL when
 * the plan does not check (a bug of the planner, said in f). */
int tree_encode_plan(const struct plan *plan, size_t n_nodes, uint8_t **ret, size_t *ret_len, struct tree_fault *f);
