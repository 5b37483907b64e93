/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "conn.h"
#include "exit-status.h"
#include "kernel.h"
#include "log.h"
#include "pidrestore.pb-c.h"
#include "proc.h"
#include "proc-internal.h"
#include "spawn.h"

static struct event_base *exit_base;

/* Processes whose exit no event tells of (no pidfd could be opened or
 * watched, or a pidfd said "exited" before the process could be reaped,
 * as when a tracer holds it): looked for every POLL_MSEC. */
#define POLL_MSEC 100
static TAILQ_HEAD(, proc) polled = TAILQ_HEAD_INITIALIZER(polled);
static struct event *poll_ev;

/* Daemon stop: who to tell once every released process is reaped. */
#define STOP_DEADLINE_SEC 5
static struct {
	proc_reaped_fn fn;
	void *data;
	struct event *deadline;
} stopping;

/* ------------------------------------------------------------ reap waits */

void proc_reap_wait_init(struct proc_reap_wait *w, proc_reaped_fn fn, void *data)
{
	*w = (struct proc_reap_wait){ .fn = fn, .data = data };
}

/* fn may free w: nothing touches it after. */
static void reap_wait_settle(struct proc_reap_wait *w)
{
	if (w->armed && w->left == 0) {
		w->armed = false;
		w->fn(w->data);
	}
}

void proc_reap_wait_done_one(struct proc_reap_wait *w)
{
	w->left--;
	reap_wait_settle(w);
}

void proc_reap_wait_arm(struct proc_reap_wait *w)
{
	w->armed = true;
	reap_wait_settle(w);
}

/* ------------------------------------------------------------ exits */

static void on_proc_exit(evutil_socket_t fd, short what, void *arg);

/* Watches the pidfd for the process's exit, opening one when the process
 * parked without it. pidfd_open by PID is safe: the process is this
 * daemon's unreaped child, so its PID cannot have gone to another. */
