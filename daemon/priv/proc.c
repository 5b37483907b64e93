/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <event2/event.h>

#include "conn.h"
#include "holder-proto.h"
#include "kernel.h"
#include "log.h"
#include "pidrestore.pb-c.h"
#include "proc.h"
#include "quota.h"
#include "slab.h"
#include "spawn.h"
#include "wire.h"

#define PROC_HASH_SIZE 16384

struct proc_private {
	struct event *control_ev;
	/* On the pidfd, only while a program runs or the process ends; or, for
	 * a record with no process, its end on the next turn of the loop. */
	struct event *exit_ev;
	struct event *ttl_ev;
	/* No process yet: a namespace helper makes its pid namespace. Its
	 * answer is watched with the exit event's room (helper_ev). */
	struct spawn_deferred *deferred;
	struct event *helper_ev;
	bool setup_failed;           /* the holder reported it could not set up */
	int start_err;               /* the daemon could not watch it: killed at start */
	bool reaped;                 /* gone: its PID names it no more */
	bool kept;                   /* reaped, kept for its unanswered request */
	bool polled;                 /* its exit is looked for by the poll timer */
	TAILQ_ENTRY(proc) poll_link;
	struct conn *expired_to;     /* its TTL ran out: tell this connection once it is reaped */
	bool counted;                /* its waiter counts in group->waiting */
	struct waiter_group *group;  /* the request that waits on it, until answered */
	struct proc *group_next;
	struct proc_reap_wait *reap_wait; /* someone answers once it is reaped */
	TAILQ_ENTRY(proc) link;
	struct proc *hash_next;
};

/* A request waits on its processes with one waiter_data for all of them and
 * is answered from the report of the last one (proc_set_waiter). Until then
 * its reservations keep their pidfds, for the answer to carry; after it a
 * parked reservation keeps only its holder channel, whose end of stream
 * tells of its exit: one fd per reservation, not two, so the daemon's fd
 * limit (often 2^14 or 2^15 without CAP_SYS_RESOURCE to raise it) bounds
 * reservations at about that many. */
struct waiter_group {
	void *data;
	unsigned int waiting;
	struct proc *members;
	struct waiter_group *next;
};

#define GROUP_HASH_SIZE 64
static struct waiter_group *groups[GROUP_HASH_SIZE];

static TAILQ_HEAD(, proc) procs = TAILQ_HEAD_INITIALIZER(procs);
static struct proc *proc_hash[PROC_HASH_SIZE];
static struct event_base *proc_base;
static uint64_t next_id = 1;
static unsigned int n_outstanding;
static unsigned int n_killed;        /* released, not reaped yet */

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

/* Outstanding reservations are counted as they change state, so limits are
 * checked in constant time however many there are. */
static bool is_outstanding(enum proc_state state)
{
	return state == PROC_STARTING || state == PROC_RESERVED;
}

static bool is_running(enum proc_state state)
{
	return state == PROC_EXECING || state == PROC_RUNNING;
}

/* What p's state counts on its owner: +1 or -1. */
static void count_on_owner(struct proc *p, int sign)
{
	if (!p->owner)
		return;
	if (is_running(p->state))
		conn_add_running(p->owner, sign);
	if (is_outstanding(p->state))
		conn_add_reservations(p->owner, sign);
}

void proc_set_owner(struct proc *p, struct conn *owner)
{
	if (p->owner == owner)
		return;
	count_on_owner(p, -1);
	p->owner = owner;
	count_on_owner(p, +1);
}

static void set_state(struct proc *p, enum proc_state state)
{
	int delta = (int)is_outstanding(state) - (int)is_outstanding(p->state);
	int running = (int)is_running(state) - (int)is_running(p->state);

	n_killed += (state == PROC_RELEASED) - (p->state == PROC_RELEASED);
	p->state = state;
	if (p->owner && running != 0)
		conn_add_running(p->owner, running);
	if (delta == 0)
		return;
	n_outstanding = (unsigned int)((int)n_outstanding + delta);
	if (p->owner)
		conn_add_reservations(p->owner, delta);
	quota_add_outstanding(p->quota_uid, delta);
}

unsigned int proc_outstanding(void)
{
	return n_outstanding;
}

