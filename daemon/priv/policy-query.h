/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answers about the policy for `pidrestorectl policy`: the effective rules
 * as a PolicyReply, and who a uid is when someone asks about it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "pidrestore.pb-c.h"
#include "policy.h"
#include "util.h"

/* Fills reply with the policy as viewer may see it: every grant when all,
 * else only the grants that name viewer (the others are counted), and
 * viewer's own limits. Strings point into policy; free with
 * policy_query_free(). */
int policy_query_show(const struct policy *policy, const struct policy_request *viewer, bool all,
		      Pidrestore__PolicyReply *reply);
void policy_query_free(Pidrestore__PolicyReply *reply);

/* Who uid is for the policy, when an admin asks about it: its primary
 * group and supplementary groups from the user database, and what a process
 * of that uid would be: one in the daemon's user namespace, with every
 * capability for uid 0 (as exec gives it) and none for any other uid. A uid
 * without an entry is checked with gid = uid and no groups, and *known says
 * so. Free ret->groups. */
int policy_query_identity(uid_t uid, struct policy_request *ret, bool *known);

/* What policy_query_identity() assumed, in words, for the verdict. */
const char *policy_query_assumption(uid_t uid, bool known);