int proc_watch_exit(struct proc *p)
{
	/* No process yet: watched once the helper's answer brings one. */
	if (p->priv->exit_ev || p->priv->deferred)
		return 0;
	if (p->pidfd < 0) {
		int fd = spawn_child_pidfd(p->pid);

		if (fd < 0)
			return fd;
		p->pidfd = fd;
	}
	p->priv->exit_ev = proc_event(p, EVENT_EXIT, p->pidfd, EV_READ, on_proc_exit);
	if (!p->priv->exit_ev || event_add(p->priv->exit_ev, NULL) < 0) {
		p->priv->exit_ev = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* By pidfd: a node of a tree is not the daemon's child, and its parent may
 * have reaped it and freed its PID. By PID where there is no pidfd (the
 * process is then the daemon's unreaped child, which its PID names and
 * nothing else) or where pidfd_send_signal() is missing (ENOSYS: only
 * emulators such as valgrind lack it on a kernel with pidfds). */
static int signal_proc(struct proc *p, int sig)
{
	if (p->pidfd >= 0) {
		if (pr_pidfd_send_signal(p->pidfd, sig, NULL, 0) == 0)
			return 0;
		if (errno != ENOSYS)
			return -errno;
	}
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

/* A record still waiting for its namespace has no process: its helper is
 * let go instead. */
void proc_drop_deferred(struct proc *p)
{
	if (!p->priv->deferred)
		return;
	proc_event_drop(&p->priv->helper_ev);
	spawn_deferred_cancel(p->priv->deferred);
	p->priv->deferred = NULL;
}

void proc_kill(struct proc *p)
{
	proc_drop_deferred(p);
	if (p->pid > 0 && !p->priv->reaped)
		signal_proc(p, SIGKILL);
}

/* Reaps the process if it has exited, never waiting: 1 with si filled,
 * 0 when it has not exited yet, or -errno. */
static int reap_nohang(struct proc *p, siginfo_t *si)
{
	int r;

	memset(si, 0, sizeof(*si));
	do
		r = p->pidfd >= 0 ? waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, si, WEXITED | WNOHANG | __WALL)
				  : waitid(P_PID, (id_t)p->pid, si, WEXITED | WNOHANG | __WALL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return si->si_pid != 0;
}

static void poll_arm(void)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = POLL_MSEC * 1000 };

	if (!TAILQ_EMPTY(&polled) && !evtimer_pending(poll_ev, NULL) && evtimer_add(poll_ev, &tv) < 0)
		log_error("cannot arm the timer that looks for the exit of unwatched processes: they stay unreaped");
}

/* Its exit is looked for by the timer from now on. */
void proc_poll_add(struct proc *p)
{
	if (p->priv->polled)
		return;
	p->priv->polled = true;
	TAILQ_INSERT_TAIL(&polled, p, priv->poll_link);
	poll_arm();
}

void proc_poll_remove(struct proc *p)
{
	if (!p->priv->polled)
		return;
	p->priv->polled = false;
	TAILQ_REMOVE(&polled, p, priv->poll_link);
}

static void proc_ended(struct proc *p, siginfo_t *si);

static void on_no_process(evutil_socket_t fd, short what, void *arg)
{
	siginfo_t si = { .si_code = CLD_KILLED, .si_status = SIGKILL };

	proc_ended(arg, &si);
}

/* A record without a process (its namespace helper failed or was let go)
 * ends on the next turn of the loop, as if it had been reaped: whoever
 * released it is told from there, never before it returns. */
static void end_soon(struct proc *p)
{
	if (p->priv->exit_ev)
		return;
	p->priv->exit_ev = proc_event(p, EVENT_EXIT, -1, 0, on_no_process);
	event_active(p->priv->exit_ev, EV_TIMEOUT, 1);
}

static void on_free_now(evutil_socket_t fd, short what, void *arg)
{
	proc_free(arg);
}

/* A kept record goes once its request is answered, on the next turn of
 * the loop: whoever answered may still look at it until then. */
void proc_free_soon(struct proc *p)
{
	proc_event_drop(&p->priv->exit_ev);
	p->priv->exit_ev = proc_event(p, EVENT_EXIT, -1, 0, on_free_now);
	event_active(p->priv->exit_ev, EV_TIMEOUT, 1);
}

/* p was killed or is exiting: makes sure its exit is seen, from its pidfd
 * or else the poll timer. */
void proc_watch_end(struct proc *p)
{
	if (p->pid <= 0 && !p->priv->deferred)
		end_soon(p);
	else if (proc_watch_exit(p) < 0)
		proc_poll_add(p);
}

/* Most often the process is a zombie by the time its channel closed: it
 * is reaped at once, without a pidfd and another turn of the loop. A pid
 * namespace's init that still waits for its namespace is watched. */
void proc_channel_closed(struct proc *p)
{
	siginfo_t si;

	if (p->pid > 0 && !p->priv->deferred && !p->priv->exit_ev && !p->priv->reaped && reap_nohang(p, &si) == 1) {
		proc_ended(p, &si);
		return;
	}
	proc_watch_end(p);
}

int proc_signal(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return -ESRCH;
	return signal_proc(p, sig);
}

/* A node of a tree is its parent's to reap, not the daemon's: how it ended
 * is read without reaping it. -EAGAIN while it cannot be told yet; with no
 * way to tell, it is reported killed. */
static int nonchild_ended(struct proc *p, siginfo_t *si)
{
	int r = p->pidfd >= 0 ? exit_status_of_nonchild(p->pidfd, p->pid, si) : -ENOSYS;

	if (r == 0 || r == -EAGAIN)
		return r;
	memset(si, 0, sizeof(*si));
	si->si_code = CLD_KILLED;
	si->si_status = SIGKILL;
	return 0;
}

/* Ends p if it can be reaped now. */
static void try_reap(struct proc *p)
{
	siginfo_t si;
	int r = reap_nohang(p, &si);

	if (r == 0) {
		/* It said "exited" but cannot be reaped yet (a tracer holds
		 * its exit first): the timer looks again. */
		proc_poll_add(p);
		return;
	}
	if (r < 0) {
		if (r != -ECHILD)
			log_warning("process %llu (pid %d): waitid: %s", (unsigned long long)p->id, p->pid, strerror(-r));
		r = nonchild_ended(p, &si);
		if (r == -EAGAIN) {
			proc_poll_add(p);
			return;
		}
	}
	proc_ended(p, &si);
}

static void on_proc_exit(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;

	/* Settle a pending exec first: a program may exit right after its
	 * exec, before the daemon read the end of the holder channel. With
	 * the exit watched, a closed channel leaves p alone. */
	if (p->control_fd >= 0)
		proc_drain_control(p, ~0u);
	try_reap(p);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p, *next;

	/* Ending a process frees only it, and tells others, who release
	 * processes but free none before the next turn of the loop. */
	for (p = TAILQ_FIRST(&polled); p; p = next) {
		siginfo_t si;
		int r = reap_nohang(p, &si);

		next = TAILQ_NEXT(p, priv->poll_link);
		if (r == 0 || (r < 0 && nonchild_ended(p, &si) == -EAGAIN))
			continue;
		proc_ended(p, &si);
	}
	poll_arm();
}

/* Tells whoever waits or owns p how it ended, and forgets it. */
static void proc_ended(struct proc *p, siginfo_t *si_in)
{
	const siginfo_t si = *si_in;

	/* Whoever is told may release it: there is nothing left to kill. */
	p->priv->reaped = true;
	if (p->waiter) {
		struct why why;

		if (p->priv->start_err)
			why_set(&why, p->priv->start_err, "the daemon could not watch the new process: %s",
				strerror(p->priv->start_err));
		else if (si.si_code == CLD_EXITED)
			why_set(&why, ESRCH, "the process ended (exit status %d) before it was ready", si.si_status);
		else
			why_set(&why, ESRCH, "the process was killed by signal %d (%s) before it was ready",
				si.si_status, strsignal(si.si_status));
		proc_notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
	}
	if (p->owner && (p->state == PROC_RUNNING || p->state == PROC_RESERVED) && !p->priv->setup_failed)
		proc_send_exit_event(p, &si);
	if (p->state == PROC_RUNNING) {
		log_debug("process %llu (pid %d) ended: %s %d", (unsigned long long)p->id, p->pid,
			  si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
		proc_remember_ended(p, &si);
	}
	if (p->priv->group) {
		/* Its request is not answered yet and still names it (a batch
		 * whose other processes are starting): kept, with its pidfd
		 * for the answer, until then. */
		log_debug("process %llu (pid %d) ended before its request was answered", (unsigned long long)p->id, p->pid);
		p->priv->kept = true;
		proc_set_state(p, PROC_RELEASED);
		p->owner = NULL;
		p->waiter = NULL;
		proc_event_drop(&p->priv->ttl_ev);
		proc_poll_remove(p);
		proc_close_control(p);
		proc_event_drop(&p->priv->exit_ev);
		return;
	}
	proc_free(p);
}

/* Kills p and lets go of everything but its PID, which stays held until it
 * is reaped. */
static void release_mark(struct proc *p)
{
	proc_kill(p);
	proc_event_drop(&p->priv->ttl_ev);
	proc_group_leave(p);
	proc_set_state(p, PROC_RELEASED);
	p->owner = NULL;
	p->waiter = NULL;
}

/* Releases p; w, when given, counts it until it is reaped. Its end is seen
 * from whatever already watches it, else from its channel's end (a parked
 * placeholder's, which needs no pidfd), else from its pidfd or the timer. */
static void release(struct proc *p, struct proc_reap_wait *w)
{
	if (p->state != PROC_RELEASED) {
		bool had_process = p->pid > 0;

		release_mark(p);
		if (!had_process) {
			proc_close_control(p);
			end_soon(p);
		} else if (!p->priv->reaped && !p->priv->exit_ev && !p->priv->polled &&
			   !(p->control_fd >= 0 && p->priv->control_ev)) {
			proc_watch_end(p);
		}
	}
	/* One wait per process: another's (a release answered meanwhile)
	 * keeps it. */
	if (w && !p->priv->reap_wait) {
		p->priv->reap_wait = w;
		w->left++;
	}
}

void proc_release(struct proc *p, struct proc_reap_wait *w)
{
	release(p, w);
}

/* The reservation is released; its owner hears of it once the PIDs are
 * free (proc_free). */
static void on_ttl(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;

	if (p->state != PROC_RESERVED)
		return;
	/* Its request is not answered yet (another of its batch is still
	 * starting): it expires right after. */
	if (p->priv->group) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100 * 1000 };

		if (evtimer_add(p->priv->ttl_ev, &tv) == 0)
			return;
	}
	log_info("reservation %llu (pid %d) expired", (unsigned long long)p->id, p->pid);
	p->priv->expired_to = p->owner;
	release(p, NULL);
}