static const char *const step_names[] = {
	[HOLDER_STEP_NONE] = "start",
	[HOLDER_STEP_PROTOCOL] = "reading its setup",
	[HOLDER_STEP_SETSID] = "setsid",
	[HOLDER_STEP_OOM_SCORE_ADJ] = "setting oom_score_adj",
	[HOLDER_STEP_RLIMIT] = "setting resource limits",
	[HOLDER_STEP_SCHED] = "setting your scheduling policy and nice value",
	[HOLDER_STEP_AFFINITY] = "setting your CPU affinity",
	[HOLDER_STEP_IOPRIO] = "setting your I/O priority",
	[HOLDER_STEP_PERSONALITY] = "setting your personality (execution domain)",
	[HOLDER_STEP_BOUNDING_SET] = "dropping the capability bounding set",
	[HOLDER_STEP_GROUPS] = "setting supplementary groups",
	[HOLDER_STEP_SETNS_MNT] = "joining your mount namespace",
	[HOLDER_STEP_SETNS_NET] = "joining your network namespace",
	[HOLDER_STEP_SETNS_IPC] = "joining your IPC namespace",
	[HOLDER_STEP_SETNS_UTS] = "joining your UTS namespace",
	[HOLDER_STEP_SETNS_CGROUP] = "joining your cgroup namespace",
	[HOLDER_STEP_SETNS_TIME] = "joining your time namespace",
	[HOLDER_STEP_CHROOT] = "entering your root directory",
	[HOLDER_STEP_SETNS_USER] = "joining your user namespace",
	[HOLDER_STEP_GID] = "taking your gid",
	[HOLDER_STEP_UID] = "taking your uid",
	[HOLDER_STEP_CAPS] = "setting your capabilities",
	[HOLDER_STEP_AMBIENT] = "setting your ambient capabilities",
	[HOLDER_STEP_NO_NEW_PRIVS] = "setting no_new_privs",
	[HOLDER_STEP_EXEC_FDS] = "installing the fd map",
	[HOLDER_STEP_CWD] = "changing to the working directory",
	[HOLDER_STEP_EXEC] = "executing the program",
	[HOLDER_STEP_NEW_PIDNS] = "creating the new pid namespace",
	[HOLDER_STEP_NPROC] = "counting against your RLIMIT_NPROC",
};

static const char *step_name(uint32_t step)
{
	if (step < ELEMENTSOF(step_names) && step_names[step])
		return step_names[step];
	return "an unknown step";
}

/* A process's record: struct proc, its private part and room for its three
 * events (event_assign), one allocation from the pool. */
enum { EVENT_CONTROL, EVENT_EXIT, EVENT_TTL, EVENT_SLOTS };

struct proc_record {
	struct proc proc;
	struct proc_private priv;
};

static struct slab_pool proc_pool;
static size_t event_offset, event_stride;

static void on_poll(evutil_socket_t fd, short what, void *arg);

int proc_init(struct event_base *base)
{
	proc_base = base;
	event_offset = (sizeof(struct proc_record) + 15) / 16 * 16;
	event_stride = (event_get_struct_event_size() + 15) / 16 * 16;
	slab_pool_init(&proc_pool, event_offset + EVENT_SLOTS * event_stride);
	poll_ev = evtimer_new(base, on_poll, NULL);
	return poll_ev ? 0 : -ENOMEM;
}

/* Watches fd (or a timer, fd -1) with one of p's event slots. Returns the
 * event, not yet added, or NULL. */
static struct event *proc_event(struct proc *p, int slot, evutil_socket_t fd, short what, event_callback_fn fn)
{
	struct event *ev = (struct event *)((char *)p + event_offset + (size_t)slot * event_stride);

	return event_assign(ev, proc_base, fd, what, fn, p) == 0 ? ev : NULL;
}

static void proc_event_drop(struct event **ev)
{
	if (*ev) {
		event_del(*ev);
		*ev = NULL;
	}
}

struct proc *proc_find(uint64_t id)
{
	for (struct proc *p = proc_hash[id % PROC_HASH_SIZE]; p; p = p->priv->hash_next)
		if (p->id == id)
			return p;
	return NULL;
}

static void hash_remove(struct proc *p)
{
	struct proc **pp = &proc_hash[p->id % PROC_HASH_SIZE];

	while (*pp && *pp != p)
		pp = &(*pp)->priv->hash_next;
	if (*pp)
		*pp = p->priv->hash_next;
}

/* ------------------------------------------------------------ waiter groups */

static void free_soon(struct proc *p);

static struct waiter_group **group_slot(void *data)
{
	struct waiter_group **g = &groups[((uintptr_t)data >> 4) % GROUP_HASH_SIZE];

	while (*g && (*g)->data != data)
		g = &(*g)->next;
	return g;
}

/* The request is answered (or gone): its parked reservations drop their
 * pidfds. */
