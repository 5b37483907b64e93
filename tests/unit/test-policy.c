/* Table-driven tests of policy_check(): the one function between a user and
 * any PID. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define HOST_NS 4026531836ULL

struct level_spec {
	pid_t pid;
	bool daemon_ns;
	bool is_new;
	size_t n_owners;
	uid_t owners[4];
};

struct policy_case {
	const char *name;
	bool own_namespaces;
	pid_t root_only_below;
	uid_t uid;
	size_t n_levels;
	struct level_spec levels[4];
	int expect;               /* 0 or -EPERM */
	const char *expect_rule;  /* when allowed */
	const char *expect_text;  /* substring of the refusal */
};

static const struct policy_case cases[] = {
	{ "root takes a host pid", true, 0, 0, 1, { { 4242, true } }, 0, "root", NULL },
	{ "root takes pid 1 of a new namespace", true, 0, 0, 2, { { 1, false, true }, { 300, true } }, 0, "root", NULL },
	{ "root below the floor", true, 1000, 0, 1, { { 5, true } }, 0, "root", NULL },
	{ "user denied a host pid", true, 0, 1000, 1, { { 4242, true } }, -EPERM, NULL, "pid 4242 at level 0" },
	{ "user denied names the daemon's namespace", true, 0, 1000, 1, { { 4242, true } }, -EPERM, NULL, "the daemon's pid namespace" },
	{ "user in a namespace it owns", true, 0, 1000, 1, { { 77, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "owner found up the chain", true, 0, 1000, 1, { { 77, false, false, 2, { 0, 1000 } } }, 0, "own-namespace", NULL },
	{ "namespace owned by someone else", true, 0, 1000, 1, { { 77, false, false, 1, { 1001 } } }, -EPERM, NULL, "owned by uid 1001" },
	{ "own-namespace rule off", false, 0, 1000, 1, { { 77, false, false, 1, { 1000 } } }, -EPERM, NULL, "rule is off" },
	{ "two owned levels", true, 0, 1000, 2, { { 5, false, false, 2, { 1000, 1000 } }, { 6, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "inner owned, outer host", true, 0, 1000, 2, { { 5, false, false, 1, { 1000 } }, { 6000, true } }, -EPERM, NULL, "pid 6000 at level 1" },
	{ "inner foreign, outer owned", true, 0, 1000, 2, { { 5, false, false, 1, { 1001 } }, { 6, false, false, 1, { 1000 } } }, -EPERM, NULL, "pid 5 at level 0" },
	{ "any free pid needs no permission", true, 0, 1000, 1, { { 0, true } }, 0, "any-free-pid", NULL },
	{ "inner any, outer host refused", true, 0, 1000, 2, { { 0, false, false, 1, { 1000 } }, { 6000, true } }, -EPERM, NULL, "level 1" },
	{ "inner chosen, outer any", true, 0, 1000, 2, { { 9, false, false, 1, { 1000 } }, { 0, true } }, 0, "any-free-pid", NULL },
	{ "floor refuses a user in its own namespace", true, 1000, 1000, 1, { { 999, false, false, 1, { 1000 } } }, -EPERM, NULL, "below 1000" },
	{ "floor edge: the floor itself is allowed", true, 1000, 1000, 1, { { 1000, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "new namespace owned by the user", true, 0, 1000, 2, { { 1, false, true, 1, { 1000 } }, { 88, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "new namespace in the host user namespace", true, 0, 1000, 1, { { 1, false, true, 0, { 0 } } }, -EPERM, NULL, "the new pid namespace" },
	{ "no levels named at all", true, 0, 1000, 0, { { 0 } }, 0, "none", NULL },
};

static int run_case(const struct policy_case *c)
{
	struct policy pol = { .own_namespaces = c->own_namespaces, .root_only_below = c->root_only_below };
	struct policy_level levels[4];
	struct policy_request req = { .uid = c->uid, .gid = c->uid, .n_levels = c->n_levels, .levels = levels };
	struct why why = { 0 };
	const char *rule = NULL;
	int r;

	for (size_t i = 0; i < c->n_levels; i++)
		levels[i] = (struct policy_level){
			.pid = c->levels[i].pid,
			.ns_inode = HOST_NS + i,
			.is_daemon_ns = c->levels[i].daemon_ns,
			.is_new = c->levels[i].is_new,
			.n_owners = c->levels[i].n_owners,
			.owners = c->levels[i].owners,
		};
	r = policy_check(&pol, &req, &rule, &why);
	if (r != c->expect) {
		printf("FAIL %s: got %d (%s), expected %d\n", c->name, r, why.text, c->expect);
		return 1;
	}
	if (r == 0 && strcmp(rule, c->expect_rule) != 0) {
		printf("FAIL %s: allowed by rule %s, expected %s\n", c->name, rule, c->expect_rule);
		return 1;
	}
	if (r < 0 && (why.err != EPERM || !strstr(why.text, c->expect_text))) {
		printf("FAIL %s: refusal \"%s\" (errno %d) lacks \"%s\"\n", c->name, why.text, why.err, c->expect_text);
		return 1;
	}
	printf("ok   %s\n", c->name);
	return 0;
}

int main(void)
{
	size_t failed = 0, n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++)
		failed += (size_t)run_case(&cases[i]);
	printf("%zu passed, %zu failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
