/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Blob claims (TREES.md §8): a parked live node of a held tree runs the
 * requester's own code in place and keeps its threads. priv checks who
 * asks (the tree's owner, as for an exec claim of the node's reservation),
 * that the node is live and unclaimed, and the blob itself: a memfd sealed
 * against any change, page aligned, its entry inside; then hands the memfd,
 * the fd map and every TID at every level to the node's holder
 * (holder-proto.h HOLDER_CMD_BLOB). The node runs as the requester since it
 * parked: nothing privileged happens from here on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "answer.h"
#include "authorize.h"
#include "conn.h"
#include "create.h"
#include "fd-table.h"
#include "holder-proto.h"
#include "peer.h"
#include "pending.h"
#include "priv-proto.h"
#include "proc.h"
#include "tree.h"
#include "tree-internal.h"

#define BLOB_PAGE 4096ULL
/* What mmap gives a process: from vm.mmap_min_addr's usual value to the
 * top of x86-64's 47-bit user space. */
#define BLOB_LOW 0x10000ULL
#define BLOB_HIGH 0x7ffffffff000ULL
#define BLOB_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

struct blob_claim {
	struct priv_tree_blob rec;
	const struct priv_fd_map *maps;
	int memfd;
	uint64_t size;
	int fds[WIRE_MAX_FDS];
	int32_t targets[WIRE_MAX_FDS];
};

/* The record as front laid it out, and where its fd map is. */
static int claim_parse(const uint8_t *body, size_t len, struct priv_tree_blob *rec, const struct priv_fd_map **maps,
		       struct why *why)
{
	memcpy(rec, body, len < sizeof(*rec) ? len : sizeof(*rec));
	if (len < sizeof(*rec) || rec->n_fds > WIRE_MAX_FDS - 1 ||
	    len != sizeof(*rec) + rec->n_fds * sizeof(struct priv_fd_map))
		return why_set(why, EPROTO, "a blob claim record whose size does not match its fd map");
	*maps = (const struct priv_fd_map *)(body + sizeof(*rec));
	return 0;
}

/* The memfd, sealed so that what the node maps is what was checked here. */
static int blob_check(struct blob_claim *b, struct why *why)
{
	const struct priv_tree_blob *r = &b->rec;
	struct stat st;
	int seals = fcntl(b->memfd, F_GET_SEALS);

	if (seals < 0)
		return why_set(why, EINVAL, "the blob (fd index %d) is not a memfd: pass one from memfd_create(MFD_ALLOW_SEALING) sealed with F_SEAL_WRITE, F_SEAL_SHRINK and F_SEAL_GROW",
			       r->memfd_index);
	if ((seals & BLOB_SEALS) != BLOB_SEALS)
		return why_set(why, EINVAL, "the blob's memfd is not sealed against change (missing%s%s%s): add the seals with fcntl(F_ADD_SEALS) before the claim, so that it cannot change after the daemon checked it",
			       seals & F_SEAL_WRITE ? "" : " F_SEAL_WRITE", seals & F_SEAL_SHRINK ? "" : " F_SEAL_SHRINK",
			       seals & F_SEAL_GROW ? "" : " F_SEAL_GROW");
	if (fstat(b->memfd, &st) < 0)
		return why_set(why, errno, "cannot read the size of the blob's memfd: %s", strerror(errno));
	if (st.st_size <= 0)
		return why_set(why, EINVAL, "the blob's memfd is empty: write the blob's code into it before sealing it");
	b->size = (uint64_t)st.st_size;
	if (r->address % BLOB_PAGE)
		return why_set(why, EINVAL, "blob address 0x%llx is not page aligned: link the blob at a multiple of %llu",
			       (unsigned long long)r->address, BLOB_PAGE);
	if (r->address < BLOB_LOW || r->address > BLOB_HIGH || b->size > BLOB_HIGH - r->address)
		return why_set(why, EINVAL, "the blob (%llu bytes at 0x%llx) does not fit in user space (0x%llx to 0x%llx): choose another address",
			       (unsigned long long)b->size, (unsigned long long)r->address, BLOB_LOW, BLOB_HIGH);
	if (r->entry < r->address || r->entry - r->address >= b->size)
		return why_set(why, EINVAL, "blob entry 0x%llx is outside the blob (0x%llx to 0x%llx): give the address of its entry function as mapped",
			       (unsigned long long)r->entry, (unsigned long long)r->address,
			       (unsigned long long)(r->address + b->size));
	return 0;
}

