/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel.h"
#include "policy.h"

#define CAP_BIT(cap) (UINT64_C(1) << (cap))
/* Either lets a process choose PIDs with clone3(set_tid). */
#define SET_TID_CAPS (CAP_BIT(PR_CAP_SYS_ADMIN) | CAP_BIT(PR_CAP_CHECKPOINT_RESTORE))

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

bool policy_is_root(const struct policy_request *req)
{
	return req->in_daemon_userns && (req->cap_eff & SET_TID_CAPS) != 0;
}

bool policy_is_admin(const struct policy_request *req)
{
	return req->in_daemon_userns && (req->cap_eff & CAP_BIT(PR_CAP_SYS_ADMIN)) != 0;
}

static bool same_ns(const struct policy_nsid *a, const struct policy_nsid *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/* Where the walk of §5 rule 2 stopped. */
enum walk_end {
	WALK_MISSED,              /* at neither of the two below */
	WALK_MET_OWN,             /* the requester's own user namespace */
	WALK_MET_OWNED_CHILD,     /* a child of it that the requester's uid owns */
};

struct walk {
	enum walk_end end;
	size_t at;                /* index into lv->userns; n_userns: the daemon's */
};

/* The kernel's cap_capable() for the PIDs of lv: from the user namespace
 * that owns it toward the daemon's, each one is first compared with the
 * requester's own; then, if its parent is the requester's own, its owner
 * with the requester's uid. Namespaces are compared by identity: a uid
 * that owns a user namespace made inside somebody else's owns nothing the
 * kernel would let it use from outside. */
static struct walk walk_userns(const struct policy_level *lv, const struct policy_request *req)
{
	for (size_t i = 0; i < lv->n_userns; i++) {
		const struct policy_userns *u = &lv->userns[i];
		bool parent_is_own;

		if (same_ns(&u->id, &req->userns))
			return (struct walk){ WALK_MET_OWN, i };
		if (i + 1 < lv->n_userns)
			parent_is_own = same_ns(&lv->userns[i + 1].id, &req->userns);
		else
			parent_is_own = lv->reaches_daemon_userns && req->in_daemon_userns;
		if (parent_is_own && u->owner == req->uid)
			return (struct walk){ WALK_MET_OWNED_CHILD, i };
	}
	if (lv->reaches_daemon_userns && req->in_daemon_userns)
		return (struct walk){ WALK_MET_OWN, lv->n_userns };
	return (struct walk){ WALK_MISSED, lv->n_userns };
}

/* Would the kernel let the requester take PIDs in lv itself? */
static bool walk_allows(const struct walk *w, const struct policy_request *req)
{
	return w->end == WALK_MET_OWNED_CHILD || (w->end == WALK_MET_OWN && (req->cap_eff & SET_TID_CAPS) != 0);
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

/* Namespace=owned-by: uid owns the user namespace that owns lv or one of
 * its ancestors below the daemon's. An admin's grant, not the kernel's
 * rule: it follows owners, wherever their namespaces were made. */
static bool owned_by(const struct policy_level *lv, uid_t uid)
{
	for (size_t i = 0; i < lv->n_userns; i++)
		if (lv->userns[i].owner == uid)
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

/* Why rule 2 does not give the requester lv, as a clause of the refusal of
 * a PID ("the namespace ...") or of any free PID ("it is not its own pid
 * namespace and ..."). Returns what joins it to the next clause. */
static const char *describe_not_own(const struct policy *policy, const struct policy_level *lv,
				    const struct policy_request *req, const struct walk *w, bool any_free,
				    char *buf, size_t len)
{
	const char *its = any_free ? "its" : "the namespace's";
	char own[48], parent[64];

	if (req->in_daemon_userns)
		snprintf(own, sizeof(own), "the daemon's");
	else
		snprintf(own, sizeof(own), "user:[%llu]", (unsigned long long)req->userns.ino);
	if (!policy->own_namespaces && walk_allows(w, req)) {
		snprintf(buf, len, "the own-namespace rule is off (OwnNamespaces=no), though the kernel would let uid %u %s itself",
			 req->uid, any_free ? "create a process there" : "take it");
		return ", ";
	}
	if (w->end == WALK_MET_OWN && w->at < lv->n_userns) {
		snprintf(buf, len, "%s user namespace %s the one uid %u runs in (%s), where it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective",
			 its, w->at == 0 ? "is" : "lies inside", req->uid, own);
		return ", ";
	}
	if (lv->n_userns == 0) {
		snprintf(buf, len, "%sbelongs to the daemon's user namespace", any_free ? "" : "the namespace ");
		return " ";
	}
	if (lv->userns[0].owner != req->uid) {
		if (any_free)
			snprintf(buf, len, "its user namespace is owned by uid %u", lv->userns[0].owner);
		else
			snprintf(buf, len, "the namespace's user namespace is owned by uid %u, not by uid %u",
				 lv->userns[0].owner, req->uid);
		return ", ";
	}
	/* Owned by the requester's uid, but made where the requester is not:
	 * owning it gives nothing from outside. */
	if (lv->n_userns > 1)
		snprintf(parent, sizeof(parent), "user:[%llu] (owned by uid %u)",
			 (unsigned long long)lv->userns[1].id.ino, lv->userns[1].owner);
	else if (lv->reaches_daemon_userns)
		snprintf(parent, sizeof(parent), "the daemon's user namespace");
	else
		snprintf(parent, sizeof(parent), "outside the daemon's user namespace");
	snprintf(buf, len, "%s user namespace is owned by uid %u but its parent is %s, not the one uid %u runs in (%s): owning it gives uid %u no capability there",
		 its, req->uid, parent, req->uid, own, req->uid);
	return ", ";
}

/* Said of a uid 0 that is not root, after its refusal: the surprise. */
static const char *root_note(const struct policy_request *req)
{
	if (req->uid != 0)
		return "";
	if (!req->in_daemon_userns)
		return " (uid 0 is not root here: its user namespace is not the daemon's)";
	return " (uid 0 is not root here: it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective)";
}

static int check_level(const struct policy *policy, const struct policy_request *req, size_t i,
		       const char **rule, struct why *why)
{
	const struct policy_level *lv = &req->levels[i];
	const struct policy_grant *g;
	struct walk w;
	const char *sep;
	bool own;
	char ns[96], not_own[320];

	if (policy_is_root(req)) {
		*rule = "root";
		return 0;
	}
	w = walk_userns(lv, req);
	own = policy->own_namespaces && walk_allows(&w, req);
	if (lv->pid == 0) {
		/* The kernel picks the PID, as for a fork: free where the
		 * requester could create the process itself. The levels
		 * around the target follow from the target. */
		if (!lv->is_target || lv->is_requester_ns || own) {
			*rule = "any-free-pid";
			return 0;
		}
		describe_ns(lv, ns, sizeof(ns));
		describe_not_own(policy, lv, req, &w, true, not_own, sizeof(not_own));
		return why_set(why, EPERM, "any free PID at level %u (%s): uid %u may not create a process there: it is not its own pid namespace and %s; name a PID that a grant for uid %u covers there%s",
			       lv->depth, ns, req->uid, not_own, req->uid, root_note(req));
	}
	/* Where the kernel would let the user take any PID itself (unshare,
	 * then fork up to it), the floor, which keeps the PIDs of system
	 * services free, does not apply. */
	if (own) {
		*rule = "own-namespace";
		return 0;
	}
	describe_ns(lv, ns, sizeof(ns));
	/* The floor comes before the grants: no grant lets a user squat the
	 * PIDs services expect. A namespace the request creates has no
	 * services yet, and its init is pid 1 whatever was asked: its level
	 * squats on nothing, and only the grants decide it. */
	if (lv->pid < policy->root_only_below && !lv->is_new)
		return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: PIDs below %d are reserved for root (RootOnlyBelow=)%s",
			       lv->pid, lv->depth, ns, req->uid, policy->root_only_below, root_note(req));
	g = find_grant(policy, req, lv);
	if (g) {
		*rule = g->rule;
		return 0;
	}
	if (lv->is_daemon_ns && !lv->is_new)
		return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: no grant for uid %u covers pid %d in the host namespace%s",
			       lv->pid, lv->depth, ns, req->uid, req->uid, lv->pid, root_note(req));
	sep = describe_not_own(policy, lv, req, &w, false, not_own, sizeof(not_own));
	return why_set(why, EPERM, "pid %d at level %u (%s): uid %u may not take it: %s%sand no grant for uid %u covers pid %d there%s",
		       lv->pid, lv->depth, ns, req->uid, not_own, sep, req->uid, lv->pid, root_note(req));
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
