/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The planner (TREES.md §5): from a checked tree to one small program per
 * process the builder makes — every node, the ghosts that hold dead
 * leaders' PIDs, and helpers — in an order the kernel accepts:
 *
 *   - sessions are only inherited at clone time, so an ancestor that will
 *     lead a session of its own creates the branch that must stay in its
 *     old session before its setsid ("born before"), and is born before for
 *     one session at most;
 *   - a session whose leader is dead is formed by a session ghost: a child
 *     of the common parent P of the session's top members that calls setsid
 *     and makes them with CLONE_PARENT, so that they are P's children;
 *   - a session whose leader lives elsewhere is reached through a helper
 *     under the leader, whose child reparents to its intended parent (the
 *     namespace's init or a subreaper above the leader) when it exits; a
 *     zombie leader creates such a member itself before it exits;
 *   - a group whose leader is dead is made by a group ghost, a child of a
 *     node of the group's session; a process joins a group with setpgid
 *     only after its leader raised the group's flag, and nobody waits for
 *     anything else, so nothing waits in a cycle;
 *   - PIDs the daemon picks itself (the builder's, helpers', and any 0 in a
 *     pid namespace where the request names PIDs) lie outside the request's
 *     PIDs, so that no transient process takes a PID a node needs later.
 *
 * Every process forks first (born-before children, setsid, the rest), then
 * sets its group, then ghosts and helpers exit and zombies die. Pure: no
 * kernel, tested by replaying plans against the kernel's rules. */
#pragma once

#include "tree-request.h"

enum plan_proc_kind {
	PLAN_PROC_LIVE = 1,
	PLAN_PROC_ZOMBIE = 2,
	PLAN_PROC_SESSION_GHOST = 3,
	PLAN_PROC_GROUP_GHOST = 4,
	PLAN_PROC_HELPER = 5,
};

enum plan_pgid_action {
	PLAN_PGID_KEEP = 0,       /* the group it was born in, or the one setsid made */
	PLAN_PGID_CREATE = 1,     /* setpgid(0, 0), then raise its group's flag */
	PLAN_PGID_JOIN = 2,       /* wait for the group's flag, then setpgid(0, pgid) */
};

/* The builder, as a creator. */
#define PLAN_BUILDER (-1)

struct plan_proc {
	uint32_t kind;            /* enum plan_proc_kind */
	int32_t node;             /* the request's node (ghosts too); -1: a helper */
	int32_t creator;          /* proc index, or PLAN_BUILDER */
	bool clone_parent;        /* CLONE_PARENT, exit_signal 0: a sibling of its creator */
	bool new_pidns;           /* CLONE_NEWPID: pid 1 of a new namespace */
	bool born_before;         /* cloned before its creator's setsid */
	bool setsid;              /* after its born-before children */
	bool subreaper;           /* PR_SET_CHILD_SUBREAPER, before any clone */
	bool transient;           /* ghost or helper: exits after the groups are set */
	uint32_t n_levels;
	int32_t pids[PR_MAX_LEVELS];  /* innermost first; 0: the kernel's choice */
	uint64_t pick_mask;       /* bit l: pids[l] was picked by the daemon */
	tree_ns ns[PR_MAX_LEVELS];
	uint32_t pgid_action;     /* enum plan_pgid_action */
	int32_t group;            /* its group's index in plan.groups */
	int32_t pgid;             /* JOIN: the group's id in its innermost namespace;
	                           * 0: the leader's getpid(), from the group's slot */
	uint32_t first_thread, n_threads;   /* into plan.threads */
	int32_t exit_code;        /* ZOMBIE */
	int32_t exit_signal;      /* ZOMBIE: 0: exits with exit_code */
	char comm[TREE_COMM_MAX + 1];
	uint32_t first_child, n_children;   /* into plan.children, in clone order */
};

struct plan_thread {
	uint32_t n_tids;
	int32_t tids[PR_MAX_LEVELS];
	uint64_t pick_mask;
};

/* A process group: its leader makes it (setsid or CREATE) and raises its
 * flag; its members JOIN after. */
struct plan_group {
	int32_t leader;           /* proc index; PLAN_BUILDER for the outer group */
	int32_t session;          /* proc index of the session's leader; PLAN_BUILDER: outer */
};

struct plan {
	size_t n_procs;
	struct plan_proc *procs;  /* creation order: a creator before what it creates */
	size_t n_threads;
	struct plan_thread *threads;
	size_t n_groups;
	struct plan_group *groups;   /* group 0 is the outer group */
	size_t n_children;
	int32_t *children;        /* proc indexes, per creator in clone order */
	uint32_t builder_first_child, builder_n_children;
	int32_t *proc_of_node;    /* per request node */
	uint32_t base_levels;
	int32_t builder_pids[PR_MAX_LEVELS]; /* in the tree's outer namespaces */
	uint64_t builder_pick_mask;
	uint32_t flags, timeout_ms, ttl_sec;
	bool has_pidns_fd;
	int32_t pidns_fd_index;
};

/* Compiles t (accepted by tree_rules_check() with facts) into *plan, picking the
 * daemon's own PIDs at or above pick_floor. Returns 0, or -ENOTSUP when the
 * tree cannot be built (f names the node, e.g. "session 20 cannot be
 * reproduced for node 9 (pid 25): ..."), or -ENOMEM. Free with
 * plan_free(), also after a failure. */
int plan_compile(const struct tree *t, const struct tree_facts *facts, int32_t pick_floor, struct plan *plan,
	      struct tree_fault *f);
void plan_free(struct plan *plan);