/* Where the map puts each fd, within what the requester could open. */
static int fds_check(struct conn *c, struct blob_claim *b, struct fd_table *fdt, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	rlim_t nofile = peer->rlimit_mask & (1u << RLIMIT_NOFILE) ? peer->rlimits[RLIMIT_NOFILE].rlim_cur : 1024;
	int r;

	for (uint32_t i = 0; i < b->rec.n_fds; i++) {
		struct priv_fd_map m;

		memcpy(&m, &b->maps[i], sizeof(m));
		/* The holder parks its channel above the highest target. */
		if (m.target < 0 || (rlim_t)m.target + 1 >= nofile)
			return why_set(why, EINVAL, "fd target %d is not valid: it must be between 0 and your RLIMIT_NOFILE (%llu) minus 2",
				       m.target, (unsigned long long)nofile);
		for (uint32_t j = 0; j < i; j++)
			if (b->targets[j] == m.target)
				return why_set(why, EINVAL, "fd target %d is mapped twice", m.target);
		r = fd_table_take(fdt, m.fd_index, "fd map", &b->fds[i], why);
		if (r < 0)
			return r;
		b->targets[i] = m.target;
	}
	return 0;
}

/* The tree's node: c's own, live, parked. */
static int node_find(struct conn *c, const struct priv_tree_blob *r, struct tree **tp, struct proc **pp, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct tree *t = tree_held_find(r->tree_id);
	struct proc *p = NULL;

	if (!t)
		return why_set(why, ESRCH, "no tree %llu: it was never built, or was released, or its connection closed",
			       (unsigned long long)r->tree_id);
	if (t->owner != c && t->owner_uid != peer->uid)
		return why_set(why, EPERM, "tree %llu belongs to another user; only its owner may claim its nodes",
			       (unsigned long long)r->tree_id);
	if (r->node < 0 || (uint32_t)r->node >= t->v.plan->n_nodes)
		return why_set(why, EINVAL, "tree %llu has no node %d (its nodes are 0 to %u)", (unsigned long long)r->tree_id,
			       r->node, t->v.plan->n_nodes - 1);
	if (t->v.procs[r->node].kind != TREE_PROC_LIVE)
		return why_set(why, EINVAL, "node %d of tree %llu is a %s: only a live node can be claimed", r->node,
			       (unsigned long long)r->tree_id, t->v.procs[r->node].kind == TREE_PROC_ZOMBIE ? "zombie" : "ghost");
	p = t->procs[r->node].reservation_id ? proc_find(t->procs[r->node].reservation_id) : NULL;
	if (!p || p->state == PROC_RELEASED)
		return why_set(why, ESRCH, "node %d of tree %llu is gone (released, expired, or it died)", r->node,
			       (unsigned long long)r->tree_id);
	if (authorize_owner(peer, p, "reservation", "claim", false, why) < 0 || peer_check_claim(peer, p->reserver, why) < 0)
		return -why->err;
	if (p->state != PROC_RESERVED)
		return why_set(why, p->state == PROC_STARTING ? EAGAIN : EBUSY, "node %d of tree %llu is %s", r->node,
			       (unsigned long long)r->tree_id,
			       p->state == PROC_STARTING ? "still starting; try again once the tree was answered" :
			       p->state == PROC_EXECING ? "being claimed by another request" : "already claimed");
	/* The blob runs under the node's filters, which must be the
	 * claimer's own, as for an exec claim. */
	if (create_claim_filters_check(c, p, why) < 0)
		return -why->err;
	*tp = t;
	*pp = p;
	return 0;
}

/* The command for the node's holder: the fd map, then every id at every
 * level, the main thread's first, then its threads' in plan order. */
static int command_pack(const struct tree *t, uint32_t node, const struct proc *p, const struct blob_claim *b,
			struct holder_blob **ret, size_t *ret_len, struct why *why)
{
	const struct tree_proc_rt *rt = &t->procs[node];
	uint32_t n_threads = t->v.procs[node].n_threads, levels = (uint32_t)p->n_pids;
	size_t len = sizeof(struct holder_blob) + (b->rec.n_fds + (size_t)(n_threads + 1) * levels) * sizeof(int32_t);
	struct Pidrestore__TreeThread *threads = calloc(n_threads + 1, sizeof(*threads));
	int32_t *room = calloc((size_t)(n_threads + 1) * PR_MAX_LEVELS, sizeof(*room));
	struct holder_blob *h = calloc(1, len);
	int32_t *ids;
	int r = 0;

