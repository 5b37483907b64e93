/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "fdreserve.h"
#include "target.h"

/* Attempts at finding a free PID for a level given as 0. */
#define ANY_PID_ATTEMPTS 32

void target_release(struct target *t)
{
	nsref_chain_release(&t->chain);
}

static const char *level_name(const struct target *t, size_t i, char *buf, size_t len)
{
	if (t->new_pidns && i == 0)
		snprintf(buf, len, "the new pid namespace");
	else
		snprintf(buf, len, "pid:[%llu]", (unsigned long long)t->chain.level[i].inode);
	return buf;
}

/* decode -> validate: PIDs, the namespace chain, the levels. */
int target_resolve(struct conn *c, const Pidrestore__ProcessSpec *spec, struct fd_table *fdt,
		   struct target *t, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	int pidns_fd = peer->pidns_fd, passed = -1, r;
	size_t levels, first;
	pid_t hostmax;
	char ns[64];

	/* The chain's levels are written as it is built, and none is read
	 * beyond its count: only the count and what follows the chain start
	 * at zero, not the whole 27 KB. */
	t->chain.n = 0;
	memset(&t->new_pidns, 0, sizeof(*t) - offsetof(struct target, new_pidns));
	t->new_pidns = spec->has_new_pidns && spec->new_pidns;
	if (spec->has_pidns_fd_index) {
		r = fd_table_take(fdt, spec->pidns_fd_index, "target pid namespace", &passed, why);
		if (r < 0)
			return r;
		r = nsref_pidns_from_fd(passed, &pidns_fd, why);
		if (r < 0)
			return r;
	}
	first = t->new_pidns ? 1 : 0;
	r = nsref_chain_build(pidns_fd, &t->chain, why);
	if (spec->has_pidns_fd_index)
		close(pidns_fd);
	if (r < 0)
		return r;
	if (t->new_pidns) {
		if (t->chain.n >= PR_MAX_LEVELS) {
			r = why_set(why, EINVAL, "cannot create a pid namespace below pid:[%llu]: it is already %d levels deep",
				    (unsigned long long)t->chain.level[0].inode, PR_MAX_PID_NS_LEVEL);
			goto fail;
		}
		memmove(&t->chain.level[1], &t->chain.level[0], t->chain.n * sizeof(t->chain.level[0]));
		t->chain.n++;
		memset(&t->chain.level[0], 0, sizeof(t->chain.level[0]));
		t->chain.level[0].fd = -1;
		/* Its owner will be the requester's user namespace. */
		r = nsref_userns_chain(peer->userns_fd, &t->chain.level[0].userns);
		if (r < 0) {
			why_set(why, -r, "cannot inspect the requester's user namespace: %s", strerror(-r));
			goto fail;
		}
	}
	levels = t->chain.n;
	if (spec->n_pids > levels) {
		r = why_set(why, EINVAL, "%zu PIDs given but the target pid namespace pid:[%llu] has only %zu level%s up to the daemon's namespace%s",
			    spec->n_pids, (unsigned long long)t->chain.level[first].inode, levels, levels == 1 ? "" : "s",
			    t->new_pidns ? " (counting the new namespace)" : "");
		goto fail;
	}

	hostmax = t->host_pid_max = nsref_own_pid_max();
	t->n_pids = spec->n_pids;
	for (size_t i = 0; i < t->n_pids; i++) {
		bool daemon_level = t->chain.level[i].inode == nsref_own_pidns_inode() && t->chain.level[i].fd >= 0;

		t->pids[i] = spec->pids[i];
		/* Every namespace's own pid_max is at most PID_MAX_LIMIT; the
		 * daemon can read only its own namespace's. */
		t->pid_limit[i] = daemon_level ? hostmax : PR_PID_MAX_LIMIT;
		if (t->pids[i] >= t->pid_limit[i]) {
			r = why_set(why, EINVAL, "pid %d at level %zu (%s) is not below that namespace's pid_max (%d)",
				    t->pids[i], t->chain.n - 1 - i, level_name(t, i, ns, sizeof(ns)), t->pid_limit[i]);
			goto fail;
		}
	}
	/* A new namespace's init is pid 1 there, named or not: the policy
	 * decides that level like any other. */
	if (t->new_pidns) {
		t->pids[0] = 1;
		if (t->n_pids == 0)
			t->n_pids = 1;
	}
	/* Trailing zeros are the kernel's to fill; inner zeros are the daemon's. */
	while (t->n_pids > 0 && t->pids[t->n_pids - 1] == 0)
		t->n_pids--;
	/* Front refused more already; the clone could not take them. */
	if (t->n_pids > PR_MAX_SET_TID) {
		r = why_set(why, EINVAL, "%zu PIDs chosen; at most %d can be", t->n_pids, PR_MAX_SET_TID);
		goto fail;
	}
	for (size_t i = 0; i < t->n_pids; i++)
		t->auto_pid[i] = t->pids[i] == 0;
	return 0;
fail:
	target_release(t);
	return r;
}

