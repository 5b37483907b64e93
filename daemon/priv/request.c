/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "check.h"
#include "conn.h"
#include "decode.h"
#include "fdreserve.h"
#include "kernel.h"
#include "log.h"
#include "nsref.h"
#include "pidrestore.pb-c.h"
#include "policy-query.h"
#include "privmsg.h"
#include "proc.h"
#include "quota.h"
#include "request.h"
#include "listener.h"
#include "spawn.h"
#include "stats.h"

/* Attempts at finding a free PID for a level given as 0. */
#define ANY_PID_ATTEMPTS 32
/* The most time one reserve request spends at a time, in its checks or in
 * making its processes, before the daemon serves the others (DESIGN §2):
 * a large request goes on in slices. */
#define RESERVE_SLICE_USEC 5000

static struct policy current_policy = { .own_namespaces = true };
static struct request_limits limits;
static struct request_stats stats;

static struct request_host host;

void request_set_host(const struct request_host *h)
{
	host = *h;
}

void request_set_limits(const struct request_limits *l)
{
	limits = *l;
}

void request_set_policy(const struct policy *policy)
{
	current_policy = *policy;
}

void request_get_stats(struct request_stats *ret)
{
	*ret = stats;
}

/* ------------------------------------------------------------ answers */

/* The request being answered, for the statistics: set while a request is
 * handled, and while a pending one is finished. */
static struct {
	enum stats_type type;
	uint64_t start_usec;
} answering = { STATS_INVALID, 0 };

static void count_answer(int err)
{
	stats_count(answering.type, err, answering.start_usec ? now_usec() - answering.start_usec : 0);
}

static int respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds)
{
	count_answer(0);
	return conn_respond(c, id, resp, fds, n_fds);
}

static int respond_error(struct conn *c, uint64_t id, const struct why *why)
{
	count_answer(why->err);
	return conn_respond_error(c, id, why);
}

/* ------------------------------------------------------------ fds */

/* The fds a packet carried, and which the request's fields used. Every fd
 * is closed by request_handle() whatever happens: handlers only borrow. */
struct fd_table {
	struct wire_packet *pkt;
	bool used[WIRE_MAX_FDS];
	size_t n_used;
};

static int fd_take(struct fd_table *t, int32_t index, const char *what, int *fd, struct why *why)
{
	int r = decode_fd_index(index, t->pkt->n_fds, t->used, what, why);

	if (r < 0)
		return r;
	t->n_used++;
	*fd = t->pkt->fds[index];
	return 0;
}

static int fd_check_all_used(const struct fd_table *t, struct why *why)
{
	if (t->n_used != t->pkt->n_fds)
		return why_set(why, EPROTO, "the request carries %zu fds but its fields use only %zu; send exactly the fds the request names",
			       t->pkt->n_fds, t->n_used);
	return 0;
}

/* ------------------------------------------------------------ targets */

/* A process to create: where, with which PIDs, after validation. */
struct target {
	struct nsref_chain chain;   /* level 0 innermost; with new_pidns, level 0 is the new namespace */
	bool new_pidns;
	bool clone_newpid;          /* clone3 creates level 0 itself (fd -1) */
	size_t n_pids;
	pid_t pids[PR_MAX_LEVELS];
	bool auto_pid[PR_MAX_LEVELS];  /* given as 0: the daemon picks */
	pid_t pid_limit[PR_MAX_LEVELS];
	pid_t host_pid_max;         /* read once, at resolve time */
};

static void target_release(struct target *t)
{
	nsref_chain_release(&t->chain);
}

static const char *level_name(const struct target *t, size_t i, char *buf, size_t len)
{
	if (t->new_pidns && i == 0)
		snprintf(buf, len, "the new pid namespace");
	else
		snprintf(buf, len, "pid:[%llu]", (unsigned long long)t->chain.level[i].inode);
	return buf;
}

/* decode -> validate: PIDs, the namespace chain, the levels. */
static int target_resolve(struct conn *c, const Pidrestore__ProcessSpec *spec, struct fd_table *fdt,
			  struct target *t, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	int pidns_fd = peer->pidns_fd, passed = -1, r;
	size_t levels, first;
	pid_t hostmax;
	char ns[64];

	memset(t, 0, sizeof(*t));
	t->new_pidns = spec->has_new_pidns && spec->new_pidns;
	if (spec->has_pidns_fd_index) {
		r = fd_take(fdt, spec->pidns_fd_index, "target pid namespace", &passed, why);
		if (r < 0)
			return r;
		r = nsref_pidns_from_fd(passed, &pidns_fd, why);
		if (r < 0)
			return r;
	}
	first = t->new_pidns ? 1 : 0;
	r = nsref_chain_build(pidns_fd, &t->chain, why);
	if (spec->has_pidns_fd_index)
		close(pidns_fd);
	if (r < 0)
		return r;
	if (t->new_pidns) {
		if (t->chain.n >= PR_MAX_LEVELS) {
			r = why_set(why, EINVAL, "cannot create a pid namespace below pid:[%llu]: it is already %d levels deep",
				    (unsigned long long)t->chain.level[0].inode, PR_MAX_PID_NS_LEVEL);
			goto fail;
		}
		memmove(&t->chain.level[1], &t->chain.level[0], t->chain.n * sizeof(t->chain.level[0]));
		t->chain.n++;
		memset(&t->chain.level[0], 0, sizeof(t->chain.level[0]));
		t->chain.level[0].fd = -1;
		/* Its owner will be the requester's user namespace. */
		r = nsref_userns_chain(peer->userns_fd, &t->chain.level[0].userns);
		if (r < 0) {
			why_set(why, -r, "cannot inspect the requester's user namespace: %s", strerror(-r));
			goto fail;
		}
	}
	levels = t->chain.n;
	if (spec->n_pids > levels) {
		r = why_set(why, EINVAL, "%zu PIDs given but the target pid namespace pid:[%llu] has only %zu level%s up to the daemon's namespace%s",
			    spec->n_pids, (unsigned long long)t->chain.level[first].inode, levels, levels == 1 ? "" : "s",
			    t->new_pidns ? " (counting the new namespace)" : "");
		goto fail;
	}

	hostmax = t->host_pid_max = nsref_own_pid_max();
	t->n_pids = spec->n_pids;
	for (size_t i = 0; i < t->n_pids; i++) {
		bool daemon_level = t->chain.level[i].inode == nsref_own_pidns_inode() && t->chain.level[i].fd >= 0;

		t->pids[i] = spec->pids[i];
		/* Every namespace's own pid_max is at most PID_MAX_LIMIT; the
		 * daemon can read only its own namespace's. */
		t->pid_limit[i] = daemon_level ? hostmax : PR_PID_MAX_LIMIT;
		if (t->pids[i] >= t->pid_limit[i]) {
			r = why_set(why, EINVAL, "pid %d at level %zu (%s) is not below that namespace's pid_max (%d)",
				    t->pids[i], t->chain.n - 1 - i, level_name(t, i, ns, sizeof(ns)), t->pid_limit[i]);
			goto fail;
		}
	}
	/* A new namespace's init is pid 1 there, named or not: the policy
	 * decides that level like any other. */
	if (t->new_pidns) {
		t->pids[0] = 1;
		if (t->n_pids == 0)
			t->n_pids = 1;
	}
	/* Trailing zeros are the kernel's to fill; inner zeros are the daemon's. */
	while (t->n_pids > 0 && t->pids[t->n_pids - 1] == 0)
		t->n_pids--;
	for (size_t i = 0; i < t->n_pids; i++)
		t->auto_pid[i] = t->pids[i] == 0;
	return 0;
fail:
	target_release(t);
	return r;
}

/* The level the request names: with a new namespace, its parent. */
static size_t target_index(const struct target *t)
{
	return t->new_pidns ? 1 : 0;
}

/* The levels the policy decides: every one with a PID, and the target,
 * also when the kernel is to choose its PID there. */