static void group_finish(struct waiter_group **slot)
{
	struct waiter_group *g = *slot;

	*slot = g->next;
	for (struct proc *m = g->members, *next; m; m = next) {
		next = m->priv->group_next;
		m->priv->group = NULL;
		m->priv->group_next = NULL;
		if (m->priv->kept)
			free_soon(m);
		/* Still connected to its holder: the channel will tell. */
		if (m->state == PROC_RESERVED && m->control_fd >= 0) {
			proc_event_drop(&m->priv->exit_ev);
			close_fdp(&m->pidfd);
		}
	}
	free(g);
}

static void group_settle(void *data)
{
	struct waiter_group **slot = group_slot(data);

	if (*slot && (*slot)->waiting == 0)
		group_finish(slot);
}

/* p no longer waits: it reported, or its wait was called off. */
static void group_uncount(struct proc *p)
{
	if (p->priv->counted && p->priv->group)
		p->priv->group->waiting--;
	p->priv->counted = false;
}

static void group_leave(struct proc *p)
{
	struct waiter_group *g = p->priv->group;
	struct proc **m;

	if (!g)
		return;
	group_uncount(p);
	for (m = &g->members; *m && *m != p; m = &(*m)->priv->group_next)
		;
	if (*m)
		*m = p->priv->group_next;
	p->priv->group = NULL;
	p->priv->group_next = NULL;
	if (p->priv->kept)
		free_soon(p);
	group_settle(g->data);
}

static int group_join(struct proc *p, void *data)
{
	struct waiter_group **slot = group_slot(data);
	struct waiter_group *g = *slot;

	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		g->data = data;
		*slot = g;
	}
	p->priv->group = g;
	p->priv->group_next = g->members;
	g->members = p;
	g->waiting++;
	p->priv->counted = true;
	return 0;
}

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

static void reap_wait_done_one(struct proc_reap_wait *w)
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
static int watch_exit(struct proc *p)
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

/* By PID: every process here is this daemon's unreaped child, so its PID
 * names it and nothing else, as a pidfd would. A record still waiting for
 * its namespace has no process: its helper is let go instead. */
static void drop_deferred(struct proc *p)
{
	if (!p->priv->deferred)
		return;
	proc_event_drop(&p->priv->helper_ev);
	spawn_deferred_cancel(p->priv->deferred);
	p->priv->deferred = NULL;
}