int proc_set_ttl(struct proc *p, unsigned int ttl_sec)
{
	struct timeval tv = { .tv_sec = ttl_sec };

	if (!p->priv->ttl_ev)
		p->priv->ttl_ev = proc_event(p, EVENT_TTL, -1, 0, on_ttl);
	if (!p->priv->ttl_ev || evtimer_add(p->priv->ttl_ev, &tv) < 0)
		return -ENOMEM;
	p->expires_usec = now_usec() + (uint64_t)ttl_sec * 1000000u;
	return 0;
}

/* A wait of the module's own, for callers that keep none: freed once it
 * has told them. */
struct owned_wait {
	struct proc_reap_wait wait;
	proc_reaped_fn fn;
	void *data;
};

static void owned_wait_done(void *arg)
{
	struct owned_wait *o = arg;
	proc_reaped_fn fn = o->fn;
	void *data = o->data;

	free(o);
	fn(data);
}

/* Releases the n processes and calls fn(data) once all are reaped, from
 * their exit events: the daemon goes on serving meanwhile. */
static int release_then(struct proc **ps, size_t n, const struct proc_releaser *by, proc_reaped_fn fn, void *data)
{
	struct owned_wait *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->fn = fn;
	o->data = data;
	proc_reap_wait_init(&o->wait, owned_wait_done, o);
	for (size_t i = 0; i < n; i++) {
		struct proc *p = ps[i];

		/* A parked reservation of another connection: its owner would
		 * otherwise count it until a TTL or a timeout. */
		if (by && p->owner && p->owner != by->conn && p->state == PROC_RESERVED) {
			p->priv->released_to = p->owner;
			p->priv->released_by = *by;
			p->priv->released_by.conn = NULL;
		}
		release(p, &o->wait);
	}
	proc_reap_wait_arm(&o->wait);
	return 0;
}

