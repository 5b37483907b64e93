/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree before anything of it is created (DESIGN §2, §5; TREES §4):
 * every explicit PID of every process of the plan, threads, ghosts,
 * helpers and the builder included, decided by the policy priv holds (never
 * front's word); the per-user limits counting every node, thread and
 * ghost; what a threaded tree needs of the kernel; one audit record. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "authorize.h"
#include "conn.h"
#include "nsref.h"
#include "peer.h"
#include "tree-internal.h"

struct tree_levels {
	const struct nsref_chain *chain;
	struct nsref_userns_chain requester_userns;
	struct policy_request req;
	uint64_t requester_pidns;
};

/* The levels of ids (n_set_tid explicit, innermost first) of a process
 * n_new namespaces below the tree's base: the new ones are the
 * requester's (owned by its user namespace), the others the chain's. The
 * base level is always decided, with 0 where the kernel picks. */
static size_t levels_fill(const struct tree_levels *tl, const int32_t *ids, uint32_t n_set_tid, uint32_t n_new,
			  struct policy_level *levels)
{
	size_t n = n_set_tid > n_new + 1 ? n_set_tid : n_new + 1;

	for (size_t l = 0; l < n; l++) {
		struct policy_level *lv = &levels[l];

		memset(lv, 0, sizeof(*lv));
		lv->pid = l < n_set_tid ? ids[l] : 0;
		if (l < n_new) {
			lv->is_new = true;
			lv->depth = (unsigned int)(tl->chain->n - 1 + (n_new - l));
			lv->n_userns = tl->requester_userns.n;
			lv->userns = tl->requester_userns.userns;
			lv->reaches_daemon_userns = tl->requester_userns.reaches_own;
			continue;
		}
		const struct nsref_level *nl = &tl->chain->level[l - n_new];

		lv->depth = (unsigned int)(tl->chain->n - 1 - (l - n_new));
		lv->ns_inode = nl->inode;
		lv->is_daemon_ns = nl->fd >= 0 && nl->inode == nsref_own_pidns_inode();
		lv->is_target = l == n_new;
		lv->is_requester_ns = nl->fd >= 0 && nl->inode == tl->requester_pidns;
		lv->n_userns = nl->userns.n;
		lv->userns = nl->userns.userns;
		lv->reaches_daemon_userns = nl->userns.reaches_own;
	}
	return n;
}

/* picked: levels whose id the planner chose for a process that is gone
 * once the tree is built (the builder, a helper), decided as a fork of the
 * requester's would be: any free PID. On a refusal *level is the first
 * level refused. */
static int ids_check(struct tree_levels *tl, const int32_t *ids, uint32_t n_set_tid, uint32_t n_new, uint64_t picked,
		     struct why *why, int *level)
{
	struct policy_level levels[PR_MAX_LEVELS];
	const char *rules[PR_MAX_LEVELS];
	int r;

	tl->req.n_levels = levels_fill(tl, ids, n_set_tid, n_new, levels);
	for (size_t l = 0; l < tl->req.n_levels; l++)
		if (picked & (1ull << l))
			levels[l].pid = 0;
	tl->req.levels = levels;
	r = policy_check(authorize_policy(), &tl->req, rules, why);
	for (size_t l = 0; r < 0 && l < tl->req.n_levels; l++)
		if (!rules[l]) {
			*level = (int)l;
			break;
		}
	return r;
}

/* A thread is made after its process joined the requester's user
 * namespace (setns refuses a threaded process): an explicit TID needs that
 * namespace to own the level's pid namespace, or one between. */
static bool requester_owns_level(const struct tree_levels *tl, uint32_t l, uint32_t n_new)
{
	const struct nsref_userns_chain *u;

	if (tl->req.in_daemon_userns || l < n_new)
		return true;
	u = &tl->chain->level[l - n_new].userns;
	for (size_t k = 0; k < u->n; k++)
		if (u->userns[k].id.dev == tl->req.userns.dev && u->userns[k].id.ino == tl->req.userns.ino)
			return true;
	return false;
}

static int suid_dumpable_check(struct why *why)
{
	char buf[16] = "";
	int fd = open("/proc/sys/fs/suid_dumpable", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0 && atoi(buf) == 1)
		return why_set(why, EPERM, "fs.suid_dumpable is 1: a thread of a node that dropped its credentials could be traced while another is still root, so trees with threads are refused; set it to 0 or 2");
	return 0;
}

/* Every explicit PID of the plan. On a refusal *node and *level say where
 * (node -1: a helper or the builder). */
static int plan_check_policy(struct tree_levels *tl, const struct tree *t, struct why *why, int *node, int *level)
{
	const struct tree_plan *plan = t->v.plan;
	int r = ids_check(tl, plan->builder_pids, plan->builder_n_set_tid, 0, plan->builder_pick_mask, why, level);

	for (uint32_t i = 0; r == 0 && i < plan->n_procs; i++) {
		const struct tree_proc *p = &t->v.procs[i];
		uint32_t n_new = p->n_levels - plan->n_levels;

		*node = p->node;
		r = ids_check(tl, p->pids, p->n_set_tid, n_new, p->kind == TREE_PROC_HELPER ? p->pick_mask : 0, why, level);
		for (uint32_t k = 0; r == 0 && k < p->n_threads; k++) {
			const struct tree_thread *th = &t->v.threads[p->first_thread + k];

			r = ids_check(tl, th->tids, th->n_set_tid, n_new, 0, why, level);
			for (uint32_t l = 0; r == 0 && l < th->n_set_tid; l++)
				if (!requester_owns_level(tl, l, n_new)) {
					*level = (int)l;
					r = why_set(why, ENOTSUP, "node %d: thread TID %d at level %u is in a pid namespace the requester's user namespace does not own; a thread is made after its process entered that user namespace, so its TIDs can be chosen only in namespaces it owns",
						    p->node, th->tids[l], l);
				}
		}
	}
	if (r == 0)
		*node = -1;
	return r;
}

int tree_authorize(struct conn *c, const struct tree *t, const struct nsref_chain *chain, struct why *why,
		   int *node, int *level)
{
	const struct peer *peer = conn_peer(c);
	struct tree_levels *tl = calloc(1, sizeof(*tl));
	unsigned int threads = t->v.plan->n_threads;
	int r;

	*node = *level = -1;
	if (!tl)
		return why_set(why, ENOMEM, "out of memory");
	tl->chain = chain;
	tl->req = authorize_requester(peer);
	tl->requester_pidns = peer->pidns_inode;
	r = nsref_userns_chain(peer->userns_fd, &tl->requester_userns);
	if (r < 0)
		why_set(why, -r, "cannot inspect the requester's user namespace: %s", strerror(-r));
	if (r == 0)
		r = plan_check_policy(tl, t, why, node, level);
	if (r == 0 && (t->v.plan->flags & TREE_PLAN_THREADED))
		r = suid_dumpable_check(why);
	audit_tree(c, "tree", &t->v, r < 0 ? why : NULL);
	/* Nodes, threads, ghosts and helpers all count. */
	if (r == 0)
		r = authorize_user_limits(c, "tree", t->v.plan->n_procs + threads, true, why);
	free(tl);
	return r;
}
