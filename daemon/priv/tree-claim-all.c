/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree's claim-all (TREES.md §8): one claim per listed live node, by
 * exec or by blob (a threaded node keeps its threads only so). Every claim
 * is checked first (its node live, parked and listed once, the tree the
 * requester's, the claim context and seccomp filters the reserver's, its
 * program or blob and fds), and a single bad one refuses the request
 * naming its node before any node is told anything. Then every node gets
 * its command in the same turn of the loop, so that they start together,
 * and the answer waits for each one's outcome. An exec or blob that fails
 * then (a path that does not exist in the node's mount namespace, an
 * address the holder uses) leaves that node parked and claimable, and the
 * request fails naming it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "conn.h"
#include "create.h"
#include "peer.h"
#include "proc.h"
#include "tree.h"
#include "tree-internal.h"

struct claim_slot {
	int32_t node;
	struct proc *proc;
	bool by_blob;
	struct exec_parsed exec;     /* !by_blob */
	struct tree_blob_cmd blob;   /* by_blob */
	bool waiting;
};

struct claim_all {
	struct conn *conn;
	uint64_t request_id;
	uint64_t start_usec;
	size_t n, n_waiting;
	struct claim_slot *slots;
	struct why why;              /* the first exec that failed */
	struct claim_all *next;
};

/* Claim-alls waiting for their execs. */
static struct claim_all *waiting;

/* Frees ca, not linked in waiting. */
static void claim_all_destroy(struct claim_all *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; ca->slots && i < ca->n; i++)
		tree_blob_cmd_clear(&ca->slots[i].blob);
	free(ca->slots);
	free(ca);
}

static void claim_all_free(struct claim_all *ca)
{
	for (struct claim_all **pp = &waiting; *pp; pp = &(*pp)->next)
		if (*pp == ca) {
			*pp = ca->next;
			break;
		}
	claim_all_destroy(ca);
}

static void reply_claimed(struct claim_all *ca)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeClaimAllReply reply = PIDRESTORE__TREE_CLAIM_ALL_REPLY__INIT;
	Pidrestore__TreeNodeInfo *infos = calloc(ca->n, sizeof(*infos));
	Pidrestore__TreeNodeInfo **ptrs = calloc(ca->n, sizeof(*ptrs));
	int32_t *pids = calloc(ca->n * PR_MAX_LEVELS, sizeof(*pids));
	struct why why = { 0 };

	if (!infos || !ptrs || !pids) {
		why_set(&why, ENOMEM, "out of memory answering a claim-all; its nodes were claimed");
		answer_error(ca->conn, ca->request_id, &why);
		goto out;
	}
	for (size_t i = 0; i < ca->n; i++) {
		const struct proc *p = ca->slots[i].proc;

		pidrestore__tree_node_info__init(&infos[i]);
		infos[i].node = ca->slots[i].node;
		infos[i].pids = &pids[i * PR_MAX_LEVELS];
		for (size_t l = 0; l < p->n_pids; l++)
			infos[i].pids[l] = p->pids[l];
		infos[i].n_pids = p->n_pids;
		infos[i].has_state = 1;
		infos[i].state = PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED;
		infos[i].has_reservation_id = 1;
		infos[i].reservation_id = p->id;
		ptrs[i] = &infos[i];
	}
	reply.nodes = ptrs;
	reply.n_nodes = ca->n;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_CLAIM_ALL;
	resp.tree_claim_all = &reply;
	answer_respond(ca->conn, ca->request_id, &resp, NULL, 0);
out:
	free(infos);
	free(ptrs);
	free(pids);
}

static void on_exec_done(struct proc *p, enum proc_report report, const struct why *why, void *data)
{
	struct claim_all *ca = data;
	size_t i;

	for (i = 0; i < ca->n && ca->slots[i].proc != p; i++)
		;
	if (i == ca->n || !ca->slots[i].waiting || report != PROC_EXEC_DONE)
		return;
	ca->slots[i].waiting = false;
	ca->n_waiting--;
	proc_set_waiter(p, NULL, NULL);
	if (why->err && !ca->why.err)
		why_set(&ca->why, why->err, "node %d: cannot execute %s: %s", ca->slots[i].node,
			ca->slots[i].by_blob ? "the blob" : ca->slots[i].exec.describe, why->text);
	if (ca->n_waiting > 0)
		return;
	answer_set(STATS_TREE, ca->start_usec);
	if (ca->why.err)
		answer_error(ca->conn, ca->request_id, &ca->why);
	else
		reply_claimed(ca);
	answer_set(STATS_INVALID, 0);
	claim_all_free(ca);
}

/* The exec or the blob of claim, checked and made ready in s. */
static int claim_parse(struct conn *c, const struct tree *t, const struct proc *p,
		       const Pidrestore__TreeClaimRequest *claim, struct fd_table *fdt, struct claim_slot *s, struct why *why)
{
	const Pidrestore__TreeBlob *b = claim->blob;
	struct priv_fd_map maps[WIRE_MAX_FDS];
	struct priv_tree_blob rec;

	if (claim->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB)
		return create_exec_parse(c, claim->exec, fdt, &s->exec, why);
	if (b->n_fds > WIRE_MAX_FDS - 1)
		return why_set(why, EINVAL, "the blob maps %zu fds; at most %d", b->n_fds, WIRE_MAX_FDS - 1);
	rec = (struct priv_tree_blob){ .tree_id = t->id, .node = claim->node, .memfd_index = b->memfd_index,
				       .address = b->address, .entry = b->entry, .n_fds = (uint32_t)b->n_fds };
	for (size_t k = 0; k < b->n_fds; k++)
		maps[k] = (struct priv_fd_map){ .fd_index = b->fds[k]->fd_index, .target = b->fds[k]->target };
	s->by_blob = true;
	return tree_blob_prepare(c, t, p, &rec, maps, fdt, &s->blob, why);
}

