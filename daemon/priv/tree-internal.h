/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of the tree module share; tree.h is what the rest of
 * priv sees. tree-authorize.c decides a plan against the policy,
 * tree-build.c runs a build (its events and deadline), tree-rollback.c
 * undoes one and proves its PIDs free, tree-reply.c packs the answers,
 * tree-hold.c keeps the built trees until they are claimed or let go. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "kernel.h"
#include "plan-check.h"
#include "priv-proto.h"
#include "util.h"
#include "wire.h"

struct conn;
struct nsref_chain;
struct tree;

enum tree_phase {
	TREE_BUILDING,    /* the builder and its processes report */
	TREE_ROLLING_BACK, /* failed: waiting for every process to be reaped */
	TREE_HELD,        /* built: its live nodes are reservations */
};

/* What priv knows of one process of the plan. */
struct tree_proc_rt {
	struct tree *tree;
	int pidfd;                   /* from its creator's report; -1: none (yet) */
	int control_fd;              /* LIVE, once READY: its private channel */
	struct event *exit_ev;       /* ZOMBIE while building: its exit */
	bool ready;
	bool exited;
	bool claimed;
	bool freed;                  /* rollback: its PID is free again */
	bool gone;                   /* reaped before its pidfd was read */
	uint64_t reservation_id;     /* LIVE, once held: the reservation it is */
	uint32_t n_ids;              /* READY: getpid() and its threads' TIDs */
	int32_t *ids;
	size_t n_pids;               /* every level, innermost first (fdinfo) */
	pid_t pids[PR_MAX_LEVELS];
};

struct tree {
	uint64_t id;
	uint64_t request_id;
	struct conn *owner;          /* NULL once its connection is gone */
	uid_t owner_uid;
	enum tree_phase phase;
	void *plan;                  /* the checked plan, tree->v points into it */
	size_t plan_len;
	struct tree_plan_view v;
	struct tree_proc_rt *procs;
	unsigned int n_live, n_ready, n_zombies, n_exited;
	unsigned int n_root_ghosts, n_root_ghosts_reaped; /* the daemon's children */
	uint32_t extra_levels;       /* levels above the plan's, the kernel's picks */
	uint64_t started_usec;
	uint64_t pidns_inode;        /* held: the pid namespace of its roots */

	/* The build. */
	int sock;                    /* the tree socket */
	struct event *sock_ev;
	struct event *deadline_ev;
	pid_t builder_pid;
	int builder_pidfd;
	struct event *builder_ev;
	bool built;                  /* TREE_REPORT_BUILT came */
	bool builder_done;           /* reaped, exit 0 */

	/* The failure to answer with once rolled back. */
	struct why why;
	int error_node;
	int error_level;
	struct event *rollback_ev;
	uint64_t rollback_deadline_usec;

	struct event *ttl_ev;
	struct tree *next;
};

/* tree-build.c */
struct event_base *tree_base(void);
void tree_free(struct tree *t);
/* Ends the build with why (error_node, error_level: -1 when none). */
void tree_build_fail(struct tree *t, int node, int level, const struct why *why);
/* Takes one report from the tree socket into buf; with pidfds_only, keeps
 * only the pidfds it brings (a rollback collecting what it must kill).
 * Returns 1 when one was taken, 0 when none waits, -1 at end of stream. */
int tree_report_take(struct tree *t, void *buf, size_t size, bool pidfds_only);

/* tree-rollback.c: kills every process t holds a pidfd for, roots first,
 * and once every one is reaped, or after a deadline, answers with the
 * build's error (unless its connection is gone) and frees t. */
void tree_rollback(struct tree *t);

/* tree-reply.c */
struct Pidrestore__TreeThread;
/* The TIDs of a threaded node at every level, from its threads' status
 * (in the daemon's pid namespace /proc sees them all), into room
 * (PR_MAX_LEVELS per thread) and out[k].n_tids for thread k, matched by
 * the innermost ones READY gave (rt->ids). Threads not found are left as
 * they were. */
int tree_thread_levels(const struct tree_proc_rt *rt, struct Pidrestore__TreeThread *out, int32_t *room);
void tree_reply_error(struct tree *t);
void tree_reply_built(struct tree *t);
void tree_reply_released(struct conn *c, uint64_t id, const int32_t *nodes, size_t n);

/* tree-hold.c: registers t's live nodes as reservations and keeps t;
 * after its answer, tree_settle() closes what only the answer needed. */
void tree_hold(struct tree *t);
void tree_settle(struct tree *t);
void tree_unhold(struct tree *t);
/* The held trees, linked by next; the one with this id, or NULL. */
struct tree *tree_held_first(void);
struct tree *tree_held_find(uint64_t tree_id);

/* tree-claim.c: a blob claim of node rec->node (process p of t), checked
 * (the memfd sealed, aligned and entered inside, the fd map within the
 * requester's limits) and packed for its holder, or -errno with why. The
 * fds stay the request's table's; fd_table_check_all_used() is the
 * caller's. */
struct proc;
struct fd_table;
struct holder_blob;
struct tree_blob_cmd {
	struct holder_blob *cmd;
	size_t len;
	int fds[WIRE_MAX_FDS];       /* the memfd, then the map's */
	size_t n_fds;
};
int tree_blob_prepare(struct conn *c, const struct tree *t, const struct proc *p, const struct priv_tree_blob *rec,
		      const struct priv_fd_map *maps, struct fd_table *fdt, struct tree_blob_cmd *out, struct why *why);
/* Hands it to p's holder; the answer comes as p's PROC_EXEC_DONE. */
int tree_blob_send(struct proc *p, const struct tree_blob_cmd *cmd, struct why *why);
void tree_blob_cmd_clear(struct tree_blob_cmd *cmd);

/* tree-claim-all.c: claim-alls of c wait no longer on their answer. */
void tree_claim_all_conn_closed(struct conn *c);
/* After the loop: forgets every claim-all still waiting. */
void tree_claim_all_shutdown(void);

/* tree-list.c: the pid namespace of t's roots, while t holds its pidfds. */
uint64_t tree_list_pidns(const struct tree *t);

/* tree-build.c: builds of c in progress lose their connection: they roll
 * back without an answer. */
void tree_builds_conn_closed(struct conn *c);
/* t (built or rolled back) is no build in progress any more. */
void tree_builds_forget(struct tree *t);
/* After the loop: forgets every build, killing what it made. */
void tree_builds_shutdown(void);

/* tree-authorize.c: the policy for every explicit PID of the plan (nodes,
 * threads, ghosts, helpers, the builder), the limits (every node, thread
 * and ghost counts), fs.suid_dumpable for a threaded tree; one audit
 * record. */
int tree_authorize(struct conn *c, const struct tree *t, const struct nsref_chain *chain, struct why *why,
		   int *node, int *level);
