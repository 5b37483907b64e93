#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
	struct event *exit_ev;       /* on the pidfd; only while a program runs or the process ends */
	struct event *ttl_ev;
	bool setup_failed;           /* the holder reported it could not set up */
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

static void set_state(struct proc *p, enum proc_state state)
{
	int delta = (int)is_outstanding(state) - (int)is_outstanding(p->state);
	int running = (int)is_running(state) - (int)is_running(p->state);

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

int proc_init(struct event_base *base)
{
	proc_base = base;
	event_offset = (sizeof(struct proc_record) + 15) / 16 * 16;
	event_stride = (event_get_struct_event_size() + 15) / 16 * 16;
	slab_pool_init(&proc_pool, event_offset + EVENT_SLOTS * event_stride);
	return 0;
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

/* Released processes whose reaping a request waits for, to answer only once
 * their PIDs are free, without the daemon blocking until they are. */
struct proc_reap_wait {
	size_t left;
	proc_reaped_fn fn;
	void *data;
};

static void reap_wait_done_one(struct proc_reap_wait *w)
{
	if (--w->left > 0)
		return;
	if (w->fn)
		w->fn(w->data);
	free(w);
}

/* ------------------------------------------------------------ exits */

static void on_proc_exit(evutil_socket_t fd, short what, void *arg);

/* Watches the pidfd for the process's exit, opening one when the process
 * parked without it. pidfd_open by PID is safe: the process is this
 * daemon's unreaped child, so its PID cannot have gone to another. */
static int watch_exit(struct proc *p)
{
	if (p->priv->exit_ev)
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
 * names it and nothing else, as a pidfd would. */
static void kill_proc(struct proc *p)
{
	kill(p->pid, SIGKILL);
}

/* Waits until the process has exited and reaps it. */
static int reap(struct proc *p, siginfo_t *si)
{
	int r;

	do
		r = p->pidfd >= 0 ? waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, si, WEXITED | __WALL)
				  : waitid(P_PID, (id_t)p->pid, si, WEXITED | __WALL);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static void proc_free(struct proc *p)
{
	struct proc_reap_wait *w = p->priv->reap_wait;

	group_leave(p);
	set_state(p, PROC_RELEASED);
	TAILQ_REMOVE(&procs, p, priv->link);
	hash_remove(p);
	proc_event_drop(&p->priv->control_ev);
	proc_event_drop(&p->priv->exit_ev);
	proc_event_drop(&p->priv->ttl_ev);
	close_fdp(&p->control_fd);
	close_fdp(&p->pidfd);
	slab_free(&proc_pool, p);
	if (w)
		reap_wait_done_one(w);
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

static void proc_ended(struct proc *p, siginfo_t *si);

/* The holder's channel closed while no exec was under way: the holder is
 * gone or going. Its pidfd tells when it has exited. */
static void holder_gone(struct proc *p)
{
	siginfo_t si = { 0 };

	/* Released, it was killed: the channel closed in its exit, of which
	 * only the last steps are left, so the wait is short. */
	if (p->state != PROC_RELEASED && watch_exit(p) == 0)
		return;
	/* Cannot watch it: it is exiting, so waiting here is short. */
	if (reap(p, &si) < 0) {
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
	}
	proc_ended(p, &si);
}

/* Reads up to max_reports of what the holder said. Once the channel is
 * closed p may have been freed (holder_gone), unless its exit is watched. */
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
	/* By PID, as kill_proc(). */
	return kill(p->pid, sig) < 0 ? -errno : 0;
}

static void on_proc_exit(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	siginfo_t si = { 0 };
	int r;

	/* Settle a pending exec first: a program may exit right after its
	 * exec, before the daemon read the end of the holder channel. With
	 * the exit watched, a closed channel leaves p alone. */
	if (p->control_fd >= 0)
		drain_control(p, ~0u);
	r = reap(p, &si);
	if (r < 0) {
		/* A released process may have been reaped already by whoever
		 * had to answer only once its PIDs were free. */
		if (!(r == -ECHILD && p->state == PROC_RELEASED))
			log_warning("process %llu (pid %d): waitid: %s", (unsigned long long)p->id, p->pid, strerror(-r));
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
	}
	proc_ended(p, &si);
}

/* Tells whoever waits or owns p how it ended, and forgets it. */
static void proc_ended(struct proc *p, siginfo_t *si_in)
{
	const siginfo_t si = *si_in;

	if (p->waiter) {
		struct why why;

		if (si.si_code == CLD_EXITED)
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
	proc_free(p);
}

int proc_start(struct conn *owner, uid_t owner_uid, struct spawn_result *res, struct proc **ret)
{
	struct proc_record *rec = slab_alloc(&proc_pool);
	struct proc *p;

	if (!rec)
		return -ENOMEM;
	p = &rec->proc;
	p->priv = &rec->priv;
	p->id = next_id++;
	p->owner = owner;
	p->owner_uid = owner_uid;
	p->quota_uid = owner ? conn_peer(owner)->responsible_uid : owner_uid;
	p->state = PROC_RELEASED;
	set_state(p, PROC_STARTING);
	p->pid = res->pid;
	p->pidfd = res->pidfd;
	p->control_fd = res->control_fd;
	res->pidfd = res->control_fd = -1;
	p->n_pids = res->n_pids;
	memcpy(p->pids, res->pids, sizeof(p->pids));
	p->pidns_inode = res->pidns_inode;
	p->created_usec = now_usec();
	/* Until it execs, the end of its channel also tells of its exit:
	 * the pidfd is only watched once a program runs or the holder is gone. */
	p->priv->control_ev = proc_event(p, EVENT_CONTROL, p->control_fd, EV_READ | EV_PERSIST, on_control);
	TAILQ_INSERT_TAIL(&procs, p, priv->link);
	p->priv->hash_next = proc_hash[p->id % PROC_HASH_SIZE];
	proc_hash[p->id % PROC_HASH_SIZE] = p;
	if (!p->priv->control_ev || event_add(p->priv->control_ev, NULL) < 0) {
		/* Not watchable: kill it now and reap it synchronously. */
		siginfo_t si;

		kill_proc(p);
		reap(p, &si);
		proc_free(p);
		return -ENOMEM;
	}
	*ret = p;
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

	if (len > 192 * 1024) {
		int size = (int)len * 2;

		setsockopt(p->control_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	}
	r = wire_send(p->control_fd, h, len, fds, n_fds);
	free(h);
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

static void release_now(struct proc *p)
{
	release_mark(p);
	close_control(p);
}

void proc_release(struct proc *p)
{
	siginfo_t si;

	if (p->state == PROC_RELEASED)
		return;
	release_now(p);
	if (watch_exit(p) == 0)
		return;
	/* Cannot watch it: it was killed, so waiting here is short. */
	reap(p, &si);
	proc_free(p);
}

int proc_release_for_reap(struct proc *p)
{
	int fd = -1;

	/* Watched, it keeps a pidfd until it is reaped, released or not. */
	if (watch_exit(p) == 0)
		fd = fcntl(p->pidfd, F_DUPFD_CLOEXEC, 3);
	proc_release(p);
	return fd;
}

void proc_reap_pidfds(int *pidfds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		siginfo_t si;

		if (pidfds[i] < 0)
			continue;
		/* ECHILD: its own exit handler reaped it first. */
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfds[i], &si, WEXITED | __WALL) < 0 && errno == EINTR)
			;
		close(pidfds[i]);
		pidfds[i] = -1;
	}
}

static void on_ttl(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ExpiredEvent ex = PIDRESTORE__EXPIRED_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];
	struct conn *owner = p->owner;

	if (p->state != PROC_RESERVED)
		return;
	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	ex.id = p->id;
	ex.n_pids = p->n_pids;
	ex.pids = pids;
	ev.body_case = PIDRESTORE__EVENT__BODY_EXPIRED;
	ev.expired = &ex;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_EVENT;
	msg.event = &ev;
	log_info("reservation %llu (pid %d) expired", (unsigned long long)p->id, p->pid);
	{
		int pidfd = proc_release_for_reap(p);

		proc_reap_pidfds(&pidfd, 1);
	}
	if (owner)
		conn_send(owner, &msg, NULL, 0);
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

/* Releases each process and returns only once all are reaped: killed
 * first, then waited for, so they die in parallel. */
static void release_and_reap(struct proc **ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		release_now(ps[i]);
	for (size_t i = 0; i < n; i++) {
		siginfo_t si;

		reap(ps[i], &si);
		proc_free(ps[i]);
	}
}

/* Kills each process and calls fn(data) once all are reaped, from the exit
 * events: the daemon goes on serving meanwhile. A process whose exit
 * cannot be watched is reaped here (it was killed, so that is short). */
static void release_then(struct proc **ps, size_t n, proc_reaped_fn fn, void *data)
{
	struct proc_reap_wait *w = calloc(1, sizeof(*w));

	if (!w) {
		release_and_reap(ps, n);
		fn(data);
		return;
	}
	w->fn = fn;
	w->data = data;
	/* Held by this call, so that fn runs once, after every one is in. */
	w->left = 1;
	for (size_t i = 0; i < n; i++) {
		struct proc *p = ps[i];
		/* A parked reservation's channel closes as it exits, which
		 * tells as well as a pidfd would, without opening one. */
		bool by_channel = p->control_fd >= 0 && p->priv->control_ev && !p->priv->exit_ev;

		if (!by_channel && watch_exit(p) < 0) {
			release_and_reap(&p, 1);
			continue;
		}
		if (by_channel)
			release_mark(p);
		else
			release_now(p);
		p->priv->reap_wait = w;
		w->left++;
	}
	reap_wait_done_one(w);
}

/* The distinct, unreleased processes among ids, in ps (room for n_ids). */
static size_t select_ids(const uint64_t *ids, size_t n_ids, struct proc **ps)
{
	size_t n = 0;

	for (size_t i = 0; i < n_ids; i++) {
		struct proc *p = proc_find(ids[i]);
		bool seen = false;

		for (size_t j = 0; j < n && !seen; j++)
			seen = ps[j] == p;
		if (p && p->state != PROC_RELEASED && !seen)
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
		if (p->owner != owner || p->state != PROC_RESERVED || n == cap)
			continue;
		ids[n] = p->id;
		ps[n++] = p;
	}
	return n;
}

size_t proc_release_ids(const uint64_t *ids, size_t n_ids)
{
	struct proc **ps = calloc(n_ids ? n_ids : 1, sizeof(*ps));
	size_t n;

	if (!ps)
		return 0;
	n = select_ids(ids, n_ids, ps);
	release_and_reap(ps, n);
	free(ps);
	return n;
}

int proc_release_ids_then(const uint64_t *ids, size_t n_ids, size_t *n_released, proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(n_ids ? n_ids : 1, sizeof(*ps));

	if (!ps)
		return -ENOMEM;
	*n_released = select_ids(ids, n_ids, ps);
	release_then(ps, *n_released, fn, data);
	free(ps);
	return 0;
}

int proc_release_reserved_of_then(const struct conn *owner, uint64_t *ids, size_t cap, size_t *n_released,
				  proc_reaped_fn fn, void *data)
{
	struct proc **ps = calloc(cap ? cap : 1, sizeof(*ps));

	if (!ps)
		return -ENOMEM;
	*n_released = select_reserved_of(owner, ps, ids, cap);
	release_then(ps, *n_released, fn, data);
	free(ps);
	return 0;
}

void proc_conn_closed(struct conn *c)
{
	struct proc *p, *next;

	/* proc_release() may free p. */
	for (p = TAILQ_FIRST(&procs); p; p = next) {
		next = TAILQ_NEXT(p, priv->link);
		if (p->owner != c)
			continue;
		group_leave(p);
		p->waiter = NULL;
		if (p->state == PROC_RUNNING || p->state == PROC_EXECING)
			p->owner = NULL; /* keeps running, nobody to tell */
		else
			proc_release(p);
	}
}

void proc_shutdown(void)
{
	struct proc *p, *next;

	/* Killed first, reaped after, so that they die in parallel. */
	TAILQ_FOREACH(p, &procs, priv->link)
		if (p->state != PROC_RUNNING && p->state != PROC_RELEASED)
			release_now(p);
	for (p = TAILQ_FIRST(&procs); p; p = next) {
		next = TAILQ_NEXT(p, priv->link);
		if (p->state == PROC_RELEASED) {
			siginfo_t si;

			reap(p, &si);
			proc_free(p);
		}
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
