/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzz target: the policy file parser, config_load_text(), on one file's
 * bytes; an accepted policy is then asked one question, as the daemon would.
 *
 * User and group names go to NSS as the daemon's would: with the files
 * backend a read of /etc/passwd or /etc/group per name. The target still runs
 * some 20000 inputs a second on one core, so it needs no stand-in. */
#include <errno.h>
#include <string.h>

/* By its directory: a bare "config.h" is autoconf's, at the top of the build. */
#include "conffile.h"
#include "fuzz.h"

#define NAME "fuzz.conf"

/* What policy_check() relies on in an accepted grant. */
static void check_grant(const struct policy_grant *g)
{
	FUZZ_REQUIRE(g->n_uids > 0 || g->n_gids > 0);
	FUZZ_REQUIRE(g->n_ranges > 0 && g->n_namespaces > 0);
	for (size_t i = 0; i < g->n_ranges; i++)
		FUZZ_REQUIRE(g->ranges[i].first > 0 && g->ranges[i].first <= g->ranges[i].last &&
			     g->ranges[i].last < POLICY_PID_LIMIT);
	for (size_t i = 0; i < g->n_namespaces; i++)
		FUZZ_REQUIRE(g->namespaces[i].kind == POLICY_NS_HOST || g->namespaces[i].kind == POLICY_NS_ANY ||
			     (g->namespaces[i].kind == POLICY_NS_OWNED_BY && g->namespaces[i].owner != (uid_t)-1));
	FUZZ_REQUIRE(memchr(g->rule, '\0', sizeof(g->rule)) != NULL);
}

static void ask(const struct policy *policy)
{
	/* uid 1000's user namespace, made inside root's. */
	static const struct policy_userns chain[] = { { { 4, 11 }, 1000 }, { { 4, 10 }, 0 } };
	const gid_t groups[] = { 100 };
	struct policy_level levels[] = {
		{ .pid = 4242, .depth = 1, .ns_inode = 2, .n_userns = ELEMENTSOF(chain), .userns = chain,
		  .reaches_daemon_userns = true },
		{ .pid = 300000, .depth = 0, .ns_inode = 1, .is_daemon_ns = true, .reaches_daemon_userns = true },
	};
	struct policy_request req = {
		.uid = 1000, .gid = 1000, .groups = groups, .n_groups = ELEMENTSOF(groups),
		.userns = { 4, 1 }, .in_daemon_userns = true, .n_levels = ELEMENTSOF(levels), .levels = levels,
	};
	const char *rules[ELEMENTSOF(levels)];
	struct why why = { 0 };
	int r = policy_check(policy, &req, rules, &why);
	size_t refused = 0;

	/* Every level is decided: a rule for each allowed one, NULL for each
	 * refused one, and a refusal exactly when some level has no rule. */
	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		refused += rules[i] == NULL;
	FUZZ_REQUIRE(r == 0 ? refused == 0 : r == -EPERM && refused > 0 && why.text[0] != '\0');
	/* The limits of a user are those of some grant naming it, or none. */
	{
		struct policy_limits limits;

		policy_user_limits(policy, &req, &limits);
		FUZZ_REQUIRE((limits.max_reservations == POLICY_UNLIMITED) == (limits.max_reservations_rule == NULL));
		FUZZ_REQUIRE((limits.spawns_per_second == POLICY_UNLIMITED) == (limits.spawns_per_second_rule == NULL));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy policy;
	struct why why = { 0 };
	int r;

	r = config_load_text(NAME, (const char *)data, size, &policy, &why);
	if (r < 0) {
		FUZZ_REQUIRE(why.err == -r && strncmp(why.text, NAME ":", strlen(NAME ":")) == 0);
		FUZZ_REQUIRE(policy.n_grants == 0 && policy.grants == NULL);
	} else {
		for (size_t i = 0; i < policy.n_grants; i++)
			check_grant(&policy.grants[i]);
		ask(&policy);
	}
	policy_free(&policy);
	return 0;
}
