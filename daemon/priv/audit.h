/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audit records: what was granted or denied to whom, to the journal. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "target.h"
#include "util.h"

struct conn;

/* One record per process asked for by c's verb: granted when why is NULL,
 * else denied for why. rules: the rule of each level the policy decided. */
void audit_target(struct conn *c, const char *verb, const struct target *t, const char *const *rules, const struct why *why);

/* A request of n processes denied for why by a per-user limit, the key in
 * rule. */
void audit_limit(struct conn *c, const char *verb, size_t n, const char *key, const char *rule, const struct why *why);

/* A release of every reservation of uid, over all its connections: granted
 * for n reservations when why is NULL, else denied for why. */
void audit_release(struct conn *c, uid_t uid, size_t n, const struct why *why);

struct tree_plan_view;

/* One record per tree asked for by c: its size (nodes, threads, ghosts and
 * helpers) and, per level of its pid namespace, every PID range it takes.
 * Granted when why is NULL, else denied for why. */
void audit_tree(struct conn *c, const char *verb, const struct tree_plan_view *v, const struct why *why);
