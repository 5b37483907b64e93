/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "seccomp-copy.h"
#include "conn.h"
#include "log.h"
#include "proc.h"
#include "proc-internal.h"
#include "quota.h"
#include "slab.h"
#include "spawn.h"

#define PROC_HASH_SIZE 16384

struct proc_list proc_records = TAILQ_HEAD_INITIALIZER(proc_records);
static struct proc *proc_hash[PROC_HASH_SIZE];
static struct event_base *proc_base;
static uint64_t next_id = 1;
static unsigned int n_outstanding;
static unsigned int n_killed;        /* released, not reaped yet */

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

void proc_set_state(struct proc *p, enum proc_state state)
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

unsigned int proc_killed(void)
{
	return n_killed;
}

/* A process's record: struct proc, its private part and room for its three
 * events (event_assign), one allocation from the pool. */

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
	return proc_exit_init(base);
}

/* Watches fd (or a timer, fd -1) with one of p's event slots. Returns the
 * event, not yet added, or NULL. */
struct event *proc_event(struct proc *p, int slot, evutil_socket_t fd, short what, event_callback_fn fn)
{
	struct event *ev = (struct event *)((char *)p + event_offset + (size_t)slot * event_stride);

	return event_assign(ev, proc_base, fd, what, fn, p) == 0 ? ev : NULL;
}

void proc_event_drop(struct event **ev)
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

void proc_remember_ended(const struct proc *p, const siginfo_t *si)
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

	TAILQ_FOREACH(p, &proc_records, priv->link) {
		summarize(p, &s);
		fn(&s, data);
	}
	if (!ended)
		return;
	for (size_t i = 0; i < ended_count; i++)
		fn(&ended_ring[(ended_next + PROC_ENDED_KEPT - ended_count + i) % PROC_ENDED_KEPT], data);
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
	p->seccomp = seccomp_set_ref(conn_peer(owner)->seccomp);
	/* A new record counts as released until it starts (proc_set_state). */
	p->quota_uid = owner ? conn_peer(owner)->responsible_uid : owner_uid;
	p->state = PROC_RELEASED;
	n_killed++;
	proc_set_state(p, PROC_STARTING);
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
	p->priv->control_ev = proc_event(p, EVENT_CONTROL, p->control_fd, EV_READ | EV_PERSIST, proc_on_control);
	TAILQ_INSERT_TAIL(&proc_records, p, priv->link);
	p->priv->hash_next = proc_hash[p->id % PROC_HASH_SIZE];
	proc_hash[p->id % PROC_HASH_SIZE] = p;
	*ret = p;
	if (!p->priv->control_ev || event_add(p->priv->control_ev, NULL) < 0) {
		p->priv->control_ev = NULL;
		proc_start_failed(p, ENOMEM);
		return 0;
	}
	if (p->priv->deferred) {
		struct timeval tv = { .tv_sec = SPAWN_HELPER_DEADLINE_SEC };

		p->priv->helper_ev = proc_event(p, EVENT_EXIT, spawn_deferred_fd(p->priv->deferred), EV_READ, proc_on_helper);
		if (!p->priv->helper_ev || event_add(p->priv->helper_ev, &tv) < 0) {
			p->priv->helper_ev = NULL;
			proc_start_failed(p, ENOMEM);
		}
	}
	return 0;
}

void proc_free(struct proc *p)
{
	struct proc_reap_wait *w = p->priv->reap_wait;

	if (p->priv->expired_to)
		proc_send_expired_event(p, p->priv->expired_to);
	if (p->priv->released_to)
		proc_send_released_event(p, p->priv->released_to);
	proc_group_leave(p);
	proc_set_state(p, PROC_RELEASED);
	n_killed--;
	TAILQ_REMOVE(&proc_records, p, priv->link);
	hash_remove(p);
	proc_poll_remove(p);
	proc_drop_deferred(p);
	proc_event_drop(&p->priv->control_ev);
	proc_event_drop(&p->priv->exit_ev);
	proc_event_drop(&p->priv->ttl_ev);
	close_fdp(&p->control_fd);
	close_fdp(&p->pidfd);
	peer_context_unref(p->reserver);
	seccomp_set_unref(p->seccomp);
	slab_free(&proc_pool, p);
	if (w)
		proc_reap_wait_done_one(w);
	proc_stop_check();
}

void proc_shutdown(void)
{
	struct proc *p;

	proc_exit_shutdown();
	/* Nothing is waited for: a placeholder left is killed (and notices
	 * its daemon is gone anyway), a program left keeps running. */
	while ((p = TAILQ_FIRST(&proc_records))) {
		if (p->state != PROC_RUNNING)
			proc_kill(p);
		p->priv->reaped = true;
		proc_free(p);
	}
	slab_pool_release(&proc_pool);
}

void proc_count(const struct conn *owner, struct proc_counts *ret)
{
	struct proc *p;

	memset(ret, 0, sizeof(*ret));
	TAILQ_FOREACH(p, &proc_records, priv->link) {
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
