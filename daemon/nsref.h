/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pid namespaces: naming them, and the chain from a target namespace out to
 * the daemon's own. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel.h"
#include "util.h"

/* Records the daemon's own pid and user namespaces. */
int nsref_init(struct why *why);

uint64_t nsref_own_pidns_inode(void);
/* The daemon's pid namespace's pid_max, read now: an admin may change it. */
pid_t nsref_own_pid_max(void);
uint64_t nsref_own_userns_inode(void);
/* The daemon's own pid namespace, to return to after a setns(). */
int nsref_own_pidns_fd(void);

/* Turns an fd a requester passed into a pid namespace fd (new, owned by the
 * caller): an nsfs fd of a pid namespace, or a pidfd of a live process (its
 * active pid namespace). Any other fd, a namespace of another type, or a
 * pidfd of a process the daemon cannot see is EINVAL; a pidfd of a process
 * that exited (reaped or a zombie) ESRCH. The refusal says what the fd is. */
int nsref_pidns_from_fd(int fd, int *ret_fd, struct why *why);

/* Owners (uids as the daemon sees them) of a user namespace and of each of
 * its ancestors below the daemon's user namespace, innermost first. An empty
 * list: it is the daemon's user namespace (or outside it). */
struct nsref_owners {
	size_t n;
	uid_t uid[PR_MAX_LEVELS];
};
int nsref_userns_owners(int userns_fd, struct nsref_owners *ret);

struct nsref_level {
	int fd;              /* nsfs fd of the pid namespace, owned by the chain */
	uint64_t inode;
	struct nsref_owners owners; /* of the user namespace that owns it */
};

/* Level 0 is the target; the last level is the daemon's own namespace. */
struct nsref_chain {
	size_t n;
	struct nsref_level level[PR_MAX_LEVELS];
};

/* Builds the chain from pidns_fd (borrowed) outward. EINVAL when the
 * namespace is not inside the daemon's. */
int nsref_chain_build(int pidns_fd, struct nsref_chain *chain, struct why *why);
void nsref_chain_release(struct nsref_chain *chain);