static void kill_proc(struct proc *p)
{
	drop_deferred(p);
	if (p->pid > 0 && !p->priv->reaped)
		kill(p->pid, SIGKILL);
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
static void poll_add(struct proc *p)
{
	if (p->priv->polled)
		return;
	p->priv->polled = true;
	TAILQ_INSERT_TAIL(&polled, p, priv->poll_link);
	poll_arm();
}

static void poll_remove(struct proc *p)
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

static void proc_free(struct proc *p);

static void on_free_now(evutil_socket_t fd, short what, void *arg)
{
	proc_free(arg);
}

/* A kept record goes once its request is answered, on the next turn of
 * the loop: whoever answered may still look at it until then. */
static void free_soon(struct proc *p)
{
	proc_event_drop(&p->priv->exit_ev);
	p->priv->exit_ev = proc_event(p, EVENT_EXIT, -1, 0, on_free_now);
	event_active(p->priv->exit_ev, EV_TIMEOUT, 1);
}

/* p was killed or is exiting: makes sure its exit is seen, from its pidfd
 * or else the poll timer. */
static void watch_end(struct proc *p)
{
	if (p->pid <= 0 && !p->priv->deferred)
		end_soon(p);
	else if (watch_exit(p) < 0)
		poll_add(p);
}

static void send_expired_event(struct proc *p, struct conn *to);

static void stop_check(void);

static void proc_free(struct proc *p)
{
	struct proc_reap_wait *w = p->priv->reap_wait;

	if (p->priv->expired_to)
		send_expired_event(p, p->priv->expired_to);
	group_leave(p);
	set_state(p, PROC_RELEASED);
	n_killed--;
	TAILQ_REMOVE(&procs, p, priv->link);
	hash_remove(p);
	poll_remove(p);
	drop_deferred(p);
	proc_event_drop(&p->priv->control_ev);
	proc_event_drop(&p->priv->exit_ev);
	proc_event_drop(&p->priv->ttl_ev);
	close_fdp(&p->control_fd);
	close_fdp(&p->pidfd);
	peer_context_unref(p->reserver);
	slab_free(&proc_pool, p);
	if (w)
		reap_wait_done_one(w);
	stop_check();
}

static void notify_waiter(struct proc *p, enum proc_report report, const struct why *why)
{
	proc_waiter_fn fn = p->waiter;
	void *data = p->waiter_data;

	if (!fn)
		return;
	/* One report ends the wait; the waiter may set a new one. */
	p->waiter = NULL;
	group_uncount(p);
	fn(p, report, why, data);
	/* The request has answered if this was the last process it waited on. */
	group_settle(data);
}

static void close_control(struct proc *p)
{
	proc_event_drop(&p->priv->control_ev);
	close_fdp(&p->control_fd);
}

static void handle_report(struct proc *p, const struct holder_report *rep)
{
	struct why why = { 0 };

	switch (rep->type) {
	case HOLDER_REPORT_READY:
		if (p->state == PROC_STARTING) {
			set_state(p, PROC_RESERVED);
			notify_waiter(p, PROC_SETUP_DONE, &why);
		}
		/* A spawn queued its exec right behind the setup: keep waiting. */
		return;
	case HOLDER_REPORT_SETUP_FAILED:
		p->priv->setup_failed = true;
		if (rep->step == HOLDER_STEP_NPROC && rep->error == EAGAIN)
			why_set(&why, EAGAIN, "uid %u already runs as many processes as the requester's RLIMIT_NPROC allows; a fork of the requester would fail with EAGAIN as well; end some of its processes or release reservations, or raise the limit (ulimit -u)",
				p->owner_uid);
		else
			why_set(&why, rep->error > 0 ? rep->error : EIO,
				"the new process could not take on the requester's identity: %s failed: %s",
				step_name(rep->step), strerror(rep->error));
		log_warning("process %llu (pid %d): %s", (unsigned long long)p->id, p->pid, why.text);
		notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
		return;
	case HOLDER_REPORT_EXEC_FAILED:
		if (p->state != PROC_EXECING)
			return;
		set_state(p, PROC_RESERVED);
		if (rep->step == HOLDER_STEP_EXEC)
			why_set(&why, rep->error > 0 ? rep->error : EIO, "%s", strerror(rep->error));
		else
			why_set(&why, rep->error > 0 ? rep->error : EIO, "%s failed: %s",
				step_name(rep->step), strerror(rep->error));
		notify_waiter(p, PROC_EXEC_DONE, &why);
		return;
	default:
		log_warning("process %llu (pid %d): unknown report %u from its holder", (unsigned long long)p->id, p->pid, rep->type);
	}
}

/* The holder's channel closed while no exec was under way: the holder is
 * gone or going. The channel closes early in an exit, and a pid namespace's
 * init finishes exiting only once every other process of its namespace is
 * reaped, which may be this daemon's own children: only its pidfd tells
 * when it can be reaped. */
static void holder_gone(struct proc *p)
{
	watch_end(p);
}

/* Reads up to max_reports of what the holder said. */
static void drain_control(struct proc *p, unsigned int max_reports)
{
	for (unsigned int i = 0; i < max_reports && p->control_fd >= 0; i++) {
		struct holder_report rep;
		ssize_t n = recv(p->control_fd, &rep, sizeof(rep), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* End of stream: a successful exec closed the holder's
			 * close-on-exec end; otherwise the holder is gone. */
			close_control(p);
			if (p->state == PROC_EXECING && !p->priv->setup_failed) {
				struct why ok = { 0 };

				set_state(p, PROC_RUNNING);
				notify_waiter(p, PROC_EXEC_DONE, &ok);
			} else {
				holder_gone(p);
			}
			return;
		}
		if ((size_t)n != sizeof(rep)) {
			log_warning("process %llu: short report (%zd bytes) from its holder", (unsigned long long)p->id, n);
			continue;
		}
		handle_report(p, &rep);
	}
}

/* One report per wakeup: a holder says one thing and waits, and a second
 * read would come back empty; anything more wakes the loop again. */
static void on_control(evutil_socket_t fd, short what, void *arg)
{
	drain_control(arg, 1);
}

static void send_exit_event(struct proc *p, const siginfo_t *si)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ExitEvent ex = PIDRESTORE__EXIT_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];

	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	ex.id = p->id;
	ex.n_pids = p->n_pids;
	ex.pids = pids;
	if (si->si_code == CLD_EXITED) {
		ex.has_exit_code = 1;
		ex.exit_code = si->si_status;
	} else {
		ex.has_signal = 1;
		ex.signal = si->si_status;
		ex.has_core_dumped = 1;
		ex.core_dumped = si->si_code == CLD_DUMPED;
	}
	ev.body_case = PIDRESTORE__EVENT__BODY_EXITED;
	ev.exited = &ex;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	conn_send(p->owner, &msg, NULL, 0);
}

