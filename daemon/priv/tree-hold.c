/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Built trees: every live node becomes an ordinary reservation (so that
 * an exec claim, a release, its TTL and the end of its connection treat it
 * as any placeholder), and the tree keeps their ids until it is released
 * or its connection goes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <unistd.h>

#include "answer.h"
#include "conn.h"
#include "log.h"
#include "peer.h"
#include "proc.h"
#include "tree.h"
#include "tree-internal.h"

static struct tree *held;

/* The innermost pid namespace of a process, for listings. */
static uint64_t pidns_inode_of(int pidfd)
{
	int fd = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
	uint64_t inode = 0;

	if (fd >= 0) {
		inode = fd_inode(fd);
		close(fd);
	}
	return inode;
}

/* Hands a ready node's channel and a pidfd to the process registry, which
 * reads the READY the node queued on it as a placeholder's. */
static int node_register(struct tree *t, struct tree_proc_rt *rt)
{
	struct spawn_result res = { 0 };
	struct proc *p;
	int r;

	res.pidfd = fcntl(rt->pidfd, F_DUPFD_CLOEXEC, 3);
	if (res.pidfd < 0)
		return -errno;
	res.pid = rt->pids[rt->n_pids - 1];
	res.control_fd = rt->control_fd;
	rt->control_fd = -1;
	res.n_pids = rt->n_pids;
	memcpy(res.pids, rt->pids, rt->n_pids * sizeof(pid_t));
	res.pidns_inode = pidns_inode_of(rt->pidfd);
	res.busy_level = -1;
	r = proc_start(t->owner, t->owner_uid, &res, &p);
	if (r < 0)
		return r;
	rt->reservation_id = p->id;
	if (t->v.plan->ttl_s)
		proc_set_ttl(p, t->v.plan->ttl_s);
	return 0;
}

void tree_hold(struct tree *t)
{
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++) {
		struct tree_proc_rt *rt = &t->procs[i];

		if (t->v.procs[i].kind == TREE_PROC_LIVE && node_register(t, rt) < 0)
			log_warning("tree %llu: node %u could not be registered; it stays parked until the daemon exits",
				    (unsigned long long)t->id, i);
	}
	t->pidns_inode = tree_list_pidns(t);
	t->next = held;
	held = t;
}

void tree_unhold(struct tree *t)
{
	for (struct tree **pp = &held; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			return;
		}
}

/* Once answered, a held tree keeps only what a release or a blob claim
 * needs (the TIDs: tree-claim.c). */
void tree_settle(struct tree *t)
{
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++)
		close_fdp(&t->procs[i].pidfd);
}

struct tree *tree_held_first(void)
{
	return held;
}

struct tree *tree_held_find(uint64_t tree_id)
{
	for (struct tree *t = held; t; t = t->next)
		if (t->id == tree_id)
			return t;
	return NULL;
}

unsigned int tree_reservation_threads(uint64_t reservation_id)
{
	for (struct tree *t = held; t; t = t->next)
		for (uint32_t i = 0; i < t->v.plan->n_nodes; i++)
			if (t->procs[i].reservation_id == reservation_id)
				return t->v.procs[i].n_threads;
	return 0;
}

/* A release answered once its nodes are reaped: its connection may close
 * first, and is forgotten then (tree_conn_closed()). */
struct release_ctx {
	LIST_ENTRY(release_ctx) link;
	struct conn *c;
	uint64_t id;
	uint64_t start_usec;
	int32_t *nodes;
	size_t n;
};

static LIST_HEAD(, release_ctx) releases = LIST_HEAD_INITIALIZER(releases);

static void release_done(void *arg)
{
	struct release_ctx *rc = arg;

	LIST_REMOVE(rc, link);
	answer_set(STATS_TREE, rc->start_usec);
	if (rc->c)
		tree_reply_released(rc->c, rc->id, rc->nodes, rc->n);
	else
		answer_count(0);
	answer_set(STATS_INVALID, 0);
	free(rc->nodes);
	free(rc);
}

void tree_release(struct conn *c, uint64_t id, uint64_t tree_id)
{
	struct tree *t = tree_held_find(tree_id);
	struct release_ctx *rc = NULL;
	uint64_t *ids = NULL;
	struct why why = { 0 };
	size_t n = 0, n_released = 0;

	if (!t || (t->owner != c && t->owner_uid != conn_peer(c)->uid)) {
		why_set(&why, t ? EPERM : ESRCH,
			t ? "tree %llu belongs to another user; only its owner may release it"
			  : "no tree %llu: it was never built, or was released, or its connection closed",
			(unsigned long long)tree_id);
		answer_error(c, id, &why);
		return;
	}
	rc = calloc(1, sizeof(*rc));
	ids = calloc(t->v.plan->n_nodes + 1, sizeof(*ids));
	if (rc)
		rc->nodes = calloc(t->v.plan->n_nodes + 1, sizeof(*rc->nodes));
	if (!rc || !ids || !rc->nodes) {
		why_set(&why, ENOMEM, "out of memory releasing tree %llu", (unsigned long long)tree_id);
		answer_error(c, id, &why);
		goto out;
	}
	/* Claimed nodes run the requester's programs: never released here. */
	for (uint32_t i = 0; i < t->v.plan->n_nodes; i++) {
		struct proc *p = t->procs[i].reservation_id ? proc_find(t->procs[i].reservation_id) : NULL;

		if (p && (p->state == PROC_RESERVED || p->state == PROC_STARTING)) {
			ids[n] = p->id;
			rc->nodes[n++] = (int32_t)i;
		}
	}
	rc->c = c;
	rc->id = id;
	rc->n = n;
	rc->start_usec = now_usec();
	tree_unhold(t);
	tree_free(t);
	LIST_INSERT_HEAD(&releases, rc, link);
	if (proc_release_ids_then(ids, n, &(struct proc_releaser){ .conn = c, .uid = conn_peer(c)->uid, .pid = conn_peer(c)->pid },
				  &n_released, release_done, rc) < 0) {
		LIST_REMOVE(rc, link);
		why_set(&why, ENOMEM, "out of memory releasing tree %llu", (unsigned long long)tree_id);
		answer_error(c, id, &why);
		goto out;
	}
	rc = NULL;
out:
	if (rc)
		free(rc->nodes);
	free(rc);
	free(ids);
}

void tree_conn_closed(struct conn *c)
{
	struct tree **pp = &held;
	struct release_ctx *rc;

	LIST_FOREACH(rc, &releases, link)
		if (rc->c == c)
			rc->c = NULL;

	/* The registry releases the nodes themselves with the connection's
	 * other reservations. */
	while (*pp) {
		struct tree *t = *pp;

		if (t->owner == c) {
			*pp = t->next;
			tree_free(t);
		} else {
			pp = &t->next;
		}
	}
	tree_builds_conn_closed(c);
	tree_claim_all_conn_closed(c);
}

void tree_shutdown(void)
{
	tree_builds_shutdown();
	tree_claim_all_shutdown();
	while (held) {
		struct tree *t = held;

		held = t->next;
		tree_free(t);
	}
}