static size_t target_policy_levels(const struct target *t)
{
	return t->n_pids > target_index(t) ? t->n_pids : target_index(t) + 1;
}

/* The levels of t as the policy sees them, for a requester whose own pid
 * namespace is requester_pidns (for a policy check on another uid's
 * behalf: the asker's, as if that uid asked from there). Returns how many. */
static size_t target_levels(const struct target *t, uint64_t requester_pidns, struct policy_level *levels)
{
	size_t n = target_policy_levels(t);

	for (size_t i = 0; i < n; i++) {
		const struct nsref_level *lv = &t->chain.level[i];

		levels[i] = (struct policy_level){
			.pid = t->pids[i],
			.depth = (unsigned int)(t->chain.n - 1 - i),
			.ns_inode = lv->inode,
			.is_daemon_ns = lv->fd >= 0 && lv->inode == nsref_own_pidns_inode(),
			.is_new = t->new_pidns && i == 0,
			.is_target = i == target_index(t),
			.is_requester_ns = lv->fd >= 0 && lv->inode == requester_pidns,
			.n_userns = lv->userns.n,
			.userns = lv->userns.userns,
			.reaches_daemon_userns = lv->userns.reaches_own,
		};
	}
	return n;
}

static struct policy_request requester_of_peer(const struct peer *peer)
{
	struct policy_request req = {
		.uid = peer->uid, .gid = peer->gid, .groups = peer->groups, .n_groups = peer->n_groups,
		.cap_eff = peer->cap_eff,
	};

	nsref_requester_userns(peer->userns_fd, &req);
	return req;
}

static struct policy_request requester_of(const struct conn *c)
{
	return requester_of_peer(conn_peer(c));
}

/* Root for the admin verbs: CAP_SYS_ADMIN, not uid 0 (policy_is_admin()). */
static bool is_admin(const struct peer *peer)
{
	struct policy_request req = requester_of_peer(peer);

	return policy_is_admin(&req);
}

/* authorize: every named level, before anything is created (DESIGN §5). */
static int target_authorize(struct conn *c, const struct target *t, const char **rules, struct why *why)
{
	struct policy_level levels[PR_MAX_LEVELS];
	struct policy_request req = requester_of(c);

	req.n_levels = target_levels(t, conn_peer(c)->pidns_inode, levels);
	req.levels = levels;
	return policy_check(&current_policy, &req, rules, why);
}

/* ------------------------------------------------------------ audit */

/* Catalog ids of the audit records: `journalctl MESSAGE_ID=...` finds them. */
#define AUDIT_GRANTED_ID "767ec22c8e214c1095c20986e2cb6c02"
#define AUDIT_DENIED_ID "d62f7f7c08a044fc8eb6d7283e0fa19f"

/* Journal fields, "KEY=value", built in one buffer. */
struct audit_record {
	const char *fields[20];
	size_t n;
	size_t used;
	char buf[8192];
};

__attribute__((format(printf, 2, 3)))
static void audit_field(struct audit_record *a, const char *fmt, ...)
{
	size_t room = sizeof(a->buf) - a->used;
	va_list ap;
	int len;

	if (a->n == ELEMENTSOF(a->fields) || room == 0)
		return;
	va_start(ap, fmt);
	len = vsnprintf(a->buf + a->used, room, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= room)
		return;
	a->fields[a->n++] = a->buf + a->used;
	a->used += (size_t)len + 1;
}

/* Who asked, and what came of it: the fields every audit record has. */
static void audit_begin(struct audit_record *a, const struct conn *c, const char *verb, const struct why *why)
{
	const struct peer *peer = conn_peer(c);

	a->n = a->used = 0;
	audit_field(a, "MESSAGE_ID=%s", why ? AUDIT_DENIED_ID : AUDIT_GRANTED_ID);
	audit_field(a, "PIDRESTORE_OUTCOME=%s", why ? "denied" : "granted");
	audit_field(a, "PIDRESTORE_REQUEST=%s", verb);
	audit_field(a, "PIDRESTORE_REQUESTER_UID=%u", peer->uid);
	audit_field(a, "PIDRESTORE_REQUESTER_GID=%u", peer->gid);
	audit_field(a, "PIDRESTORE_REQUESTER_PID=%d", peer->pid);
	if (peer->unit[0])
		audit_field(a, "PIDRESTORE_REQUESTER_UNIT=%s", peer->unit);
	if (peer->user_unit[0])
		audit_field(a, "PIDRESTORE_REQUESTER_USER_UNIT=%s", peer->user_unit);
	if (why) {
		const char *name = strerrorname_np(why->err);

		audit_field(a, "PIDRESTORE_ERRNO=%s", name ? name : "?");
		audit_field(a, "PIDRESTORE_REASON=%s", why->text);
	}
}

/* One record per process asked for, granted or denied (DESIGN §5). */
static void audit(struct conn *c, const char *verb, const struct target *t, const char *const *rules, const struct why *why)
{
	const struct peer *peer = conn_peer(c);
	char pids[PR_MAX_LEVELS * 12 + 1] = "", depths[PR_MAX_LEVELS * 4 + 1] = "", inodes[PR_MAX_LEVELS * 21 + 1] = "";
	char rule_list[PR_MAX_LEVELS * 84 + 1] = "";
	size_t at_pids = 0, at_depths = 0, at_inodes = 0, at_rules = 0;
	/* The namespace the request names: for a new one, the one it goes in. */
	uint64_t target_ns = t->chain.level[t->new_pidns && t->chain.n > 1 ? 1 : 0].inode;
	struct audit_record *a = malloc(sizeof(*a));

	/* Every level the process gets a PID in, also those the request left
	 * to the kernel (trailing zeros, which carry no rule). */
	for (size_t i = 0; i < t->chain.n; i++) {
		const char *sep = i ? "," : "";
		const char *rule = i >= target_policy_levels(t) ? "any-free-pid" : rules[i] ? rules[i] : "refused";

		at_pids += (size_t)snprintf(pids + at_pids, sizeof(pids) - at_pids, "%s%d", sep,
					    i < t->n_pids ? t->pids[i] : 0);
		at_depths += (size_t)snprintf(depths + at_depths, sizeof(depths) - at_depths, "%s%zu", sep, t->chain.n - 1 - i);
		at_inodes += (size_t)snprintf(inodes + at_inodes, sizeof(inodes) - at_inodes, "%s%llu", sep,
					      (unsigned long long)t->chain.level[i].inode);
		at_rules += (size_t)snprintf(rule_list + at_rules, sizeof(rule_list) - at_rules, "%s%s", i ? "; " : "", rule);
	}
	if (a) {
		audit_begin(a, c, verb, why);
		audit_field(a, "PIDRESTORE_PIDS=%s", pids);
		audit_field(a, "PIDRESTORE_LEVELS=%s", depths);
		audit_field(a, "PIDRESTORE_PIDNS=%llu", (unsigned long long)target_ns);
		audit_field(a, "PIDRESTORE_PIDNS_LEVELS=%s", inodes);
		audit_field(a, "PIDRESTORE_RULE=%s", rule_list);
	}
	if (why)
		log_fields(LOG_NOTICE, a ? a->fields : NULL, a ? a->n : 0,
			   "denied %s for uid %u (pid %d): pids [%s] in pid:[%llu]: %s", verb, peer->uid, peer->pid, pids,
			   (unsigned long long)target_ns, why->text);
	else
		log_fields(LOG_INFO, a ? a->fields : NULL, a ? a->n : 0,
			   "granted %s for uid %u (pid %d): pids [%s] in pid:[%llu] by rule %s", verb, peer->uid, peer->pid,
			   pids, (unsigned long long)target_ns, rule_list);
	free(a);
}

/* ------------------------------------------------------------ limits */

/* The per-user limits of the policy (MaxReservations=, SpawnsPerSecond=),
 * checked before anything is created. n processes are asked for; reserving
 * says whether they stay as reservations. A refusal is audited. */
