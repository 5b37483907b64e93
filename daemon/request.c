#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "conn.h"
#include "decode.h"
#include "kernel.h"
#include "log.h"
#include "nsref.h"
#include "pidrestore.pb-c.h"
#include "proc.h"
#include "request.h"
#include "server.h"
#include "spawn.h"

/* Attempts at finding a free PID for a level given as 0. */
#define ANY_PID_ATTEMPTS 32

static struct policy current_policy = { .own_namespaces = true };
static struct request_limits limits;
static struct request_stats stats;

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
};

static void target_release(struct target *t)
{
	nsref_chain_release(&t->chain);
}

static pid_t host_pid_max(void)
{
	char buf[32];

	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0)
		return (pid_t)atoi(buf);
	return 32768;
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
		nsref_userns_owners(peer->userns_fd, &t->chain.level[0].owners);
	}
	levels = t->chain.n;
	if (spec->n_pids > levels) {
		r = why_set(why, EINVAL, "%zu PIDs given but the target pid namespace pid:[%llu] has only %zu level%s up to the daemon's namespace%s",
			    spec->n_pids, (unsigned long long)t->chain.level[first].inode, levels, levels == 1 ? "" : "s",
			    t->new_pidns ? " (counting the new namespace)" : "");
		goto fail;
	}

	hostmax = host_pid_max();
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
	if (t->new_pidns && t->n_pids > 0)
		t->pids[0] = 1;
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

/* authorize: every named level, before anything is created (DESIGN §5). */
static int target_authorize(struct conn *c, const struct target *t, const char **rule, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct policy_level levels[PR_MAX_LEVELS];
	struct policy_request req = {
		.uid = peer->uid, .gid = peer->gid, .groups = peer->groups, .n_groups = peer->n_groups,
		.n_levels = t->n_pids, .levels = levels,
	};

	for (size_t i = 0; i < t->n_pids; i++) {
		const struct nsref_level *lv = &t->chain.level[i];

		levels[i] = (struct policy_level){
			.pid = t->pids[i],
			.depth = (unsigned int)(t->chain.n - 1 - i),
			.ns_inode = lv->inode,
			.is_daemon_ns = lv->fd >= 0 && lv->inode == nsref_own_pidns_inode(),
			.is_new = t->new_pidns && i == 0,
			.n_owners = lv->owners.n,
			.owners = lv->owners.uid,
		};
	}
	return policy_check(&current_policy, &req, rule, why);
}

