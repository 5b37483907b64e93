/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree request (TREES.md §3) as plain data: what front decodes from a
 * pidrestore.TreeRequest, checks (tree-rules.h) and compiles into a build
 * plan (tree-plan.h). No protobuf and no fds here, so that the checks and
 * the planner are tested on trees written by hand. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "tree-proto.h"
#include "wire.h"
#include "util.h"

/* TreeNode.sid/.pgid: the builder's own fresh session and group. */
#define TREE_OUTER (-1)
/* A sid or pgid the request left out: the parent's (a root: TREE_OUTER;
 * a ghost: itself). Resolved by tree_rules_check(). */
#define TREE_INHERIT (-2)
/* A root's parent. */
#define TREE_ROOT (-1)

/* Bounds of one request: nodes (with the helpers the planner adds, at
 * most twice as many procs: within TREE_MAX_PROCS), and threads over all
 * nodes (TREE_MAX_THREADS). */
#define TREE_MAX_NODES 32768u
/* A TreeRequest packet may be this large (HelloReply.max_tree_message_size). */
#define TREE_MAX_MESSAGE WIRE_MAX_TREE_MESSAGE
/* The kernel's TASK_COMM_LEN, without the NUL. */
#define TREE_COMM_MAX 15

enum tree_kind {
	TREE_KIND_LIVE = 1,
	TREE_KIND_ZOMBIE = 2,
	TREE_KIND_GHOST = 3,
};

struct tree_tids {
	uint32_t n_tids;
	int32_t tids[PR_MAX_LEVELS];  /* innermost first; 0: any */
};

struct tree_node {
	int32_t kind;                 /* enum tree_kind, as received */
	int32_t parent;               /* node index, or TREE_ROOT */
	uint32_t n_pids;
	int32_t pids[PR_MAX_LEVELS];  /* innermost first; 0: any */
	bool new_pidns;
	int32_t sid, pgid;            /* node index, TREE_OUTER or TREE_INHERIT */
	uint32_t first_thread;        /* into tree.threads */
	uint32_t n_threads;
	bool has_exit_code, has_exit_signal;
	int32_t exit_code, exit_signal;
	bool subreaper;
	uint32_t comm_len;            /* as received; the name is cut at TREE_COMM_MAX */
	char comm[TREE_COMM_MAX + 1];
	bool comm_has_nul;
};

enum tree_flags {
	TREE_FLAG_THREAD_PIDFDS = 1u << 0,
};
#define TREE_FLAGS_KNOWN TREE_FLAG_THREAD_PIDFDS

struct tree {
	size_t n_nodes;
	struct tree_node *nodes;
	size_t n_threads;
	struct tree_tids *threads;
	uint32_t flags;               /* enum tree_flags, as received */
	uint32_t timeout_ms;
	uint32_t ttl_sec;
	bool has_pidns_fd;
	int32_t pidns_fd_index;
};

/* Where a refusal points: a node (-1: the tree as a whole) and a level of
 * it (-1: none in particular), and why. */
struct tree_fault {
	int32_t node;
	int32_t level;
	struct why why;
};

/* Fills f and returns -err. */
int tree_fault_set(struct tree_fault *f, int32_t node, int32_t level, int err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Pid namespaces are named by small integers, the same for every node
 * that sees one: a namespace a new_pidns node makes is that node's index;
 * the tree's outer levels, shared by all, are -1 - level. */
typedef int32_t tree_ns;

/* What tree_rules_check() derives from an accepted tree, for the planner. */
struct tree_facts {
	size_t n_nodes;
	uint32_t base_levels;         /* PIDs a root without new_pidns has */
	int32_t *sid, *pgid;          /* resolved: node index or TREE_OUTER */
	/* Per node, its namespaces, innermost first (n_pids of them); for a
	 * ghost those of its members at its levels. */
	tree_ns (*ns)[PR_MAX_LEVELS];
};

void tree_facts_free(struct tree_facts *facts);

/* Names a node for a message: "node 7 (pid 10)" with its innermost PID
 * when it has one, into buf. Returns buf. */
const char *tree_node_name(const struct tree *t, int32_t node, char *buf, size_t len);
