/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tree's build (TREES.md §6): the request checked and authorized, the
 * builder started, then a state machine driven by the tree socket, the
 * builder's and the zombies' pidfds and a deadline. Nothing here waits for
 * a process: a requester may stop any that dropped to its credentials. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "answer.h"
#include "conn.h"
#include "fd-table.h"
#include "log.h"
#include "nsref.h"
#include "peer.h"
#include "spawn.h"
#include "tree.h"
#include "tree-internal.h"

/* The build's deadline when the request names none. */
#define TREE_DEFAULT_TIMEOUT_MS 10000
#define TREE_MAX_TIMEOUT_MS 600000
/* Reports taken in one turn of the loop, so that others are served too. */
#define TREE_REPORTS_PER_TURN 256

static struct event_base *base;
static uint64_t next_tree_id = 1;
/* Builds in progress or rolling back, linked by next. */
static struct tree *builds;

struct event_base *tree_base(void)
{
	return base;
}

int tree_init(struct event_base *b)
{
	base = b;
	return 0;
}

static void event_drop(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	event_drop(&t->sock_ev);
	event_drop(&t->deadline_ev);
	event_drop(&t->builder_ev);
	event_drop(&t->rollback_ev);
	event_drop(&t->ttl_ev);
	for (uint32_t i = 0; t->procs && i < t->v.plan->n_procs; i++) {
		struct tree_proc_rt *p = &t->procs[i];

		event_drop(&p->exit_ev);
		close_fdp(&p->pidfd);
		close_fdp(&p->control_fd);
		free(p->ids);
	}
	close_fdp(&t->sock);
	close_fdp(&t->builder_pidfd);
	free(t->procs);
	free(t->plan);
	free(t);
}

/* The request's node for a proc, for messages: -1 for a helper or the
 * builder. */
static int node_of(const struct tree *t, int proc)
{
	return proc >= 0 && (uint32_t)proc < t->v.plan->n_procs ? t->v.procs[proc].node : -1;
}

void tree_build_fail(struct tree *t, int node, int level, const struct why *why)
{
	if (t->phase != TREE_BUILDING)
		return;
	t->why = *why;
	t->error_node = node;
	t->error_level = level;
	log_info("tree %llu of uid %u failed: %s", (unsigned long long)t->id, t->owner_uid, why->text);
	event_drop(&t->deadline_ev);
	tree_rollback(t);
}

__attribute__((format(printf, 5, 6)))
static void fail_text(struct tree *t, int proc, int level, int err, const char *fmt, ...)
{
	struct why why = { .err = err };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why.text, sizeof(why.text), fmt, ap);
	va_end(ap);
	tree_build_fail(t, node_of(t, proc), level, &why);
}

void tree_builds_forget(struct tree *t)
{
	for (struct tree **pp = &builds; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			t->next = NULL;
			return;
		}
}

void tree_builds_conn_closed(struct conn *c)
{
	struct why why = { .err = ECONNRESET };

	snprintf(why.text, sizeof(why.text), "the requester's connection closed during the build");
	for (struct tree *t = builds, *next; t; t = next) {
		next = t->next;
		if (t->owner != c)
			continue;
		t->owner = NULL;
		tree_build_fail(t, -1, -1, &why);
	}
}

void tree_builds_shutdown(void)
{
	while (builds) {
		struct tree *t = builds;

		builds = t->next;
		for (uint32_t i = 0; i < t->v.plan->n_procs; i++)
			if (t->procs[i].pidfd >= 0)
				pr_pidfd_send_signal(t->procs[i].pidfd, SIGKILL, NULL, 0);
		if (t->builder_pidfd >= 0)
			pr_pidfd_send_signal(t->builder_pidfd, SIGKILL, NULL, 0);
		tree_free(t);
	}
}

/* ------------------------------------------------------------ success */

static void build_check_done(struct tree *t)
{
	if (t->phase != TREE_BUILDING || !t->built || !t->builder_done || t->n_ready != t->n_live ||
	    t->n_exited != t->n_zombies || t->n_root_ghosts_reaped != t->n_root_ghosts)
		return;
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++)
		if (t->procs[i].gone)
			return fail_text(t, (int)i, -1, EIO, "a process of the tree ended during its build");
	tree_builds_forget(t);
	event_drop(&t->sock_ev);
	event_drop(&t->deadline_ev);
	event_drop(&t->builder_ev);
	close_fdp(&t->sock);
	close_fdp(&t->builder_pidfd);
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++)
		event_drop(&t->procs[i].exit_ev);
	t->phase = TREE_HELD;
	log_info("tree %llu of uid %u built: %u processes in %llu ms", (unsigned long long)t->id, t->owner_uid,
		 t->v.plan->n_procs, (unsigned long long)(now_usec() - t->started_usec) / 1000);
	tree_hold(t);
	tree_reply_built(t);
	tree_settle(t);
}