/* The distinct, unreleased processes among ids, in ps (room for n_ids).
 * One whose request is not answered yet is not released under it. */
static size_t select_ids(const uint64_t *ids, size_t n_ids, struct proc **ps)
{
	size_t n = 0;

	for (size_t i = 0; i < n_ids; i++) {
		struct proc *p = proc_find(ids[i]);
		bool seen = false;

		for (size_t j = 0; j < n && !seen; j++)
			seen = ps[j] == p;
		if (p && p->state != PROC_RELEASED && !p->priv->group && !seen)
			ps[n++] = p;
	}
	return n;
}

/* The parked reservations sel names, up to cap, in ps and their ids in ids
 * (both NULL: only counted). */
static size_t select_reserved(const struct proc_selection *sel, struct proc **ps, uint64_t *ids, size_t cap)
{
	struct proc *p;
	size_t n = 0;

	TAILQ_FOREACH(p, &proc_records, priv->link) {
		if (sel->owner ? p->owner != sel->owner : p->owner_uid != sel->uid)
			continue;
		if (p->state != PROC_RESERVED || p->priv->group || n == cap)
			continue;
		if (ids)
			ids[n] = p->id;
		if (ps)
			ps[n] = p;
		n++;
	}
	return n;
}

size_t proc_count_reserved(const struct proc_selection *sel)
{
	return select_reserved(sel, NULL, NULL, SIZE_MAX);
}

