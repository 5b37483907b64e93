/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "authorize.h"
#include "conn.h"
#include "nsref.h"
#include "proc.h"
#include "quota.h"

static struct policy current_policy = { .own_namespaces = true };

void authorize_set_policy(const struct policy *policy)
{
	current_policy = *policy;
}

const struct policy *authorize_policy(void)
{
	return &current_policy;
}

struct policy_request authorize_requester(const struct peer *peer)
{
	struct policy_request req = {
		.uid = peer->uid, .gid = peer->gid, .groups = peer->groups, .n_groups = peer->n_groups,
		.cap_eff = peer->cap_eff, .userns = peer->userns_id, .in_daemon_userns = peer->userns_is_daemons,
	};

	return req;
}

static struct policy_request requester_of(const struct conn *c)
{
	return authorize_requester(conn_peer(c));
}

/* Root for the admin verbs: CAP_SYS_ADMIN, not uid 0 (policy_is_admin()). */
bool authorize_is_admin(const struct peer *peer)
{
	struct policy_request req = authorize_requester(peer);

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

/* Authorizes t and refuses what its process could not carry; audited. */
int authorize_target(struct conn *c, const char *verb, const struct target *t, struct why *why)
{
	const char *rules[PR_MAX_LEVELS];
	int r;

	r = target_authorize(c, t, rules, why);
	audit_target(c, verb, t, rules, r < 0 ? why : NULL);
	return r;
}

/* The per-user limits of the policy (MaxReservations=, SpawnsPerSecond=),
 * checked before anything is created. n processes are asked for; reserving
 * says whether they stay as reservations. A refusal is audited. */
int authorize_user_limits(struct conn *c, const char *verb, size_t n, bool reserving, struct why *why)
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
	if (r < 0)
		audit_limit(c, verb, n, key, rule, why);
	return r;
}

/* Refuses a requester that does not own p (root too, unless root_may).
 * An id of someone else's is refused as such (EPERM), not as unknown: ids
 * count up and status tells everyone how many processes there are, so
 * that one exists is no secret. Whose it is, is: only root, who lists
 * everyone's, is told the owner. */
int authorize_owner(const struct peer *peer, const struct proc *p, const char *what, const char *verb, bool root_may,
		    struct why *why)
{
	char owner[32] = "another user";

	if (p->owner_uid == peer->uid || (root_may && authorize_is_admin(peer)))
		return 0;
	if (authorize_is_admin(peer))
		snprintf(owner, sizeof(owner), "uid %u", p->owner_uid);
	return why_set(why, EPERM, "%s %llu belongs to %s; only its owner%s may %s it", what, (unsigned long long)p->id,
		       owner, root_may ? " and root" : "", verb);
}