static void on_zombie_exit(evutil_socket_t fd, short what, void *arg)
{
	struct tree_proc_rt *p = arg;
	struct tree *t = p->tree;

	(void)fd, (void)what;
	p->exited = true;
	event_drop(&p->exit_ev);
	t->n_exited++;
	build_check_done(t);
}

/* A ghost that is a root is the daemon's child: reaped here once it is
 * done (its PID stays taken while its session or group has members). */
static void on_root_ghost_exit(evutil_socket_t fd, short what, void *arg)
{
	struct tree_proc_rt *p = arg;
	siginfo_t si = { 0 };

	(void)fd, (void)what;
	if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG | __WALL) < 0 || !si.si_pid)
		return;
	event_drop(&p->exit_ev);
	p->exited = true;
	p->tree->n_root_ghosts_reaped++;
	if (!(si.si_code == CLD_EXITED && si.si_status == 0))
		fail_text(p->tree, (int)(p - p->tree->procs), -1, EIO, "a ghost of the tree ended badly");
	build_check_done(p->tree);
}

/* ------------------------------------------------------------ reports */

static const char *step_name(uint32_t step)
{
	static const char *const names[] = {
		[TREE_STEP_NONE] = "its build",
		[TREE_STEP_PROTOCOL] = "reading the plan",
		[TREE_STEP_SETUP] = "taking on the requester's identity",
		[TREE_STEP_BARRIER] = "mapping the barrier",
		[TREE_STEP_PDEATHSIG] = "watching its parent",
		[TREE_STEP_PID] = "checking its PID",
		[TREE_STEP_CLONE] = "being created",
		[TREE_STEP_PIDNS] = "making its pid namespace",
		[TREE_STEP_SETSID] = "setsid()",
		[TREE_STEP_THREAD] = "creating a thread",
		[TREE_STEP_SETPGID] = "setpgid()",
		[TREE_STEP_REAP] = "reaping a transient child",
		[TREE_STEP_SUBREAPER] = "becoming a subreaper",
		[TREE_STEP_DUMPABLE] = "setting dumpable",
		[TREE_STEP_CONTROL] = "making its control channel",
	};

	return step < ELEMENTSOF(names) && names[step] ? names[step] : "an unknown step";
}

static void report_error(struct tree *t, const struct tree_report *rep)
{
	int node = node_of(t, rep->proc);
	const struct tree_proc *p = rep->proc >= 0 && (uint32_t)rep->proc < t->v.plan->n_procs ? &t->v.procs[rep->proc] : NULL;
	const int32_t *ids = p ? p->pids : t->v.plan->builder_pids;
	char who[96], text[400];
	struct why why = { 0 };

	if (rep->thread >= 0 && p && (uint32_t)rep->thread < p->n_threads)
		ids = t->v.threads[p->first_thread + rep->thread].tids;
	if (rep->proc < 0)
		snprintf(who, sizeof(who), "the tree's builder");
	else if (node < 0)
		snprintf(who, sizeof(who), "a helper process (pid %d)", ids[0]);
	else if (rep->thread >= 0)
		snprintf(who, sizeof(who), "node %d, thread %d (tid %d)", node, rep->thread, ids[0]);
	else
		snprintf(who, sizeof(who), "node %d (pid %d)", node, ids[0]);
	if (rep->error == EEXIST && rep->level >= 0 && rep->level < TREE_MAX_LEVELS)
		snprintf(text, sizeof(text), "%s: pid %d is in use in pid namespace level %d", who, ids[rep->level],
			 rep->level);
	else
		snprintf(text, sizeof(text), "%s failed at %s: %s", who, step_name(rep->step), strerror(rep->error));
	why_set(&why, rep->error ? rep->error : EIO, "%s", text);
	tree_build_fail(t, node, rep->level, &why);
}

