/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where a process is to be made and with which PIDs: a ProcessSpec resolved
 * to a pid namespace chain, the levels the policy decides, the clone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-table.h"
#include "nsref.h"
#include "pidrestore.pb-c.h"
#include "policy.h"
#include "spawn.h"
#include "util.h"

struct conn;

/* A process to create: where, with which PIDs, after validation. */
struct target {
	struct nsref_chain chain;   /* level 0 innermost; with new_pidns, level 0 is the new namespace */
	bool new_pidns;
	bool clone_newpid;          /* clone3 creates level 0 itself (fd -1) */
	size_t n_pids;
	pid_t pids[PR_MAX_LEVELS];
	bool auto_pid[PR_MAX_LEVELS];  /* given as 0: the daemon picks */
	pid_t pid_limit[PR_MAX_LEVELS];
	pid_t host_pid_max;         /* read once, at resolve time */
};

/* Fills t from spec, a request of c, taking the fds it names from fdt;
 * release t with target_release() once it returned 0. */
int target_resolve(struct conn *c, const Pidrestore__ProcessSpec *spec, struct fd_table *fdt,
		   struct target *t, struct why *why);
void target_release(struct target *t);

/* The level the request names. */
size_t target_index(const struct target *t);

/* How many levels the policy decides. */
size_t target_policy_levels(const struct target *t);

/* Fills levels (PR_MAX_LEVELS of them) for the policy; returns how many. */
size_t target_levels(const struct target *t, uint64_t requester_pidns, struct policy_level *levels);

/* Creates the process t describes, for c, once it was authorized. */
int target_create(struct conn *c, struct target *t, struct spawn_result *res, struct why *why);
