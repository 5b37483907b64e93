/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree's answers: its error, naming the node and level; or the built
 * tree in parts of at most 253 pidfds (SCM_MAX_FD), every part with the
 * request's id, each node with its PIDs and TIDs at every level. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "conn.h"
#include "log.h"
#include "pidrestore.pb-c.h"
#include "spawn.h"
#include "tree-internal.h"

#define TREE_PART_FDS 253
/* Nodes per part: its pidfds, and a bound on its bytes (a node with many
 * threads and levels takes a few KiB). */
#define TREE_PART_BYTES (48 * 1024)

static void answer_begin(const struct tree *t)
{
	answer_set(STATS_TREE, t->started_usec);
}

void tree_reply_error(struct tree *t)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeReply reply = PIDRESTORE__TREE_REPLY__INIT;

	if (!t->owner)
		return;
	answer_begin(t);
	reply.has_error_node = 1;
	reply.error_node = t->error_node;
	reply.has_error_level = 1;
	reply.error_level = t->error_level;
	resp.has_error = 1;
	resp.error = t->why.err ? t->why.err : EIO;
	resp.message = t->why.text;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE;
	resp.tree = &reply;
	answer_count(resp.error);
	conn_respond(t->owner, t->request_id, &resp, NULL, 0);
	answer_set(STATS_INVALID, 0);
}

int tree_thread_levels(const struct tree_proc_rt *rt, Pidrestore__TreeThread *out, int32_t *room)
{
	char path[64];
	pid_t daemon_pid = rt->pids[rt->n_pids - 1];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", daemon_pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char status[400], buf[4096];
		pid_t levels[PR_MAX_LEVELS];
		size_t n = 0;
		const char *v;
		int fd;
		ssize_t len;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(status, sizeof(status), "/proc/%d/task/%s/status", daemon_pid, e->d_name);
		fd = open(status, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = 0;
		v = strstr(buf, "\nNSpid:");
		if (!v)
			continue;
		v += 7;
		while (n < PR_MAX_LEVELS) {
			char *end;
			long p = strtol(v, &end, 10);

			if (end == v)
				break;
			levels[n++] = (pid_t)p;
			v = end;
		}
		/* NSpid lists the outermost first. */
		for (uint32_t k = 1; n && k < rt->n_ids; k++)
			if (levels[n - 1] == rt->ids[k]) {
				for (size_t l = 0; l < n; l++)
					room[(k - 1) * PR_MAX_LEVELS + l] = levels[n - 1 - l];
				out[k - 1].n_tids = n;
			}
	}
	closedir(d);
	return 0;
}

struct part {
	Pidrestore__TreeNodeInfo *infos;
	Pidrestore__TreeNodeInfo **info_ptrs;
	Pidrestore__TreeThread *threads;
	Pidrestore__TreeThread **thread_ptrs;
	int32_t *tids;
	int32_t *pids;
	int fds[TREE_PART_FDS];
	size_t n_fds;
};

static void node_fill(const struct tree *t, uint32_t i, struct part *pt, size_t k, size_t *thread_at)
{
	const struct tree_proc_rt *rt = &t->procs[i];
	const struct tree_proc *p = &t->v.procs[i];
	Pidrestore__TreeNodeInfo *info = &pt->infos[k];

	pidrestore__tree_node_info__init(info);
	info->node = (int32_t)i;
	info->pids = &pt->pids[k * PR_MAX_LEVELS];
	for (size_t l = 0; l < rt->n_pids; l++)
		info->pids[l] = rt->pids[l];
	info->n_pids = rt->n_pids;
	info->has_state = 1;
	if (p->kind == TREE_PROC_LIVE) {
		info->state = PIDRESTORE__TREE_NODE_STATE__TREE_PARKED;
		if (rt->reservation_id) {
			info->has_reservation_id = 1;
			info->reservation_id = rt->reservation_id;
		}
	} else {
		info->state = PIDRESTORE__TREE_NODE_STATE__TREE_EXITED;
	}
	if (p->kind != TREE_PROC_GHOST && rt->pidfd >= 0) {
		info->has_pidfd_index = 1;
		info->pidfd_index = (int32_t)pt->n_fds;
		pt->fds[pt->n_fds++] = rt->pidfd;
	}
	if (p->n_threads) {
		info->threads = &pt->thread_ptrs[*thread_at];
		info->n_threads = p->n_threads;
		for (uint32_t th = 0; th < p->n_threads; th++) {
			Pidrestore__TreeThread *tt = &pt->threads[*thread_at + th];

			pidrestore__tree_thread__init(tt);
			tt->tids = &pt->tids[(*thread_at + th) * PR_MAX_LEVELS];
			tt->n_tids = 1;
			tt->tids[0] = th + 1 < rt->n_ids ? rt->ids[th + 1] : 0;
			pt->thread_ptrs[*thread_at + th] = tt;
		}
		tree_thread_levels(rt, &pt->threads[*thread_at], &pt->tids[*thread_at * PR_MAX_LEVELS]);
		*thread_at += p->n_threads;
	}
	pt->info_ptrs[k] = info;
}

