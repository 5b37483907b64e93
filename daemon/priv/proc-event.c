/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The events a process's record sends its connection: its exit, its TTL
 * run out, and its release or claim by another connection. */
#include <signal.h>
#include <stdint.h>

#include "conn.h"
#include "kernel.h"
#include "pidrestore.pb-c.h"
#include "proc.h"
#include "proc-internal.h"

/* p's PIDs as an event carries them; returns how many. */
static size_t event_pids(const struct proc *p, int32_t pids[PR_MAX_LEVELS])
{
	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	return p->n_pids;
}

static void send_event(struct conn *to, Pidrestore__Event *ev)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;

	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_EVENT;
	msg.event = ev;
	conn_send(to, &msg, NULL, 0);
}

void proc_send_exit_event(struct proc *p, const siginfo_t *si)
{
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ExitEvent ex = PIDRESTORE__EXIT_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];

	ex.id = p->id;
	ex.n_pids = event_pids(p, pids);
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
	send_event(p->owner, &ev);
}

void proc_send_expired_event(struct proc *p, struct conn *to)
{
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ExpiredEvent ex = PIDRESTORE__EXPIRED_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];

	ex.id = p->id;
	ex.n_pids = event_pids(p, pids);
	ex.pids = pids;
	ev.body_case = PIDRESTORE__EVENT__BODY_EXPIRED;
	ev.expired = &ex;
	send_event(to, &ev);
}

void proc_send_released_event(struct proc *p, struct conn *to)
{
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ReleasedEvent rel = PIDRESTORE__RELEASED_EVENT__INIT;
	const struct proc_releaser *by = &p->priv->released_by;
	int32_t pids[PR_MAX_LEVELS];

	rel.id = p->id;
	rel.n_pids = event_pids(p, pids);
	rel.pids = pids;
	rel.has_by_uid = 1;
	rel.by_uid = by->uid;
	rel.has_by_pid = 1;
	rel.by_pid = by->pid;
	rel.has_signal = by->signal != 0;
	rel.signal = by->signal;
	ev.body_case = PIDRESTORE__EVENT__BODY_RELEASED;
	ev.released = &rel;
	send_event(to, &ev);
}

void proc_send_claimed_event(struct proc *p, struct conn *to, uid_t by_uid, pid_t by_pid)
{
	Pidrestore__Event ev = PIDRESTORE__EVENT__INIT;
	Pidrestore__ClaimedEvent cl = PIDRESTORE__CLAIMED_EVENT__INIT;
	int32_t pids[PR_MAX_LEVELS];

	cl.id = p->id;
	cl.n_pids = event_pids(p, pids);
	cl.pids = pids;
	cl.has_by_uid = 1;
	cl.by_uid = by_uid;
	cl.has_by_pid = 1;
	cl.by_pid = by_pid;
	ev.body_case = PIDRESTORE__EVENT__BODY_CLAIMED;
	ev.claimed = &cl;
	send_event(to, &ev);
}