static void audit(struct conn *c, const char *verb, const struct target *t, const char *rule, const struct why *why)
{
	const struct peer *peer = conn_peer(c);
	char pids[PR_MAX_LEVELS * 12 + 1] = "", *at = pids;

	for (size_t i = 0; i < t->n_pids; i++)
		at += snprintf(at, sizeof(pids) - (size_t)(at - pids), "%s%d", i ? "," : "", t->pids[i]);
	if (why)
		log_notice("denied %s for uid %u (pid %d): pids [%s] in pid:[%llu]: %s", verb, peer->uid, peer->pid, pids,
			   (unsigned long long)t->chain.level[t->new_pidns && t->chain.n > 1 ? 1 : 0].inode, why->text);
	else
		log_info("granted %s for uid %u (pid %d): pids [%s] in pid:[%llu] by rule %s", verb, peer->uid, peer->pid, pids,
			 (unsigned long long)t->chain.level[t->new_pidns && t->chain.n > 1 ? 1 : 0].inode, rule);
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
	pid_t hostmax = host_pid_max();
	int r;

	if (t->new_pidns) {
		if (peer->own_userns) {
			/* clone3 makes it, owned by the daemon's user namespace,
			 * which is the requester's. */
			t->clone_newpid = true;
		} else if (t->chain.level[0].fd < 0) {
			r = spawn_make_pidns(peer, t->chain.level[1].fd, &t->chain.level[0].fd, why);
			if (r < 0)
				return r;
			t->chain.level[0].inode = fd_inode(t->chain.level[0].fd);
		}
		if (t->n_pids == 0) {
			t->pids[0] = 1;
			t->n_pids = 1;
		}
	}
	for (int attempt = 0;; attempt++) {
		for (size_t i = 0; i < t->n_pids; i++)
			if (t->auto_pid[i])
				t->pids[i] = pick_pid(t->pid_limit[i] < hostmax ? t->pid_limit[i] : hostmax);
		r = spawn_holder(peer, &t->chain, t->clone_newpid, t->pids, t->n_pids, res, why);
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
	int *reap;                    /* pidfds of released processes to wait for */
	size_t n_reap;
};

static LIST_HEAD(, pending) pendings = LIST_HEAD_INITIALIZER(pendings);

static struct pending *pending_new(struct conn *c, uint64_t id, enum pending_kind kind, size_t n)
{
	struct pending *pd = calloc(1, sizeof(*pd));

	if (!pd)
		return NULL;
	pd->procs = calloc(n, sizeof(*pd->procs));
	pd->waiting = calloc(n, sizeof(*pd->waiting));
	pd->reap = calloc(n, sizeof(*pd->reap));
	if (!pd->procs || !pd->waiting || !pd->reap) {
		free(pd->procs);
		free(pd->waiting);
		free(pd->reap);
		free(pd);
		return NULL;
	}
	pd->conn = c;
	pd->request_id = id;
	pd->kind = kind;
	pd->n = n;
	LIST_INSERT_HEAD(&pendings, pd, link);
	return pd;
}

static void pending_free(struct pending *pd)
{
	LIST_REMOVE(pd, link);
	proc_reap_pidfds(pd->reap, pd->n_reap);
	free(pd->procs);
	free(pd->waiting);
	free(pd->reap);
	free(pd);
}

/* Releases what a failed request made and waits until the PIDs are free,
 * so that an answer "failed" means nothing of it is held any more. */
static void pending_release_all(struct pending *pd)
{
	for (size_t i = 0; i < pd->n; i++)
		if (pd->procs[i]) {
			proc_set_waiter(pd->procs[i], NULL, NULL);
			pd->reap[pd->n_reap++] = proc_release_for_reap(pd->procs[i]);
			pd->procs[i] = NULL;
		}
	proc_reap_pidfds(pd->reap, pd->n_reap);
	pd->n_reap = 0;
}

void request_conn_closed(struct conn *c)
{
	struct pending *pd, *next;

	for (pd = LIST_FIRST(&pendings); pd; pd = next) {
		next = LIST_NEXT(pd, link);
		if (pd->conn != c)
			continue;
		for (size_t i = 0; i < pd->n; i++)
			if (pd->waiting[i])
				proc_set_waiter(pd->procs[i], NULL, NULL);
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
	conn_respond(pd->conn, pd->request_id, &resp, &p->pidfd, 1);
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
	conn_respond(pd->conn, pd->request_id, &resp, NULL, 0);
}

static void reply_reserve(struct pending *pd)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReserveReply reply = PIDRESTORE__RESERVE_REPLY__INIT;
	Pidrestore__ProcessInfo *infos = calloc(pd->n, sizeof(*infos));
	Pidrestore__ProcessInfo **ptrs = calloc(pd->n, sizeof(*ptrs));
	int32_t (*pids)[PR_MAX_LEVELS] = calloc(pd->n, sizeof(*pids));
	int *fds = calloc(pd->n, sizeof(*fds));
	/* One packet carries at most WIRE_MAX_FDS fds: larger batches come
	 * without pidfds (the ids and PIDs are enough to claim them). */
	bool with_fds = pd->n <= WIRE_MAX_FDS;

	if (!infos || !ptrs || !pids || !fds) {
		struct why why;

		why_set(&why, ENOMEM, "out of memory while answering");
		conn_respond_error(pd->conn, pd->request_id, &why);
		goto out;
	}
	for (size_t i = 0; i < pd->n; i++) {
		pidrestore__process_info__init(&infos[i]);
		fill_info(pd->procs[i], &infos[i], pids[i], with_fds ? (int)i : -1);
		ptrs[i] = &infos[i];
		fds[i] = pd->procs[i]->pidfd;
	}
	reply.n_processes = pd->n;
	reply.processes = ptrs;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RESERVE;
	resp.reserve = &reply;
	conn_respond(pd->conn, pd->request_id, &resp, fds, with_fds ? pd->n : 0);
out:
	free(infos);
	free(ptrs);
	free(pids);
	free(fds);
}

static void pending_finish(struct pending *pd)
{
	if (pd->failed) {
		/* All or nothing: what was made for this request goes, except a
		 * claimed reservation, which stays claimable. */
		if (pd->kind != PENDING_EXEC)
			pending_release_all(pd);
		if (pd->conn)
			conn_respond_error(pd->conn, pd->request_id, &pd->why);
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
		pd->reap[pd->n_reap++] = proc_release_for_reap(p);
		pd->procs[i] = NULL;
	}
	if (pd->n_waiting == 0)
		pending_finish(pd);
}

static void pending_wait(struct pending *pd, size_t i, struct proc *p)
{
	pd->procs[i] = p;
	pd->waiting[i] = true;
	pd->n_waiting++;
	proc_set_waiter(p, on_proc_report, pd);
}

/* ------------------------------------------------------------ handlers */

static void handle_hello(struct conn *c, uint64_t id, const Pidrestore__Hello *hello)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply reply = PIDRESTORE__HELLO_REPLY__INIT;
	const char *features[8];
	size_t n = 0;
	uint32_t version;
	struct why why;

	version = hello->max_version < PIDRESTORE_PROTOCOL_VERSION ? hello->max_version : PIDRESTORE_PROTOCOL_VERSION;
	if (hello->min_version > hello->max_version || version < hello->min_version || version < PIDRESTORE_PROTOCOL_MIN_VERSION) {
		why_set(&why, EPROTONOSUPPORT, "the client speaks protocol versions %u to %u, this daemon %u to %u; upgrade the older side",
			hello->min_version, hello->max_version, PIDRESTORE_PROTOCOL_MIN_VERSION, PIDRESTORE_PROTOCOL_VERSION);
		conn_respond_error(c, id, &why);
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
		  hello->client ? hello->client : "", version);
	conn_respond(c, id, &resp, NULL, 0);
}

