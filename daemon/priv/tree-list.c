/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `pidrestorectl tree list`: the held trees a requester may see (its
 * user's; root: everyone's), with their counts, and on request every node
 * with its PIDs at every level and its state. A live node's state is its
 * reservation's: parked, claimed, or gone (released, expired, or its
 * program ended). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "answer.h"
#include "authorize.h"
#include "conn.h"
#include "peer.h"
#include "proc.h"
#include "tree.h"
#include "tree-internal.h"

uint64_t tree_list_pidns(const struct tree *t)
{
	for (uint32_t i = 0; i < t->v.plan->n_nodes; i++) {
		const struct tree_proc *p = &t->v.procs[i];
		uint64_t inode = 0;
		int ns, parent;

		if (p->creator != -1 || p->kind == TREE_PROC_GHOST || t->procs[i].pidfd < 0)
			continue;
		ns = ioctl(t->procs[i].pidfd, PIDFD_GET_PID_NAMESPACE, 0);
		if (ns < 0)
			continue;
		/* The pid 1 of a new namespace: its parent is the tree's. */
		if (p->flags & TREE_PROC_NEW_PIDNS) {
			parent = ioctl(ns, NS_GET_PARENT);
			close(ns);
			ns = parent;
		}
		if (ns >= 0) {
			inode = fd_inode(ns);
			close(ns);
		}
		if (inode)
			return inode;
	}
	return 0;
}

static Pidrestore__TreeNodeState node_state(const struct tree *t, uint32_t i, const struct proc **res)
{
	const struct proc *p = t->procs[i].reservation_id ? proc_find(t->procs[i].reservation_id) : NULL;

	*res = NULL;
	if (t->v.procs[i].kind != TREE_PROC_LIVE || !p || p->state == PROC_RELEASED)
		return PIDRESTORE__TREE_NODE_STATE__TREE_EXITED;
	*res = p;
	if (p->state == PROC_EXECING || p->state == PROC_RUNNING)
		return PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED;
	return PIDRESTORE__TREE_NODE_STATE__TREE_PARKED;
}

/* What one entry points to, freed with the reply. */
struct entry_room {
	Pidrestore__TreeNodeInfo *infos;
	Pidrestore__TreeNodeInfo **ptrs;
	int32_t *pids;
};

static void room_free(struct entry_room *r)
{
	free(r->infos);
	free(r->ptrs);
	free(r->pids);
}

static int node_rows(const struct tree *t, Pidrestore__TreeListEntry *e, struct entry_room *room)
{
	uint32_t n = t->v.plan->n_nodes;

	room->infos = calloc(n, sizeof(*room->infos));
	room->ptrs = calloc(n, sizeof(*room->ptrs));
	room->pids = calloc((size_t)n * PR_MAX_LEVELS, sizeof(*room->pids));
	if (!room->infos || !room->ptrs || !room->pids)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct tree_proc_rt *rt = &t->procs[i];
		Pidrestore__TreeNodeInfo *info = &room->infos[i];
		const struct proc *p;

		pidrestore__tree_node_info__init(info);
		info->node = (int32_t)i;
		info->has_kind = 1;
		info->kind = (Pidrestore__TreeNodeKind)t->v.procs[i].kind;
		info->pids = &room->pids[(size_t)i * PR_MAX_LEVELS];
		for (size_t l = 0; l < rt->n_pids; l++)
			info->pids[l] = rt->pids[l];
		info->n_pids = rt->n_pids;
		info->has_state = 1;
		info->state = node_state(t, i, &p);
		if (p) {
			info->has_reservation_id = 1;
			info->reservation_id = p->id;
		}
		room->ptrs[i] = info;
	}
	e->node_infos = room->ptrs;
	e->n_node_infos = n;
	return 0;
}

