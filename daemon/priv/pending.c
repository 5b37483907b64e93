/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "conn.h"
#include "pending.h"
#include "spawn.h"
#include "wire.h"

static LIST_HEAD(, pending) pendings = LIST_HEAD_INITIALIZER(pendings);

static void pending_released(void *data);

struct pending *pending_new(struct conn *c, uint64_t id, enum pending_kind kind, size_t n)
{
	struct pending *pd = calloc(1, sizeof(*pd));

	if (!pd)
		return NULL;
	pd->procs = calloc(n, sizeof(*pd->procs));
	pd->waiting = calloc(n, sizeof(*pd->waiting));
	if (!pd->procs || !pd->waiting) {
		free(pd->procs);
		free(pd->waiting);
		free(pd);
		return NULL;
	}
	pd->conn = c;
	pd->request_id = id;
	pd->kind = kind;
	pd->n = n;
	answer_get(&pd->type, &pd->start_usec);
	proc_reap_wait_init(&pd->reaped, pending_released, pd);
	LIST_INSERT_HEAD(&pendings, pd, link);
	return pd;
}

void pending_free(struct pending *pd)
{
	if (pd->job)
		pd->free_job(pd->job);
	LIST_REMOVE(pd, link);
	free(pd->procs);
	free(pd->waiting);
	free(pd);
}

static void pending_answer(struct pending *pd);

/* Releases what a failed request made; the request is answered once the
 * PIDs are free, so that "failed" means nothing of it is held any more. */
static void pending_release_all(struct pending *pd)
{
	for (size_t i = 0; i < pd->n; i++)
		if (pd->procs[i]) {
			proc_set_waiter(pd->procs[i], NULL, NULL);
			proc_release(pd->procs[i], &pd->reaped);
			pd->procs[i] = NULL;
		}
	proc_reap_wait_arm(&pd->reaped);
}

static void pending_released(void *data)
{
	pending_answer(data);
}

static void fill_info(const struct proc *p, Pidrestore__ProcessInfo *info, int32_t *pids, int pidfd_index)
{
	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	info->id = p->id;
	info->n_pids = p->n_pids;
	info->pids = pids;
	info->has_pidns_inode = 1;
	info->pidns_inode = p->pidns_inode;
	if (pidfd_index >= 0) {
		info->has_pidfd_index = 1;
		info->pidfd_index = pidfd_index;
	}
}

static void reply_spawn(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__SpawnReply reply = PIDRESTORE__SPAWN_REPLY__INIT;
	Pidrestore__ProcessInfo info = PIDRESTORE__PROCESS_INFO__INIT;
	int32_t pids[PR_MAX_LEVELS];
	struct proc *p = pd->procs[0];

	fill_info(p, &info, pids, 0);
	reply.process = &info;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_SPAWN;
	resp.spawn = &reply;
	answer_respond(pd->conn, pd->request_id, &resp, &p->pidfd, 1);
}

static void reply_exec(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ExecReply reply = PIDRESTORE__EXEC_REPLY__INIT;
	Pidrestore__ProcessInfo info = PIDRESTORE__PROCESS_INFO__INIT;
	int32_t pids[PR_MAX_LEVELS];

	fill_info(pd->procs[0], &info, pids, -1);
	reply.process = &info;
	/* The exec of a tree node with threads ended them (TREES §8). */
	reply.has_threads_lost = pd->threads_lost;
	reply.threads_lost = pd->threads_lost;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_EXEC;
	resp.exec = &reply;
	answer_respond(pd->conn, pd->request_id, &resp, NULL, 0);
}

/* A tree node's blob claim: the node, now claimed. */
static void reply_tree_claim(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeClaimReply reply = PIDRESTORE__TREE_CLAIM_REPLY__INIT;
	Pidrestore__TreeNodeInfo info = PIDRESTORE__TREE_NODE_INFO__INIT;
	int32_t pids[PR_MAX_LEVELS];
	struct proc *p = pd->procs[0];

	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	info.node = pd->node;
	info.pids = pids;
	info.n_pids = p->n_pids;
	info.has_state = 1;
	info.state = PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED;
	info.has_reservation_id = 1;
	info.reservation_id = p->id;
	reply.node = &info;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_CLAIM;
	resp.tree_claim = &reply;
	answer_respond(pd->conn, pd->request_id, &resp, NULL, 0);
}