/* The level the request names: with a new namespace, its parent. */
size_t target_index(const struct target *t)
{
	return t->new_pidns ? 1 : 0;
}

/* The levels the policy decides: every one with a PID, and the target,
 * also when the kernel is to choose its PID there. */
size_t target_policy_levels(const struct target *t)
{
	return t->n_pids > target_index(t) ? t->n_pids : target_index(t) + 1;
}

/* The levels of t as the policy sees them, for a requester whose own pid
 * namespace is requester_pidns (for a policy check on another uid's
 * behalf: the asker's, as if that uid asked from there). Returns how many. */
size_t target_levels(const struct target *t, uint64_t requester_pidns, struct policy_level *levels)
{
	size_t n = target_policy_levels(t);

	for (size_t i = 0; i < n; i++) {
		const struct nsref_level *lv = &t->chain.level[i];

		levels[i] = (struct policy_level){
			.pid = t->pids[i],
			.depth = (unsigned int)(t->chain.n - 1 - i),
			.ns_inode = lv->inode,
			.is_daemon_ns = lv->fd >= 0 && lv->inode == nsref_own_pidns_inode(),
			.is_new = t->new_pidns && i == 0,
			.is_target = i == target_index(t),
			.is_requester_ns = lv->fd >= 0 && lv->inode == requester_pidns,
			.n_userns = lv->userns.n,
			.userns = lv->userns.userns,
			.reaches_daemon_userns = lv->userns.reaches_own,
		};
	}
	return n;
}

static pid_t pick_pid(pid_t limit)
{
	/* Low PIDs are where services live; pick from the upper range. */
	pid_t low = limit > 4096 ? 1024 : 2;

	return low + (pid_t)((unsigned long)random() % (unsigned long)(limit - low));
}

/* act: create the process, filling in PIDs given as 0. */
int target_create(struct conn *c, struct target *t, struct spawn_result *res, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	pid_t hostmax = t->host_pid_max;
	int r;

	/* Made with the process, owned by the requester's user namespace:
	 * by clone3 itself when that is the daemon's, else by a helper there
	 * (spawn_holder()). */
	if (t->new_pidns)
		t->clone_newpid = true;
	for (int attempt = 0;; attempt++) {
		for (size_t i = 0; i < t->n_pids; i++)
			if (t->auto_pid[i])
				t->pids[i] = pick_pid(t->pid_limit[i] < hostmax ? t->pid_limit[i] : hostmax);
		r = spawn_holder(peer, &t->chain, t->clone_newpid, t->pids, t->n_pids, res, why);
		/* Out of fds, the spawner's pidfd or a channel went missing. */
		if (r < 0 && fdreserve_explain(why))
			return -EMFILE;
		if (r != -EEXIST || res->busy_level < 0 || !t->auto_pid[res->busy_level])
			return r;
		if (attempt + 1 == ANY_PID_ATTEMPTS)
			return why_set(why, EAGAIN, "no free PID found at level %zu after %d attempts; the namespace is nearly full",
				       t->chain.n - 1 - (size_t)res->busy_level, ANY_PID_ATTEMPTS);
	}
}
