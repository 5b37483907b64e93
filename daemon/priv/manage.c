/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "answer.h"
#include "audit.h"
#include "authorize.h"
#include "conn.h"
#include "log.h"
#include "manage.h"
#include "proc.h"

/* A release request, answered once the PIDs it freed are free: the
 * reaping is awaited from the exit events, not in the event loop. A kill
 * request that names reservations is answered the same way. */
struct release_answer {
	LIST_ENTRY(release_answer) link;
	struct conn *conn;            /* NULL once the connection closed */
	bool kill;                    /* answers a kill: ids are those signalled, then those released */
	size_t n_signalled;           /* a kill: the programs signalled, first in ids */
	uint64_t request_id;
	enum stats_type type;
	uint64_t start_usec;
	size_t n;
	uint64_t ids[];
};

static LIST_HEAD(, release_answer) release_answers = LIST_HEAD_INITIALIZER(release_answers);

static int (*reload_policy)(struct why *why);

void manage_set_reload(int (*reload)(struct why *why))
{
	reload_policy = reload;
}

static void release_answer_send(void *data)
{
	struct release_answer *ra = data;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReleaseReply reply = PIDRESTORE__RELEASE_REPLY__INIT;

	answer_set(ra->type, ra->start_usec);
	if (ra->conn && ra->kill) {
		Pidrestore__KillReply kill = PIDRESTORE__KILL_REPLY__INIT;

		kill.n_signalled_ids = ra->n;
		kill.signalled_ids = ra->ids;
		kill.n_released_ids = ra->n - ra->n_signalled;
		kill.released_ids = ra->ids + ra->n_signalled;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_KILL;
		resp.kill = &kill;
		answer_respond(ra->conn, ra->request_id, &resp, NULL, 0);
	} else if (ra->conn) {
		reply.n_released_ids = ra->n;
		reply.released_ids = ra->ids;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_RELEASE;
		resp.release = &reply;
		answer_respond(ra->conn, ra->request_id, &resp, NULL, 0);
	} else {
		answer_count(0);
	}
	answer_set(STATS_INVALID, 0);
	LIST_REMOVE(ra, link);
	free(ra);
}

/* Whose reservations a release with all names: this connection's, or with
 * a uid every connection's of that uid (root: any uid). */
static int release_selection(struct conn *c, const Pidrestore__ReleaseRequest *req, struct proc_selection *sel,
			     size_t *cap, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	uid_t uid;

	if (!req->has_uid) {
		*sel = (struct proc_selection){ .owner = c };
		*cap = proc_count_reserved(sel);
		return 0;
	}
	/* The largest uid stands for the requester's own (no process has it). */
	uid = req->uid == UINT32_MAX ? peer->uid : req->uid;
	if (uid != peer->uid && !authorize_is_admin(peer)) {
		why_set(why, EPERM, "only root may release the reservations of uid %u (uid %u asked); release your own, or ask root",
			uid, peer->uid);
		audit_release(c, uid, 0, why);
		return -EPERM;
	}
	*sel = (struct proc_selection){ .uid = uid };
	*cap = proc_count_reserved(sel);
	audit_release(c, uid, *cap, NULL);
	return 0;
}

void manage_release(struct conn *c, uint64_t id, const Pidrestore__ReleaseRequest *req)
{
	const struct peer *peer = conn_peer(c);
	struct proc_releaser by = { .conn = c, .uid = peer->uid, .pid = peer->pid };
	struct proc_selection sel = { 0 };
	bool all = req->has_all && req->all;
	struct release_answer *ra;
	size_t cap;
	struct why why;
	int r;

	if (req->has_uid && (!all || req->n_reservation_ids > 0)) {
		why_set(&why, EINVAL, "a release that names a uid must set all and name no ids (it releases every reservation of that uid); name ids without a uid");
		goto fail;
	}
	if (all) {
		if (release_selection(c, req, &sel, &cap, &why) < 0)
			goto fail;
	} else {
		/* All or nothing: check every id before releasing any. */
		for (size_t i = 0; i < req->n_reservation_ids; i++) {
			struct proc *p = proc_find(req->reservation_ids[i]);

			if (!p || p->state == PROC_RELEASED) {
				why_set(&why, ESRCH, "there is no reservation %llu (it was released, expired, or never existed)",
					(unsigned long long)req->reservation_ids[i]);
				goto fail;
			}
			if (authorize_owner(peer, p, "reservation", "release", true, &why) < 0)
				goto fail;
			if (p->state == PROC_RUNNING || p->state == PROC_EXECING) {
				why_set(&why, EBUSY, "%llu is a running process, not a reservation; stop it with a signal instead",
					(unsigned long long)p->id);
				goto fail;
			}
			if (p->state == PROC_STARTING || proc_request_pending(p)) {
				why_set(&why, EAGAIN, "reservation %llu is still starting; release it once its reserve request was answered",
					(unsigned long long)p->id);
				goto fail;
			}
		}
		cap = req->n_reservation_ids;
	}
	ra = calloc(1, sizeof(*ra) + (cap ? cap : 1) * sizeof(ra->ids[0]));
	if (!ra) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	ra->conn = c;
	ra->request_id = id;
	answer_get(&ra->type, &ra->start_usec);
	LIST_INSERT_HEAD(&release_answers, ra, link);
	/* Answered from release_answer_send(), maybe before these return. */
	if (all) {
		r = proc_release_reserved_then(&sel, &by, ra->ids, cap, &ra->n, release_answer_send, ra);
	} else {
		memcpy(ra->ids, req->reservation_ids, cap * sizeof(ra->ids[0]));
		r = proc_release_ids_then(req->reservation_ids, cap, &by, &ra->n, release_answer_send, ra);
	}
	if (r < 0) {
		LIST_REMOVE(ra, link);
		free(ra);
		why_set(&why, -r, "out of memory");
		goto fail;
	}
	return;
fail:
	answer_error(c, id, &why);
}