/* A pidfd names the process planned at every level the plan gives. */
static void report_pidfd(struct tree *t, const struct tree_report *rep, int *fd)
{
	struct tree_proc_rt *rt = &t->procs[rep->proc];
	const struct tree_proc *p = &t->v.procs[rep->proc];

	if (rt->pidfd >= 0 || *fd < 0)
		return fail_text(t, rep->proc, -1, EPROTO, "a process of the tree was reported twice or without its pidfd");
	rt->pidfd = *fd;
	*fd = -1;
	if (spawn_read_nspids(rt->pidfd, rt->pids, &rt->n_pids) < 0 || rt->n_pids != p->n_levels + t->extra_levels) {
		/* Gone already: a ghost or helper that did its part (its
		 * creator checked the PID the clone gave, and it checked its
		 * own), or a process of a build that is failing, whose error
		 * report is on its way; a node gone is a failure only if the
		 * build would succeed without it. What the plan names is what
		 * it had. */
		rt->gone = p->kind != TREE_PROC_GHOST && p->kind != TREE_PROC_HELPER;
		memset(rt->pids, 0, sizeof(rt->pids));
		memcpy(rt->pids, p->pids, p->n_set_tid * sizeof(pid_t));
		rt->n_pids = p->n_levels + t->extra_levels;
	}
	for (uint32_t l = 0; l < p->n_set_tid; l++)
		if (rt->pids[l] != p->pids[l]) {
			char what[128];

			snprintf(what, sizeof(what), "pid %d at level %u, not %d as planned", rt->pids[l], l, p->pids[l]);
			return fail_text(t, rep->proc, (int)l, EIO, "a process of the tree got %s", what);
		}
	if (rt->gone) {
		/* Exited, certainly: build_check_done() tells. */
		t->n_exited += p->kind == TREE_PROC_ZOMBIE;
		return;
	}
	if (p->kind == TREE_PROC_ZOMBIE) {
		rt->exit_ev = event_new(base, rt->pidfd, EV_READ, on_zombie_exit, rt);
		if (!rt->exit_ev || event_add(rt->exit_ev, NULL) < 0)
			fail_text(t, rep->proc, -1, ENOMEM, "cannot watch a zombie of the tree");
	} else if (p->kind == TREE_PROC_GHOST && p->creator < 0) {
		rt->exit_ev = event_new(base, rt->pidfd, EV_READ | EV_PERSIST, on_root_ghost_exit, rt);
		if (!rt->exit_ev || event_add(rt->exit_ev, NULL) < 0)
			fail_text(t, rep->proc, -1, ENOMEM, "cannot watch a ghost of the tree");
	}
}

static void report_ready(struct tree *t, const struct tree_report *rep, size_t len, int *fd)
{
	struct tree_proc_rt *rt = &t->procs[rep->proc];
	const struct tree_proc *p = &t->v.procs[rep->proc];

	if (p->kind != TREE_PROC_LIVE || rt->ready || *fd < 0 || rep->n_pids != p->n_threads + 1 ||
	    len != sizeof(*rep) + rep->n_pids * sizeof(int32_t) || (p->n_set_tid && rep->pids[0] != p->pids[0]))
		return fail_text(t, rep->proc, -1, EPROTO, "a process of the tree reported READY out of turn");
	rt->ids = malloc(rep->n_pids * sizeof(int32_t));
	if (!rt->ids)
		return fail_text(t, rep->proc, -1, ENOMEM, "out of memory");
	memcpy(rt->ids, rep->pids, rep->n_pids * sizeof(int32_t));
	rt->n_ids = rep->n_pids;
	rt->control_fd = *fd;
	*fd = -1;
	rt->ready = true;
	t->n_ready++;
}

static void report_handle(struct tree *t, const struct tree_report *rep, size_t len, int fd)
{
	bool proc_ok = rep->proc >= 0 && (uint32_t)rep->proc < t->v.plan->n_procs;

	if (len < sizeof(*rep) || rep->n_pids > (len - sizeof(*rep)) / sizeof(int32_t)) {
		fail_text(t, -1, -1, EPROTO, "a short report from the tree's processes");
	} else if (rep->type == TREE_REPORT_ERROR) {
		report_error(t, rep);
	} else if (rep->type == TREE_REPORT_BUILT && rep->proc == -1) {
		t->built = true;
	} else if (rep->type == TREE_REPORT_PIDFD && proc_ok) {
		report_pidfd(t, rep, &fd);
	} else if (rep->type == TREE_REPORT_READY && proc_ok) {
		report_ready(t, rep, len, &fd);
	} else {
		fail_text(t, -1, -1, EPROTO, "an unknown report from the tree's processes");
	}
	if (fd >= 0)
		close(fd);
}