static void entry_fill(const struct tree *t, uint64_t now, Pidrestore__TreeListEntry *e)
{
	uint32_t live = 0, zombies = 0, parked = 0, claimed = 0;
	uint64_t expires = 0;

	for (uint32_t i = 0; i < t->v.plan->n_nodes; i++) {
		const struct proc *p;
		Pidrestore__TreeNodeState state = node_state(t, i, &p);

		live += t->v.procs[i].kind == TREE_PROC_LIVE;
		zombies += t->v.procs[i].kind == TREE_PROC_ZOMBIE;
		parked += state == PIDRESTORE__TREE_NODE_STATE__TREE_PARKED;
		claimed += state == PIDRESTORE__TREE_NODE_STATE__TREE_CLAIMED;
		/* The nodes share the tree's TTL: the last to expire says it. */
		if (state == PIDRESTORE__TREE_NODE_STATE__TREE_PARKED && p->expires_usec > expires)
			expires = p->expires_usec;
	}
	pidrestore__tree_list_entry__init(e);
	e->tree_id = t->id;
	e->has_owner_uid = 1;
	e->owner_uid = t->owner_uid;
	e->has_nodes = 1;
	e->nodes = t->v.plan->n_nodes;
	e->has_threads = 1;
	e->threads = t->v.plan->n_threads;
	e->has_live = 1;
	e->live = live;
	e->has_zombies = 1;
	e->zombies = zombies;
	e->has_parked = 1;
	e->parked = parked;
	e->has_claimed = 1;
	e->claimed = claimed;
	e->has_age_usec = 1;
	e->age_usec = now > t->started_usec ? now - t->started_usec : 0;
	if (expires) {
		e->has_ttl_left_usec = 1;
		e->ttl_left_usec = expires > now ? expires - now : 0;
	}
	if (t->pidns_inode) {
		e->has_pidns_inode = 1;
		e->pidns_inode = t->pidns_inode;
	}
}

void tree_list(struct conn *c, uint64_t id, const Pidrestore__TreeListRequest *req)
{
	const struct peer *peer = conn_peer(c);
	bool all = authorize_is_admin(peer), with_nodes = req->has_nodes && req->nodes;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeListReply reply = PIDRESTORE__TREE_LIST_REPLY__INIT;
	Pidrestore__TreeListEntry *entries = NULL, **ptrs = NULL;
	struct entry_room *rooms = NULL;
	uint64_t now = now_usec();
	struct why why = { 0 };
	size_t n = 0, size;

	for (const struct tree *t = tree_held_first(); t; t = t->next)
		n += all || t->owner_uid == peer->uid;
	entries = calloc(n + 1, sizeof(*entries));
	ptrs = calloc(n + 1, sizeof(*ptrs));
	rooms = calloc(n + 1, sizeof(*rooms));
	if (!entries || !ptrs || !rooms)
		goto oom;
	n = 0;
	for (const struct tree *t = tree_held_first(); t; t = t->next) {
		if (!all && t->owner_uid != peer->uid)
			continue;
		entry_fill(t, now, &entries[n]);
		if (with_nodes && node_rows(t, &entries[n], &rooms[n]) < 0)
			goto oom;
		ptrs[n] = &entries[n];
		n++;
	}
	reply.trees = ptrs;
	reply.n_trees = n;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_LIST;
	resp.tree_list = &reply;
	/* The client's receive buffer is the message bound. */
	size = pidrestore__response__get_packed_size(&resp) + 16;
	if (size > conn_max_message_size()) {
		why_set(&why, EMSGSIZE, "the list of %zu trees%s takes %zu bytes, more than the daemon's message limit of %zu; list %s",
			n, with_nodes ? " with their nodes" : "", size, conn_max_message_size(),
			with_nodes ? "without the nodes" : "as a user that owns fewer trees");
		answer_error(c, id, &why);
	} else {
		answer_respond(c, id, &resp, NULL, 0);
	}
	goto out;
oom:
	why_set(&why, ENOMEM, "out of memory listing the trees");
	answer_error(c, id, &why);
out:
	for (size_t i = 0; rooms && i <= n; i++)
		room_free(&rooms[i]);
	free(rooms);
	free(entries);
	free(ptrs);
}
