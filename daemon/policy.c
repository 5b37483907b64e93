#include <errno.h>
#include <stdio.h>

#include "policy.h"

void policy_default(struct policy *policy)
{
	policy->own_namespaces = true;
	policy->root_only_below = 0;
}

static bool owned_by(const struct policy_level *lv, uid_t uid)
{
	for (size_t i = 0; i < lv->n_owners; i++)
		if (lv->owners[i] == uid)
			return true;
	return false;
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
	char ns[96];

	if (req->uid == 0) {
		*rule = "root";
		return 0;
	}
	if (lv->pid == 0) {
		*rule = "any-free-pid";
		return 0;
	}
	describe_ns(lv, ns, sizeof(ns));
	if (lv->pid < policy->root_only_below)
		return why_set(why, EPERM, "pid %d at level %zu (%s): uid %u may not take it: PIDs below %d are reserved for root",
			       lv->pid, i, ns, req->uid, policy->root_only_below);
	if (policy->own_namespaces && owned_by(lv, req->uid)) {
		*rule = "own-namespace";
		return 0;
	}
	if (lv->n_owners == 0)
		return why_set(why, EPERM, "pid %d at level %zu (%s): uid %u may not take it: the namespace belongs to the daemon's user namespace and no grant allows uid %u there",
			       lv->pid, i, ns, req->uid, req->uid);
	return why_set(why, EPERM, "pid %d at level %zu (%s): uid %u may not take it: the namespace's user namespace is owned by uid %u%s, not by uid %u, and no grant allows it",
		       lv->pid, i, ns, req->uid, lv->owners[0],
		       policy->own_namespaces ? "" : " (and the own-namespace rule is off)", req->uid);
}

int policy_check(const struct policy *policy, const struct policy_request *req,
		 const char **rule, struct why *why)
{
	*rule = "none";
	for (size_t i = 0; i < req->n_levels; i++) {
		int r = check_level(policy, req, i, rule, why);

		if (r < 0)
			return r;
	}
	return 0;
}
