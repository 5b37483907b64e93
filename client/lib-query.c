/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore's queries: statistics, the kernel check and the policy
 * (DESIGN §9). Each answer is copied out of the daemon's reply into one
 * block the caller frees with free(): no protobuf type reaches the public
 * header, and the structs can grow at their ends. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pidrestore.h"
#include "pidrestore-raw.h"
#include "pidrestore.pb-c.h"
#include "wire.h"

#define _public_ __attribute__((visibility("default")))

/* One block, laid out in two passes over the same code: with base NULL it
 * only measures (every take returns NULL and nothing is written), then the
 * block is allocated and the second pass fills it. */
struct block {
	uint8_t *base;
	size_t used;
};

static void *take(struct block *b, size_t size)
{
	size_t at = (b->used + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);

	b->used = at + size;
	return b->base ? b->base + at : NULL;
}

static const char *take_str(struct block *b, const char *s)
{
	size_t len;
	char *d;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	d = take(b, len);
	if (d)
		memcpy(d, s, len);
	return d;
}

/* A required string of the protocol is never NULL here. */
static const char *take_required_str(struct block *b, const char *s)
{
	return take_str(b, s ? s : "");
}

/* Runs fill twice, as struct block says; *ret is the filled block. c may
 * be NULL (no connection to keep the message in). */
static int block_build(pidrestore *c, void *(*fill)(struct block *b, const void *m), const void *m, void **ret)
{
	struct block b = { 0 };

	fill(&b, m);
	b.base = calloc(1, b.used ? b.used : 1);
	if (!b.base)
		return c ? pidrestore_raw_set_error(c, -ENOMEM, "out of memory for a %zu-byte answer", b.used) : -ENOMEM;
	b.used = 0;
	*ret = fill(&b, m);
	return 0;
}

/* ---------------------------------------------------------------- stats */

static void *fill_stats(struct block *b, const void *m)
{
	const Pidrestore__StatsReply *reply = m;
	pidrestore_stats *s = take(b, sizeof(*s));
	const pidrestore_request_count **requests = take(b, reply->n_requests * sizeof(*requests));
	const pidrestore_latency **latencies = take(b, reply->n_latencies * sizeof(*latencies));

	for (size_t i = 0; i < reply->n_requests; i++) {
		const Pidrestore__RequestCount *rm = reply->requests[i];
		pidrestore_request_count *rc = take(b, sizeof(*rc));
		const char *type = take_required_str(b, rm->type), *outcome = take_required_str(b, rm->outcome);

		if (rc) {
			*rc = (pidrestore_request_count){ .type = type, .outcome = outcome, .count = rm->count };
			requests[i] = rc;
		}
	}
	for (size_t i = 0; i < reply->n_latencies; i++) {
		const Pidrestore__LatencySummary *lm = reply->latencies[i];
		pidrestore_latency *l = take(b, sizeof(*l));
		const char *type = take_required_str(b, lm->type);

		if (l) {
			*l = (pidrestore_latency){ .type = type, .count = lm->count, .p50_usec = lm->p50_usec,
						   .p90_usec = lm->p90_usec, .p99_usec = lm->p99_usec,
						   .max_usec = lm->max_usec };
			latencies[i] = l;
		}
	}
	if (s)
		*s = (pidrestore_stats){ .uptime_usec = reply->uptime_usec,
					 .n_requests = reply->n_requests, .requests = requests,
					 .n_latencies = reply->n_latencies, .latencies = latencies };
	return s;
}

_public_ int pidrestore_get_stats(pidrestore *c, pidrestore_stats **ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatsRequest stats = PIDRESTORE__STATS_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return pidrestore_raw_set_error(c, -EINVAL, "no place to return the statistics");
	req.body_case = PIDRESTORE__REQUEST__BODY_STATS;
	req.stats = &stats;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_STATS, &msg);
	if (r < 0)
		return r;
	r = block_build(c, fill_stats, msg->response->stats, (void **)ret);
	pidrestore_raw_free(msg);
	return r;
}

/* ---------------------------------------------------------------- check */