/* Programs that ended, for `list --all`: a ring of the last few. */
static struct proc_summary ended_ring[PROC_ENDED_KEPT];
static size_t ended_next, ended_count;

static void summarize(const struct proc *p, struct proc_summary *s)
{
	*s = (struct proc_summary){
		.id = p->id,
		.owner_uid = p->owner_uid,
		.owner_connected = p->owner != NULL,
		.state = p->state,
		.n_pids = p->n_pids,
		.pidns_inode = p->pidns_inode,
		.created_usec = p->created_usec,
		.expires_usec = p->expires_usec,
	};
	memcpy(s->pids, p->pids, p->n_pids * sizeof(*p->pids));
}

static void remember_ended(const struct proc *p, const siginfo_t *si)
{
	struct proc_summary *s = &ended_ring[ended_next];

	summarize(p, s);
	s->ended = true;
	s->owner_connected = false;
	s->expires_usec = 0;
	s->ended_usec = now_usec();
	s->exit_code = si->si_code == CLD_EXITED ? si->si_status : -1;
	s->signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
	ended_next = (ended_next + 1) % PROC_ENDED_KEPT;
	if (ended_count < PROC_ENDED_KEPT)
		ended_count++;
}

void proc_foreach(bool ended, void (*fn)(const struct proc_summary *s, void *data), void *data)
{
	struct proc_summary s;
	struct proc *p;

	TAILQ_FOREACH(p, &procs, priv->link) {
		summarize(p, &s);
		fn(&s, data);
	}
	if (!ended)
		return;
	for (size_t i = 0; i < ended_count; i++)
		fn(&ended_ring[(ended_next + PROC_ENDED_KEPT - ended_count + i) % PROC_ENDED_KEPT], data);
}

