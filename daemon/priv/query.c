/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "authorize.h"
#include "check.h"
#include "conn.h"
#include "create.h"
#include "listener.h"
#include "log.h"
#include "policy-query.h"
#include "proc.h"
#include "query.h"
#include "spawn.h"
#include "target.h"

static struct query_host host;

void query_set_host(const struct query_host *h)
{
	host = *h;
}

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

void query_hello(struct conn *c, uint64_t id, const Pidrestore__Hello *hello)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__HelloReply reply = PIDRESTORE__HELLO_REPLY__INIT;
	const char *features[24];
	char client[84];
	size_t n = 0;
	uint32_t version;
	struct why why;

	version = hello->max_version < PIDRESTORE_PROTOCOL_VERSION ? hello->max_version : PIDRESTORE_PROTOCOL_VERSION;
	if (hello->min_version > hello->max_version || version < hello->min_version || version < PIDRESTORE_PROTOCOL_MIN_VERSION) {
		why_set(&why, EPROTONOSUPPORT, "the client speaks protocol versions %u to %u, this daemon %u to %u; upgrade the older side",
			hello->min_version, hello->max_version, PIDRESTORE_PROTOCOL_MIN_VERSION, PIDRESTORE_PROTOCOL_VERSION);
		answer_error(c, id, &why);
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
	features[n++] = "release-uid";
	features[n++] = "released-event";
	features[n++] = "kill-released-ids";
	/* TreeRequest and TreeReleaseRequest; a tree's nodes are claimed by
	 * ExecRequest on their reservation ids, or by TreeClaimRequest with a
	 * blob. */
	features[n++] = "tree";
	features[n++] = "tree-list";
	features[n++] = "tree-claim-all";
	features[n++] = "tree-blob";
	features[n++] = "tree-claim-all-blob";
	if (conn_peer(c)->pidfd_from_socket)
		features[n++] = "peer-pidfd";
	reply.version = version;
	reply.daemon_version = (char *)PACKAGE_VERSION;
	reply.n_features = n;
	reply.features = (char **)features;
	reply.has_max_message_size = 1;
	reply.max_message_size = (uint32_t)conn_max_message_size();
	reply.has_max_tree_message_size = 1;
	reply.max_tree_message_size = conn_max_message_size() > WIRE_MAX_TREE_MESSAGE ? (uint32_t)conn_max_message_size()
											 : WIRE_MAX_TREE_MESSAGE;
	reply.has_max_levels = 1;
	reply.max_levels = PR_MAX_LEVELS;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_HELLO;
	resp.hello = &reply;
	log_debug("connection %llu: hello from \"%s\", protocol %u", (unsigned long long)conn_number(c),
		  client_name_for_log(hello->client, client, sizeof(client)), version);
	answer_respond(c, id, &resp, NULL, 0);
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

void query_status(struct conn *c, uint64_t id)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__StatusReply reply = PIDRESTORE__STATUS_REPLY__INIT;
	const char *features[16];
	struct uid_counts mine = { .uid = conn_peer(c)->uid };
	struct proc_counts all, own;
	struct request_stats stats;

	create_get_stats(&stats);
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
	reply.n_policy_files = authorize_policy()->n_files;
	reply.policy_files = authorize_policy()->files;
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
	answer_respond(c, id, &resp, NULL, 0);
}

