/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "conn.h"
#include "log.h"
#include "plan-check.h"

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
void audit_target(struct conn *c, const char *verb, const struct target *t, const char *const *rules, const struct why *why)
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

void audit_limit(struct conn *c, const char *verb, size_t n, const char *key, const char *rule, const struct why *why)
{
	const struct peer *peer = conn_peer(c);
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

void audit_release(struct conn *c, uid_t uid, size_t n, const struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct audit_record *a = malloc(sizeof(*a));

	if (a) {
		audit_begin(a, c, "release-uid", why);
		audit_field(a, "PIDRESTORE_OWNER_UID=%u", uid);
		audit_field(a, "PIDRESTORE_PROCESSES=%zu", n);
	}
	if (why)
		log_fields(LOG_NOTICE, a ? a->fields : NULL, a ? a->n : 0,
			   "denied release of the reservations of uid %u to uid %u (pid %d): %s", uid, peer->uid, peer->pid,
			   why->text);
	else
		log_fields(LOG_INFO, a ? a->fields : NULL, a ? a->n : 0,
			   "granted release of the %zu reservations of uid %u, over all its connections, to uid %u (pid %d)", n,
			   uid, peer->uid, peer->pid);
	free(a);
}

static int pid_compare(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/* Appends "a-b,c" for the sorted ids[0..n) to buf at *at. */
static void ranges_append(char *buf, size_t size, size_t *at, int32_t *ids, size_t n)
{
	qsort(ids, n, sizeof(*ids), pid_compare);
	for (size_t i = 0; i < n && *at < size;) {
		size_t j = i;
		int len;

		while (j + 1 < n && ids[j + 1] <= ids[j] + 1)
			j++;
		len = ids[j] != ids[i] ? snprintf(buf + *at, size - *at, "%s%d-%d", i ? "," : "", ids[i], ids[j])
				       : snprintf(buf + *at, size - *at, "%s%d", i ? "," : "", ids[i]);
		if (len < 0 || (size_t)len >= size - *at) {
			*at = size;
			return;
		}
		*at += (size_t)len;
		i = j + 1;
	}
}

/* The explicit ids at base level k (0: the tree's own namespace) of every
 * process, thread and the builder. */
static size_t ids_at_level(const struct tree_plan_view *v, uint32_t k, int32_t *out)
{
	size_t n = 0;

	if (k < v->plan->builder_n_set_tid)
		out[n++] = v->plan->builder_pids[k];
	for (uint32_t i = 0; i < v->plan->n_procs; i++) {
		const struct tree_proc *p = &v->procs[i];
		uint32_t l = k + p->n_levels - v->plan->n_levels;

		if (l < p->n_set_tid)
			out[n++] = p->pids[l];
		for (uint32_t t = 0; t < p->n_threads; t++)
			if (l < v->threads[p->first_thread + t].n_set_tid)
				out[n++] = v->threads[p->first_thread + t].tids[l];
	}
	return n;
}

void audit_tree(struct conn *c, const char *verb, const struct tree_plan_view *v, const struct why *why)
{
	const struct peer *peer = conn_peer(c);
	struct audit_record *a = malloc(sizeof(*a));
	int32_t *ids = malloc(((size_t)v->plan->n_procs + v->plan->n_threads + 1) * sizeof(*ids));
	char ranges[4096] = "";
	size_t at = 0;

	for (uint32_t k = 0; ids && k < v->plan->n_levels && at < sizeof(ranges); k++) {
		int len = snprintf(ranges + at, sizeof(ranges) - at, "%slevel +%u: ", k ? "; " : "", k);

		if (len < 0 || (size_t)len >= sizeof(ranges) - at)
			break;
		at += (size_t)len;
		ranges_append(ranges, sizeof(ranges), &at, ids, ids_at_level(v, k, ids));
	}
	if (at >= sizeof(ranges) - 1)
		memcpy(ranges + sizeof(ranges) - 4, "...", 4);
	if (a) {
		audit_begin(a, c, verb, why);
		audit_field(a, "PIDRESTORE_TREE_NODES=%u", v->plan->n_nodes);
		audit_field(a, "PIDRESTORE_TREE_THREADS=%u", v->plan->n_threads);
		audit_field(a, "PIDRESTORE_TREE_HELPERS=%u", v->plan->n_procs - v->plan->n_nodes);
		audit_field(a, "PIDRESTORE_PID_RANGES=%s", ranges);
	}
	log_fields(why ? LOG_NOTICE : LOG_INFO, a ? a->fields : NULL, a ? a->n : 0,
		   "%s %s for uid %u (pid %d): %u nodes, %u threads, PIDs %s%s%s", why ? "denied" : "granted", verb,
		   peer->uid, peer->pid, v->plan->n_nodes, v->plan->n_threads, ranges, why ? ": " : "",
		   why ? why->text : "");
	free(ids);
	free(a);
}