static void *fill_kernel_check(struct block *b, const void *m)
{
	const Pidrestore__CheckReply *reply = m;
	pidrestore_kernel_check *k = take(b, sizeof(*k));
	const pidrestore_kernel_feature **features = take(b, reply->n_features * sizeof(*features));
	const char *kernel = take_str(b, reply->kernel);

	for (size_t i = 0; i < reply->n_features; i++) {
		const Pidrestore__KernelFeature *fm = reply->features[i];
		pidrestore_kernel_feature *f = take(b, sizeof(*f));
		const char *name = take_required_str(b, fm->name), *detail = take_str(b, fm->detail),
			   *without = take_str(b, fm->without);

		if (f) {
			*f = (pidrestore_kernel_feature){ .name = name, .available = fm->available,
							  .required = fm->has_required && fm->required,
							  .detail = detail, .without = without };
			features[i] = f;
		}
	}
	if (k)
		*k = (pidrestore_kernel_check){ .kernel = kernel, .probed_by_pid = (pid_t)reply->probed_by_pid,
						.n_features = reply->n_features, .features = features };
	return k;
}

int pidrestore_raw_kernel_check(const Pidrestore__CheckReply *reply, pidrestore_kernel_check **ret)
{
	return block_build(NULL, fill_kernel_check, reply, (void **)ret);
}

_public_ int pidrestore_check_kernel(pidrestore *c, pidrestore_kernel_check **ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__CheckRequest check = PIDRESTORE__CHECK_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return pidrestore_raw_set_error(c, -EINVAL, "no place to return the kernel check");
	req.body_case = PIDRESTORE__REQUEST__BODY_CHECK;
	req.check = &check;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_CHECK, &msg);
	if (r < 0)
		return r;
	r = block_build(c, fill_kernel_check, msg->response->check, (void **)ret);
	pidrestore_raw_free(msg);
	return r;
}

/* --------------------------------------------------------------- policy */

static const pidrestore_grant *fill_grant(struct block *b, const Pidrestore__PolicyGrant *gm)
{
	pidrestore_grant *g = take(b, sizeof(*g));
	uid_t *uids = take(b, gm->n_uids * sizeof(*uids));
	gid_t *gids = take(b, gm->n_gids * sizeof(*gids));
	const pidrestore_pid_range **pids = take(b, gm->n_pids * sizeof(*pids));
	const char **namespaces = take(b, gm->n_namespaces * sizeof(*namespaces));
	const char *rule = take_str(b, gm->rule);

	for (size_t i = 0; i < gm->n_pids; i++) {
		pidrestore_pid_range *range = take(b, sizeof(*range));

		if (range) {
			*range = (pidrestore_pid_range){ .first = gm->pids[i]->first, .last = gm->pids[i]->last };
			pids[i] = range;
		}
	}
	for (size_t i = 0; i < gm->n_namespaces; i++) {
		const char *ns = take_required_str(b, gm->namespaces[i]);

		if (namespaces)
			namespaces[i] = ns;
	}
	if (!g)
		return NULL;
	for (size_t i = 0; i < gm->n_uids; i++)
		uids[i] = gm->uids[i];
	for (size_t i = 0; i < gm->n_gids; i++)
		gids[i] = gm->gids[i];
	*g = (pidrestore_grant){ .rule = rule, .n_uids = gm->n_uids, .uids = uids, .n_gids = gm->n_gids, .gids = gids,
				 .n_pids = gm->n_pids, .pids = pids, .n_namespaces = gm->n_namespaces,
				 .namespaces = namespaces, .has_max_reservations = gm->has_max_reservations,
				 .max_reservations = gm->max_reservations,
				 .has_spawns_per_second = gm->has_spawns_per_second,
				 .spawns_per_second = gm->spawns_per_second };
	return g;
}

