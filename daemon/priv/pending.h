/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Requests whose answer waits on their processes: spawn, reserve, exec,
 * a tree node's blob claim. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "proc.h"
#include "stats.h"
#include "util.h"

struct conn;
struct reserve_job;

/* PENDING_EXEC and PENDING_TREE_CLAIM claim a reservation: one that fails
 * leaves it claimable. */
enum pending_kind { PENDING_SPAWN, PENDING_RESERVE, PENDING_EXEC, PENDING_TREE_CLAIM };

/* A request whose reply waits on holders. */
struct pending {
	LIST_ENTRY(pending) link;
	struct conn *conn;            /* NULL once the connection closed */
	uint64_t request_id;
	enum pending_kind kind;
	size_t n, n_waiting;
	bool failed;
	size_t failed_index;
	struct why why;
	char describe[128];
	int32_t node;                 /* PENDING_TREE_CLAIM: the node claimed */
	bool threads_lost;            /* PENDING_EXEC of a tree node with threads */
	struct proc **procs;
	bool *waiting;
	/* An exec: the connection that held the reservation (NULL once it
	 * closed), which gets it back if the exec fails, so that a failed
	 * claim from another connection leaves it where it was. */
	struct conn *exec_from;
	/* Failed: what it made is released, and it is answered once that
	 * is reaped. */
	struct proc_reap_wait reaped;
	enum stats_type type;         /* for the statistics */
	uint64_t start_usec;
	struct reserve_job *job;      /* a reserve still checking or making its processes */
	void (*free_job)(struct reserve_job *job); /* frees job when the request goes */
};

/* A request of c with n processes, counted as the request being answered
 * (answer_set()); NULL when out of memory. */
struct pending *pending_new(struct conn *c, uint64_t id, enum pending_kind kind, size_t n);

/* Forgets pd without answering it. */
void pending_free(struct pending *pd);

/* Waits for p's report as the request's process i. */
void pending_wait(struct pending *pd, size_t i, struct proc *p);

/* Answers pd, or releases what it made first when it failed (all or
 * nothing) and answers once that is reaped. */
void pending_finish(struct pending *pd);

/* The requests of c wait no longer on its answer. */
void pending_conn_closed(struct conn *c);
