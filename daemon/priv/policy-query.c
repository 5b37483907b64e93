/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsref.h"
#include "policy-query.h"

static int show_grant(const struct policy_grant *g, Pidrestore__PolicyGrant *out)
{
	pidrestore__policy_grant__init(out);
	out->rule = (char *)g->rule;
	out->uids = calloc(g->n_uids + 1, sizeof(*out->uids));
	out->gids = calloc(g->n_gids + 1, sizeof(*out->gids));
	out->pids = calloc(g->n_ranges + 1, sizeof(*out->pids));
	out->namespaces = calloc(g->n_namespaces + 1, sizeof(*out->namespaces));
	if (!out->uids || !out->gids || !out->pids || !out->namespaces)
		return -ENOMEM;
	for (size_t i = 0; i < g->n_uids; i++)
		out->uids[out->n_uids++] = g->uids[i];
	for (size_t i = 0; i < g->n_gids; i++)
		out->gids[out->n_gids++] = g->gids[i];
	for (size_t i = 0; i < g->n_ranges; i++) {
		Pidrestore__PidRange *range = malloc(sizeof(*range));

		if (!range)
			return -ENOMEM;
		pidrestore__pid_range__init(range);
		range->first = g->ranges[i].first;
		range->last = g->ranges[i].last;
		out->pids[out->n_pids++] = range;
	}
	for (size_t i = 0; i < g->n_namespaces; i++) {
		const struct policy_ns *ns = &g->namespaces[i];
		char *text = NULL;

		if (ns->kind == POLICY_NS_HOST)
			text = strdup("host");
		else if (ns->kind == POLICY_NS_ANY)
			text = strdup("any");
		else if (asprintf(&text, "owned-by:%u", ns->owner) < 0)
			text = NULL;
		if (!text)
			return -ENOMEM;
		out->namespaces[out->n_namespaces++] = text;
	}
	out->has_max_reservations = g->max_reservations != POLICY_UNLIMITED;
	out->max_reservations = g->max_reservations;
	out->has_spawns_per_second = g->spawns_per_second != POLICY_UNLIMITED;
	out->spawns_per_second = g->spawns_per_second;
	return 0;
}

int policy_query_show(const struct policy *policy, const struct policy_request *viewer, bool all,
		      Pidrestore__PolicyReply *reply)
{
	struct policy_limits limits;

	pidrestore__policy_reply__init(reply);
	reply->n_files = policy->n_files;
	reply->files = policy->files;
	reply->has_own_namespaces = 1;
	reply->own_namespaces = policy->own_namespaces;
	reply->has_root_only_below = 1;
	reply->root_only_below = policy->root_only_below;
	reply->grants = calloc(policy->n_grants + 1, sizeof(*reply->grants));
	if (!reply->grants)
		return -ENOMEM;
	for (size_t i = 0; i < policy->n_grants; i++) {
		const struct policy_grant *g = &policy->grants[i];
		Pidrestore__PolicyGrant *out;

		if (!all && !policy_grant_names(g, viewer)) {
			reply->grants_not_shown++;
			continue;
		}
		out = calloc(1, sizeof(*out));
		if (!out)
			return -ENOMEM;
		reply->grants[reply->n_grants++] = out;
		if (show_grant(g, out) < 0)
			return -ENOMEM;
	}
	reply->has_grants_not_shown = 1;
	policy_user_limits(policy, viewer, &limits);
	reply->has_max_reservations = limits.max_reservations != POLICY_UNLIMITED;
	reply->max_reservations = limits.max_reservations;
	reply->has_spawns_per_second = limits.spawns_per_second != POLICY_UNLIMITED;
	reply->spawns_per_second = limits.spawns_per_second;
	return 0;
}

void policy_query_free(Pidrestore__PolicyReply *reply)
{
	for (size_t i = 0; i < reply->n_grants; i++) {
		Pidrestore__PolicyGrant *g = reply->grants[i];

		if (g->pids)
			for (size_t j = 0; j < g->n_pids; j++)
				free(g->pids[j]);
		if (g->namespaces)
			for (size_t j = 0; j < g->n_namespaces; j++)
				free(g->namespaces[j]);
		free(g->uids);
		free(g->gids);
		free(g->pids);
		free(g->namespaces);
		free(g);
	}
	free(reply->grants);
	reply->grants = NULL;
	reply->n_grants = 0;
}

int policy_query_identity(uid_t uid, struct policy_request *ret, bool *known)
{
	struct passwd pw, *found = NULL;
	char buf[16384];
	gid_t *groups = NULL;
	int n = 16;

	/* Nobody is there to read a user namespace or capabilities from: the
	 * process a login of that uid would start. */
	*ret = (struct policy_request){
		.uid = uid, .gid = uid, .userns = nsref_own_userns_id(), .in_daemon_userns = true,
		.cap_eff = uid == 0 ? UINT64_MAX : 0,
	};
	*known = false;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return 0;
	*known = true;
	ret->gid = pw.pw_gid;
	/* getgrouplist() says how many it needs when the array is too small. */
	for (int attempt = 0; attempt < 4; attempt++) {
		gid_t *bigger = realloc(groups, (size_t)n * sizeof(*groups));

		if (!bigger) {
			free(groups);
			return -ENOMEM;
		}
		groups = bigger;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) >= 0) {
			ret->groups = groups;
			ret->n_groups = (size_t)n;
			return 0;
		}
	}
	free(groups);
	return -ENOMEM;
}

const char *policy_query_assumption(uid_t uid, bool known)
{
	if (uid == 0)
		return known ? "a process of uid 0 in your pid namespace and the daemon's user namespace, with every capability (as exec gives uid 0) and the groups of its user database entry"
			     : "a process of uid 0 in your pid namespace and the daemon's user namespace, with every capability (as exec gives uid 0) and no groups (it has no user database entry)";
	return known ? "a process of this uid in your pid namespace and the daemon's user namespace, without capabilities, with the groups of its user database entry"
		     : "a process of this uid in your pid namespace and the daemon's user namespace, without capabilities, with no groups (it has no user database entry)";
}