int tree_report_take(struct tree *t, void *buf, size_t size, bool pidfds_only)
{
	union {
		unsigned char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(t->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c;
	int fd = -1;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int got;

				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd < 0)
					fd = got;
				else
					close(got);
			}
		}
	if (pidfds_only) {
		const struct tree_report *rep = buf;

		if ((size_t)n >= sizeof(*rep) && rep->type == TREE_REPORT_PIDFD && rep->proc >= 0 &&
		    (uint32_t)rep->proc < t->v.plan->n_procs && t->procs[rep->proc].pidfd < 0 && fd >= 0) {
			t->procs[rep->proc].pidfd = fd;
			fd = -1;
		}
		if (fd >= 0)
			close(fd);
		return 1;
	}
	report_handle(t, buf, (size_t)n, fd);
	return 1;
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct tree *t = arg;
	size_t size = sizeof(struct tree_report) + (t->v.plan->n_threads + 1) * sizeof(int32_t);
	void *buf = malloc(size);

	(void)fd, (void)what;
	if (!buf)
		return fail_text(t, -1, -1, ENOMEM, "out of memory");
	for (int k = 0; k < TREE_REPORTS_PER_TURN && t->phase == TREE_BUILDING; k++) {
		int r = tree_report_take(t, buf, size, false);

		if (r == 0)
			break;
		if (r < 0) {
			/* Every process of the tree closed its end. */
			event_drop(&t->sock_ev);
			if (!(t->built && t->n_ready == t->n_live))
				fail_text(t, -1, -1, EIO, "the tree's processes ended before it was built");
			break;
		}
	}
	free(buf);
	build_check_done(t);
}

static void on_builder_exit(evutil_socket_t fd, short what, void *arg)
{
	struct tree *t = arg;
	siginfo_t si = { 0 };

	(void)fd, (void)what;
	if (waitid((idtype_t)P_PIDFD, (id_t)t->builder_pidfd, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0)
		return;
	event_drop(&t->builder_ev);
	close_fdp(&t->builder_pidfd);
	t->builder_pid = 0;
	/* Its last reports are queued before its exit: read them first. */
	on_sock(t->sock, EV_READ, t);
	if (si.si_code == CLD_EXITED && si.si_status == 0)
		t->builder_done = true;
	else
		fail_text(t, -1, -1, EIO, "the tree's builder ended without building it");
	build_check_done(t);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct tree *t = arg;
	struct why why = { 0 };

	(void)fd, (void)what;
	why_set(&why, ETIMEDOUT, "the tree was not built within %u ms (%u of %u live nodes ready): a process of it was stopped or is starved; it was taken down",
		t->v.plan->timeout_ms ? t->v.plan->timeout_ms : TREE_DEFAULT_TIMEOUT_MS, t->n_ready, t->n_live);
	tree_build_fail(t, -1, -1, &why);
}

/* ------------------------------------------------------------ the request */

static int plan_take(struct tree *t, const uint8_t *plan, size_t len, struct why *why)
{
	const char *what = NULL;
	uint32_t *scratch;
	int bad = -1, r;

	if (len < sizeof(struct tree_plan))
		return why_set(why, EPROTO, "a tree plan of %zu bytes is too short", len);
	t->plan = malloc(len);
	scratch = calloc(1, tree_check_scratch_size(((const struct tree_plan *)plan)->n_procs) + sizeof(uint32_t));
	if (!t->plan || !scratch) {
		free(scratch);
		return why_set(why, ENOMEM, "out of memory for a tree of %zu bytes", len);
	}
	memcpy(t->plan, plan, len);
	t->plan_len = len;
	r = tree_plan_check(t->plan, len, scratch, &t->v, &what, &bad);
	free(scratch);
	if (r < 0)
		return why_set(why, -r, "the tree's plan is malformed (process %d): %s", bad, what ? what : "?");
	t->procs = calloc(t->v.plan->n_procs, sizeof(*t->procs));
	if (!t->procs)
		return why_set(why, ENOMEM, "out of memory for a tree of %u processes", t->v.plan->n_procs);
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++) {
		t->procs[i].pidfd = t->procs[i].control_fd = -1;
		t->procs[i].tree = t;
		t->n_live += t->v.procs[i].kind == TREE_PROC_LIVE;
		t->n_zombies += t->v.procs[i].kind == TREE_PROC_ZOMBIE;
		t->n_root_ghosts += t->v.procs[i].kind == TREE_PROC_GHOST && t->v.procs[i].creator < 0;
	}
	return 0;
}