void manage_reload(struct conn *c, uint64_t id)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReloadReply reply = PIDRESTORE__RELOAD_REPLY__INIT;
	struct why why = { 0 };

	if (!authorize_is_admin(peer)) {
		why_set(&why, EPERM, "only root may reload the policy (uid %u asked, without CAP_SYS_ADMIN in the daemon's user namespace); run it as root",
			peer->uid);
		answer_error(c, id, &why);
		return;
	}
	log_info("policy reload asked for by uid %u (pid %d)", peer->uid, peer->pid);
	if (reload_policy(&why) < 0) {
		struct why inner = why;

		why_set(&why, inner.err, "the policy was not reloaded and the old one stays in force: %s", inner.text);
		answer_error(c, id, &why);
		return;
	}
	reply.n_files = authorize_policy()->n_files;
	reply.files = authorize_policy()->files;
	reply.has_grants = 1;
	reply.grants = (uint32_t)authorize_policy()->n_grants;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RELOAD;
	resp.reload = &reply;
	answer_respond(c, id, &resp, NULL, 0);
}

/* Signals running programs, releases reservations: all or nothing, like
 * release. */
void manage_kill(struct conn *c, uint64_t id, const Pidrestore__KillRequest *req)
{
	const struct peer *peer = conn_peer(c);
	int sig = req->has_signal ? req->signal : SIGTERM;
	uint64_t *reserved = NULL;
	size_t n_reserved = 0, n_released = 0;
	struct release_answer *ra = NULL;
	struct why why;
	int r;

	if (req->n_ids == 0) {
		why_set(&why, EINVAL, "a kill request names no process; give the ids that list shows");
		goto fail;
	}
	if (sig <= 0 || sig >= NSIG) {
		why_set(&why, EINVAL, "%d is not a signal number (1 to %d)", sig, NSIG - 1);
		goto fail;
	}
	reserved = calloc(req->n_ids, sizeof(*reserved));
	ra = calloc(1, sizeof(*ra) + req->n_ids * sizeof(ra->ids[0]));
	if (!reserved || !ra) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < req->n_ids; i++) {
		struct proc *p = proc_find(req->ids[i]);

		if (!p || p->state == PROC_RELEASED) {
			why_set(&why, ESRCH, "there is no process %llu (it ended, was released, or never existed)",
				(unsigned long long)req->ids[i]);
			goto fail;
		}
		if (authorize_owner(peer, p, "process", "signal", true, &why) < 0)
			goto fail;
		if (p->state == PROC_STARTING || p->state == PROC_EXECING || proc_request_pending(p)) {
			why_set(&why, EAGAIN, "process %llu is %s; try again once its request was answered",
				(unsigned long long)p->id, p->state == PROC_EXECING ? "being claimed" : "still starting");
			goto fail;
		}
	}
	for (size_t i = 0; i < req->n_ids; i++) {
		struct proc *p = proc_find(req->ids[i]);
		bool seen = false;

		for (size_t j = 0; j < ra->n && !seen; j++)
			seen = ra->ids[j] == req->ids[i];
		for (size_t j = 0; j < n_reserved && !seen; j++)
			seen = reserved[j] == req->ids[i];
		if (seen)
			continue;   /* named twice */
		if (p->state == PROC_RESERVED) {
			reserved[n_reserved++] = p->id;
			continue;
		}
		r = proc_signal(p, sig);
		if (r < 0 && r != -ESRCH)
			log_warning("process %llu (pid %d): cannot send signal %d: %s", (unsigned long long)p->id, p->pid,
				    sig, strerror(-r));
		else
			ra->ids[ra->n++] = p->id;
	}
	ra->kill = true;
	ra->conn = c;
	ra->request_id = id;
	answer_get(&ra->type, &ra->start_usec);
	/* A placeholder has no program to signal: it is released, and the
	 * answer waits until its PIDs are free, from the exit events. */
	ra->n_signalled = ra->n;
	memcpy(ra->ids + ra->n, reserved, n_reserved * sizeof(*reserved));
	ra->n += n_reserved;
	log_info("uid %u (pid %d) sent signal %d to %zu processes and released %zu reservations", peer->uid, peer->pid, sig,
		 ra->n_signalled, n_reserved);
	LIST_INSERT_HEAD(&release_answers, ra, link);
	r = proc_release_ids_then(reserved, n_reserved, &(struct proc_releaser){ .conn = c, .uid = peer->uid, .pid = peer->pid, .signal = sig },
				  &n_released, release_answer_send, ra);
	if (r < 0) {
		LIST_REMOVE(ra, link);
		why_set(&why, -r, "out of memory");
		goto fail;
	}
	free(reserved);
	return;
fail:
	free(reserved);
	free(ra);
	answer_error(c, id, &why);
}

void manage_conn_closed(struct conn *c)
{
	struct release_answer *ra;

	/* Still counted once their PIDs are free, and then forgotten. */
	LIST_FOREACH(ra, &release_answers, link)
		if (ra->conn == c)
			ra->conn = NULL;
}
