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
};

/* Starts a holder for peer in the pid namespace chain (level 0 innermost),
 * with set_tid = pids (n_pids entries, innermost first, none 0). When
 * new_pidns is set, chain level 0 is a namespace still without init, or
 * -1 as its fd to have clone3 create it (CLONE_NEWPID). The holder's setup is
 * queued on its channel before it runs. EEXIST/EINVAL are explained per
 * level in why. */
int spawn_holder(const struct peer *peer, const struct nsref_chain *chain, bool clone_newpid,
		 const pid_t *pids, size_t n_pids, struct spawn_result *ret, struct why *why);

/* Creates an empty pid namespace below parent_pidns_fd owned by the peer's
 * user namespace, as if the peer had unshared it (the kernel gives a new pid
 * namespace to the creating task's user namespace, which would otherwise be
 * the daemon's). Returns its fd in *ret_fd. */
int spawn_make_pidns(const struct peer *peer, int parent_pidns_fd, int *ret_fd, struct why *why);