static int check_user_limits(struct conn *c, const char *verb, size_t n, bool reserving, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct policy_request req = requester_of(c);
	struct policy_limits l;
	const char *rule = NULL, *key = NULL;
	int r = 0;

	policy_user_limits(&current_policy, &req, &l);
	/* Root (DESIGN §5.1) could take any PID itself: only a grant that
	 * names it limits it, and --max-reservations. */
	if (l.max_reservations_is_default && peer->own_userns &&
	    (peer->cap_eff & (1ull << PR_CAP_SYS_ADMIN | 1ull << PR_CAP_CHECKPOINT_RESTORE)))
		l.max_reservations = POLICY_UNLIMITED;
	if (reserving && l.max_reservations != POLICY_UNLIMITED &&
	    quota_outstanding(peer->responsible_uid) + n > l.max_reservations) {
		char whose[96] = "";

		rule = l.max_reservations_rule;
		key = l.max_reservations_is_default ? "DefaultMaxReservations=" : "MaxReservations=";
		if (peer->responsible_uid != peer->uid)
			snprintf(whose, sizeof(whose), " (those of uid %u count as uid %u's, who owns its user namespace)",
				 peer->uid, peer->responsible_uid);
		r = why_set(why, ENOSPC, "uid %u holds %u outstanding reservations%s; %zu more would exceed its limit of %u (%s in %s); release or claim some first",
			    peer->responsible_uid, quota_outstanding(peer->responsible_uid), whose, n, l.max_reservations, key, rule);
	} else if (l.spawns_per_second != POLICY_UNLIMITED) {
		uint64_t retry_usec;

		rule = l.spawns_per_second_rule;
		key = "SpawnsPerSecond=";
		r = quota_take_spawns(peer->uid, l.spawns_per_second, n, now_usec(), &retry_usec);
		if (r == -E2BIG)
			r = why_set(why, ENOSPC, "this request creates %zu processes, more than the %u a second that uid %u may create (SpawnsPerSecond= in %s); split it into smaller requests",
				    n, l.spawns_per_second, peer->uid, rule);
		else if (r == -EAGAIN)
			r = why_set(why, EAGAIN, "uid %u may create %u processes a second (SpawnsPerSecond= in %s) and has used them up; try again in %llu ms",
				    peer->uid, l.spawns_per_second, rule, (unsigned long long)(retry_usec + 999) / 1000);
		else if (r < 0)
			r = why_set(why, -r, "cannot account for uid %u's processes: %s", peer->uid, strerror(-r));
	}
	if (r < 0) {
		struct audit_record *a = malloc(sizeof(*a));

		if (a) {
			audit_begin(a, c, verb, why);
			audit_field(a, "PIDRESTORE_PROCESSES=%zu", n);
			audit_field(a, "PIDRESTORE_RULE=%s in %s", key, rule);
		}
		log_fields(LOG_NOTICE, a ? a->fields : NULL, a ? a->n : 0, "denied %s for uid %u (pid %d): %s", verb,
			   peer->uid, peer->pid, why->text);
		free(a);
	}
	return r;
}

static pid_t pick_pid(pid_t limit)
{
	/* Low PIDs are where services live; pick from the upper range. */
	pid_t low = limit > 4096 ? 1024 : 2;

	return low + (pid_t)((unsigned long)random() % (unsigned long)(limit - low));
}

/* act: create the process, filling in PIDs given as 0. */
static int target_create(struct conn *c, struct target *t, struct spawn_result *res, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	pid_t hostmax = t->host_pid_max;
	int r;

	/* Made with the process, owned by the requester's user namespace:
	 * by clone3 itself when that is the daemon's, else by a helper there
	 * (spawn_holder()). */
	if (t->new_pidns)
		t->clone_newpid = true;
	for (int attempt = 0;; attempt++) {
		for (size_t i = 0; i < t->n_pids; i++)
			if (t->auto_pid[i])
				t->pids[i] = pick_pid(t->pid_limit[i] < hostmax ? t->pid_limit[i] : hostmax);
		r = spawn_holder(peer, &t->chain, t->clone_newpid, t->pids, t->n_pids, res, why);
		/* Out of fds, the spawner's pidfd or a channel went missing. */
		if (r < 0 && fdreserve_explain(why))
			return -EMFILE;
		if (r != -EEXIST || res->busy_level < 0 || !t->auto_pid[res->busy_level])
			return r;
		if (attempt + 1 == ANY_PID_ATTEMPTS)
			return why_set(why, EAGAIN, "no free PID found at level %zu after %d attempts; the namespace is nearly full",
				       t->chain.n - 1 - (size_t)res->busy_level, ANY_PID_ATTEMPTS);
	}
}

/* ------------------------------------------------------------ exec specs */

struct exec_parsed {
	struct exec_cmd cmd;
	int fds[WIRE_MAX_FDS];
	int targets[WIRE_MAX_FDS];
	ProtobufCBinaryData argv0;
	char describe[128];          /* "/bin/true", for messages */
};

