/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may take which PID where (DESIGN §5). The kernel only checks the
 * daemon's own privilege, so this decision is the whole of the security of
 * pidrestored: it runs for every named level before anything is cloned. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* The kernel's largest pid_max (PID_MAX_LIMIT on 64-bit): no PID reaches it. */
#define POLICY_PID_LIMIT 4194304

/* A per-grant limit that was not set. */
#define POLICY_UNLIMITED UINT32_MAX

/* Outstanding reservations of a user that no grant gives a MaxReservations=
 * of its own ([Policy] DefaultMaxReservations=): a sixteenth of the daemon's
 * default --max-reservations, so that one user cannot take them all, and
 * more than a restorer of any usual process tree needs. */
#define POLICY_DEFAULT_MAX_RESERVATIONS 4096

struct policy_pid_range {
	pid_t first, last;        /* inclusive */
};

enum policy_ns_kind {
	POLICY_NS_HOST,           /* the daemon's own pid namespace */
	POLICY_NS_OWNED_BY,       /* a namespace whose user namespace chain has owner (below the daemon's) */
	POLICY_NS_ANY,
};

struct policy_ns {
	enum policy_ns_kind kind;
	uid_t owner;              /* for POLICY_NS_OWNED_BY */
};

/* One [Grant] section: these users and groups may take these PIDs in these
 * namespaces. */
struct policy_grant {
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;
	struct policy_pid_range *ranges;
	size_t n_ranges;
	struct policy_ns *namespaces;
	size_t n_namespaces;
	/* Per-user limits for every user this grant names (see
	 * policy_user_limits()); POLICY_UNLIMITED when not set. They do not
	 * take part in the decision itself. */
	uint32_t max_reservations;
	uint32_t spawns_per_second;
	char rule[80];            /* "grant #2 (pidrestored.conf:7)" */
};

struct policy {
	bool own_namespaces;      /* §5.2: what the kernel would let the requester do itself */
	pid_t root_only_below;    /* §5.4: PIDs below this only root may take */
	uint32_t default_max_reservations; /* for users no grant limits; POLICY_UNLIMITED: none */
	struct policy_grant *grants;
	size_t n_grants;
	char **files;             /* the files it was read from, in order */
	size_t n_files;
};

/* The defaults of a fresh install: own namespaces on, no floor, no grants. */
void policy_default(struct policy *policy);

/* Frees the grants of policy and leaves it at the defaults. */
void policy_free(struct policy *policy);

/* A namespace, known by its nsfs device and inode: never by who owns it. */
struct policy_nsid {
	uint64_t dev, ino;
};

/* A user namespace on the way from a pid namespace's owner toward the
 * daemon's user namespace. */
struct policy_userns {
	struct policy_nsid id;
	uid_t owner;              /* as the daemon sees it */
};

struct policy_level {
	pid_t pid;                /* 0: any free PID (see policy_check()) */
	unsigned int depth;       /* below the daemon's namespace (its own is 0), for messages */
	uint64_t ns_inode;
	bool is_daemon_ns;        /* the daemon's own pid namespace */
	bool is_new;              /* a namespace the request creates */
	bool is_target;           /* where the process goes: the namespace the request
	                           * names (the parent of a new one) */
	bool is_requester_ns;     /* the requester's own active pid namespace */
	/* The user namespace that owns it (userns[0]) and each ancestor of
	 * that below the daemon's user namespace, innermost first: the walk of
	 * §5 rule 2. None: the daemon's user namespace owns it. */
	size_t n_userns;
	const struct policy_userns *userns;
	/* The last one's parent (with none: the owner itself) is the daemon's
	 * user namespace. False when the chain was cut short: it goes on
	 * where the daemon cannot see, and nothing beyond it is known. */
	bool reaches_daemon_userns;
};

struct policy_request {
	uid_t uid;                /* effective, as the daemon sees it */
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	struct policy_nsid userns; /* the requester's own user namespace */
	bool in_daemon_userns;    /* that is the daemon's user namespace */
	uint64_t cap_eff;         /* its effective capabilities there (CapEff) */
	size_t n_levels;
	const struct policy_level *levels;
};

/* §5 rule 1: root is a requester with CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE effective in the daemon's user namespace, which
 * could take any PID itself; uid 0 without them is not. */
bool policy_is_root(const struct policy_request *req);

/* Who may use the admin verbs (reload, everyone's processes, the whole
 * policy, checks for other uids): CAP_SYS_ADMIN effective in the daemon's
 * user namespace. CAP_CHECKPOINT_RESTORE alone gives PIDs, not the power
 * over other users' processes. */
bool policy_is_admin(const struct policy_request *req);

/* Decides a whole request, every level of it: rules[i] (req->n_levels
 * entries) names the rule that allowed level i ("root", "own-namespace",
 * "any-free-pid", or a grant's rule text, valid as long as the policy is),
 * or is NULL where the level is refused. Returns 0 when every level is
 * allowed; -EPERM with why naming the first level refused, its PID, its
 * namespace and what was missing.
 *
 * Rule 2 is the kernel's own (cap_capable()): from the user namespace that
 * owns the level's pid namespace toward the daemon's, the first of these
 * decides: the requester's own user namespace (allowed with CAP_SYS_ADMIN
 * or CAP_CHECKPOINT_RESTORE effective), or a child of it owned by the
 * requester's uid (allowed). A walk that meets neither refuses.
 *
 * Any free PID (0) needs no permission where a fork of the requester's own
 * would land: in its own pid namespace, in one rule 2 gives it, and in the
 * levels around the target. The target level itself must be passed (with
 * pid 0 when the kernel is to choose): a process in someone else's
 * namespace needs a PID there that a grant covers. */
int policy_check(const struct policy *policy, const struct policy_request *req,
		 const char **rules, struct why *why);

/* Does grant g name the requester (by uid, primary or supplementary group)? */
bool policy_grant_names(const struct policy_grant *g, const struct policy_request *req);

/* A user's limits: the smallest of each limit among the grants that name
 * the user, with the rule it comes from (NULL when unlimited). A user whose
 * grants set no finite MaxReservations= gets the policy's default (its
 * rule "[Policy]"), and max_reservations_is_default says so. */
struct policy_limits {
	uint32_t max_reservations;
	const char *max_reservations_rule;
	bool max_reservations_is_default;
	uint32_t spawns_per_second;
	const char *spawns_per_second_rule;
};
void policy_user_limits(const struct policy *policy, const struct policy_request *req, struct policy_limits *ret);
