/* Who may take which PID where (DESIGN §5). The kernel only checks the
 * daemon's own privilege, so this decision is the whole of the security of
 * pidrestored: it runs for every named level before anything is cloned. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct policy {
	bool own_namespaces;      /* §5.2: namespaces owned by the requester's uid */
	pid_t root_only_below;    /* §5.4: PIDs below this only root may take */
};

/* The defaults of a fresh install: own namespaces on, no floor, no grants. */
void policy_default(struct policy *policy);

struct policy_level {
	pid_t pid;                /* 0: any free PID, which needs no permission */
	uint64_t ns_inode;
	bool is_daemon_ns;        /* the daemon's own pid namespace */
	bool is_new;              /* a namespace the request creates */
	size_t n_owners;          /* owners of the owning user namespace chain, */
	const uid_t *owners;      /*   innermost first, below the daemon's */
};

struct policy_request {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	size_t n_levels;
	const struct policy_level *levels;
};

/* Decides a whole request: 0 when every level is allowed, with *rule naming
 * the rule that allowed the last level; -EPERM with why naming the first level
 * refused, its PID, its namespace and what was missing. */
int policy_check(const struct policy *policy, const struct policy_request *req,
		 const char **rule, struct why *why);
