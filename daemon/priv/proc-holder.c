/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <event2/event.h>

#include "holder-proto.h"
#include "log.h"
#include "proc.h"
#include "proc-internal.h"
#include "spawn.h"
#include "wire.h"

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
	[HOLDER_STEP_SECCOMP] = "installing your seccomp filters",
	[HOLDER_STEP_CGROUP1] = "joining your cgroups in the cgroup v1 hierarchies",
	[HOLDER_STEP_BLOB_MAP] = "mapping the blob at its address",
	[HOLDER_STEP_BLOB_THREADS] = "handing the node's threads to the blob",
};

static const char *step_name(uint32_t step)
{
	if (step < ELEMENTSOF(step_names) && step_names[step])
		return step_names[step];
	return "an unknown step";
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
		if (m->priv->kept)
			proc_free_soon(m);
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

void proc_group_leave(struct proc *p)
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
		proc_free_soon(p);
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

void proc_notify_waiter(struct proc *p, enum proc_report report, const struct why *why)
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

void proc_close_control(struct proc *p)
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
			proc_set_state(p, PROC_RESERVED);
			proc_notify_waiter(p, PROC_SETUP_DONE, &why);
		}
		/* A spawn queued its exec right behind the setup: keep waiting. */
		return;
	case HOLDER_REPORT_SETUP_FAILED:
		p->priv->setup_failed = true;
		if (rep->step == HOLDER_STEP_NPROC && rep->error == EAGAIN)
			why_set(&why, EAGAIN, "uid %u already runs as many processes as the requester's RLIMIT_NPROC allows; a fork of the requester would fail with EAGAIN as well; end some of its processes or release reservations, or raise the limit (ulimit -u)",
				p->owner_uid);
		else if (rep->step == HOLDER_STEP_CGROUP1)
			why_set(&why, rep->error > 0 ? rep->error : EIO,
				"the new process could not join the requester's cgroup in a cgroup v1 hierarchy (%s), and it must never stay in the daemon's: run the requester in cgroups that exist (was it moved since it connected? then connect again)",
				strerror(rep->error));
		else
			why_set(&why, rep->error > 0 ? rep->error : EIO,
				"the new process could not take on the requester's identity: %s failed: %s",
				step_name(rep->step), strerror(rep->error));
		log_warning("process %llu (pid %d): %s", (unsigned long long)p->id, p->pid, why.text);
		proc_notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
		return;
	case HOLDER_REPORT_EXEC_FAILED:
		if (p->state != PROC_EXECING)
			return;
		proc_set_state(p, PROC_RESERVED);
		if (rep->step == HOLDER_STEP_EXEC)
			why_set(&why, rep->error > 0 ? rep->error : EIO, "%s", strerror(rep->error));
		else
			why_set(&why, rep->error > 0 ? rep->error : EIO, "%s failed: %s",
				step_name(rep->step), strerror(rep->error));
		proc_notify_waiter(p, PROC_EXEC_DONE, &why);
		return;
	default:
		log_warning("process %llu (pid %d): unknown report %u from its holder", (unsigned long long)p->id, p->pid, rep->type);
	}
}

/* The holder's channel closed while no exec was under way: the holder is
 * gone or going. The channel closes early in an exit, and a pid namespace's
 * init finishes exiting only once every other process of its namespace is
 * reaped, which may be this daemon's own children: when it cannot be
 * reaped at once, its pidfd tells when it can. */
static void holder_gone(struct proc *p)
{
	proc_channel_closed(p);
}

/* Reads up to max_reports of what the holder said. */
void proc_drain_control(struct proc *p, unsigned int max_reports)
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
			proc_close_control(p);
			if (p->state == PROC_EXECING && !p->priv->setup_failed) {
				struct why ok = { 0 };

				proc_set_state(p, PROC_RUNNING);
				proc_notify_waiter(p, PROC_EXEC_DONE, &ok);
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
void proc_on_control(evutil_socket_t fd, short what, void *arg)
{
	proc_drain_control(arg, 1);
}

/* Cannot be watched: killed now, its waiter told once it is reaped. */
void proc_start_failed(struct proc *p, int err)
{
	p->priv->start_err = err;
	p->priv->setup_failed = true;
	proc_kill(p);
	proc_close_control(p);
	proc_watch_end(p);
}

/* The namespace helper answered, or did not in time. */
void proc_on_helper(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	struct spawn_result res = { .pidfd = -1, .control_fd = -1 };
	struct why why = { 0 };
	int r;

	if (what & EV_TIMEOUT) {
		r = why_set(&why, ETIMEDOUT, "the helper that makes your new pid namespace did not answer within %d s (was it stopped?)",
			    SPAWN_HELPER_DEADLINE_SEC);
		proc_drop_deferred(p);
	} else {
		r = spawn_deferred_finish(p->priv->deferred, &res, &why);
		if (r == -EAGAIN) {
			struct timeval tv = { .tv_sec = SPAWN_HELPER_DEADLINE_SEC };

			if (event_add(p->priv->helper_ev, &tv) == 0)
				return;
			why_set(&why, ENOMEM, "cannot watch the namespace helper");
			proc_drop_deferred(p);
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
		if (p->state == PROC_EXECING && proc_watch_exit(p) < 0)
			proc_poll_add(p);
		return;
	}
	log_info("process %llu: %s", (unsigned long long)p->id, why.text);
	p->priv->setup_failed = true;
	proc_notify_waiter(p, p->state == PROC_EXECING ? PROC_EXEC_DONE : PROC_SETUP_DONE, &why);
	if (p->state != PROC_RELEASED)
		proc_release(p, NULL);
}

void proc_set_waiter(struct proc *p, proc_waiter_fn fn, void *data)
{
	proc_group_leave(p);
	p->waiter = fn;
	p->waiter_data = data;
	if (fn && group_join(p, data) < 0)
		log_warning("process %llu: out of memory: its pidfd stays open while it is parked", (unsigned long long)p->id);
}

bool proc_request_pending(const struct proc *p)
{
	return p->priv->group != NULL;
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

int proc_command(struct proc *p, const void *cmd, size_t len, const int *fds, size_t n_fds, const char *what,
		 struct why *why)
{
	int r;

	if (p->control_fd < 0)
		return why_set(why, ESRCH, "reservation %llu has no holder any more", (unsigned long long)p->id);
	/* Once it execs, only the pidfd tells when the program ends. */
	r = proc_watch_exit(p);
	if (r < 0)
		return why_set(why, -r, "cannot watch process %llu for its exit: %s", (unsigned long long)p->id, strerror(-r));
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
	r = wire_send(p->control_fd, cmd, len, fds, n_fds);
	if (r == -EAGAIN)
		return why_set(why, EAGAIN, "cannot hand %s to process %llu: its channel is full (the process is not reading it: was it stopped?)",
			       what, (unsigned long long)p->id);
	if (r < 0)
		return why_set(why, -r == EPIPE || -r == ECONNRESET ? ESRCH : -r,
			       "cannot hand %s to process %llu: %s", what, (unsigned long long)p->id, strerror(-r));
	proc_set_state(p, PROC_EXECING);
	return 0;
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
	r = proc_command(p, h, len, fds, n_fds, "the program", why);
	free(h);
	return r;
}