/* Claim i of ca, checked against t without touching anything. */
static int slot_check(struct conn *c, const struct tree *t, struct claim_all *ca, size_t i,
		      const Pidrestore__TreeClaimRequest *claim, struct fd_table *fdt, struct why *why)
{
	struct claim_slot *s = &ca->slots[i];
	uint32_t n_nodes = t->v.plan->n_nodes;
	struct why inner = { 0 };
	struct proc *p;

	s->node = claim->node;
	if (claim->node < 0 || (uint32_t)claim->node >= n_nodes)
		return why_set(why, EINVAL, "claim %zu: tree %llu has no node %d (its nodes are 0 to %u)", i,
			       (unsigned long long)t->id, claim->node, n_nodes - 1);
	for (size_t k = 0; k < i; k++)
		if (ca->slots[k].node == claim->node)
			return why_set(why, EINVAL, "claim %zu: node %d is claimed twice in this request (also by claim %zu); name each node once",
				       i, claim->node, k);
	if (t->v.procs[claim->node].kind != TREE_PROC_LIVE)
		return why_set(why, EINVAL, "claim %zu: node %d is a %s, not a live node; only live nodes can run a program", i,
			       claim->node, t->v.procs[claim->node].kind == TREE_PROC_ZOMBIE ? "zombie" : "ghost");
	p = t->procs[claim->node].reservation_id ? proc_find(t->procs[claim->node].reservation_id) : NULL;
	if (!p || p->state == PROC_RELEASED)
		return why_set(why, ESRCH, "claim %zu: node %d is gone (released, expired, or its program ended); claim the tree's other nodes",
			       i, claim->node);
	if (create_claimable(c, p, &inner) < 0 || claim_parse(c, t, p, claim, fdt, s, &inner) < 0)
		return why_set(why, inner.err, "claim %zu: node %d: %s", i, claim->node, inner.text);
	s->proc = p;
	return 0;
}

void tree_claim_all(struct conn *c, uint64_t id, const Pidrestore__TreeClaimAllRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
	struct tree *t = tree_held_find(req->tree_id);
	struct claim_all *ca = NULL;
	enum stats_type type;
	struct why why = { 0 };
	size_t sent = 0;

	if (!t)
		why_set(&why, ESRCH, "no tree %llu: it was never built, or was released, or its connection closed",
			(unsigned long long)req->tree_id);
	else if (t->owner != c && t->owner_uid != peer->uid)
		why_set(&why, EPERM, "tree %llu belongs to another user; only its owner may claim its nodes",
			(unsigned long long)req->tree_id);
	else if (req->n_claims == 0)
		why_set(&why, EINVAL, "a claim-all of tree %llu names no node; give one exec claim per node to start",
			(unsigned long long)req->tree_id);
	if (why.err)
		goto fail;
	ca = calloc(1, sizeof(*ca));
	if (ca)
		ca->slots = calloc(req->n_claims, sizeof(*ca->slots));
	if (!ca || !ca->slots) {
		why_set(&why, ENOMEM, "out of memory for a claim-all of %zu nodes", req->n_claims);
		goto fail;
	}
	ca->n = req->n_claims;
	for (size_t i = 0; i < ca->n; i++)
		if (slot_check(c, t, ca, i, req->claims[i], fdt, &why) < 0)
			goto fail;
	if (fd_table_check_all_used(fdt, &why) < 0)
		goto fail;

	/* All checked: every node is told now, in this turn of the loop. */
	ca->conn = c;
	ca->request_id = id;
	answer_get(&type, &ca->start_usec);
	for (; sent < ca->n; sent++) {
		struct claim_slot *s = &ca->slots[sent];
		struct why inner = { 0 };

		if ((s->by_blob ? tree_blob_send(s->proc, &s->blob, &inner) : proc_exec(s->proc, &s->exec.cmd, &inner)) < 0) {
			why_set(&ca->why, inner.err, "node %d: %s", s->node, inner.text);
			break;
		}
		s->waiting = true;
		ca->n_waiting++;
		t->procs[s->node].claimed = true;
		proc_set_owner(s->proc, c);
		proc_set_waiter(s->proc, on_exec_done, ca);
	}
	if (ca->n_waiting == 0) {
		answer_error(c, id, &ca->why);
		claim_all_destroy(ca);
		return;
	}
	ca->next = waiting;
	waiting = ca;
	return;
fail:
	claim_all_destroy(ca);
	answer_error(c, id, &why);
}

/* Forgets the claim-alls of c (all of them: c NULL) without answering. */
static void forget(const struct conn *c)
{
	struct claim_all **pp = &waiting;

	while (*pp) {
		struct claim_all *ca = *pp;

		if (c && ca->conn != c) {
			pp = &ca->next;
			continue;
		}
		for (size_t i = 0; i < ca->n; i++)
			if (ca->slots[i].waiting)
				proc_set_waiter(ca->slots[i].proc, NULL, NULL);
		*pp = ca->next;
		claim_all_destroy(ca);
	}
}

void tree_claim_all_conn_closed(struct conn *c)
{
	forget(c);
}

void tree_claim_all_shutdown(void)
{
	forget(NULL);
}
