/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pid namespaces: naming them, and the chain from a target namespace out to
 * the daemon's own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel.h"
#include "policy.h"
#include "util.h"

/* Records the daemon's own pid and user namespaces. */
int nsref_init(struct why *why);

uint64_t nsref_own_pidns_inode(void);
/* The daemon's pid namespace's pid_max, read now: an admin may change it. */
pid_t nsref_own_pid_max(void);
uint64_t nsref_own_userns_inode(void);
/* The daemon's own user namespace, for a requester assumed to be in it. */
struct policy_nsid nsref_own_userns_id(void);
/* The daemon's own pid namespace, to return to after a setns(). */
int nsref_own_pidns_fd(void);

/* Turns an fd a requester passed into a pid namespace fd (new, owned by the
 * caller): an nsfs fd of a pid namespace, or a pidfd of a live process (its
 * active pid namespace). Any other fd, a namespace of another type, or a
 * pidfd of a process the daemon cannot see is EINVAL; a pidfd of a process
 * that exited (reaped or a zombie) ESRCH. The refusal says what the fd is. */
int nsref_pidns_from_fd(int fd, int *ret_fd, struct why *why);

/* A user namespace and each of its ancestors below the daemon's user
 * namespace, innermost first, with their owners (uids as the daemon sees
 * them): what §5 rule 2 walks. None: it is the daemon's user namespace. */
struct nsref_userns_chain {
	size_t n;
	struct policy_userns userns[PR_MAX_LEVELS];
	/* The last one's parent (with none: the namespace itself) is the
	 * daemon's user namespace; false when the chain goes on outside it. */
	bool reaches_own;
};
int nsref_userns_chain(int userns_fd, struct nsref_userns_chain *ret);

/* The facts §5 needs about a requester's own user namespace, userns_fd:
 * which one it is (*id) and whether it is the daemon's (*is_daemons); on
 * failure (never expected) neither matches anything. */
void nsref_requester_userns(int userns_fd, struct policy_nsid *id, bool *is_daemons);

struct nsref_level {
	int fd;              /* nsfs fd of the pid namespace, owned by the chain */
	uint64_t inode;
	struct nsref_userns_chain userns; /* from the user namespace that owns it */
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