/* Creates one process for spec; validation, authorization and the clone
 * are all done when it returns 0. */
static int create_one(struct conn *c, const char *verb, const Pidrestore__ProcessSpec *spec,
		      struct fd_table *fdt, bool check_fds, struct spawn_result *res, struct why *why)
{
	struct target t;
	const char *rule;
	int r;

	r = target_resolve(c, spec, fdt, &t, why);
	if (r < 0)
		return r;
	if (check_fds && (r = fd_check_all_used(fdt, why)) < 0)
		goto out;
	r = target_authorize(c, &t, &rule, why);
	/* A child must carry every restriction its requester has (DESIGN §6).
	 * A seccomp filter cannot be copied from another process, so a
	 * filtered requester would get an unfiltered child: refuse instead. */
	if (r == 0 && conn_peer(c)->seccomp_mode != 0)
		r = why_set(why, EPERM, "the requester runs under a seccomp filter (mode %d), which pidrestored cannot give the new process; it refuses rather than create a process with fewer restrictions than its requester",
			    conn_peer(c)->seccomp_mode);
	audit(c, verb, &t, rule, r < 0 ? why : NULL);
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
	r = create_one(c, "spawn", req->process, fdt, true, &res, &why);
	if (r < 0)
		goto fail;
	r = proc_start(c, peer->uid, &res, &p);
	if (r < 0) {
		why_set(&why, -r, "cannot watch the new process: %s", strerror(-r));
		goto fail;
	}
	stats.spawns_total++;
	pd = pending_new(c, id, PENDING_SPAWN, 1);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(pd->describe, sizeof(pd->describe), "%s", e->describe);
	r = proc_exec(p, &e->cmd, &why);
	if (r < 0)
		goto fail;
	pending_wait(pd, 0, p);
	free(e);
	return;
fail:
	if (pd)
		pending_free(pd);
	if (p) {
		int pidfd = proc_release_for_reap(p);

		proc_reap_pidfds(&pidfd, 1);
	}
	free(e);
	conn_respond_error(c, id, &why);
}