int proc_release_ids_then(const uint64_t *ids, size_t n_ids, const struct proc_releaser *by, size_t *n_released,
			  proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(n_ids ? n_ids : 1, sizeof(*ps));
	size_t n;
	int r;

	if (!ps)
		return -ENOMEM;
	n = select_ids(ids, n_ids, ps);
	*n_released = n;
	r = release_then(ps, n, by, fn, data);
	free(ps);
	return r;
}

int proc_release_reserved_then(const struct proc_selection *sel, const struct proc_releaser *by, uint64_t *ids,
			       size_t cap, size_t *n_released, proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(cap ? cap : 1, sizeof(*ps));
	size_t n;
	int r;

	if (!ps)
		return -ENOMEM;
	n = select_reserved(sel, ps, ids, cap);
	*n_released = n;
	r = release_then(ps, n, by, fn, data);
	free(ps);
	return r;
}

void proc_conn_closed(struct conn *c)
{
	struct proc *p;

	/* release() frees nothing before the next turn of the loop. */
	TAILQ_FOREACH(p, &proc_records, priv->link) {
		if (p->priv->expired_to == c)
			p->priv->expired_to = NULL;
		if (p->priv->released_to == c)
			p->priv->released_to = NULL;
		if (p->owner != c)
			continue;
		proc_group_leave(p);
		p->waiter = NULL;
		if (p->state == PROC_RUNNING || p->state == PROC_EXECING)
			p->owner = NULL; /* keeps running, nobody to tell */
		else
			release(p, NULL);
	}
}

/* ------------------------------------------------------------ stop */

static void stop_done(void)
{
	proc_reaped_fn fn = stopping.fn;

	if (!fn)
		return;
	stopping.fn = NULL;
	if (stopping.deadline) {
		event_free(stopping.deadline);
		stopping.deadline = NULL;
	}
	fn(stopping.data);
}

void proc_stop_check(void)
{
	if (stopping.fn && proc_killed() == 0)
		stop_done();
}

/* A pid namespace's init finishes exiting only once every process of its
 * namespace is reaped, and some may be children of someone else, who does
 * not reap them: the daemon stops without waiting for those. */
static void on_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p;

	TAILQ_FOREACH(p, &proc_records, priv->link)
		if (p->state == PROC_RELEASED)
			log_warning("process %llu (pid %d) was killed but has not finished exiting after %d s (a pid namespace's init waits for processes of its namespace that others must reap); stopping without reaping it",
				    (unsigned long long)p->id, p->pid, STOP_DEADLINE_SEC);
	stop_done();
}

void proc_stop_then(proc_reaped_fn fn, void *data)
{
	struct timeval tv = { .tv_sec = STOP_DEADLINE_SEC };
	struct proc *p;

	if (stopping.fn)
		return;
	TAILQ_FOREACH(p, &proc_records, priv->link)
		if (p->state != PROC_RUNNING && p->state != PROC_RELEASED)
			release(p, NULL);
	stopping.fn = fn;
	stopping.data = data;
	if (proc_killed() == 0) {
		stop_done();
		return;
	}
	stopping.deadline = evtimer_new(exit_base, on_stop_deadline, NULL);
	if (!stopping.deadline || evtimer_add(stopping.deadline, &tv) < 0) {
		log_error("cannot arm the stop deadline: stopping without waiting for the released processes");
		stop_done();
	}
}
int proc_exit_init(struct event_base *base)
{
	exit_base = base;
	poll_ev = evtimer_new(base, on_poll, NULL);
	return poll_ev ? 0 : -ENOMEM;
}

void proc_exit_shutdown(void)
{
	stopping.fn = NULL;
	if (stopping.deadline) {
		event_free(stopping.deadline);
		stopping.deadline = NULL;
	}
	if (poll_ev) {
		event_free(poll_ev);
		poll_ev = NULL;
	}
}