static void *fill_policy(struct block *b, const void *m)
{
	const Pidrestore__PolicyReply *reply = m;
	pidrestore_policy *p = take(b, sizeof(*p));
	const char **files = take(b, reply->n_files * sizeof(*files));
	const pidrestore_grant **grants = take(b, reply->n_grants * sizeof(*grants));

	for (size_t i = 0; i < reply->n_files; i++) {
		const char *file = take_required_str(b, reply->files[i]);

		if (files)
			files[i] = file;
	}
	for (size_t i = 0; i < reply->n_grants; i++) {
		const pidrestore_grant *g = fill_grant(b, reply->grants[i]);

		if (grants)
			grants[i] = g;
	}
	if (p)
		*p = (pidrestore_policy){ .n_files = reply->n_files, .files = files,
					  .own_namespaces = reply->own_namespaces,
					  .root_only_below = reply->root_only_below,
					  .n_grants = reply->n_grants, .grants = grants,
					  .grants_not_shown = reply->grants_not_shown,
					  .has_max_reservations = reply->has_max_reservations,
					  .max_reservations = reply->max_reservations,
					  .has_spawns_per_second = reply->has_spawns_per_second,
					  .spawns_per_second = reply->spawns_per_second };
	return p;
}

static void *fill_verdict(struct block *b, const void *m)
{
	const Pidrestore__PolicyVerdict *vm = m;
	pidrestore_verdict *v = take(b, sizeof(*v));
	const pidrestore_policy_level **levels = take(b, vm->n_levels * sizeof(*levels));
	const char *message = take_str(b, vm->message), *assumed = take_str(b, vm->assumed);

	for (size_t i = 0; i < vm->n_levels; i++) {
		const Pidrestore__PolicyLevel *lm = vm->levels[i];
		pidrestore_policy_level *l = take(b, sizeof(*l));
		const char *rule = take_str(b, lm->rule);

		if (l) {
			*l = (pidrestore_policy_level){ .pid = lm->pid, .depth = lm->depth,
							.pidns_inode = lm->pidns_inode, .rule = rule };
			levels[i] = l;
		}
	}
	if (v)
		*v = (pidrestore_verdict){ .allowed = vm->allowed, .uid = vm->uid, .message = message,
					   .assumed = assumed, .n_levels = vm->n_levels, .levels = levels };
	return v;
}

/* Asks for the policy, with a check when given; the caller frees *ret with
 * pidrestore_raw_free(). */
static int policy_call(pidrestore *c, Pidrestore__PolicyCheck *check, const int *fds, size_t n_fds,
		       Pidrestore__ServerMessage **ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__PolicyRequest policy = PIDRESTORE__POLICY_REQUEST__INIT;

	policy.check = check;
	req.body_case = PIDRESTORE__REQUEST__BODY_POLICY;
	req.policy = &policy;
	return pidrestore_raw_call(c, &req, fds, n_fds, PIDRESTORE__RESPONSE__BODY_POLICY, ret);
}

_public_ int pidrestore_get_policy(pidrestore *c, pidrestore_policy **ret)
{
	Pidrestore__ServerMessage *msg = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return pidrestore_raw_set_error(c, -EINVAL, "no place to return the policy");
	r = policy_call(c, NULL, NULL, 0, &msg);
	if (r < 0)
		return r;
	r = block_build(c, fill_policy, msg->response->policy, (void **)ret);
	pidrestore_raw_free(msg);
	return r;
}

_public_ int pidrestore_check_policy(pidrestore *c, uid_t uid, const pidrestore_target *target,
				     pidrestore_verdict **ret)
{
	Pidrestore__PolicyCheck check = PIDRESTORE__POLICY_CHECK__INIT;
	Pidrestore__ProcessSpec spec;
	Pidrestore__ServerMessage *msg = NULL;
	int fds[1];
	size_t n_fds = 0;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return pidrestore_raw_set_error(c, -EINVAL, "no place to return the verdict");
	r = pidrestore_raw_process_spec(c, target, &spec, fds, &n_fds, sizeof(fds) / sizeof(fds[0]));
	if (r < 0)
		return r;
	check.process = &spec;
	check.has_uid = uid != PIDRESTORE_UID_SELF;
	check.uid = uid;
	r = policy_call(c, &check, fds, n_fds, &msg);
	if (r < 0)
		return r;
	if (!msg->response->policy->verdict)
		r = pidrestore_raw_set_error(c, -EOPNOTSUPP, "pidrestored answered the policy check without a verdict; it is older than this library");
	else
		r = block_build(c, fill_verdict, msg->response->policy->verdict, (void **)ret);
	pidrestore_raw_free(msg);
	return r;
}