static void handle_reserve(struct conn *c, uint64_t id, const Pidrestore__ReserveRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
	struct pending *pd = NULL;
	struct why why = { 0 };
	unsigned int ttl = 0;
	size_t made = 0;
	int r;

	if (req->n_processes == 0) {
		why_set(&why, EINVAL, "a reserve request names no process");
		conn_respond_error(c, id, &why);
		return;
	}
	if (limits.max_reservations_per_conn &&
	    conn_reservations(c) + req->n_processes > limits.max_reservations_per_conn) {
		why_set(&why, ENOSPC, "reserving %zu more would exceed the limit of %u outstanding reservations per connection (this one holds %u); release or claim some first",
			req->n_processes, limits.max_reservations_per_conn, conn_reservations(c));
		conn_respond_error(c, id, &why);
		return;
	}
	if (limits.max_reservations && proc_outstanding() + req->n_processes > limits.max_reservations) {
		why_set(&why, ENOSPC, "reserving %zu more would exceed the daemon's limit of %u outstanding reservations (%u held now); try again later",
			req->n_processes, limits.max_reservations, proc_outstanding());
		conn_respond_error(c, id, &why);
		return;
	}
	if (req->has_ttl_sec && req->ttl_sec > 0)
		ttl = req->ttl_sec;
	if (limits.max_ttl_sec && (ttl == 0 || ttl > limits.max_ttl_sec))
		ttl = limits.max_ttl_sec;
	pd = pending_new(c, id, PENDING_RESERVE, req->n_processes);
	if (!pd) {
		why_set(&why, ENOMEM, "out of memory");
		conn_respond_error(c, id, &why);
		return;
	}
	for (size_t i = 0; i < req->n_processes; i++) {
		struct spawn_result res;
		struct proc *p;

		r = create_one(c, "reserve", req->processes[i], fdt, i + 1 == req->n_processes, &res, &why);
		if (r == 0) {
			r = proc_start(c, peer->uid, &res, &p);
			if (r < 0)
				why_set(&why, -r, "cannot watch the new process: %s", strerror(-r));
		}
		if (r < 0) {
			if (req->n_processes > 1) {
				struct why inner = why;

				why_set(&why, inner.err, "process %zu of %zu: %s", i, req->n_processes, inner.text);
			}
			goto fail;
		}
		if (ttl > 0)
			proc_set_ttl(p, ttl);
		pending_wait(pd, i, p);
		made++;
	}
	stats.reservations_total += made;
	return;
fail:
	pending_release_all(pd);
	pending_free(pd);
	conn_respond_error(c, id, &why);
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
	if (p->owner_uid != peer->uid) {
		why_set(&why, EPERM, "reservation %llu belongs to uid %u, not to uid %u",
			(unsigned long long)p->id, p->owner_uid, peer->uid);
		goto fail;
	}
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
	p->owner = c;
	pending_wait(pd, 0, p);
	free(e);
	return;
fail:
	if (pd)
		pending_free(pd);
	free(e);
	conn_respond_error(c, id, &why);
}

