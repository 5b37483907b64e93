/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of the spawn module share among themselves; spawn.h is
 * what the rest of the daemon sees. spawn-spawner.c runs the spawner and
 * finds out what the daemon is at start; spawn.c builds each holder's setup
 * and clone request and explains a clone's failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "holder-proto.h"

/* What the daemon found of itself at spawn_init(), which every holder's
 * setup starts from; only spawn-spawner.c writes it. */
struct spawn_self {
	bool can_clone_into_cgroup;
	unsigned int cap_last;
	bool can_raise_limits;   /* CAP_SYS_RESOURCE: raise hard limits, lower oom_score_adj */
	int oom_score_adj;
	struct rlimit rlimits[HOLDER_RLIMIT_COUNT]; /* the daemon changes none after start */
	uint32_t rlimits_known;
	/* Signals at their default disposition in the daemon, bit sig-1: the
	 * spawner inherits the others' SIG_IGN across exec, its children from
	 * it, and a holder puts only those back. The daemon ignores no further
	 * signal after start (server_run ignores SIGPIPE before spawn_init). */
	uint64_t sig_default;
	uint64_t ns_inode[HOLDER_NS_COUNT];
};
extern struct spawn_self spawn_self;

/* One request to the spawner (spawn-spawner.c says how it answers). */
long spawn_spawner_call(const struct spawner_request *req, const int *fds, size_t n_fds, int *ret_pidfd);
