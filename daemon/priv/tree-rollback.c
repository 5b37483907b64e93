/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Taking a tree down (TREES.md §7): after a failed build every process
 * priv holds a pidfd for is killed, roots first; a process whose pidfd
 * never arrived dies with its creator (PR_SET_PDEATHSIG), except a root,
 * the daemon's child: the builder is stopped between roots, and the pidfds
 * it sent are read once it is reaped. The answer waits,
 * from the event loop, until each is reaped: PIDFD_INFO_EXIT (6.15), or
 * the task gone from its pidfd before, proves its PIDs free again. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "kernel.h"
#include "log.h"
#include "tree-internal.h"

#define TREE_DOWN_TICK_USEC 10000
/* A pid namespace's init whose processes others must reap may hold its
 * PIDs longer: the answer does not wait for ever, it says so. */
#define TREE_DOWN_DEADLINE_USEC (5 * 1000000ULL)
/* How long a builder told to stop has to reach its next stop point. */
#define TREE_BUILDER_GRACE_USEC (500 * 1000ULL)

/* Reaped: its PIDs name nothing any more. */
static bool pidfd_reaped(int pidfd)
{
	struct pr_pidfd_info info = { .mask = PR_PIDFD_INFO_EXIT };

	if (ioctl(pidfd, PR_PIDFD_GET_INFO, &info) == 0)
		return (info.mask & PR_PIDFD_INFO_EXIT) != 0;
	/* Before 6.15 the task leaves its pid only when it is reaped. */
	return errno == ESRCH;
}

static bool daemon_child(const struct tree *t, uint32_t i)
{
	return t->v.procs[i].creator < 0;
}

static bool taken_down(const struct tree *t, uint32_t i)
{
	const struct tree_proc_rt *p = &t->procs[i];

	return p->pidfd >= 0 && !p->freed;
}

static void down_finish(struct tree *t, unsigned int left)
{
	if (left)
		log_warning("tree %llu: %u of its processes were not reaped within %llu s; their PIDs may stay taken until their namespace's init reaps them",
			    (unsigned long long)t->id, left, TREE_DOWN_DEADLINE_USEC / 1000000);
	if (left) {
		size_t at = strlen(t->why.text);

		snprintf(t->why.text + at, sizeof(t->why.text) - at,
			 " (%u of its processes were not reaped yet; their PIDs are free once their pid namespace's init reaps them)",
			 left);
	}
	tree_reply_error(t);
	tree_builds_forget(t);
	tree_free(t);
}

/* By pidfd; by PID only where pidfd_send_signal() is missing (ENOSYS:
 * emulators such as valgrind), which is safe while the tree is taken down:
 * none of its processes reaps another any more. */
static void signal_proc(int pidfd, pid_t pid, int sig)
{
	if (pr_pidfd_send_signal(pidfd, sig, NULL, 0) == 0 || errno != ENOSYS || pid <= 0)
		return;
	kill(pid, sig);
}

static void kill_all(struct tree *t)
{
	/* Roots first: nothing below them can be made any more. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < t->v.plan->n_procs; i++) {
			const struct tree_proc_rt *rt = &t->procs[i];

			if (taken_down(t, i) && daemon_child(t, i) == (pass == 0))
				signal_proc(rt->pidfd, rt->n_pids ? rt->pids[rt->n_pids - 1] : 0, SIGKILL);
		}
}

/* SIGTERM ends a builder between roots (tree-build.c), never between a
 * root's clone and the report of its pidfd; SIGKILL after a grace, for a
 * builder that does not get there. */
static void builder_stop(struct tree *t, int sig)
{
	if (t->builder_pidfd >= 0)
		signal_proc(t->builder_pidfd, t->builder_pid, sig);
}

/* Pidfds still queued name processes to kill too. */
static void pidfds_drain(struct tree *t)
{
	size_t size = sizeof(struct tree_report) + (t->v.plan->n_threads + 1) * sizeof(int32_t);
	void *buf = malloc(size);

	for (uint32_t k = 0; buf && t->sock >= 0 && k < 4 * t->v.plan->n_procs + 64; k++)
		if (tree_report_take(t, buf, size, true) <= 0)
			break;
	free(buf);
}

/* Every report the builder sent is queued now: the roots whose pidfds
 * came last are killed with the others. */
static void builder_gone(struct tree *t)
{
	if (t->sock < 0)
		return;
	pidfds_drain(t);
	close_fdp(&t->sock);
	kill_all(t);
}

static void on_down_tick(evutil_socket_t fd, short what, void *arg)
{
	struct tree *t = arg;
	unsigned int left = 0;

	(void)fd, (void)what;
	if (t->builder_pidfd >= 0) {
		siginfo_t si = { 0 };

		if (waitid((idtype_t)P_PIDFD, (id_t)t->builder_pidfd, &si, WEXITED | WNOHANG | __WALL) == 0 && si.si_pid) {
			close_fdp(&t->builder_pidfd);
			builder_gone(t);
		} else {
			left++;
			if (now_usec() + TREE_DOWN_DEADLINE_USEC - TREE_BUILDER_GRACE_USEC >= t->rollback_deadline_usec)
				builder_stop(t, SIGKILL);
		}
	}
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++) {
		struct tree_proc_rt *p = &t->procs[i];

		if (!taken_down(t, i))
			continue;
		if (daemon_child(t, i)) {
			siginfo_t si = { 0 };

			waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG | __WALL);
		}
		if (pidfd_reaped(p->pidfd))
			p->freed = true;
		else
			left++;
	}
	if (left == 0 || now_usec() >= t->rollback_deadline_usec)
		down_finish(t, left);
}

static void down_start(struct tree *t)
{
	const struct timeval tick = { .tv_sec = 0, .tv_usec = TREE_DOWN_TICK_USEC };

	kill_all(t);
	builder_stop(t, SIGTERM);
	t->rollback_deadline_usec = now_usec() + TREE_DOWN_DEADLINE_USEC;
	t->rollback_ev = event_new(tree_base(), -1, EV_PERSIST, on_down_tick, t);
	if (!t->rollback_ev || event_add(t->rollback_ev, &tick) < 0) {
		/* Out of memory: answered now, kept until the daemon stops. */
		log_error("tree %llu: cannot watch its processes end; answering now", (unsigned long long)t->id);
		tree_reply_error(t);
		t->owner = NULL;
	}
	/* Never finished from here: whoever failed the build still holds t. */
}

void tree_rollback(struct tree *t)
{
	t->phase = TREE_ROLLING_BACK;
	pidfds_drain(t);
	if (t->sock_ev) {
		event_free(t->sock_ev);
		t->sock_ev = NULL;
	}
	if (t->builder_ev) {
		event_free(t->builder_ev);
		t->builder_ev = NULL;
	}
	for (uint32_t i = 0; i < t->v.plan->n_procs; i++)
		if (t->procs[i].exit_ev) {
			event_free(t->procs[i].exit_ev);
			t->procs[i].exit_ev = NULL;
		}
	/* A builder still running may have cloned a root (the daemon's child,
	 * which no death signal ties to the builder) and not yet sent its
	 * pidfd: the stream stays open until the builder is reaped, and what
	 * it sent is read then (builder_gone). */
	if (t->builder_pidfd < 0)
		close_fdp(&t->sock);
	down_start(t);
}