/* Sends nodes [first, end) as one part. */
static int part_send(const struct tree *t, uint32_t first, uint32_t end, bool more)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeReply reply = PIDRESTORE__TREE_REPLY__INIT;
	size_t n = end - first, n_threads = 0, thread_at = 0;
	struct part pt = { 0 };
	int r = -ENOMEM;

	for (uint32_t i = first; i < end; i++)
		n_threads += t->v.procs[i].n_threads;
	pt.infos = calloc(n, sizeof(*pt.infos));
	pt.info_ptrs = calloc(n, sizeof(*pt.info_ptrs));
	pt.pids = calloc(n * PR_MAX_LEVELS, sizeof(*pt.pids));
	pt.threads = calloc(n_threads + 1, sizeof(*pt.threads));
	pt.thread_ptrs = calloc(n_threads + 1, sizeof(*pt.thread_ptrs));
	pt.tids = calloc((n_threads + 1) * PR_MAX_LEVELS, sizeof(*pt.tids));
	if (pt.infos && pt.info_ptrs && pt.pids && pt.threads && pt.thread_ptrs && pt.tids) {
		for (uint32_t i = first; i < end; i++)
			node_fill(t, i, &pt, i - first, &thread_at);
		reply.has_tree_id = 1;
		reply.tree_id = t->id;
		reply.has_first_node = 1;
		reply.first_node = (int32_t)first;
		reply.nodes = pt.info_ptrs;
		reply.n_nodes = n;
		reply.has_more = more;
		reply.more = more;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE;
		resp.tree = &reply;
		r = conn_respond(t->owner, t->request_id, &resp, pt.fds, pt.n_fds);
	}
	free(pt.infos);
	free(pt.info_ptrs);
	free(pt.pids);
	free(pt.threads);
	free(pt.thread_ptrs);
	free(pt.tids);
	return r;
}

void tree_reply_built(struct tree *t)
{
	uint32_t n = t->v.plan->n_nodes, first = 0;

	if (!t->owner)
		return;
	answer_begin(t);
	while (first < n) {
		uint32_t end = first, fds = 0;
		size_t bytes = 0;

		while (end < n && fds < TREE_PART_FDS && (bytes < TREE_PART_BYTES || end == first)) {
			fds += t->v.procs[end].kind != TREE_PROC_GHOST;
			bytes += 64 + (size_t)(t->v.procs[end].n_threads + 1) * PR_MAX_LEVELS * 6;
			end++;
		}
		if (part_send(t, first, end, end < n) < 0) {
			log_warning("tree %llu: cannot send its reply", (unsigned long long)t->id);
			break;
		}
		first = end;
	}
	answer_count(0);
	answer_set(STATS_INVALID, 0);
}

void tree_reply_released(struct conn *c, uint64_t id, const int32_t *nodes, size_t n)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeReleaseReply reply = PIDRESTORE__TREE_RELEASE_REPLY__INIT;

	reply.released_nodes = (int32_t *)nodes;
	reply.n_released_nodes = n;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE_RELEASE;
	resp.tree_release = &reply;
	answer_respond(c, id, &resp, NULL, 0);
}
