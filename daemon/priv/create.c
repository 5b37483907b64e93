/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "answer.h"
#include "authorize.h"
#include "conn.h"
#include "create.h"
#include "fdreserve.h"
#include "pending.h"
#include "log.h"
#include "quota.h"
#include "seccomp-copy.h"
#include "target.h"
#include "tree.h"

/* The most time one reserve request spends at a time, in its checks or in
 * making its processes, before the daemon serves the others (DESIGN §2):
 * a large request goes on in slices. */
#define RESERVE_SLICE_USEC 5000

static struct request_limits limits;
static struct request_stats stats;

void create_set_limits(const struct request_limits *l)
{
	limits = *l;
}

void create_get_stats(struct request_stats *ret)
{
	*ret = stats;
}

int create_exec_parse(struct conn *c, const Pidrestore__ExecSpec *spec, struct fd_table *fdt,
		      struct exec_parsed *e, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	rlim_t nofile = peer->rlimit_mask & (1u << RLIMIT_NOFILE) ? peer->rlimits[RLIMIT_NOFILE].rlim_cur : 1024;
	int r;

	memset(&e->cmd, 0, sizeof(e->cmd));
	e->cmd.program_fd = e->cmd.cwd_fd = -1;
	if (spec->has_program_fd_index) {
		r = fd_table_take(fdt, spec->program_fd_index, "program", &e->cmd.program_fd, why);
		if (r < 0)
			return r;
		snprintf(e->describe, sizeof(e->describe), "the program passed as fd");
	} else {
		e->cmd.path = spec->path.data;
		e->cmd.path_len = spec->path.len;
		snprintf(e->describe, sizeof(e->describe), "%.*s", (int)spec->path.len, (const char *)spec->path.data);
	}
	e->cmd.argc = spec->n_argv;
	e->cmd.argv = spec->argv;
	if (spec->n_argv == 0) {
		/* argv[0] is the program's name by convention. */
		e->argv0.data = (uint8_t *)(e->cmd.path ? e->cmd.path : (const uint8_t *)"program");
		e->argv0.len = e->cmd.path ? e->cmd.path_len : strlen("program");
		e->cmd.argc = 1;
		e->cmd.argv = &e->argv0;
	}
	e->cmd.envc = spec->n_envp;
	e->cmd.envp = spec->envp;

	for (size_t i = 0; i < spec->n_fds; i++) {
		int32_t target = spec->fds[i]->target;

		/* The holder parks its channel above the highest target. */
		if (target < 0 || (rlim_t)target + 1 >= nofile)
			return why_set(why, EINVAL, "fd target %d is not valid: it must be between 0 and your RLIMIT_NOFILE (%llu) minus 2",
				       target, (unsigned long long)nofile);
		r = fd_table_take(fdt, spec->fds[i]->fd_index, "fd map", &e->fds[i], why);
		if (r < 0)
			return r;
		e->targets[i] = target;
	}
	e->cmd.n_fds = spec->n_fds;
	e->cmd.fds = e->fds;
	e->cmd.targets = e->targets;
	if (spec->has_cwd_fd_index) {
		r = fd_table_take(fdt, spec->cwd_fd_index, "working directory", &e->cmd.cwd_fd, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Creates one process for spec; validation, authorization and the clone
 * are all done when it returns 0. */
static int create_one(struct conn *c, const char *verb, const Pidrestore__ProcessSpec *spec,
		      struct fd_table *fdt, bool check_fds, struct spawn_result *res, struct why *why)
{
	struct target t;
	int r;

	r = target_resolve(c, spec, fdt, &t, why);
	if (r < 0)
		return r;
	if (check_fds && (r = fd_table_check_all_used(fdt, why)) < 0)
		goto out;
	r = authorize_target(c, verb, &t, why);
	if (r < 0)
		goto out;
	/* A child carries every restriction its requester has (DESIGN §6). */
	r = conn_copy_seccomp(c, why);
	if (r < 0)
		goto out;
	r = target_create(c, &t, res, why);
out:
	target_release(&t);
	return r;
}

void create_spawn(struct conn *c, uint64_t id, const Pidrestore__SpawnRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
	struct exec_parsed *e = calloc(1, sizeof(*e));
	struct spawn_result res;
	struct pending *pd = NULL;
	struct proc *p = NULL;
	struct why why = { 0 };
	int r;

	if (!e) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	if (!req->process || !req->exec) {
		why_set(&why, EINVAL, "a spawn request needs both a process and an exec part");
		goto fail;
	}
	r = create_exec_parse(c, req->exec, fdt, e, &why);
	if (r < 0)
		goto fail;
	r = authorize_user_limits(c, "spawn", 1, false, &why);
	if (r < 0)
		goto fail;
	/* First, so that a failure after the clone can be answered once the
	 * process is reaped. */
	pd = pending_new(c, id, PENDING_SPAWN, 1);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	r = create_one(c, "spawn", req->process, fdt, true, &res, &why);
	if (r < 0)
		goto fail;
	r = proc_start(c, peer->uid, &res, &p);
	if (r < 0) {
		why_set(&why, -r, "cannot watch the new process: %s", strerror(-r));
		goto fail;
	}
	stats.spawns_total++;
	snprintf(pd->describe, sizeof(pd->describe), "%s", e->describe);
	r = proc_exec(p, &e->cmd, &why);
	if (r < 0)
		goto fail;
	pending_wait(pd, 0, p);
	free(e);
	return;
fail:
	free(e);
	if (p) {
		/* Answered once it is reaped. */
		pd->procs[0] = p;
		pd->failed = true;
		pd->why = why;
		pending_finish(pd);
		return;
	}
	if (pd)
		pending_free(pd);
	answer_error(c, id, &why);
}

/* A reserve request, checked and made a slice at a time (DESIGN §2): every
 * process is validated and authorized before the first is made, all or
 * nothing; in between the daemon serves the others. It owns the request
 * and the fds it carried until it is done. Its processes count against the
 * limits from the start, made or not, so that requests made side by side
 * cannot together pass a limit that each passes alone. */
struct reserve_job {
	struct pending *pd;
	struct privmsg_request record; /* the request, kept while it is made */
	struct wire_packet pkt;
	struct fd_table fdt;
	struct event *next_slice;
	uid_t quota_uid;
	bool making;                  /* every process was allowed: making them */
	size_t next;                  /* the next process to check or to make */
	size_t planned;               /* counted as outstanding, not made yet */
	unsigned int ttl;
	uint64_t *target_inode;       /* per process: the namespace authorized */
	/* A request for one process keeps it resolved from its check to its
	 * making: one chain's fds are no burden, and resolving it again
	 * would only repeat the same system calls. Allocated for that case
	 * alone (a target is large), and resolved in place. */
	struct target *kept;
	bool have_kept;
};

/* Reservations counted before they exist, over all connections. */
static unsigned int planned_total;

static void reserve_job_unplan(struct reserve_job *job, size_t n)
{
	job->planned -= n;
	planned_total -= (unsigned int)n;
	conn_add_reservations(job->pd->conn, -(int)n);
	quota_add_outstanding(job->quota_uid, -(int)n);
}

static void reserve_job_free(struct reserve_job *job)
{
	reserve_job_unplan(job, job->planned);
	if (job->have_kept)
		target_release(job->kept);
	free(job->kept);
	job->pd->job = NULL;
	if (job->next_slice)
		event_free(job->next_slice);
	privmsg_request_free(&job->record);
	wire_close_fds(&job->pkt, 0);
	free(job->target_inode);
	free(job);
}

/* A failure ends the request: what it made goes (pending_finish()). */
static void reserve_job_fail(struct reserve_job *job, size_t i, const struct why *why_in)
{
	struct pending *pd = job->pd;
	struct why explained = *why_in;
	const struct why *why = &explained;

	fdreserve_explain(&explained);
	pd->failed = true;
	if (pd->n > 1)
		why_set(&pd->why, why->err, "process %zu of %zu: %s", i, pd->n, why->text);
	else
		pd->why = *why;
}

/* validate -> authorize one process. Its namespace chain is let go again:
 * 10,000 processes must not hold 10,000 fds while the others are checked. */
static int reserve_check_one(struct reserve_job *job, size_t i, struct why *why)
{
	struct conn *c = job->pd->conn;
	Pidrestore__ReserveRequest *req = job->record.req->reserve;
	struct target local, *t = job->kept ? job->kept : &local;
	int r;

	r = target_resolve(c, req->processes[i], &job->fdt, t, why);
	if (r < 0)
		return r;
	if (i + 1 == req->n_processes && (r = fd_table_check_all_used(&job->fdt, why)) < 0)
		goto out;
	r = authorize_target(c, "reserve", t, why);
	job->target_inode[i] = t->chain.level[target_index(t)].inode;
	if (r == 0 && t == job->kept) {
		job->have_kept = true;
		return 0;
	}
out:
	target_release(t);
	return r;
}

/* act: makes one process that was allowed. Its namespace is resolved
 * again, from the same fds, and must be the one authorized. */
static int reserve_make_one(struct reserve_job *job, size_t i, struct why *why)
{
	struct pending *pd = job->pd;
	struct conn *c = pd->conn;
	struct spawn_result res;
	struct target local, *t = &local;
	struct proc *p;
	int r;

	if (job->have_kept) {
		t = job->kept;
		job->have_kept = false;
	} else {
		r = target_resolve(c, job->record.req->reserve->processes[i], &job->fdt, t, why);
		if (r < 0)
			return r;
	}
	if (t->chain.level[target_index(t)].inode != job->target_inode[i]) {
		r = why_set(why, ESRCH, "its target pid namespace went away while the request was checked");
		goto out;
	}
	r = target_create(c, t, &res, why);
	if (r < 0)
		goto out;
	/* From now on it counts as a process, no longer as planned. */
	reserve_job_unplan(job, 1);
	r = proc_start(c, conn_peer(c)->uid, &res, &p);
	if (r < 0) {
		why_set(why, -r, "cannot watch the new process: %s", strerror(-r));
		goto out;
	}
	if (job->ttl > 0)
		proc_set_ttl(p, job->ttl);
	pending_wait(pd, i, p);
out:
	target_release(t);
	return r;
}

static void reserve_job_slice(evutil_socket_t fd, short what, void *arg);

/* Checks, then makes, processes for at most RESERVE_SLICE_USEC; then lets
 * the event loop serve the others and goes on after them, until the
 * request is done or has failed. */
static void reserve_job_run(struct reserve_job *job)
{
	struct pending *pd = job->pd;
	size_t n = pd->n;
	uint64_t until = now_usec() + RESERVE_SLICE_USEC;
	/* A zero timeout runs after the loop's next look at every socket,
	 * not before it as an activated event would. */
	const struct timeval next = { 0, 0 };
	struct why why = { 0 };

	while (!pd->failed && job->next < n) {
		size_t i = job->next++;

		if (!job->making && reserve_check_one(job, i, &why) < 0) {
			reserve_job_fail(job, i, &why);
			break;
		}
		if (job->making && reserve_make_one(job, i, &why) < 0) {
			reserve_job_fail(job, i, &why);
			break;
		}
		if (!job->making && job->next == n) {
			/* All allowed, and they will carry the requester's
			 * filters (DESIGN §6), copied once for all of them. */
			if (conn_copy_seccomp(pd->conn, &why) < 0) {
				reserve_job_fail(job, 0, &why);
				break;
			}
			/* The same fds are taken again to make them. */
			job->making = true;
			job->next = 0;
			memset(job->fdt.used, 0, sizeof(job->fdt.used));
			job->fdt.n_used = 0;
		}
		if (job->next < n && now_usec() >= until) {
			if (evtimer_add(job->next_slice, &next) == 0)
				return;
			why_set(&why, ENOMEM, "cannot schedule the rest of the request: out of memory");
			reserve_job_fail(job, job->next, &why);
		}
	}
	if (!pd->failed)
		stats.reservations_total += n;
	reserve_job_free(job);
	/* Answered now if it failed or every process reported already;
	 * otherwise by the last report (on_proc_report()). */
	if (pd->failed || pd->n_waiting == 0)
		pending_finish(pd);
}

static void reserve_job_slice(evutil_socket_t fd, short what, void *arg)
{
	reserve_job_run(arg);
}

/* Returns true when it took over req and the packet's fds (then it answers
 * later, or has answered). */
bool create_reserve(struct conn *c, struct privmsg_request *record, struct fd_table *fdt)
{
	const Pidrestore__ReserveRequest *req = record->req->reserve;
	uint64_t id = record->req->id;
	uid_t quota_uid = conn_peer(c)->responsible_uid;
	struct reserve_job *job = NULL;
	struct pending *pd = NULL;
	struct why why = { 0 };
	unsigned int ttl = 0;

	if (req->n_processes == 0) {
		why_set(&why, EINVAL, "a reserve request names no process");
		goto refuse;
	}
	if (limits.max_reservations_per_conn &&
	    conn_reservations(c) + req->n_processes > limits.max_reservations_per_conn) {
		why_set(&why, ENOSPC, "reserving %zu more would exceed the limit of %u outstanding reservations per connection (this one holds %u); release or claim some first",
			req->n_processes, limits.max_reservations_per_conn, conn_reservations(c));
		goto refuse;
	}
	if (limits.max_reservations && proc_outstanding() + planned_total + req->n_processes > limits.max_reservations) {
		why_set(&why, ENOSPC, "reserving %zu more would exceed the daemon's limit of %u outstanding reservations (%u held now); try again later",
			req->n_processes, limits.max_reservations, proc_outstanding() + planned_total);
		goto refuse;
	}
	if (authorize_user_limits(c, "reserve", req->n_processes, true, &why) < 0)
		goto refuse;
	if (req->has_ttl_sec && req->ttl_sec > 0)
		ttl = req->ttl_sec;
	if (limits.max_ttl_sec && (ttl == 0 || ttl > limits.max_ttl_sec))
		ttl = limits.max_ttl_sec;
	job = calloc(1, sizeof(*job));
	if (job)
		job->target_inode = calloc(req->n_processes, sizeof(*job->target_inode));
	if (job && req->n_processes == 1)
		job->kept = malloc(sizeof(*job->kept));
	if (job && job->target_inode && (req->n_processes > 1 || job->kept))
		job->next_slice = evtimer_new(conn_event_base(c), reserve_job_slice, job);
	pd = job && job->next_slice ? pending_new(c, id, PENDING_RESERVE, req->n_processes) : NULL;
	if (!pd) {
		if (job && job->next_slice)
			event_free(job->next_slice);
		if (job) {
			free(job->target_inode);
			free(job->kept);
		}
		free(job);
		why_set(&why, ENOMEM, "out of memory");
		goto refuse;
	}
	job->pd = pd;
	pd->job = job;
	pd->free_job = reserve_job_free;
	/* The request lives in its record's own memory (nothing of a
	 * reserve points into the packet): the job takes it. */
	job->record = *record;
	job->pkt = *fdt->pkt;
	fdt->pkt->n_fds = 0;
	job->fdt.pkt = &job->pkt;
	job->quota_uid = quota_uid;
	job->ttl = ttl;
	job->planned = req->n_processes;
	planned_total += (unsigned int)req->n_processes;
	conn_add_reservations(c, (int)req->n_processes);
	quota_add_outstanding(quota_uid, (int)req->n_processes);
	reserve_job_run(job);
	return true;
refuse:
	answer_error(c, id, &why);
	return false;
}

/* The program of a claim runs under the filters its holder installed,
 * which must be the claimer's own as they are now (DESIGN §6). */
int create_claim_filters_check(struct conn *c, const struct proc *p, struct why *why)
{
	char claimer[64], reserved[64];
	int r = conn_copy_seccomp(c, why);

	if (r < 0 || seccomp_set_equal(conn_peer(c)->seccomp, p->seccomp))
		return r;
	seccomp_set_describe(conn_peer(c)->seccomp, claimer, sizeof(claimer));
	seccomp_set_describe(p->seccomp, reserved, sizeof(reserved));
	r = why_set(why, EPERM, "the claimer's seccomp filters (%s) differ from those reservation %llu was made under (%s); its program must run under exactly the claimer's filters: claim from the same context or reserve again from this process",
		    claimer, (unsigned long long)p->id, reserved);
	log_info("refusing a claim by uid %u (pid %d): %s", conn_peer(c)->uid, conn_peer(c)->pid, why->text);
	return r;
}

int create_claimable(struct conn *c, const struct proc *p, struct why *why)
{
	const struct peer *peer = conn_peer(c);

	if (authorize_owner(peer, p, "reservation", "claim", false, why) < 0)
		return -why->err;
	if (peer_check_claim(peer, p->reserver, why) < 0)
		return -why->err;
	if (create_claim_filters_check(c, p, why) < 0)
		return -why->err;
	if (p->state != PROC_RESERVED)
		return why_set(why, p->state == PROC_STARTING ? EAGAIN : EBUSY, "reservation %llu is %s", (unsigned long long)p->id,
			       p->state == PROC_STARTING ? "still starting; try again once its reserve request was answered" :
			       p->state == PROC_EXECING ? "being claimed by another request" : "already claimed");
	return 0;
}

void create_exec(struct conn *c, uint64_t id, const Pidrestore__ExecRequest *req, struct fd_table *fdt)
{
	struct exec_parsed *e = calloc(1, sizeof(*e));
	struct pending *pd = NULL;
	struct why why = { 0 };
	struct proc *p;
	int r;

	if (!e) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	if (!req->exec) {
		why_set(&why, EINVAL, "an exec request needs an exec part");
		goto fail;
	}
	r = create_exec_parse(c, req->exec, fdt, e, &why);
	if (r < 0)
		goto fail;
	r = fd_table_check_all_used(fdt, &why);
	if (r < 0)
		goto fail;
	p = proc_find(req->reservation_id);
	if (!p || p->state == PROC_RELEASED) {
		why_set(&why, ESRCH, "there is no reservation %llu (it was released, expired, or never existed)",
			(unsigned long long)req->reservation_id);
		goto fail;
	}
	if (create_claimable(c, p, &why) < 0)
		goto fail;
	pd = pending_new(c, id, PENDING_EXEC, 1);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(pd->describe, sizeof(pd->describe), "%s", e->describe);
	pd->threads_lost = tree_reservation_threads(p->id) > 0;
	r = proc_exec(p, &e->cmd, &why);
	if (r < 0)
		goto fail;
	/* The claimed process belongs to this connection from now on (back
	 * to the one that held it if the exec fails). */
	pd->exec_from = p->owner;
	proc_set_owner(p, c);
	pending_wait(pd, 0, p);
	free(e);
	return;
fail:
	if (pd)
		pending_free(pd);
	free(e);
	answer_error(c, id, &why);
}
