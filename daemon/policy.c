#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

void policy_default(struct policy *policy)
{
	*policy = (struct policy){ .own_namespaces = true, .root_only_below = 0,
				   .default_max_reservations = POLICY_DEFAULT_MAX_RESERVATIONS };
}

void policy_free(struct policy *policy)
{
	for (size_t i = 0; i < policy->n_grants; i++) {
		struct policy_grant *g = &policy->grants[i];

		free(g->uids);
		free(g->gids);
		free(g->ranges);
		free(g->namespaces);
	}
	free(policy->grants);
	for (size_t i = 0; i < policy->n_files; i++)
		free(policy->files[i]);
	free(policy->files);
	policy_default(policy);
}

static bool owned_by(const struct policy_level *lv, uid_t uid)
{
	for (size_t i = 0; i < lv->n_owners; i++)
		if (lv->owners[i] == uid)
			return true;
	return false;
}

bool policy_grant_names(const struct policy_grant *g, const struct policy_request *req)
{
	for (size_t i = 0; i < g->n_uids; i++)
		if (g->uids[i] == req->uid)
			return true;
	for (size_t i = 0; i < g->n_gids; i++) {
		if (g->gids[i] == req->gid)
			return true;
		for (size_t j = 0; j < req->n_groups; j++)
			if (g->gids[i] == req->groups[j])
				return true;
	}
	return false;
}

static bool grant_covers_pid(const struct policy_grant *g, pid_t pid)
{
	for (size_t i = 0; i < g->n_ranges; i++)
		if (pid >= g->ranges[i].first && pid <= g->ranges[i].last)
			return true;
	return false;
}

static bool grant_covers_ns(const struct policy_grant *g, const struct policy_level *lv)
{
	for (size_t i = 0; i < g->n_namespaces; i++) {
		const struct policy_ns *ns = &g->namespaces[i];

		if (ns->kind == POLICY_NS_ANY)
			return true;
		/* A namespace the request creates is never the host's, even
		 * when its parent is. */
		if (ns->kind == POLICY_NS_HOST && lv->is_daemon_ns && !lv->is_new)
			return true;
		if (ns->kind == POLICY_NS_OWNED_BY && owned_by(lv, ns->owner))
			return true;
	}
	return false;
}

static const struct policy_grant *find_grant(const struct policy *policy, const struct policy_request *req,
					     const struct policy_level *lv)
{
	for (size_t i = 0; i < policy->n_grants; i++) {
		const struct policy_grant *g = &policy->grants[i];

		if (policy_grant_names(g, req) && grant_covers_pid(g, lv->pid) && grant_covers_ns(g, lv))
			return g;
	}
	return NULL;
}

static void describe_ns(const struct policy_level *lv, char *buf, size_t len)
{
	if (lv->is_new)
		snprintf(buf, len, "the new pid namespace");
	else
		snprintf(buf, len, "pid:[%llu]%s", (unsigned long long)lv->ns_inode,
			 lv->is_daemon_ns ? ", the daemon's pid namespace" : "");
}

static int check_level(const struct policy *policy, const struct policy_request *req, size_t i,
		       const char **rule, struct why *why)
{
	const struct policy_level *lv = &req->levels[i];
	const struct policy_grant *g;
	char ns[96];

	if (req->uid == 0) {
		*rule = "root";
		return 0;
	}
	if (lv->pid == 0) {
		/* The kernel picks the PID, as for a fork: free where the
		 * requester could create the process itself. The levels
		 * around the target follow from the target. */
		if (!lv->is_target || lv->is_requester_ns || (policy->own_namespaces && owned_by(lv, req->uid))) {
			*rule = "any-free-pid";
			return 0;
		}
		describe_ns(lv, ns, sizeof(ns));
		if (lv->n_owners == 0)
			return why_set(why, EPERM, "any free PID at level %u (%s): uid %u may not create a process there: it is not its own pid namespace and belongs to the daemon's user namespace; name a PID that a grant for uid %u covers there",
				       lv->depth, ns, req->uid, req->uid);
		return why_set(why, EPERM, "any free PID at level %u (%s): uid %u may not create a process there: it is not its own pid namespace and its user namespace is owned by uid %u%s; name a PID that a grant for uid %u covers there",
			       lv->depth, ns, req->uid, lv->owners[0], policy->own_namespaces ? "" : " (and the own-namespace rule is off)",
			       req->uid);
	}
	/* In a namespace of its own the user could take any PID without us
	 * (unshare, then fork up to it), so the floor, which keeps the PIDs
	 * of system services free, does not apply there. */
	if (policy->own_namespaces && owned_by(lv, req->uid)) {
		*rule = "own-namespace";
		return 0;
	}
	describe_ns(lv, ns, sizeof(ns));
	/* The floor comes before the grants: no grant lets a user squat the
	 * PIDs services expect. */
	if (lv->pid < policy->root_only_below)
		return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: PIDs below %d are reserved for root (RootOnlyBelow=)",
			       lv->pid, lv->depth, ns, req->uid, policy->root_only_below);
	g = find_grant(policy, req, lv);
	if (g) {
		*rule = g->rule;
		return 0;
	}
	if (lv->is_daemon_ns && !lv->is_new)
		return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: no grant for uid %u covers pid %d in the host namespace",
			       lv->pid, lv->depth, ns, req->uid, req->uid, lv->pid);
	if (lv->n_owners == 0)
		return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: the namespace belongs to the daemon's user namespace and no grant for uid %u covers pid %d there",
			       lv->pid, lv->depth, ns, req->uid, req->uid, lv->pid);
	return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: the namespace's user namespace is owned by uid %u%s, not by uid %u, and no grant for uid %u covers pid %d there",
		       lv->pid, lv->depth, ns, req->uid, lv->owners[0],
		       policy->own_namespaces ? "" : " (and the own-namespace rule is off)", req->uid, req->uid, lv->pid);
}

int policy_check(const struct policy *policy, const struct policy_request *req,
		 const char **rules, struct why *why)
{
	int refused = 0;

	/* Every level is decided, also after a refusal, so that a caller can
	 * show the whole picture; why keeps the first refusal. */
	for (size_t i = 0; i < req->n_levels; i++) {
		struct why level_why;

		rules[i] = NULL;
		if (check_level(policy, req, i, &rules[i], refused ? &level_why : why) < 0) {
			rules[i] = NULL;
			refused = -EPERM;
		}
	}
	return refused;
}

static void take_smaller(uint32_t value, const char *rule, uint32_t *limit, const char **limit_rule)
{
	if (value != POLICY_UNLIMITED && value < *limit) {
		*limit = value;
		*limit_rule = rule;
	}
}

void policy_user_limits(const struct policy *policy, const struct policy_request *req, struct policy_limits *ret)
{
	*ret = (struct policy_limits){ .max_reservations = POLICY_UNLIMITED, .spawns_per_second = POLICY_UNLIMITED };
	for (size_t i = 0; i < policy->n_grants; i++) {
		const struct policy_grant *g = &policy->grants[i];

		if (!policy_grant_names(g, req))
			continue;
		take_smaller(g->max_reservations, g->rule, &ret->max_reservations, &ret->max_reservations_rule);
		take_smaller(g->spawns_per_second, g->rule, &ret->spawns_per_second, &ret->spawns_per_second_rule);
	}
	/* A grant may raise the default as well as lower it. */
	if (ret->max_reservations == POLICY_UNLIMITED && policy->default_max_reservations != POLICY_UNLIMITED) {
		ret->max_reservations = policy->default_max_reservations;
		ret->max_reservations_rule = "[Policy]";
		ret->max_reservations_is_default = true;
	}
}