static void handle_release(struct conn *c, uint64_t id, const Pidrestore__ReleaseRequest *req)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ReleaseReply reply = PIDRESTORE__RELEASE_REPLY__INIT;
	uint64_t *released = NULL;
	size_t n = 0;
	struct why why;

	if (req->has_all && req->all) {
		struct proc_counts counts;

		proc_count(c, &counts);
		released = calloc(counts.reserved + 1, sizeof(*released));
		if (!released) {
			why_set(&why, ENOMEM, "out of memory");
			conn_respond_error(c, id, &why);
			return;
		}
		n = proc_release_reserved_of(c, released, counts.reserved + 1);
	} else {
		/* All or nothing: check every id before releasing any. */
		for (size_t i = 0; i < req->n_reservation_ids; i++) {
			struct proc *p = proc_find(req->reservation_ids[i]);

			if (!p || p->state == PROC_RELEASED) {
				why_set(&why, ESRCH, "there is no reservation %llu (it was released, expired, or never existed)",
					(unsigned long long)req->reservation_ids[i]);
				goto fail;
			}
			if (p->owner_uid != peer->uid && peer->uid != 0) {
				why_set(&why, EPERM, "reservation %llu belongs to uid %u; only it and root may release it",
					(unsigned long long)p->id, p->owner_uid);
				goto fail;
			}
			if (p->state == PROC_RUNNING || p->state == PROC_EXECING) {
				why_set(&why, EBUSY, "%llu is a running process, not a reservation; stop it with a signal instead",
					(unsigned long long)p->id);
				goto fail;
			}
			if (p->state == PROC_STARTING) {
				why_set(&why, EAGAIN, "reservation %llu is still starting; release it once its reserve request was answered",
					(unsigned long long)p->id);
				goto fail;
			}
		}
		/* Answers once the PIDs are free again. */
		n = proc_release_ids(req->reservation_ids, req->n_reservation_ids);
		released = req->reservation_ids;
	}
	reply.n_released_ids = n;
	reply.released_ids = released;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_RELEASE;
	resp.release = &reply;
	conn_respond(c, id, &resp, NULL, 0);
	if (released != req->reservation_ids)
		free(released);
	return;
fail:
	conn_respond_error(c, id, &why);
}

static void handle_status(struct conn *c, uint64_t id)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__StatusReply reply = PIDRESTORE__STATUS_REPLY__INIT;
	struct proc_counts all, own;

	proc_count(NULL, &all);
	proc_count(c, &own);
	reply.daemon_version = (char *)PACKAGE_VERSION;
	reply.has_protocol_version = 1;
	reply.protocol_version = conn_version(c);
	reply.has_uptime_usec = 1;
	reply.uptime_usec = now_usec() - server_start_usec();
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
	reply.socket_path = (char *)server_socket_path();
	reply.has_socket_activated = 1;
	reply.socket_activated = server_socket_activated();
	reply.has_own_reservations = 1;
	reply.own_reservations = own.reserved + own.starting;
	reply.has_own_running = 1;
	reply.own_running = own.running;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_STATUS;
	resp.status = &reply;
	conn_respond(c, id, &resp, NULL, 0);
}

void request_handle(struct conn *c, const uint8_t *buf, size_t len, struct wire_packet *pkt)
{
	struct fd_table fdt = { .pkt = pkt };
	Pidrestore__Request *req;
	struct why why = { 0 };

	if (decode_request(buf, len, pkt->n_fds, &req, &why) < 0) {
		if (!req)
			log_info("connection %llu (uid %u): %s", (unsigned long long)conn_number(c), conn_peer(c)->uid, why.text);
		conn_respond_error(c, req ? req->id : 0, &why);
		goto out;
	}
	if (conn_version(c) == 0 && req->body_case != PIDRESTORE__REQUEST__BODY_HELLO) {
		why_set(&why, EPROTO, "the first request on a connection must be Hello (to agree on the protocol version)");
		conn_respond_error(c, req->id, &why);
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
		handle_reserve(c, req->id, req->reserve, &fdt);
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
	default:
		why_set(&why, EOPNOTSUPP, "unknown request type; this daemon (protocol %u) does not know it — check HelloReply.features",
			PIDRESTORE_PROTOCOL_VERSION);
		conn_respond_error(c, req->id, &why);
		break;
	}
out:
	if (req)
		pidrestore__request__free_unpacked(req, NULL);
	wire_close_fds(pkt, 0);
}