static int chain_resolve(struct conn *c, struct tree *t, struct fd_table *fdt, struct nsref_chain *chain,
			 struct why *why)
{
	int pidns_fd = conn_peer(c)->pidns_fd, passed = -1, r;

	if (t->v.plan->flags & TREE_PLAN_TARGET_PIDNS) {
		r = fd_table_take(fdt, t->v.plan->target_pidns_fd_index, "target pid namespace", &passed, why);
		if (r == 0)
			r = nsref_pidns_from_fd(passed, &pidns_fd, why);
		if (r < 0)
			return r;
	}
	r = nsref_chain_build(pidns_fd, chain, why);
	if (t->v.plan->flags & TREE_PLAN_TARGET_PIDNS)
		close(pidns_fd);
	if (r == 0 && chain->n < t->v.plan->n_levels) {
		r = why_set(why, EINVAL, "the tree names %u levels of PIDs but its pid namespace pid:[%llu] has only %zu up to the daemon's",
			    t->v.plan->n_levels, (unsigned long long)chain->level[0].inode, chain->n);
		nsref_chain_release(chain);
	}
	return r;
}

static int build_start(struct conn *c, struct tree *t, const struct nsref_chain *chain, struct why *why)
{
	const struct tree_plan *plan = t->v.plan;
	struct spawn_result res;
	pid_t pids[TREE_MAX_LEVELS];
	unsigned int ms = plan->timeout_ms ? plan->timeout_ms : TREE_DEFAULT_TIMEOUT_MS;
	struct timeval tv;
	int r;

	for (uint32_t i = 0; i < plan->builder_n_set_tid; i++)
		pids[i] = plan->builder_pids[i];
	/* Every thread of the tree installs the requester's filters (DESIGN §6). */
	r = conn_copy_seccomp(c, why);
	if (r < 0)
		return r;
	r = spawn_builder(conn_peer(c), chain, pids, plan->builder_n_set_tid, t->plan, t->plan_len, &res, why);
	if (r < 0)
		return r;
	t->sock = res.control_fd;
	t->builder_pid = res.pid;
	t->builder_pidfd = res.pidfd;
	if (ms > TREE_MAX_TIMEOUT_MS)
		ms = TREE_MAX_TIMEOUT_MS;
	tv = (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	t->sock_ev = event_new(base, t->sock, EV_READ | EV_PERSIST, on_sock, t);
	t->builder_ev = event_new(base, t->builder_pidfd, EV_READ | EV_PERSIST, on_builder_exit, t);
	t->deadline_ev = evtimer_new(base, on_deadline, t);
	if (!t->sock_ev || !t->builder_ev || !t->deadline_ev || event_add(t->sock_ev, NULL) < 0 ||
	    event_add(t->builder_ev, NULL) < 0 || event_add(t->deadline_ev, &tv) < 0) {
		why_set(why, ENOMEM, "cannot watch the tree's build");
		tree_build_fail(t, -1, -1, why);
		return 1;
	}
	return 0;
}

void tree_request(struct conn *c, uint64_t id, const uint8_t *plan, size_t len, struct fd_table *fdt)
{
	struct tree *t = calloc(1, sizeof(*t));
	struct nsref_chain chain = { 0 };
	struct why why = { 0 };
	int node = -1, level = -1, r;

	if (!t) {
		why_set(&why, ENOMEM, "out of memory for a tree");
		answer_error(c, id, &why);
		return;
	}
	t->sock = t->builder_pidfd = -1;
	t->id = next_tree_id++;
	t->request_id = id;
	t->owner = c;
	t->owner_uid = conn_peer(c)->uid;
	t->started_usec = now_usec();
	t->phase = TREE_BUILDING;
	t->error_node = t->error_level = -1;
	r = plan_take(t, plan, len, &why);
	if (r == 0)
		r = chain_resolve(c, t, fdt, &chain, &why);
	if (r == 0) {
		t->extra_levels = (uint32_t)(chain.n - t->v.plan->n_levels);
		r = fd_table_check_all_used(fdt, &why);
		if (r == 0)
			r = tree_authorize(c, t, &chain, &why, &node, &level);
		if (r == 0) {
			t->next = builds;
			builds = t;
			r = build_start(c, t, &chain, &why);
			if (r < 0)
				tree_builds_forget(t);
		}
		nsref_chain_release(&chain);
	}
	if (r < 0) {
		t->why = why;
		t->error_node = node;
		t->error_level = level;
		tree_reply_error(t);
		tree_free(t);
	}
	/* r > 0: the build failed at once and rolls back, answering then. */
}