static int exec_parse(struct conn *c, const Pidrestore__ExecSpec *spec, struct fd_table *fdt,
		      struct exec_parsed *e, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	rlim_t nofile = peer->rlimit_mask & (1u << RLIMIT_NOFILE) ? peer->rlimits[RLIMIT_NOFILE].rlim_cur : 1024;
	int r;

	memset(&e->cmd, 0, sizeof(e->cmd));
	e->cmd.program_fd = e->cmd.cwd_fd = -1;
	if (spec->has_program_fd_index) {
		r = fd_take(fdt, spec->program_fd_index, "program", &e->cmd.program_fd, why);
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
		r = fd_take(fdt, spec->fds[i]->fd_index, "fd map", &e->fds[i], why);
		if (r < 0)
			return r;
		e->targets[i] = target;
	}
	e->cmd.n_fds = spec->n_fds;
	e->cmd.fds = e->fds;
	e->cmd.targets = e->targets;
	if (spec->has_cwd_fd_index) {
		r = fd_take(fdt, spec->cwd_fd_index, "working directory", &e->cmd.cwd_fd, why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------ waiting */

enum pending_kind { PENDING_SPAWN, PENDING_RESERVE, PENDING_EXEC };

/* A request whose reply waits on holders. */
struct pending {
	LIST_ENTRY(pending) link;
	struct conn *conn;            /* NULL once the connection closed */
	uint64_t request_id;
	enum pending_kind kind;
	size_t n, n_waiting;
	bool failed;
	size_t failed_index;
	struct why why;
	char describe[128];
	struct proc **procs;
	bool *waiting;
	/* Failed: what it made is released, and it is answered once that
	 * is reaped. */
	struct proc_reap_wait reaped;
	enum stats_type type;         /* for the statistics */
	uint64_t start_usec;
	struct reserve_job *job;      /* a reserve still checking or making its processes */
};

static LIST_HEAD(, pending) pendings = LIST_HEAD_INITIALIZER(pendings);

static void reserve_job_free(struct reserve_job *job);

/* A release request, answered once the PIDs it freed are free: the
 * reaping is awaited from the exit events, not in the event loop. A kill
 * request that names reservations is answered the same way. */
struct release_answer {
	LIST_ENTRY(release_answer) link;
	struct conn *conn;            /* NULL once the connection closed */
	bool kill;                    /* answers a kill: ids are those signalled */
	uint64_t request_id;
	enum stats_type type;
	uint64_t start_usec;
	size_t n;
	uint64_t ids[];
};

static LIST_HEAD(, release_answer) release_answers = LIST_HEAD_INITIALIZER(release_answers);

static void pending_released(void *data);

static struct pending *pending_new(struct conn *c, uint64_t id, enum pending_kind kind, size_t n)
{
	struct pending *pd = calloc(1, sizeof(*pd));

	if (!pd)
		return NULL;
	pd->procs = calloc(n, sizeof(*pd->procs));
	pd->waiting = calloc(n, sizeof(*pd->waiting));
	if (!pd->procs || !pd->waiting) {
		free(pd->procs);
		free(pd->waiting);
		free(pd);
		return NULL;
	}
	pd->conn = c;
	pd->request_id = id;
	pd->kind = kind;
	pd->n = n;
	pd->type = answering.type;
	pd->start_usec = answering.start_usec;
	proc_reap_wait_init(&pd->reaped, pending_released, pd);
	LIST_INSERT_HEAD(&pendings, pd, link);
	return pd;
}

static void pending_free(struct pending *pd)
{
	if (pd->job)
		reserve_job_free(pd->job);
	LIST_REMOVE(pd, link);
	free(pd->procs);
	free(pd->waiting);
	free(pd);
}

static void pending_answer(struct pending *pd);

/* Releases what a failed request made; the request is answered once the
 * PIDs are free, so that "failed" means nothing of it is held any more. */
static void pending_release_all(struct pending *pd)
{
	for (size_t i = 0; i < pd->n; i++)
		if (pd->procs[i]) {
			proc_set_waiter(pd->procs[i], NULL, NULL);
			proc_release(pd->procs[i], &pd->reaped);
			pd->procs[i] = NULL;
		}
	proc_reap_wait_arm(&pd->reaped);
}

static void pending_released(void *data)
{
	pending_answer(data);
}

void request_conn_closed(struct conn *c)
{
	struct pending *pd, *next;
	struct release_answer *ra;

	/* Still counted once their PIDs are free, and then forgotten. */
	LIST_FOREACH(ra, &release_answers, link)
		if (ra->conn == c)
			ra->conn = NULL;

	for (pd = LIST_FIRST(&pendings); pd; pd = next) {
		next = LIST_NEXT(pd, link);
		if (pd->conn != c)
			continue;
		for (size_t i = 0; i < pd->n; i++)
			if (pd->waiting[i])
				proc_set_waiter(pd->procs[i], NULL, NULL);
		/* Processes it released are still to be reaped: it is counted
		 * and forgotten then (the others go with the connection). */
		if (pd->reaped.armed || pd->reaped.left > 0) {
			pd->conn = NULL;
			memset(pd->procs, 0, pd->n * sizeof(*pd->procs));
			if (!pd->reaped.armed)
				proc_reap_wait_arm(&pd->reaped);
			continue;
		}
		pending_free(pd);
	}
}

static void fill_info(const struct proc *p, Pidrestore__ProcessInfo *info, int32_t *pids, int pidfd_index)
{
	for (size_t i = 0; i < p->n_pids; i++)
		pids[i] = p->pids[i];
	info->id = p->id;
	info->n_pids = p->n_pids;
	info->pids = pids;
	info->has_pidns_inode = 1;
	info->pidns_inode = p->pidns_inode;
	if (pidfd_index >= 0) {
		info->has_pidfd_index = 1;
		info->pidfd_index = pidfd_index;
	}
}

static void reply_spawn(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__SpawnReply reply = PIDRESTORE__SPAWN_REPLY__INIT;
	Pidrestore__ProcessInfo info = PIDRESTORE__PROCESS_INFO__INIT;
	int32_t pids[PR_MAX_LEVELS];
	struct proc *p = pd->procs[0];

	fill_info(p, &info, pids, 0);
	reply.process = &info;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_SPAWN;
	resp.spawn = &reply;
	respond(pd->conn, pd->request_id, &resp, &p->pidfd, 1);
}

static void reply_exec(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ExecReply reply = PIDRESTORE__EXEC_REPLY__INIT;
	Pidrestore__ProcessInfo info = PIDRESTORE__PROCESS_INFO__INIT;
	int32_t pids[PR_MAX_LEVELS];

	fill_info(pd->procs[0], &info, pids, -1);
	reply.process = &info;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_EXEC;
	resp.exec = &reply;
	respond(pd->conn, pd->request_id, &resp, NULL, 0);
}

static void reply_reserve(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReserveReply reply = PIDRESTORE__RESERVE_REPLY__INIT;
	Pidrestore__ProcessInfo *infos = calloc(pd->n, sizeof(*infos));
	Pidrestore__ProcessInfo **ptrs = calloc(pd->n, sizeof(*ptrs));
	int32_t (*pids)[PR_MAX_LEVELS] = calloc(pd->n, sizeof(*pids));
	int *fds = calloc(pd->n, sizeof(*fds));
	bool opened[WIRE_MAX_FDS] = { false };
	/* One packet carries at most WIRE_MAX_FDS fds: larger batches come
	 * without pidfds (the ids and PIDs are enough to claim them). */
	bool with_fds = pd->n <= WIRE_MAX_FDS;

	if (!infos || !ptrs || !pids || !fds) {
		struct why why;

		why_set(&why, ENOMEM, "out of memory while answering");
		respond_error(pd->conn, pd->request_id, &why);
		goto out;
	}
	for (size_t i = 0; i < pd->n; i++) {
		pidrestore__process_info__init(&infos[i]);
		fill_info(pd->procs[i], &infos[i], pids[i], with_fds ? (int)i : -1);
		ptrs[i] = &infos[i];
		fds[i] = pd->procs[i]->pidfd;
		/* Made in slices, the first may have parked without their
		 * pidfds before the last were made (proc_set_waiter()). */
		if (with_fds && fds[i] < 0 && (fds[i] = spawn_child_pidfd(pd->procs[i]->pid)) >= 0)
			opened[i] = true;
		if (with_fds && fds[i] < 0) {
			struct why why;

			why_set(&why, -fds[i], "cannot open a pidfd of reservation %llu for the answer: %s",
				(unsigned long long)pd->procs[i]->id, strerror(-fds[i]));
			respond_error(pd->conn, pd->request_id, &why);
			goto out;
		}
	}
	reply.n_processes = pd->n;
	reply.processes = ptrs;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RESERVE;
	resp.reserve = &reply;
	respond(pd->conn, pd->request_id, &resp, fds, with_fds ? pd->n : 0);
out:
	for (size_t i = 0; fds && with_fds && i < pd->n; i++)
		if (opened[i])
			close(fds[i]);
	free(infos);
	free(ptrs);
	free(pids);
	free(fds);
}

static void pending_finish(struct pending *pd)
{
	/* All or nothing: what was made for this request goes, except a
	 * claimed reservation, which stays claimable. */
	if (pd->failed && pd->kind != PENDING_EXEC)
		pending_release_all(pd);
	else
		pending_answer(pd);
}

static void pending_answer(struct pending *pd)
{
	answering.type = pd->type;
	answering.start_usec = pd->start_usec;
	/* A request whose connection is gone is counted all the same. */
	if (!pd->conn)
		count_answer(pd->failed ? pd->why.err : 0);
	if (pd->failed) {
		if (pd->conn)
			respond_error(pd->conn, pd->request_id, &pd->why);
	} else if (pd->conn) {
		switch (pd->kind) {
		case PENDING_SPAWN:
			reply_spawn(pd);
			break;
		case PENDING_RESERVE:
			reply_reserve(pd);
			break;
		case PENDING_EXEC:
			reply_exec(pd);
			break;
		}
	}
	pending_free(pd);
	answering.type = STATS_INVALID;
	answering.start_usec = 0;
}

static void on_proc_report(struct proc *p, enum proc_report report, const struct why *why, void *data)
{
	struct pending *pd = data;
	size_t i;

	for (i = 0; i < pd->n && pd->procs[i] != p; i++)
		;
	if (i == pd->n || !pd->waiting[i])
		return;
	pd->waiting[i] = false;
	pd->n_waiting--;
	if (why->err && !pd->failed) {
		pd->failed = true;
		pd->failed_index = i;
		if (report == PROC_EXEC_DONE)
			why_set(&pd->why, why->err, "cannot execute %s: %s", pd->describe, why->text);
		else if (pd->n > 1)
			why_set(&pd->why, why->err, "process %zu of %zu: %s", i, pd->n, why->text);
		else
			pd->why = *why;
	}
	/* A process that failed is finished; the others of a failed batch
	 * are released when the batch is. */
	if (why->err && pd->kind != PENDING_EXEC) {
		proc_release(p, &pd->reaped);
		pd->procs[i] = NULL;
	}
	/* A reserve still making its processes answers when it is done. */
	if (pd->n_waiting == 0 && !pd->job)
		pending_finish(pd);
}

static void pending_wait(struct pending *pd, size_t i, struct proc *p)
{
	pd->procs[i] = p;
	pd->waiting[i] = true;
	pd->n_waiting++;
	proc_set_waiter(p, on_proc_report, pd);
}

/* ------------------------------------------------------------ owners */

/* Refuses a requester that does not own p (root too, unless root_may).
 * An id of someone else's is refused as such (EPERM), not as unknown: ids
 * count up and status tells everyone how many processes there are, so
 * that one exists is no secret. Whose it is, is: only root, who lists
 * everyone's, is told the owner. */
static int check_owner(const struct peer *peer, const struct proc *p, const char *what, const char *verb, bool root_may,
		       struct why *why)
{
	char owner[32] = "another user";

	if (p->owner_uid == peer->uid || (root_may && is_admin(peer)))
		return 0;
	if (is_admin(peer))
		snprintf(owner, sizeof(owner), "uid %u", p->owner_uid);
	return why_set(why, EPERM, "%s %llu belongs to %s; only its owner%s may %s it", what, (unsigned long long)p->id,
		       owner, root_may ? " and root" : "", verb);
}

/* ------------------------------------------------------------ handlers */

/* Hello.client, which front escaped (privmsg_client_name()) and which priv
 * does not take on trust: anything but printable ASCII, which front's
 * escaping never leaves, becomes '?'. */
static const char *client_name_for_log(const char *name, char *buf, size_t len)
{
	size_t i;

	for (i = 0; name && name[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)name[i] >= 0x20 && (unsigned char)name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void handle_hello(struct conn *c, uint64_t id, const Pidrestore__Hello *hello)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply reply = PIDRESTORE__HELLO_REPLY__INIT;
	const char *features[16];
	char client[84];
	size_t n = 0;
	uint32_t version;
	struct why why;

	version = hello->max_version < PIDRESTORE_PROTOCOL_VERSION ? hello->max_version : PIDRESTORE_PROTOCOL_VERSION;
	if (hello->min_version > hello->max_version || version < hello->min_version || version < PIDRESTORE_PROTOCOL_MIN_VERSION) {
		why_set(&why, EPROTONOSUPPORT, "the client speaks protocol versions %u to %u, this daemon %u to %u; upgrade the older side",
			hello->min_version, hello->max_version, PIDRESTORE_PROTOCOL_MIN_VERSION, PIDRESTORE_PROTOCOL_VERSION);
		respond_error(c, id, &why);
		return;
	}
	conn_set_version(c, version);
	features[n++] = "spawn";
	features[n++] = "reserve";
	features[n++] = "exec";
	features[n++] = "release";
	features[n++] = "status";
	features[n++] = "new-pidns";
	features[n++] = "any-free-pid";
	features[n++] = "reload";
	features[n++] = "policy";
	features[n++] = "list";
	features[n++] = "stats";
	features[n++] = "kill";
	features[n++] = "check";
	if (conn_peer(c)->pidfd_from_socket)
		features[n++] = "peer-pidfd";
	reply.version = version;
	reply.daemon_version = (char *)PACKAGE_VERSION;
	reply.n_features = n;
	reply.features = (char **)features;
	reply.has_max_message_size = 1;
	reply.max_message_size = (uint32_t)conn_max_message_size();
	reply.has_max_levels = 1;
	reply.max_levels = PR_MAX_LEVELS;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_HELLO;
	resp.hello = &reply;
	log_debug("connection %llu: hello from \"%s\", protocol %u", (unsigned long long)conn_number(c),
		  client_name_for_log(hello->client, client, sizeof(client)), version);
	respond(c, id, &resp, NULL, 0);
}

/* Authorizes t and refuses what its process could not carry; audited. */
static int target_check(struct conn *c, const char *verb, const struct target *t, struct why *why)
{
	const char *rules[PR_MAX_LEVELS];
	int r;

	r = target_authorize(c, t, rules, why);
	/* A child must carry every restriction its requester has (DESIGN §6).
	 * A seccomp filter cannot be copied from another process, so a
	 * filtered requester would get an unfiltered child: refuse instead. */
	if (r == 0 && conn_peer(c)->seccomp_mode != 0)
		r = why_set(why, EPERM, "the requester runs under a seccomp filter (mode %d), which pidrestored cannot give the new process; it refuses rather than create a process with fewer restrictions than its requester",
			    conn_peer(c)->seccomp_mode);
	audit(c, verb, t, rules, r < 0 ? why : NULL);
	return r;
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
	if (check_fds && (r = fd_check_all_used(fdt, why)) < 0)
		goto out;
	r = target_check(c, verb, &t, why);
	if (r < 0)
		goto out;
	r = target_create(c, &t, res, why);
out:
	target_release(&t);
	return r;
}

static void handle_spawn(struct conn *c, uint64_t id, const Pidrestore__SpawnRequest *req, struct fd_table *fdt)
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
	r = exec_parse(c, req->exec, fdt, e, &why);
	if (r < 0)
		goto fail;
	r = check_user_limits(c, "spawn", 1, false, &why);
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
	respond_error(c, id, &why);
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
	struct target t;
	int r;

	r = target_resolve(c, req->processes[i], &job->fdt, &t, why);
	if (r < 0)
		return r;
	if (i + 1 == req->n_processes && (r = fd_check_all_used(&job->fdt, why)) < 0)
		goto out;
	r = target_check(c, "reserve", &t, why);
	job->target_inode[i] = t.chain.level[target_index(&t)].inode;
out:
	target_release(&t);
	return r;
}

/* act: makes one process that was allowed. Its namespace is resolved
 * again, from the same fds, and must be the one authorized. */
static int reserve_make_one(struct reserve_job *job, size_t i, struct why *why)
{
	struct pending *pd = job->pd;
	struct conn *c = pd->conn;
	struct spawn_result res;
	struct target t;
	struct proc *p;
	int r;

	r = target_resolve(c, job->record.req->reserve->processes[i], &job->fdt, &t, why);
	if (r < 0)
		return r;
	if (t.chain.level[target_index(&t)].inode != job->target_inode[i]) {
		r = why_set(why, ESRCH, "its target pid namespace went away while the request was checked");
		goto out;
	}
	r = target_create(c, &t, &res, why);
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
	target_release(&t);
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
			/* All allowed: the same fds are taken again to make them. */
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
static bool handle_reserve(struct conn *c, struct privmsg_request *record, struct fd_table *fdt)
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
	if (check_user_limits(c, "reserve", req->n_processes, true, &why) < 0)
		goto refuse;
	if (req->has_ttl_sec && req->ttl_sec > 0)
		ttl = req->ttl_sec;
	if (limits.max_ttl_sec && (ttl == 0 || ttl > limits.max_ttl_sec))
		ttl = limits.max_ttl_sec;
	job = calloc(1, sizeof(*job));
	if (job)
		job->target_inode = calloc(req->n_processes, sizeof(*job->target_inode));
	if (job && job->target_inode)
		job->next_slice = evtimer_new(conn_event_base(c), reserve_job_slice, job);
	pd = job && job->next_slice ? pending_new(c, id, PENDING_RESERVE, req->n_processes) : NULL;
	if (!pd) {
		if (job && job->next_slice)
			event_free(job->next_slice);
		if (job)
			free(job->target_inode);
		free(job);
		why_set(&why, ENOMEM, "out of memory");
		goto refuse;
	}
	job->pd = pd;
	pd->job = job;
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
	respond_error(c, id, &why);
	return false;
}

static void handle_exec(struct conn *c, uint64_t id, const Pidrestore__ExecRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
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
	r = exec_parse(c, req->exec, fdt, e, &why);
	if (r < 0)
		goto fail;
	r = fd_check_all_used(fdt, &why);
	if (r < 0)
		goto fail;
	p = proc_find(req->reservation_id);
	if (!p || p->state == PROC_RELEASED) {
		why_set(&why, ESRCH, "there is no reservation %llu (it was released, expired, or never existed)",
			(unsigned long long)req->reservation_id);
		goto fail;
	}
	if (check_owner(peer, p, "reservation", "claim", false, &why) < 0)
		goto fail;
	if (peer_check_claim(peer, p->reserver, &why) < 0)
		goto fail;
	if (p->state != PROC_RESERVED) {
		why_set(&why, p->state == PROC_STARTING ? EAGAIN : EBUSY, "reservation %llu is %s",
			(unsigned long long)p->id,
			p->state == PROC_STARTING ? "still starting; try again once its reserve request was answered" :
			p->state == PROC_EXECING ? "being claimed by another request" : "already claimed");
		goto fail;
	}
	pd = pending_new(c, id, PENDING_EXEC, 1);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(pd->describe, sizeof(pd->describe), "%s", e->describe);
	r = proc_exec(p, &e->cmd, &why);
	if (r < 0)
		goto fail;
	/* The claimed process belongs to this connection from now on. */
	proc_set_owner(p, c);
	pending_wait(pd, 0, p);
	free(e);
	return;
fail:
	if (pd)
		pending_free(pd);
	free(e);
	respond_error(c, id, &why);
}

static void release_answer_send(void *data)
{
	struct release_answer *ra = data;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReleaseReply reply = PIDRESTORE__RELEASE_REPLY__INIT;

	answering.type = ra->type;
	answering.start_usec = ra->start_usec;
	if (ra->conn && ra->kill) {
		Pidrestore__KillReply kill = PIDRESTORE__KILL_REPLY__INIT;

		kill.n_signalled_ids = ra->n;
		kill.signalled_ids = ra->ids;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_KILL;
		resp.kill = &kill;
		respond(ra->conn, ra->request_id, &resp, NULL, 0);
	} else if (ra->conn) {
		reply.n_released_ids = ra->n;
		reply.released_ids = ra->ids;
		resp.body_case = PIDRESTORE__RESPONSE__BODY_RELEASE;
		resp.release = &reply;
		respond(ra->conn, ra->request_id, &resp, NULL, 0);
	} else {
		count_answer(0);
	}
	answering.type = STATS_INVALID;
	answering.start_usec = 0;
	LIST_REMOVE(ra, link);
	free(ra);
}

static void handle_release(struct conn *c, uint64_t id, const Pidrestore__ReleaseRequest *req)
{
	const struct peer *peer = conn_peer(c);
	struct release_answer *ra;
	size_t cap;
	struct why why;
	int r;

	if (req->has_all && req->all) {
		struct proc_counts counts;

		proc_count(c, &counts);
		cap = counts.reserved;
	} else {
		/* All or nothing: check every id before releasing any. */
		for (size_t i = 0; i < req->n_reservation_ids; i++) {
			struct proc *p = proc_find(req->reservation_ids[i]);

			if (!p || p->state == PROC_RELEASED) {
				why_set(&why, ESRCH, "there is no reservation %llu (it was released, expired, or never existed)",
					(unsigned long long)req->reservation_ids[i]);
				goto fail;
			}
			if (check_owner(peer, p, "reservation", "release", true, &why) < 0)
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
	ra->type = answering.type;
	ra->start_usec = answering.start_usec;
	LIST_INSERT_HEAD(&release_answers, ra, link);
	/* Answered from release_answer_send(), maybe before these return. */
	if (req->has_all && req->all) {
		r = proc_release_reserved_of_then(c, ra->ids, cap, &ra->n, release_answer_send, ra);
	} else {
		memcpy(ra->ids, req->reservation_ids, cap * sizeof(ra->ids[0]));
		r = proc_release_ids_then(req->reservation_ids, cap, &ra->n, release_answer_send, ra);
	}
	if (r < 0) {
		LIST_REMOVE(ra, link);
		free(ra);
		why_set(&why, -r, "out of memory");
		goto fail;
	}
	return;
fail:
	respond_error(c, id, &why);
}

struct uid_counts {
	uid_t uid;
	unsigned int reservations, running;
};

static void count_uid(const struct proc_summary *s, void *data)
{
	struct uid_counts *counts = data;

	if (s->owner_uid != counts->uid)
		return;
	if (s->state == PROC_STARTING || s->state == PROC_RESERVED)
		counts->reservations++;
	else if (s->state == PROC_RUNNING || s->state == PROC_EXECING)
		counts->running++;
}

static void handle_status(struct conn *c, uint64_t id)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__StatusReply reply = PIDRESTORE__STATUS_REPLY__INIT;
	const char *features[16];
	struct uid_counts mine = { .uid = conn_peer(c)->uid };
	struct proc_counts all, own;

	proc_count(NULL, &all);
	proc_count(c, &own);
	reply.daemon_version = (char *)PACKAGE_VERSION;
	reply.has_protocol_version = 1;
	reply.protocol_version = conn_version(c);
	reply.has_uptime_usec = 1;
	reply.uptime_usec = now_usec() - host.start_usec;
	reply.has_connections = 1;
	reply.connections = conn_count();
	reply.has_reservations = 1;
	reply.reservations = all.reserved + all.starting;
	reply.has_running = 1;
	reply.running = all.running;
	reply.has_spawns_total = 1;
	reply.spawns_total = stats.spawns_total;
	reply.has_reservations_total = 1;
	reply.reservations_total = stats.reservations_total;
	reply.socket_path = (char *)listener_path();
	reply.has_socket_activated = 1;
	reply.socket_activated = listener_activated();
	reply.has_own_reservations = 1;
	reply.own_reservations = own.reserved + own.starting;
	reply.has_own_running = 1;
	reply.own_running = own.running;
	reply.n_policy_files = current_policy.n_files;
	reply.policy_files = current_policy.files;
	reply.n_kernel_features = host.kernel_features(features, ELEMENTSOF(features));
	reply.kernel_features = (char **)features;
	reply.has_daemon_pid = 1;
	reply.daemon_pid = (uint32_t)getpid();
	reply.front_pid = (uint32_t)host.front_pid();
	reply.has_front_pid = reply.front_pid > 0;
	reply.spawner_pid = (uint32_t)spawn_spawner_pid();
	reply.has_spawner_pid = reply.spawner_pid > 0;
	proc_foreach(false, count_uid, &mine);
	reply.has_uid_reservations = reply.has_uid_running = 1;
	reply.uid_reservations = mine.reservations;
	reply.uid_running = mine.running;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_STATUS;
	resp.status = &reply;
	respond(c, id, &resp, NULL, 0);
}

static void handle_reload(struct conn *c, uint64_t id)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReloadReply reply = PIDRESTORE__RELOAD_REPLY__INIT;
	struct why why = { 0 };

	if (!is_admin(peer)) {
		why_set(&why, EPERM, "only root may reload the policy (uid %u asked, without CAP_SYS_ADMIN in the daemon's user namespace); run it as root",
			peer->uid);
		respond_error(c, id, &why);
		return;
	}
	log_info("policy reload asked for by uid %u (pid %d)", peer->uid, peer->pid);
	if (host.reload_policy(&why) < 0) {
		struct why inner = why;

		why_set(&why, inner.err, "the policy was not reloaded and the old one stays in force: %s", inner.text);
		respond_error(c, id, &why);
		return;
	}
	reply.n_files = current_policy.n_files;
	reply.files = current_policy.files;
	reply.has_grants = 1;
	reply.grants = (uint32_t)current_policy.n_grants;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RELOAD;
	resp.reload = &reply;
	respond(c, id, &resp, NULL, 0);
}

/* "Would uid be allowed these PIDs there?": the policy's decision only. */
static int policy_verdict(struct conn *c, const Pidrestore__PolicyCheck *check, struct fd_table *fdt,
			  Pidrestore__PolicyVerdict *verdict, Pidrestore__PolicyLevel *levels_out,
			  Pidrestore__PolicyLevel **level_ptrs, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct policy_level levels[PR_MAX_LEVELS];
	const char *rules[PR_MAX_LEVELS];
	struct policy_request req = requester_of(c);
	struct why refusal = { 0 };
	struct target t;
	bool known = true, other_uid = check->has_uid && check->uid != peer->uid;
	int r;

	if (!check->process)
		return why_set(why, EINVAL, "a policy check needs a process part (the PIDs and the namespace)");
	if (other_uid) {
		if (!is_admin(peer))
			return why_set(why, EPERM, "only root may check the policy for another uid (uid %u asked about uid %u, without CAP_SYS_ADMIN in the daemon's user namespace); leave out --uid to check your own",
				       peer->uid, check->uid);
		r = policy_query_identity(check->uid, &req, &known);
		if (r < 0)
			return why_set(why, -r, "cannot look up uid %u: %s", check->uid, strerror(-r));
	}
	r = target_resolve(c, check->process, fdt, &t, why);
	if (r == 0)
		r = fd_check_all_used(fdt, why);
	if (r < 0)
		goto out;
	req.n_levels = target_levels(&t, peer->pidns_inode, levels);
	req.levels = levels;
	r = policy_check(&current_policy, &req, rules, &refusal);
	verdict->allowed = r == 0;
	verdict->has_uid = 1;
	verdict->uid = req.uid;
	if (other_uid)
		verdict->assumed = (char *)policy_query_assumption(req.uid, known);
	if (r < 0)
		why_set(why, refusal.err, "%s%s", refusal.text,
			known ? "" : " (this uid has no user database entry: checked without groups)");
	verdict->message = r < 0 ? why->text : NULL;
	/* Every level the process would have a PID in; those the request
	 * leaves to the kernel need no rule. */
	for (size_t i = 0; i < t.chain.n; i++) {
		Pidrestore__PolicyLevel *lv = &levels_out[i];
		bool named = i < req.n_levels;

		pidrestore__policy_level__init(lv);
		lv->has_pid = lv->has_depth = lv->has_pidns_inode = 1;
		lv->pid = named ? t.pids[i] : 0;
		lv->depth = (uint32_t)(t.chain.n - 1 - i);
		lv->pidns_inode = t.new_pidns && i == 0 ? 0 : t.chain.level[i].inode;
		lv->rule = named ? (char *)rules[i] : (char *)"any-free-pid";
		level_ptrs[i] = lv;
	}
	verdict->n_levels = t.chain.n;
	verdict->levels = level_ptrs;
	r = 0;
out:
	target_release(&t);
	if (req.groups != peer->groups)
		free((gid_t *)req.groups);
	return r;
}

static void handle_policy(struct conn *c, uint64_t id, const Pidrestore__PolicyRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__PolicyReply reply = PIDRESTORE__POLICY_REPLY__INIT;
	Pidrestore__PolicyVerdict verdict = PIDRESTORE__POLICY_VERDICT__INIT;
	Pidrestore__PolicyLevel levels[PR_MAX_LEVELS];
	Pidrestore__PolicyLevel *level_ptrs[PR_MAX_LEVELS];
	struct policy_request viewer = requester_of(c);
	struct why why = { 0 }, refusal = { 0 };
	int r;

	if (req->check) {
		r = policy_verdict(c, req->check, fdt, &verdict, levels, level_ptrs, &refusal);
		if (r < 0) {
			respond_error(c, id, &refusal);
			return;
		}
	} else if (fdt->pkt->n_fds > 0) {
		why_set(&why, EPROTO, "a policy request without a check takes no fds but carried %zu", fdt->pkt->n_fds);
		respond_error(c, id, &why);
		return;
	}
	r = policy_query_show(&current_policy, &viewer, is_admin(peer), &reply);
	if (r < 0) {
		why_set(&why, -r, "cannot describe the policy: %s", strerror(-r));
		respond_error(c, id, &why);
		goto out;
	}
	if (req->check)
		reply.verdict = &verdict;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_POLICY;
	resp.policy = &reply;
	respond(c, id, &resp, NULL, 0);
out:
	policy_query_free(&reply);
}

/* ------------------------------------------------------ admin verbs */

struct list_build {
	uid_t viewer;                /* whose entries; (uid_t)-1: everyone's */
	uint64_t now;
	Pidrestore__ListEntry *entries;
	Pidrestore__ListEntry **ptrs;
	int32_t *pids;               /* PR_MAX_LEVELS per entry */
	size_t n, cap;
	int err;
};

static Pidrestore__ProcessState state_on_wire(enum proc_state state)
{
	switch (state) {
	case PROC_STARTING:
		return PIDRESTORE__PROCESS_STATE__STARTING;
	case PROC_RESERVED:
		return PIDRESTORE__PROCESS_STATE__RESERVED;
	case PROC_EXECING:
		return PIDRESTORE__PROCESS_STATE__EXECING;
	case PROC_RUNNING:
		return PIDRESTORE__PROCESS_STATE__RUNNING;
	case PROC_RELEASED:
		break;
	}
	return PIDRESTORE__PROCESS_STATE__RELEASING;
}

static int list_grow(struct list_build *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	Pidrestore__ListEntry *entries = realloc(b->entries, cap * sizeof(*entries));
	int32_t *pids;

	if (!entries)
		return -ENOMEM;
	b->entries = entries;
	pids = realloc(b->pids, cap * PR_MAX_LEVELS * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	b->pids = pids;
	b->cap = cap;
	return 0;
}

static void list_add(const struct proc_summary *s, void *data)
{
	struct list_build *b = data;
	Pidrestore__ListEntry *e;

	if (b->err || (b->viewer != (uid_t)-1 && s->owner_uid != b->viewer))
		return;
	if (b->n == b->cap && (b->err = list_grow(b)) < 0)
		return;
	e = &b->entries[b->n];
	pidrestore__list_entry__init(e);
	e->id = s->id;
	e->has_owner_uid = 1;
	e->owner_uid = s->owner_uid;
	/* The pids arrays move when the arrays grow: pointers are set at
	 * the end. */
	for (size_t i = 0; i < s->n_pids; i++)
		b->pids[b->n * PR_MAX_LEVELS + i] = s->pids[i];
	e->n_pids = s->n_pids;
	e->has_pidns_inode = 1;
	e->pidns_inode = s->pidns_inode;
	e->has_state = 1;
	e->state = s->ended ? PIDRESTORE__PROCESS_STATE__EXITED : state_on_wire(s->state);
	e->has_age_usec = 1;
	e->age_usec = b->now > s->created_usec ? b->now - s->created_usec : 0;
	if (s->expires_usec) {
		e->has_ttl_left_usec = 1;
		e->ttl_left_usec = s->expires_usec > b->now ? s->expires_usec - b->now : 0;
	}
	if (s->ended) {
		if (s->signal) {
			e->has_signal = 1;
			e->signal = s->signal;
		} else {
			e->has_exit_code = 1;
			e->exit_code = s->exit_code;
		}
	}
	e->has_owner_connected = 1;
	e->owner_connected = s->owner_connected;
	b->n++;
}

/* Users see their own processes, over all their connections; root sees
 * everyone's. */
static void handle_list(struct conn *c, uint64_t id, const Pidrestore__ListRequest *req)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ListReply reply = PIDRESTORE__LIST_REPLY__INIT;
	struct list_build b = { .viewer = is_admin(peer) ? (uid_t)-1 : peer->uid, .now = now_usec() };
	struct why why;

	proc_foreach(req->has_all && req->all, list_add, &b);
	if (!b.err && b.n > 0 && !(b.ptrs = calloc(b.n, sizeof(*b.ptrs))))
		b.err = -ENOMEM;
	if (b.err) {
		why_set(&why, -b.err, "cannot list the processes: %s", strerror(-b.err));
		respond_error(c, id, &why);
		goto out;
	}
	for (size_t i = 0; i < b.n; i++) {
		b.entries[i].pids = &b.pids[i * PR_MAX_LEVELS];
		b.ptrs[i] = &b.entries[i];
	}
	reply.n_entries = b.n;
	reply.entries = b.ptrs;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_LIST;
	resp.list = &reply;
	respond(c, id, &resp, NULL, 0);
out:
	free(b.ptrs);
	free(b.entries);
	free(b.pids);
}

struct stats_build {
	Pidrestore__RequestCount counts[STATS_N_TYPES * 8];
	Pidrestore__RequestCount *ptrs[STATS_N_TYPES * 8];
	const char *names[STATS_N_TYPES * 8];
	size_t n;
};

static void stats_add(enum stats_type type, int err, uint64_t count, void *data)
{
	struct stats_build *b = data;
	Pidrestore__RequestCount *rc;
	const char *name;

	if (b->n == ELEMENTSOF(b->counts))
		return;
	rc = &b->counts[b->n];
	pidrestore__request_count__init(rc);
	name = err ? strerrorname_np(err) : "ok";
	rc->type = (char *)stats_type_name(type);
	rc->outcome = (char *)(name ? name : "unknown");
	rc->count = count;
	b->ptrs[b->n++] = rc;
}

static void handle_stats(struct conn *c, uint64_t id)
{
	static const enum stats_type timed[] = { STATS_SPAWN, STATS_RESERVE };
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__StatsReply reply = PIDRESTORE__STATS_REPLY__INIT;
	Pidrestore__LatencySummary latency[ELEMENTSOF(timed)], *latency_ptrs[ELEMENTSOF(timed)];
	struct stats_build *b = calloc(1, sizeof(*b));
	struct why why;

	if (!b) {
		why_set(&why, ENOMEM, "out of memory");
		respond_error(c, id, &why);
		return;
	}
	/* This request is counted when it is answered: it is not in its own
	 * figures. */
	stats_foreach_count(stats_add, b);
	for (size_t i = 0; i < ELEMENTSOF(timed); i++) {
		const struct histogram *h = stats_latency(timed[i]);

		pidrestore__latency_summary__init(&latency[i]);
		latency[i].type = (char *)stats_type_name(timed[i]);
		latency[i].has_count = latency[i].has_p50_usec = latency[i].has_p90_usec = 1;
		latency[i].has_p99_usec = latency[i].has_max_usec = 1;
		latency[i].count = h->count;
		latency[i].p50_usec = histogram_quantile(h, 0.50);
		latency[i].p90_usec = histogram_quantile(h, 0.90);
		latency[i].p99_usec = histogram_quantile(h, 0.99);
		latency[i].max_usec = h->max;
		latency_ptrs[i] = &latency[i];
	}
	reply.n_requests = b->n;
	reply.requests = b->ptrs;
	reply.n_latencies = ELEMENTSOF(timed);
	reply.latencies = latency_ptrs;
	reply.has_uptime_usec = 1;
	reply.uptime_usec = now_usec() - host.start_usec;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_STATS;
	resp.stats = &reply;
	respond(c, id, &resp, NULL, 0);
	free(b);
}

/* Signals running programs, releases reservations: all or nothing, like
 * release. */
static void handle_kill(struct conn *c, uint64_t id, const Pidrestore__KillRequest *req)
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
		if (check_owner(peer, p, "process", "signal", true, &why) < 0)
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
	ra->type = answering.type;
	ra->start_usec = answering.start_usec;
	/* A placeholder has no program to signal: it is released, and the
	 * answer waits until its PIDs are free, from the exit events. */
	memcpy(ra->ids + ra->n, reserved, n_reserved * sizeof(*reserved));
	ra->n += n_reserved;
	log_info("uid %u (pid %d) sent signal %d to %zu processes", peer->uid, peer->pid, sig, ra->n);
	LIST_INSERT_HEAD(&release_answers, ra, link);
	r = proc_release_ids_then(reserved, n_reserved, &n_released, release_answer_send, ra);
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
	respond_error(c, id, &why);
}

static enum stats_type stats_type_of(Pidrestore__Request__BodyCase body)
{
	switch (body) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		return STATS_HELLO;
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		return STATS_SPAWN;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		return STATS_RESERVE;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		return STATS_EXEC;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		return STATS_RELEASE;
	case PIDRESTORE__REQUEST__BODY_STATUS:
		return STATS_STATUS;
	case PIDRESTORE__REQUEST__BODY_RELOAD:
		return STATS_RELOAD;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		return STATS_POLICY;
	case PIDRESTORE__REQUEST__BODY_LIST:
		return STATS_LIST;
	case PIDRESTORE__REQUEST__BODY_STATS:
		return STATS_STATS;
	case PIDRESTORE__REQUEST__BODY_CHECK:
		return STATS_CHECK;
	case PIDRESTORE__REQUEST__BODY_KILL:
		return STATS_KILL;
	default:
		return STATS_INVALID;
	}
}

static void handle_check(struct conn *c, uint64_t id)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__CheckReply reply;

	check_reply_build(&reply);
	resp.body_case = PIDRESTORE__RESPONSE__BODY_CHECK;
	resp.check = &reply;
	respond(c, id, &resp, NULL, 0);
}