/* "Would uid be allowed these PIDs there?": the policy's decision only. */
static int policy_verdict(struct conn *c, const Pidrestore__PolicyCheck *check, struct fd_table *fdt,
			  Pidrestore__PolicyVerdict *verdict, Pidrestore__PolicyLevel *levels_out,
			  Pidrestore__PolicyLevel **level_ptrs, struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct policy_level levels[PR_MAX_LEVELS];
	const char *rules[PR_MAX_LEVELS];
	struct policy_request req = authorize_requester(conn_peer(c));
	struct why refusal = { 0 };
	struct target t;
	bool known = true, other_uid = check->has_uid && check->uid != peer->uid;
	int r;

	if (!check->process)
		return why_set(why, EINVAL, "a policy check needs a process part (the PIDs and the namespace)");
	if (other_uid) {
		if (!authorize_is_admin(peer))
			return why_set(why, EPERM, "only root may check the policy for another uid (uid %u asked about uid %u, without CAP_SYS_ADMIN in the daemon's user namespace); leave out --uid to check your own",
				       peer->uid, check->uid);
		r = policy_query_identity(check->uid, &req, &known);
		if (r < 0)
			return why_set(why, -r, "cannot look up uid %u: %s", check->uid, strerror(-r));
	}
	r = target_resolve(c, check->process, fdt, &t, why);
	if (r == 0)
		r = fd_table_check_all_used(fdt, why);
	if (r < 0)
		goto out;
	req.n_levels = target_levels(&t, peer->pidns_inode, levels);
	req.levels = levels;
	r = policy_check(authorize_policy(), &req, rules, &refusal);
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

void query_policy(struct conn *c, uint64_t id, const Pidrestore__PolicyRequest *req, struct fd_table *fdt)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__PolicyReply reply = PIDRESTORE__POLICY_REPLY__INIT;
	Pidrestore__PolicyVerdict verdict = PIDRESTORE__POLICY_VERDICT__INIT;
	Pidrestore__PolicyLevel levels[PR_MAX_LEVELS];
	Pidrestore__PolicyLevel *level_ptrs[PR_MAX_LEVELS];
	struct policy_request viewer = authorize_requester(conn_peer(c));
	struct why why = { 0 }, refusal = { 0 };
	int r;

	if (req->check) {
		r = policy_verdict(c, req->check, fdt, &verdict, levels, level_ptrs, &refusal);
		if (r < 0) {
			answer_error(c, id, &refusal);
			return;
		}
	} else if (fdt->pkt->n_fds > 0) {
		why_set(&why, EPROTO, "a policy request without a check takes no fds but carried %zu", fdt->pkt->n_fds);
		answer_error(c, id, &why);
		return;
	}
	r = policy_query_show(authorize_policy(), &viewer, authorize_is_admin(peer), &reply);
	if (r < 0) {
		why_set(&why, -r, "cannot describe the policy: %s", strerror(-r));
		answer_error(c, id, &why);
		goto out;
	}
	if (req->check)
		reply.verdict = &verdict;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_POLICY;
	resp.policy = &reply;
	answer_respond(c, id, &resp, NULL, 0);
out:
	policy_query_free(&reply);
}

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
void query_list(struct conn *c, uint64_t id, const Pidrestore__ListRequest *req)
{
	const struct peer *peer = conn_peer(c);
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__ListReply reply = PIDRESTORE__LIST_REPLY__INIT;
	struct list_build b = { .viewer = authorize_is_admin(peer) ? (uid_t)-1 : peer->uid, .now = now_usec() };
	struct why why;

	proc_foreach(req->has_all && req->all, list_add, &b);
	if (!b.err && b.n > 0 && !(b.ptrs = calloc(b.n, sizeof(*b.ptrs))))
		b.err = -ENOMEM;
	if (b.err) {
		why_set(&why, -b.err, "cannot list the processes: %s", strerror(-b.err));
		answer_error(c, id, &why);
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
	answer_respond(c, id, &resp, NULL, 0);
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

void query_stats(struct conn *c, uint64_t id)
{
	static const enum stats_type timed[] = { STATS_SPAWN, STATS_RESERVE };
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__StatsReply reply = PIDRESTORE__STATS_REPLY__INIT;
	Pidrestore__LatencySummary latency[ELEMENTSOF(timed)], *latency_ptrs[ELEMENTSOF(timed)];
	struct stats_build *b = calloc(1, sizeof(*b));
	struct why why;

	if (!b) {
		why_set(&why, ENOMEM, "out of memory");
		answer_error(c, id, &why);
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
	answer_respond(c, id, &resp, NULL, 0);
	free(b);
}

void query_check(struct conn *c, uint64_t id)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__CheckReply reply;

	check_reply_build(&reply);
	resp.body_case = PIDRESTORE__RESPONSE__BODY_CHECK;
	resp.check = &reply;
	answer_respond(c, id, &resp, NULL, 0);
}