int proc_signal(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return -ESRCH;
	/* By PID, as kill_proc(). */
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

/* Ends p if it can be reaped now. */
static void try_reap(struct proc *p)
{
	siginfo_t si;
	int r = reap_nohang(p, &si);

	if (r == 0) {
		/* It said "exited" but cannot be reaped yet (a tracer holds
		 * its exit first): the timer looks again. */
		poll_add(p);
		return;
	}
	if (r < 0) {
		log_warning("process %llu (pid %d): waitid: %s", (unsigned long long)p->id, p->pid, strerror(-r));
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
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
		drain_control(p, ~0u);
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
		if (r == 0)
			continue;
		if (r < 0) {
			si.si_code = CLD_KILLED;
			si.si_status = SIGKILL;
		}
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
		notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
	}
	if (p->owner && (p->state == PROC_RUNNING || p->state == PROC_RESERVED) && !p->priv->setup_failed)
		send_exit_event(p, &si);
	if (p->state == PROC_RUNNING) {
		log_debug("process %llu (pid %d) ended: %s %d", (unsigned long long)p->id, p->pid,
			  si.si_code == CLD_EXITED ? "exit status" : "signal", si.si_status);
		remember_ended(p, &si);
	}
	if (p->priv->group) {
		/* Its request is not answered yet and still names it (a batch
		 * whose other processes are starting): kept, with its pidfd
		 * for the answer, until then. */
		log_debug("process %llu (pid %d) ended before its request was answered", (unsigned long long)p->id, p->pid);
		p->priv->kept = true;
		set_state(p, PROC_RELEASED);
		p->owner = NULL;
		p->waiter = NULL;
		proc_event_drop(&p->priv->ttl_ev);
		poll_remove(p);
		close_control(p);
		proc_event_drop(&p->priv->exit_ev);
		return;
	}
	proc_free(p);
}

static void release(struct proc *p, struct proc_reap_wait *w);

/* Cannot be watched: killed now, its waiter told once it is reaped. */
static void start_failed(struct proc *p, int err)
{
	p->priv->start_err = err;
	p->priv->setup_failed = true;
	kill_proc(p);
	close_control(p);
	watch_end(p);
}

/* The namespace helper answered, or did not in time. */
static void on_helper(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	struct spawn_result res = { .pidfd = -1, .control_fd = -1 };
	struct why why = { 0 };
	int r;

	if (what & EV_TIMEOUT) {
		r = why_set(&why, ETIMEDOUT, "the helper that makes your new pid namespace did not answer within %d s (was it stopped?)",
			    SPAWN_HELPER_DEADLINE_SEC);
		drop_deferred(p);
	} else {
		r = spawn_deferred_finish(p->priv->deferred, &res, &why);
		if (r == -EAGAIN) {
			struct timeval tv = { .tv_sec = SPAWN_HELPER_DEADLINE_SEC };

			if (event_add(p->priv->helper_ev, &tv) == 0)
				return;
			why_set(&why, ENOMEM, "cannot watch the namespace helper");
			drop_deferred(p);
		} else {
			/* Freed by spawn_deferred_finish(). */
			p->priv->deferred = NULL;
			p->priv->helper_ev = NULL;
		}
	}
	if (r == 0) {
		p->pid = res.pid;
		p->pidfd = res.pidfd;
		p->n_pids = res.n_pids;
		memcpy(p->pids, res.pids, sizeof(p->pids));
		p->pidns_inode = res.pidns_inode;
		log_debug("process %llu: pid %d, in its new pid namespace pid:[%llu]", (unsigned long long)p->id, p->pid,
			  (unsigned long long)p->pidns_inode);
		/* A spawn's exec is queued already: its program's end must be
		 * seen. */
		if (p->state == PROC_EXECING && watch_exit(p) < 0)
			poll_add(p);
		return;
	}
	log_info("process %llu: %s", (unsigned long long)p->id, why.text);
	p->priv->setup_failed = true;
	notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
	if (p->state != PROC_RELEASED)
		release(p, NULL);
}

int proc_start(struct conn *owner, uid_t owner_uid, struct spawn_result *res, struct proc **ret)
{
	struct proc_record *rec = slab_alloc(&proc_pool);
	struct proc *p;

	if (!rec) {
		/* Nothing can watch it: killed, and a zombie until the daemon
		 * exits, rather than waited for. */
		spawn_deferred_cancel(res->deferred);
		res->deferred = NULL;
		if (res->pid > 0) {
			kill(res->pid, SIGKILL);
			log_error("out of memory: process %d is killed and stays a zombie until the daemon exits", res->pid);
		}
		close_fdp(&res->pidfd);
		close_fdp(&res->control_fd);
		return -ENOMEM;
	}
	p = &rec->proc;
	p->priv = &rec->priv;
	p->id = next_id++;
	p->owner = owner;
	p->owner_uid = owner_uid;
	p->reserver = peer_context_ref(conn_peer(owner));
	/* A new record counts as released until it starts (set_state). */
	p->quota_uid = owner ? conn_peer(owner)->responsible_uid : owner_uid;
	p->state = PROC_RELEASED;
	n_killed++;
	set_state(p, PROC_STARTING);
	p->pid = res->pid;
	p->pidfd = res->pidfd;
	p->control_fd = res->control_fd;
	res->pidfd = res->control_fd = -1;
	p->n_pids = res->n_pids;
	memcpy(p->pids, res->pids, sizeof(p->pids));
	p->pidns_inode = res->pidns_inode;
	p->priv->deferred = res->deferred;
	res->deferred = NULL;
	p->created_usec = now_usec();
	/* Until it execs, the end of its channel also tells of its exit:
	 * the pidfd is only watched once a program runs or the holder is gone. */
	p->priv->control_ev = proc_event(p, EVENT_CONTROL, p->control_fd, EV_READ | EV_PERSIST, on_control);
	TAILQ_INSERT_TAIL(&procs, p, priv->link);
	p->priv->hash_next = proc_hash[p->id % PROC_HASH_SIZE];
	proc_hash[p->id % PROC_HASH_SIZE] = p;
	*ret = p;
	if (!p->priv->control_ev || event_add(p->priv->control_ev, NULL) < 0) {
		p->priv->control_ev = NULL;
		start_failed(p, ENOMEM);
		return 0;
	}
	if (p->priv->deferred) {
		struct timeval tv = { .tv_sec = SPAWN_HELPER_DEADLINE_SEC };

		p->priv->helper_ev = proc_event(p, EVENT_EXIT, spawn_deferred_fd(p->priv->deferred), EV_READ, on_helper);
		if (!p->priv->helper_ev || event_add(p->priv->helper_ev, &tv) < 0) {
			p->priv->helper_ev = NULL;
			start_failed(p, ENOMEM);
		}
	}
	return 0;
}

void proc_set_waiter(struct proc *p, proc_waiter_fn fn, void *data)
{
	group_leave(p);
	p->waiter = fn;
	p->waiter_data = data;
	if (fn && group_join(p, data) < 0)
		log_warning("process %llu: out of memory: its pidfd stays open while it is parked", (unsigned long long)p->id);
}

static size_t strings_size(const ProtobufCBinaryData *v, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += v[i].len + 1;
	return len;
}

static uint8_t *put_strings(uint8_t *at, const ProtobufCBinaryData *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* An empty string comes unpacked with data NULL, which memcpy
		 * may not be given even for a length of 0. */
		if (v[i].len > 0)
			memcpy(at, v[i].data, v[i].len);
		at += v[i].len;
		*at++ = '\0';
	}
	return at;
}

