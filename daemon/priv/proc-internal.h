/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the files of the process module share among themselves; proc.h is
 * what the rest of the daemon sees. proc.c keeps the records (it alone
 * adds and removes them), proc-exit.c sees processes end and releases
 * them, proc-holder.c talks to their holders and tells the requests that
 * wait on them.
 *
 * Included after proc.h, whose struct proc it completes: including proc.h
 * from here would make proc.c and this header include each other. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/queue.h>

#include <event2/event.h>

struct conn;
struct proc_reap_wait;
struct spawn_deferred;
struct waiter_group;
struct why;

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
	struct conn *released_to;    /* another connection released it: tell this one once it is reaped */
	struct proc_releaser released_by;
	bool counted;                /* its waiter counts in group->waiting */
	struct waiter_group *group;  /* the request that waits on it, until answered */
	struct proc *group_next;
	struct proc_reap_wait *reap_wait; /* someone answers once it is reaped */
	TAILQ_ENTRY(proc) link;
	struct proc *hash_next;
};

/* A record's event slots (proc_event). */
enum { EVENT_CONTROL, EVENT_EXIT, EVENT_TTL, EVENT_SLOTS };

/* proc.c: the registry. */

/* Every record, oldest first: the others walk it, only proc.c changes it. */
TAILQ_HEAD(proc_list, proc);
extern struct proc_list proc_records;

void proc_set_state(struct proc *p, enum proc_state state);
unsigned int proc_killed(void); /* released, not reaped yet */
struct event *proc_event(struct proc *p, int slot, evutil_socket_t fd, short what, event_callback_fn fn);
void proc_event_drop(struct event **ev);
void proc_remember_ended(const struct proc *p, const siginfo_t *si);
void proc_free(struct proc *p);

/* proc-exit.c: exits, reaping, releases, TTLs and the daemon's stop. */
int proc_exit_init(struct event_base *base);
void proc_exit_shutdown(void);
int proc_watch_exit(struct proc *p);
void proc_watch_end(struct proc *p);
/* The holder's channel closed: p is reaped now if it can be, which frees
 * it, else watched as proc_watch_end() does. */
void proc_channel_closed(struct proc *p);
void proc_drop_deferred(struct proc *p);
void proc_kill(struct proc *p);
void proc_poll_add(struct proc *p);
void proc_poll_remove(struct proc *p);
void proc_free_soon(struct proc *p);
void proc_reap_wait_done_one(struct proc_reap_wait *w);
/* Tells p's owner how p ended (proc-event.c). */
void proc_send_exit_event(struct proc *p, const siginfo_t *si);
void proc_send_expired_event(struct proc *p, struct conn *to);
void proc_send_released_event(struct proc *p, struct conn *to);
void proc_stop_check(void);

/* proc-holder.c: the holder channel, its reports and who waits on them. */
void proc_on_control(evutil_socket_t fd, short what, void *arg);
void proc_on_helper(evutil_socket_t fd, short what, void *arg);
void proc_start_failed(struct proc *p, int err);
void proc_drain_control(struct proc *p, unsigned int max_reports);
void proc_close_control(struct proc *p);
void proc_notify_waiter(struct proc *p, enum proc_report report, const struct why *why);
void proc_group_leave(struct proc *p);