	if (!threads || !room || !h) {
		r = why_set(why, ENOMEM, "out of memory");
		goto out;
	}
	if (n_threads && tree_thread_levels(rt, threads, room) < 0)
		r = why_set(why, errno ? errno : EIO, "cannot read the TIDs of node %u's threads", node);
	for (uint32_t k = 0; r == 0 && k < n_threads; k++)
		if (threads[k].n_tids != levels)
			r = why_set(why, ESRCH, "thread %u of node %u is gone: a blob claim needs every thread the node was built with",
				    k, node);
	if (r < 0)
		goto out;
	*h = (struct holder_blob){ .type = HOLDER_CMD_BLOB, .n_fds = b->rec.n_fds, .n_levels = levels,
				   .n_threads = n_threads, .address = b->rec.address, .entry = b->rec.entry,
				   .size = b->size };
	ids = (int32_t *)(h + 1);
	memcpy(ids, b->targets, b->rec.n_fds * sizeof(int32_t));
	ids += b->rec.n_fds;
	for (uint32_t l = 0; l < levels; l++)
		ids[l] = p->pids[l];
	for (uint32_t k = 0; k < n_threads; k++)
		memcpy(ids + (k + 1) * levels, room + k * PR_MAX_LEVELS, levels * sizeof(int32_t));
	*ret = h;
	*ret_len = len;
	h = NULL;
out:
	free(threads);
	free(room);
	free(h);
	return r;
}

int tree_blob_prepare(struct conn *c, const struct tree *t, const struct proc *p, const struct priv_tree_blob *rec,
		      const struct priv_fd_map *maps, struct fd_table *fdt, struct tree_blob_cmd *out, struct why *why)
{
	struct blob_claim *b = calloc(1, sizeof(*b));
	int r;

	*out = (struct tree_blob_cmd){ 0 };
	if (!b)
		return why_set(why, ENOMEM, "out of memory");
	b->rec = *rec;
	b->maps = maps;
	r = fd_table_take(fdt, rec->memfd_index, "blob", &b->memfd, why);
	if (r == 0)
		r = blob_check(b, why);
	if (r == 0)
		r = fds_check(c, b, fdt, why);
	if (r == 0)
		r = command_pack(t, (uint32_t)rec->node, p, b, &out->cmd, &out->len, why);
	if (r == 0) {
		/* The memfd first, then the map's fds. */
		out->fds[0] = b->memfd;
		memcpy(out->fds + 1, b->fds, rec->n_fds * sizeof(int));
		out->n_fds = rec->n_fds + 1;
	}
	free(b);
	return r;
}

int tree_blob_send(struct proc *p, const struct tree_blob_cmd *cmd, struct why *why)
{
	return proc_command(p, cmd->cmd, cmd->len, cmd->fds, cmd->n_fds, "the blob", why);
}

void tree_blob_cmd_clear(struct tree_blob_cmd *cmd)
{
	free(cmd->cmd);
	*cmd = (struct tree_blob_cmd){ 0 };
}

void tree_claim_blob(struct conn *c, uint64_t id, const uint8_t *body, size_t len, struct fd_table *fdt)
{
	struct priv_tree_blob rec = { 0 };
	const struct priv_fd_map *maps = NULL;
	struct tree_blob_cmd cmd = { 0 };
	struct pending *pd = NULL;
	struct why why = { 0 };
	struct tree *t = NULL;
	struct proc *p = NULL;
	int r;

	r = claim_parse(body, len, &rec, &maps, &why);
	if (r == 0)
		r = node_find(c, &rec, &t, &p, &why);
	if (r == 0)
		r = tree_blob_prepare(c, t, p, &rec, maps, fdt, &cmd, &why);
	if (r == 0)
		r = fd_table_check_all_used(fdt, &why);
	if (r < 0)
		goto fail;
	pd = pending_new(c, id, PENDING_TREE_CLAIM, 1);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	pd->node = rec.node;
	snprintf(pd->describe, sizeof(pd->describe), "the blob in node %d", rec.node);
	r = tree_blob_send(p, &cmd, &why);
	if (r < 0)
		goto fail;
	/* The claimed node belongs to this connection from now on. */
	proc_set_owner(p, c);
	pending_wait(pd, 0, p);
	tree_blob_cmd_clear(&cmd);
	return;
fail:
	if (pd)
		pending_free(pd);
	tree_blob_cmd_clear(&cmd);
	answer_error(c, id, &why);
}
