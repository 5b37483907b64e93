/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who may do what: the policy in force, a target checked against it, the
 * per-user limits, the owner of a process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "peer.h"
#include "policy.h"
#include "target.h"
#include "util.h"

struct conn;
struct proc;

/* The policy requests are decided by. */
void authorize_set_policy(const struct policy *policy);
const struct policy *authorize_policy(void);

/* peer as the policy sees it (its groups stay peer's). */
struct policy_request authorize_requester(const struct peer *peer);

/* Root for the admin verbs: CAP_SYS_ADMIN, not uid 0 (policy_is_admin()). */
bool authorize_is_admin(const struct peer *peer);

/* Authorizes t for c's verb and refuses what its process could not carry;
 * audited. */
int authorize_target(struct conn *c, const char *verb, const struct target *t, struct why *why);

/* The per-user limits of the policy for n more processes of c's verb;
 * reserving: they stay as reservations. A refusal is audited. */
int authorize_user_limits(struct conn *c, const char *verb, size_t n, bool reserving, struct why *why);

/* Refuses a requester that does not own p (root too, unless root_may);
 * what names p and verb what was asked, in the refusal. */
int authorize_owner(const struct peer *peer, const struct proc *p, const char *what, const char *verb, bool root_may,
		    struct why *why);