void request_handle(struct conn *c, const uint8_t *buf, size_t len, struct wire_packet *pkt)
{
	struct fd_table fdt = { .pkt = pkt };
	struct privmsg_request record;
	Pidrestore__Request *req;
	struct why why = { 0 };
	int r;

	answering.type = STATS_INVALID;
	answering.start_usec = now_usec();
	r = privmsg_unpack_request(buf, len, pkt->n_fds, &record, &why);
	req = record.req;
	if (r < 0) {
		if (!req)
			log_info("connection %llu (uid %u): %s", (unsigned long long)conn_number(c), conn_peer(c)->uid, why.text);
		else
			answering.type = stats_type_of(req->body_case);
		respond_error(c, req ? req->id : 0, &why);
		goto out;
	}
	answering.type = stats_type_of(req->body_case);
	if (conn_version(c) == 0 && req->body_case != PIDRESTORE__REQUEST__BODY_HELLO) {
		why_set(&why, EPROTO, "the first request on a connection must be Hello (to agree on the protocol version)");
		respond_error(c, req->id, &why);
		goto out;
	}

	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		handle_hello(c, req->id, req->hello);
		break;
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		handle_spawn(c, req->id, req->spawn, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		/* It may go on after this returns, with the request and its fds. */
		if (handle_reserve(c, &record, &fdt))
			record = (struct privmsg_request){ 0 };
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		handle_exec(c, req->id, req->exec, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		handle_release(c, req->id, req->release);
		break;
	case PIDRESTORE__REQUEST__BODY_STATUS:
		handle_status(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_RELOAD:
		handle_reload(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		handle_policy(c, req->id, req->policy, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_LIST:
		handle_list(c, req->id, req->list);
		break;
	case PIDRESTORE__REQUEST__BODY_STATS:
		handle_stats(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_KILL:
		handle_kill(c, req->id, req->kill);
		break;
	case PIDRESTORE__REQUEST__BODY_CHECK:
		handle_check(c, req->id);
		break;
	default:
		why_set(&why, EOPNOTSUPP, "unknown request type; this daemon (protocol %u) does not know it — check HelloReply.features",
			PIDRESTORE_PROTOCOL_VERSION);
		respond_error(c, req->id, &why);
		break;
	}
out:
	privmsg_request_free(&record);
	wire_close_fds(pkt, 0);
	answering.type = STATS_INVALID;
	answering.start_usec = 0;
}