int proc_exec(struct proc *p, const struct exec_cmd *cmd, struct why *why)
{
	size_t strings = strings_size(cmd->argv, cmd->argc) + strings_size(cmd->envp, cmd->envc);
	size_t len = sizeof(struct holder_exec) + cmd->n_fds * sizeof(int32_t) + cmd->path_len + strings;
	int fds[WIRE_MAX_FDS];
	size_t n_fds = 0;
	struct holder_exec *h;
	uint8_t *at;
	int r;

	if (p->control_fd < 0)
		return why_set(why, ESRCH, "reservation %llu has no holder any more", (unsigned long long)p->id);
	if (cmd->n_fds + 2 > WIRE_MAX_FDS)
		return why_set(why, EINVAL, "too many fds to map (%zu; at most %d)", cmd->n_fds, WIRE_MAX_FDS - 2);
	/* Once it execs, only the pidfd tells when the program ends. */
	r = watch_exit(p);
	if (r < 0)
		return why_set(why, -r, "cannot watch process %llu for its exit: %s", (unsigned long long)p->id, strerror(-r));
	h = calloc(1, len);
	if (!h)
		return why_set(why, ENOMEM, "out of memory");
	h->type = HOLDER_CMD_EXEC;
	h->n_fds = (uint32_t)cmd->n_fds;
	h->argc = (uint32_t)cmd->argc;
	h->envc = (uint32_t)cmd->envc;
	h->path_len = (uint32_t)cmd->path_len;
	h->strings_len = (uint32_t)strings;
	if (cmd->program_fd >= 0) {
		h->flags |= HOLDER_EXEC_PROGRAM_FD;
		fds[n_fds++] = cmd->program_fd;
	}
	if (cmd->cwd_fd >= 0) {
		h->flags |= HOLDER_EXEC_CWD_FD;
		fds[n_fds++] = cmd->cwd_fd;
	}
	at = (uint8_t *)(h + 1);
	for (size_t i = 0; i < cmd->n_fds; i++) {
		int32_t t = cmd->targets[i];

		memcpy(at, &t, sizeof(t));
		at += sizeof(t);
		fds[n_fds++] = cmd->fds[i];
	}
	if (cmd->path_len) {
		memcpy(at, cmd->path, cmd->path_len);
		at += cmd->path_len;
	}
	at = put_strings(at, cmd->argv, cmd->argc);
	put_strings(at, cmd->envp, cmd->envc);

	/* The channel never blocks (the holder runs as the requester, who may
	 * stop it): room for this command behind what the holder has not read
	 * yet (its setup, while a namespace helper still works). */
	{
		int queued = 0;

		if (ioctl(p->control_fd, SIOCOUTQ, &queued) < 0 || queued < 0)
			queued = 0;
		if ((size_t)queued + len > 128 * 1024) {
			int size = (int)((size_t)queued + len + 64 * 1024);

			setsockopt(p->control_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
		}
	}
	r = wire_send(p->control_fd, h, len, fds, n_fds);
	free(h);
	if (r == -EAGAIN)
		return why_set(why, EAGAIN, "cannot hand the program to process %llu: its channel is full (the process is not reading it: was it stopped?)",
			       (unsigned long long)p->id);
	if (r < 0)
		return why_set(why, -r == EPIPE || -r == ECONNRESET ? ESRCH : -r,
			       "cannot hand the program to process %llu: %s", (unsigned long long)p->id, strerror(-r));
	set_state(p, PROC_EXECING);
	return 0;
}

/* Kills p and lets go of everything but its PID, which stays held until it
 * is reaped. */
static void release_mark(struct proc *p)
{
	kill_proc(p);
	proc_event_drop(&p->priv->ttl_ev);
	group_leave(p);
	set_state(p, PROC_RELEASED);
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
			close_control(p);
			end_soon(p);
		} else if (!p->priv->reaped && !p->priv->exit_ev && !p->priv->polled &&
			   !(p->control_fd >= 0 && p->priv->control_ev)) {
			watch_end(p);
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

bool proc_request_pending(const struct proc *p)
{
	return p->priv->group != NULL;
}

static void send_expired_event(struct proc *p, struct conn *to)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ExpiredEvent ex = PIDRESTORE__EXPIRED_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];

	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	ex.id = p->id;
	ex.n_pids = p->n_pids;
	ex.pids = pids;
	ev.body_case = PIDRESTORE__EVENT__BODY_EXPIRED;
	ev.expired = &ex;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	conn_send(to, &msg, NULL, 0);
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
static int release_then(struct proc **ps, size_t n, proc_reaped_fn fn, void *data)
{
	struct owned_wait *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->fn = fn;
	o->data = data;
	proc_reap_wait_init(&o->wait, owned_wait_done, o);
	for (size_t i = 0; i < n; i++)
		release(ps[i], &o->wait);
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

/* owner's parked reservations, up to cap, in ps and their ids in ids. */
static size_t select_reserved_of(const struct conn *owner, struct proc **ps, uint64_t *ids, size_t cap)
{
	struct proc *p;
	size_t n = 0;

	TAILQ_FOREACH(p, &procs, priv->link) {
		if (p->owner != owner || p->state != PROC_RESERVED || p->priv->group || n == cap)
			continue;
		ids[n] = p->id;
		ps[n++] = p;
	}
	return n;
}

int proc_release_ids_then(const uint64_t *ids, size_t n_ids, size_t *n_released, proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(n_ids ? n_ids : 1, sizeof(*ps));
	size_t n;
	int r;

	if (!ps)
		return -ENOMEM;
	n = select_ids(ids, n_ids, ps);
	*n_released = n;
	r = release_then(ps, n, fn, data);
	free(ps);
	return r;
}

int proc_release_reserved_of_then(const struct conn *owner, uint64_t *ids, size_t cap, size_t *n_released,
				  proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(cap ? cap : 1, sizeof(*ps));
	size_t n;
	int r;

	if (!ps)
		return -ENOMEM;
	n = select_reserved_of(owner, ps, ids, cap);
	*n_released = n;
	r = release_then(ps, n, fn, data);
	free(ps);
	return r;
}

void proc_conn_closed(struct conn *c)
{
	struct proc *p;

	/* release() frees nothing before the next turn of the loop. */
	TAILQ_FOREACH(p, &procs, priv->link) {
		if (p->priv->expired_to == c)
			p->priv->expired_to = NULL;
		if (p->owner != c)
			continue;
		group_leave(p);
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

static void stop_check(void)
{
	if (stopping.fn && n_killed == 0)
		stop_done();
}

/* A pid namespace's init finishes exiting only once every process of its
 * namespace is reaped, and some may be children of someone else, who does
 * not reap them: the daemon stops without waiting for those. */
static void on_stop_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p;

	TAILQ_FOREACH(p, &procs, priv->link)
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
	TAILQ_FOREACH(p, &procs, priv->link)
		if (p->state != PROC_RUNNING && p->state != PROC_RELEASED)
			release(p, NULL);
	stopping.fn = fn;
	stopping.data = data;
	if (n_killed == 0) {
		stop_done();
		return;
	}
	stopping.deadline = evtimer_new(proc_base, on_stop_deadline, NULL);
	if (!stopping.deadline || evtimer_add(stopping.deadline, &tv) < 0) {
		log_error("cannot arm the stop deadline: stopping without waiting for the released processes");
		stop_done();
	}
}

void proc_shutdown(void)
{
	struct proc *p;

	stopping.fn = NULL;
	if (stopping.deadline) {
		event_free(stopping.deadline);
		stopping.deadline = NULL;
	}
	/* Nothing is waited for: a placeholder left is killed (and notices
	 * its daemon is gone anyway), a program left keeps running. */
	while ((p = TAILQ_FIRST(&procs))) {
		if (p->state != PROC_RUNNING)
			kill_proc(p);
		p->priv->reaped = true;
		proc_free(p);
	}
	if (poll_ev) {
		event_free(poll_ev);
		poll_ev = NULL;
	}
	slab_pool_release(&proc_pool);
}

void proc_count(const struct conn *owner, struct proc_counts *ret)
{
	struct proc *p;

	memset(ret, 0, sizeof(*ret));
	TAILQ_FOREACH(p, &procs, priv->link) {
		if (owner && p->owner != owner)
			continue;
		switch (p->state) {
		case PROC_STARTING:
			ret->starting++;
			break;
		case PROC_RESERVED:
			ret->reserved++;
			break;
		case PROC_EXECING:
		case PROC_RUNNING:
			ret->running++;
			break;
		case PROC_RELEASED:
			break;
		}
	}
}
