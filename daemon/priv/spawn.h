/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Creating processes with chosen PIDs: clone3(set_tid) of the holder
 * program, which then becomes the requester's process (DESIGN §6, §7). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "nsref.h"
#include "peer.h"
#include "util.h"

/* Opens the holder program once and starts it as the spawner, which makes
 * every clone3() (holder-proto.h); a replaced file on disk does not change
 * what runs. */
int spawn_init(const char *holder_path, struct why *why);

/* A pidfd of pid, a child of this daemon not yet reaped (so its PID names
 * it and nothing else). Returns the fd or -errno. */
int spawn_child_pidfd(pid_t pid);

/* The PIDs of pidfd's process at every level, innermost first, up to the
 * daemon's namespace (its fdinfo). 0 or -errno. */
int spawn_read_nspids(int pidfd, pid_t *pids, size_t *n);

/* The spawner's PID, or -1 while there is none. */
pid_t spawn_spawner_pid(void);

/* Ends the spawner. Placeholders and programs are not its to end. */
void spawn_shutdown(void);

struct spawn_result {
	pid_t pid;                        /* in the daemon's pid namespace */
	int pidfd;
	int control_fd;                   /* the daemon's end of the holder channel */
	size_t n_pids;
	pid_t pids[PR_MAX_LEVELS];        /* innermost first, up to the daemon's namespace */
	uint64_t pidns_inode;             /* innermost pid namespace */
	int busy_level;                   /* on EEXIST: the level whose PID is taken, or -1 */
	/* Set when there is no process yet (pid 0, pidfd -1, pids as asked
	 * for): a namespace helper makes its pid namespace first. The holder's
	 * setup (and whatever is queued behind it) waits on control_fd. */
	struct spawn_deferred *deferred;
};

/* Starts a holder for peer in the pid namespace chain (level 0 innermost),
 * with set_tid = pids (n_pids entries, innermost first, none 0). With
 * clone_newpid, level 0 is a new pid namespace (fd -1) created for it and
 * owned by the peer's user namespace: by the clone itself for a peer in the
 * daemon's user namespace, else by a namespace helper in the peer's, whose
 * answer the caller awaits (ret->deferred). The holder's setup is queued on
 * its channel before it runs. EEXIST/EINVAL are explained per level in why. */
int spawn_holder(const struct peer *peer, const struct nsref_chain *chain, bool clone_newpid,
		 const pid_t *pids, size_t n_pids, struct spawn_result *ret, struct why *why);

/* Starts the builder of a tree (tree-proto.h) for peer in the pid
 * namespace chain->level[0] with set_tid = pids (n_pids, none 0): the
 * plan (already checked) and the peer's credentials are queued on its tree
 * socket, ret->control_fd, before it runs. Returns 0 with ret's pid, pidfd
 * and control_fd, or -errno with why. */
int spawn_builder(const struct peer *peer, const struct nsref_chain *chain, const pid_t *pids, size_t n_pids,
		  const void *plan, size_t plan_len, struct spawn_result *ret, struct why *why);

/* How long a namespace helper may take to answer. It runs in the
 * requester's user namespace, where the requester may stop it. */
#define SPAWN_HELPER_DEADLINE_SEC 5

/* The fd that turns readable when the helper answered or went away. */
int spawn_deferred_fd(const struct spawn_deferred *d);

/* Once spawn_deferred_fd() is readable: takes the helper's namespace and
 * clones the holder into it, filling in ret's pid, pidfd, pids and
 * pidns_inode (its control_fd stays as spawn_holder() gave it). Frees d,
 * unless it returns -EAGAIN (nothing to read yet). Returns 0 or -errno with
 * why. */
int spawn_deferred_finish(struct spawn_deferred *d, struct spawn_result *ret, struct why *why);

/* Gives up on d (NULL: nothing): the helper is killed, d freed. */
void spawn_deferred_cancel(struct spawn_deferred *d);