static void reply_reserve(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReserveReply reply = PIDRESTORE__RESERVE_REPLY__INIT;
	Pidrestore__ProcessInfo *infos = calloc(pd->n, sizeof(*infos));
	Pidrestore__ProcessInfo **ptrs = calloc(pd->n, sizeof(*ptrs));
	int32_t (*pids)[PR_MAX_LEVELS] = calloc(pd->n, sizeof(*pids));
	int *fds = calloc(pd->n, sizeof(*fds));
	bool opened[WIRE_MAX_FDS] = { false };
	/* One packet carries at most WIRE_MAX_FDS fds: larger batches come
	 * without pidfds (the ids and PIDs are enough to claim them). */
	bool with_fds = pd->n <= WIRE_MAX_FDS;

	if (!infos || !ptrs || !pids || !fds) {
		struct why why;

		why_set(&why, ENOMEM, "out of memory while answering");
		answer_error(pd->conn, pd->request_id, &why);
		goto out;
	}
	for (size_t i = 0; i < pd->n; i++) {
		pidrestore__process_info__init(&infos[i]);
		fill_info(pd->procs[i], &infos[i], pids[i], with_fds ? (int)i : -1);
		ptrs[i] = &infos[i];
		fds[i] = pd->procs[i]->pidfd;
		/* Made in slices, the first may have parked without their
		 * pidfds before the last were made (proc_set_waiter()). */
		if (with_fds && fds[i] < 0 && (fds[i] = spawn_child_pidfd(pd->procs[i]->pid)) >= 0)
			opened[i] = true;
		if (with_fds && fds[i] < 0) {
			struct why why;

			why_set(&why, -fds[i], "cannot open a pidfd of reservation %llu for the answer: %s",
				(unsigned long long)pd->procs[i]->id, strerror(-fds[i]));
			answer_error(pd->conn, pd->request_id, &why);
			goto out;
		}
	}
	reply.n_processes = pd->n;
	reply.processes = ptrs;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RESERVE;
	resp.reserve = &reply;
	answer_respond(pd->conn, pd->request_id, &resp, fds, with_fds ? pd->n : 0);
out:
	for (size_t i = 0; fds && with_fds && i < pd->n; i++)
		if (opened[i])
			close(fds[i]);
	free(infos);
	free(ptrs);
	free(pids);
	free(fds);
}

static bool is_claim(const struct pending *pd)
{
	return pd->kind == PENDING_EXEC || pd->kind == PENDING_TREE_CLAIM;
}

void pending_finish(struct pending *pd)
{
	/* All or nothing: what was made for this request goes, except a
	 * claimed reservation, which stays claimable. */
	if (pd->failed && !is_claim(pd))
		pending_release_all(pd);
	else
		pending_answer(pd);
}

static void pending_answer(struct pending *pd)
{
	answer_set(pd->type, pd->start_usec);
	/* A request whose connection is gone is counted all the same. */
	if (!pd->conn)
		answer_count(pd->failed ? pd->why.err : 0);
	if (pd->failed) {
		if (pd->conn)
			answer_error(pd->conn, pd->request_id, &pd->why);
	} else if (pd->conn) {
		switch (pd->kind) {
		case PENDING_SPAWN:
			reply_spawn(pd);
			break;
		case PENDING_RESERVE:
			reply_reserve(pd);
			break;
		case PENDING_EXEC:
			reply_exec(pd);
			break;
		case PENDING_TREE_CLAIM:
			reply_tree_claim(pd);
			break;
		}
	}
	pending_free(pd);
	answer_set(STATS_INVALID, 0);
}

static void on_proc_report(struct proc *p, enum proc_report report, const struct why *why, void *data)
{
	struct pending *pd = data;
	size_t i;

	for (i = 0; i < pd->n && pd->procs[i] != p; i++)
		;
	if (i == pd->n || !pd->waiting[i])
		return;
	pd->waiting[i] = false;
	pd->n_waiting--;
	if (why->err && !pd->failed) {
		pd->failed = true;
		pd->failed_index = i;
		if (report == PROC_EXEC_DONE)
			why_set(&pd->why, why->err, "cannot execute %s: %s", pd->describe, why->text);
		else if (pd->n > 1)
			why_set(&pd->why, why->err, "process %zu of %zu: %s", i, pd->n, why->text);
		else
			pd->why = *why;
	}
	/* A reservation whose exec failed stays one, held where it was; one
	 * claimed from another connection is no longer that one's to count. */
	if (why->err && report == PROC_EXEC_DONE && pd->exec_from && p->state == PROC_RESERVED)
		proc_set_owner(p, pd->exec_from);
	else if (!why->err && report == PROC_EXEC_DONE && pd->exec_from && pd->exec_from != pd->conn)
		proc_send_claimed_event(p, pd->exec_from, conn_peer(pd->conn)->uid, conn_peer(pd->conn)->pid);
	/* A process that failed is finished; the others of a failed batch
	 * are released when the batch is. */
	if (why->err && !is_claim(pd)) {
		proc_release(p, &pd->reaped);
		pd->procs[i] = NULL;
	}
	/* A reserve still making its processes answers when it is done. */
	if (pd->n_waiting == 0 && !pd->job)
		pending_finish(pd);
}

void pending_wait(struct pending *pd, size_t i, struct proc *p)
{
	pd->procs[i] = p;
	pd->waiting[i] = true;
	pd->n_waiting++;
	proc_set_waiter(p, on_proc_report, pd);
}

void pending_conn_closed(struct conn *c)
{
	struct pending *pd, *next;

	for (pd = LIST_FIRST(&pendings); pd; pd = next) {
		next = LIST_NEXT(pd, link);
		if (pd->exec_from == c)
			pd->exec_from = NULL;
		if (pd->conn != c)
			continue;
		for (size_t i = 0; i < pd->n; i++)
			if (pd->waiting[i])
				proc_set_waiter(pd->procs[i], NULL, NULL);
		/* Processes it released are still to be reaped: it is counted
		 * and forgotten then (the others go with the connection). */
		if (pd->reaped.armed || pd->reaped.left > 0) {
			pd->conn = NULL;
			memset(pd->procs, 0, pd->n * sizeof(*pd->procs));
			if (!pd->reaped.armed)
				proc_reap_wait_arm(&pd->reaped);
			continue;
		}
		pending_free(pd);
	}
}
