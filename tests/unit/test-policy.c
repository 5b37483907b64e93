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
	bool target;          /* the namespace the request names */
	bool requester_ns;    /* the requester's own */
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
	bool with_grants;         /* the grants below, else none */
	gid_t group;              /* a supplementary group; 0: none */
};

/* The grants of the cases that have any, as the parser would build them. */
static uid_t uid_1000[] = { 1000 }, uid_1002[] = { 1002 };
static gid_t gid_2000[] = { 2000 };
static struct policy_pid_range host_ranges[] = { { 300000, 399999 }, { 4242, 4242 } };
static struct policy_pid_range group_ranges[] = { { 5000, 5999 } };
static struct policy_pid_range container_ranges[] = { { 100, 200 } };
static struct policy_ns ns_host[] = { { POLICY_NS_HOST } };
static struct policy_ns ns_any[] = { { POLICY_NS_ANY } };
static struct policy_ns ns_owned_by_1001[] = { { POLICY_NS_OWNED_BY, 1001 } };
static struct policy_grant grants[] = {
	{ .uids = uid_1000, .n_uids = 1, .ranges = host_ranges, .n_ranges = 2, .namespaces = ns_host, .n_namespaces = 1,
	  .rule = "grant #1 (pidrestored.conf:6)" },
	{ .gids = gid_2000, .n_gids = 1, .ranges = group_ranges, .n_ranges = 1, .namespaces = ns_any, .n_namespaces = 1,
	  .rule = "grant #2 (pidrestored.conf:12)" },
	{ .uids = uid_1002, .n_uids = 1, .ranges = container_ranges, .n_ranges = 1, .namespaces = ns_owned_by_1001,
	  .n_namespaces = 1, .rule = "grant #3 (10-ct.conf:1)" },
};

#define G1 "grant #1 (pidrestored.conf:6)"
#define G2 "grant #2 (pidrestored.conf:12)"
#define G3 "grant #3 (10-ct.conf:1)"

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
	{ "inner owned, outer host", true, 0, 1000, 2, { { 5, false, false, 1, { 1000 } }, { 6000, true } }, -EPERM, NULL, "pid 6000 at level 0" },
	{ "inner foreign, outer owned", true, 0, 1000, 2, { { 5, false, false, 1, { 1001 } }, { 6, false, false, 1, { 1000 } } }, -EPERM, NULL, "pid 5 at level 1" },
	{ "any free pid needs no permission", true, 0, 1000, 1, { { 0, true } }, 0, "any-free-pid", NULL },
	{ "inner any, outer host refused", true, 0, 1000, 2, { { 0, false, false, 1, { 1000 } }, { 6000, true } }, -EPERM, NULL, "pid 6000 at level 0" },
	{ "inner chosen, outer any", true, 0, 1000, 2, { { 9, false, false, 1, { 1000 } }, { 0, true } }, 0, "any-free-pid", NULL },
	{ "floor does not apply in the user's own namespace", true, 1000, 1000, 1, { { 1, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "floor applies in an own namespace when the rule is off", false, 1000, 1000, 1, { { 999, false, false, 1, { 1000 } } }, -EPERM, NULL, "below 1000" },
	{ "floor applies in the host namespace", true, 1000, 1000, 1, { { 999, true } }, -EPERM, NULL, "PIDs below 1000 are reserved for root" },
	{ "new namespace pid 1 under a floor", true, 1000, 1000, 2, { { 1, false, true, 1, { 1000 } }, { 0, true } }, 0, "any-free-pid", NULL },
	{ "new namespace owned by the user", true, 0, 1000, 2, { { 1, false, true, 1, { 1000 } }, { 88, false, false, 1, { 1000 } } }, 0, "own-namespace", NULL },
	{ "new namespace in the host user namespace", true, 0, 1000, 1, { { 1, false, true, 0, { 0 } } }, -EPERM, NULL, "the new pid namespace" },
	{ "no levels named at all", true, 0, 1000, 0, { { 0 } }, 0, "none", NULL },
	{ "any free pid in its own namespace as the target", true, 0, 1000, 1, { { 0, true, false, 0, { 0 }, true, true } }, 0,
	  "any-free-pid", NULL },
	{ "any free pid in a target it owns", true, 0, 1000, 2,
	  { { 0, false, false, 1, { 1000 }, true }, { 0, true, false, 0, { 0 }, false, true } }, 0, "any-free-pid", NULL },
	{ "any free pid in another user's target", true, 0, 1000, 2,
	  { { 0, false, false, 1, { 1001 }, true }, { 0, true, false, 0, { 0 }, false, true } }, -EPERM, NULL,
	  "any free PID at level 1 (pid:[4026531836]): uid 1000 may not create a process there: it is not its own pid namespace and its user namespace is owned by uid 1001; name a PID" },
	{ "any free pid in a root-owned target", true, 0, 1000, 2,
	  { { 0, false, false, 0, { 0 }, true }, { 0, true, false, 0, { 0 }, false, true } }, -EPERM, NULL,
	  "it is not its own pid namespace and belongs to the daemon's user namespace" },
	{ "any free pid in an owned target, own-namespace rule off", false, 0, 1000, 1,
	  { { 0, false, false, 1, { 1000 }, true } }, -EPERM, NULL, "owned by uid 1000 (and the own-namespace rule is off)" },
	{ "any free pid in the host named from a container", true, 0, 1000, 1, { { 0, true, false, 0, { 0 }, true, false } },
	  -EPERM, NULL, "any free PID at level 0" },
	{ "root: any free pid in another user's target", true, 0, 0, 1, { { 0, false, false, 1, { 1001 }, true } }, 0, "root",
	  NULL },

	/* With grants. */
	{ "fresh install: no grant for a host range", true, 0, 1000, 1, { { 300000, true } }, -EPERM, NULL,
	  "no grant for uid 1000 covers pid 300000 in the host namespace" },
	{ "grant by user: range start", true, 0, 1000, 1, { { 300000, true } }, 0, G1, NULL, true },
	{ "grant by user: range end", true, 0, 1000, 1, { { 399999, true } }, 0, G1, NULL, true },
	{ "grant by user: one below the range", true, 0, 1000, 1, { { 299999, true } }, -EPERM, NULL,
	  "no grant for uid 1000 covers pid 299999 in the host namespace", true },
	{ "grant by user: one above the range", true, 0, 1000, 1, { { 400000, true } }, -EPERM, NULL,
	  "pid 400000 at level 0", true },
	{ "grant by user: a single PID", true, 0, 1000, 1, { { 4242, true } }, 0, G1, NULL, true },
	{ "grant by user: next to the single PID", true, 0, 1000, 1, { { 4243, true } }, -EPERM, NULL,
	  "covers pid 4243 in the host namespace", true },
	{ "another user has no grant", true, 0, 1001, 1, { { 300000, true } }, -EPERM, NULL,
	  "no grant for uid 1001 covers pid 300000", true },
	{ "a host grant does not reach a root-owned container", true, 0, 1000, 1, { { 300000, false, false, 1, { 0 } } },
	  -EPERM, NULL, "owned by uid 0, not by uid 1000, and no grant", true },
	{ "a host grant does not reach a new namespace", true, 0, 1000, 1, { { 4242, false, true, 0, { 0 } } },
	  -EPERM, NULL, "the new pid namespace", true },
	{ "grant by supplementary group", true, 0, 1005, 1, { { 5000, true } }, 0, G2, NULL, true, 2000 },
	{ "grant by primary group", true, 0, 2000, 1, { { 5999, true } }, 0, G2, NULL, true },
	{ "group grant: outside its range", true, 0, 1005, 1, { { 6000, true } }, -EPERM, NULL, "pid 6000", true, 2000 },
	{ "group grant: not in the group", true, 0, 1005, 1, { { 5000, true } }, -EPERM, NULL, "uid 1005", true, 2001 },
	{ "Namespace=any reaches a foreign container", true, 0, 1005, 1, { { 5500, false, false, 1, { 1001 } } }, 0, G2,
	  NULL, true, 2000 },
	{ "Namespace=any reaches a new namespace", true, 0, 1005, 1, { { 5001, false, true, 0, { 0 } } }, 0, G2, NULL, true,
	  2000 },
	{ "owned-by: the owner directly", true, 0, 1002, 1, { { 150, false, false, 1, { 1001 } } }, 0, G3, NULL, true },
	{ "owned-by: the owner up the chain", true, 0, 1002, 1, { { 100, false, false, 2, { 5000, 1001 } } }, 0, G3, NULL,
	  true },
	{ "owned-by: range end", true, 0, 1002, 1, { { 200, false, false, 1, { 1001 } } }, 0, G3, NULL, true },
	{ "owned-by: past the range", true, 0, 1002, 1, { { 201, false, false, 1, { 1001 } } }, -EPERM, NULL,
	  "covers pid 201 there", true },
	{ "owned-by: another owner", true, 0, 1002, 1, { { 150, false, false, 1, { 1004 } } }, -EPERM, NULL,
	  "owned by uid 1004", true },
	{ "owned-by: not the host", true, 0, 1002, 1, { { 150, true } }, -EPERM, NULL, "in the host namespace", true },
	{ "owned-by works with the own-namespace rule off", false, 0, 1002, 1, { { 150, false, false, 1, { 1001 } } }, 0,
	  G3, NULL, true },
	{ "the floor comes before grants", true, 1000, 1002, 1, { { 150, false, false, 1, { 1001 } } }, -EPERM, NULL,
	  "PIDs below 1000 are reserved for root", true },
	{ "the floor does not stop root", true, 1000, 0, 1, { { 150, true } }, 0, "root", NULL, true },
	{ "a grant above the floor", true, 1000, 1000, 1, { { 4242, true } }, 0, G1, NULL, true },
	{ "floor edge: the floor itself may be granted", true, 300000, 1000, 1, { { 300000, true } }, 0, G1, NULL, true },
	{ "floor edge: one below it is root's even with a grant", true, 300001, 1000, 1, { { 300000, true } }, -EPERM, NULL,
	  "PIDs below 300001 are reserved for root", true },
	{ "own namespace before grants", true, 0, 1000, 1, { { 300000, false, false, 1, { 1000 } } }, 0, "own-namespace",
	  NULL, true },
	{ "any free PID with grants", true, 0, 1001, 1, { { 0, true } }, 0, "any-free-pid", NULL, true },
	{ "a granted PID in a foreign target, any outside", true, 0, 1002, 2,
	  { { 150, false, false, 1, { 1001 }, true }, { 0, true, false, 0, { 0 }, false, true } }, 0, "any-free-pid", NULL, true },
	{ "a grant does not make any free PID in a foreign target", true, 0, 1002, 1,
	  { { 0, false, false, 1, { 1001 }, true } }, -EPERM, NULL, "name a PID that a grant for uid 1002 covers there", true },
	{ "nested: own inner, granted outer", true, 0, 1000, 2, { { 5, false, false, 1, { 1000 } }, { 300001, true } }, 0,
	  G1, NULL, true },
	{ "nested: own inner, outer outside the grant", true, 0, 1000, 2,
	  { { 5, false, false, 1, { 1000 } }, { 250000, true } }, -EPERM, NULL,
	  "pid 250000 at level 0 (pid:[4026531837], the daemon's pid namespace): uid 1000 may not take it: no grant for uid 1000 covers pid 250000 in the host namespace",
	  true },
	{ "nested: foreign inner refused though the outer is granted", true, 0, 1000, 2,
	  { { 50, false, false, 1, { 1001 } }, { 300002, true } }, -EPERM, NULL, "pid 50 at level 1", true },
	{ "nested: group grant inner, user-less outer", true, 0, 1005, 2,
	  { { 5002, false, false, 1, { 1001 } }, { 5003, true } }, 0, G2, NULL, true, 2000 },
	{ "nested: three levels, the middle refused", true, 0, 1002, 3,
	  { { 150, false, true, 1, { 1001 } }, { 300, false, false, 1, { 1001 } }, { 300000, true } }, -EPERM, NULL,
	  "pid 300 at level 1", true },
};

static int run_case(const struct policy_case *c)
{
	struct policy pol = {
		.own_namespaces = c->own_namespaces, .root_only_below = c->root_only_below,
		.grants = c->with_grants ? grants : NULL, .n_grants = c->with_grants ? ELEMENTSOF(grants) : 0,
	};
	struct policy_level levels[4];
	struct policy_request req = {
		.uid = c->uid, .gid = c->uid, .groups = &c->group, .n_groups = c->group ? 1 : 0,
		.n_levels = c->n_levels, .levels = levels,
	};
	struct why why = { 0 };
	const char *rules[4] = { NULL }, *rule;
	int r;

	for (size_t i = 0; i < c->n_levels; i++)
		levels[i] = (struct policy_level){
			.pid = c->levels[i].pid,
			/* The outermost level of every case is the daemon's. */
			.depth = (unsigned int)(c->n_levels - 1 - i),
			.ns_inode = HOST_NS + i,
			.is_daemon_ns = c->levels[i].daemon_ns,
			.is_new = c->levels[i].is_new,
			.is_target = c->levels[i].target,
			.is_requester_ns = c->levels[i].requester_ns,
			.n_owners = c->levels[i].n_owners,
			.owners = c->levels[i].owners,
		};
	r = policy_check(&pol, &req, rules, &why);
	rule = c->n_levels ? rules[c->n_levels - 1] : "none";
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

/* Every level is decided, also past a refusal. */
static int check_every_level_decided(void)
{
	struct policy pol = { .own_namespaces = true, .grants = grants, .n_grants = ELEMENTSOF(grants) };
	uid_t foreign[] = { 1001 };
	struct policy_level levels[] = {
		{ .pid = 50, .depth = 1, .ns_inode = HOST_NS + 1, .n_owners = 1, .owners = foreign },
		{ .pid = 300002, .depth = 0, .ns_inode = HOST_NS, .is_daemon_ns = true },
	};
	struct policy_request req = { .uid = 1000, .gid = 1000, .n_levels = 2, .levels = levels };
	const char *rules[2] = { "stale", "stale" };
	struct why why = { 0 };
	int r = policy_check(&pol, &req, rules, &why);

	if (r != -EPERM || rules[0] != NULL || !rules[1] || strcmp(rules[1], G1) != 0 || !strstr(why.text, "pid 50 at level 1")) {
		printf("FAIL every level decided: r=%d inner=%s outer=%s why=%s\n", r, rules[0] ? rules[0] : "(refused)",
		       rules[1] ? rules[1] : "(refused)", why.text);
		return 1;
	}
	printf("ok   every level decided: inner refused, outer by %s\n", rules[1]);
	return 0;
}

/* Per-user limits: the smallest among the grants that name the user. */
struct limits_case {
	const char *name;
	uid_t uid;
	gid_t group;               /* supplementary; 0: none */
	uint32_t max_reservations;
	const char *max_reservations_rule;
	uint32_t spawns_per_second;
	const char *spawns_per_second_rule;
	bool with_default;         /* the policy has DefaultMaxReservations=default_max */
	uint32_t default_max;
};

#define DEFAULT_RULE "[Policy]"

static uid_t uid_1000_1001[] = { 1000, 1001 };
static struct policy_grant limit_grants[] = {
	{ .uids = uid_1000_1001, .n_uids = 2, .ranges = host_ranges, .n_ranges = 2, .namespaces = ns_host, .n_namespaces = 1,
	  .max_reservations = 1000, .spawns_per_second = POLICY_UNLIMITED, .rule = G1 },
	{ .gids = gid_2000, .n_gids = 1, .ranges = group_ranges, .n_ranges = 1, .namespaces = ns_any, .n_namespaces = 1,
	  .max_reservations = 50, .spawns_per_second = 500, .rule = G2 },
	{ .uids = uid_1002, .n_uids = 1, .ranges = container_ranges, .n_ranges = 1, .namespaces = ns_owned_by_1001,
	  .n_namespaces = 1, .max_reservations = POLICY_UNLIMITED, .spawns_per_second = 20, .rule = G3 },
};

static const struct limits_case limits_cases[] = {
	{ "limits: a user named by no grant is unlimited", 1003, 0, POLICY_UNLIMITED, NULL, POLICY_UNLIMITED, NULL },
	{ "limits: one grant by user", 1000, 0, 1000, G1, POLICY_UNLIMITED, NULL },
	{ "limits: user and group grants, the smaller wins", 1001, 2000, 50, G2, 500, G2 },
	{ "limits: each limit from its own grant", 1002, 2000, 50, G2, 20, G3 },
	{ "limits: primary group", 2000, 0, 50, G2, 500, G2 },
	{ "limits: a user named by no grant gets the default", 1003, 0, 4096, DEFAULT_RULE, POLICY_UNLIMITED, NULL,
	  true, 4096 },
	{ "limits: a grant's MaxReservations= replaces the default, above it too", 1000, 0, 1000, G1, POLICY_UNLIMITED,
	  NULL, true, 100 },
	{ "limits: a grant without MaxReservations= leaves the default", 1002, 0, 100, DEFAULT_RULE, 20, G3, true, 100 },
	{ "limits: a default of infinity is none", 1003, 0, POLICY_UNLIMITED, NULL, POLICY_UNLIMITED, NULL, true,
	  POLICY_UNLIMITED },
};

static int run_limits_case(const struct limits_case *c)
{
	struct policy pol = { .grants = limit_grants, .n_grants = ELEMENTSOF(limit_grants),
			      .default_max_reservations = c->with_default ? c->default_max : POLICY_UNLIMITED };
	struct policy_request req = { .uid = c->uid, .gid = c->uid, .groups = &c->group, .n_groups = c->group ? 1 : 0 };
	struct policy_limits l;

	policy_user_limits(&pol, &req, &l);
	if (l.max_reservations != c->max_reservations || l.spawns_per_second != c->spawns_per_second ||
	    l.max_reservations_is_default != (c->max_reservations_rule && strcmp(c->max_reservations_rule, DEFAULT_RULE) == 0) ||
	    (l.max_reservations_rule == NULL) != (c->max_reservations_rule == NULL) ||
	    (l.spawns_per_second_rule == NULL) != (c->spawns_per_second_rule == NULL) ||
	    (c->max_reservations_rule && strcmp(l.max_reservations_rule, c->max_reservations_rule) != 0) ||
	    (c->spawns_per_second_rule && strcmp(l.spawns_per_second_rule, c->spawns_per_second_rule) != 0)) {
		printf("FAIL %s: got %u (%s) / %u (%s)\n", c->name, l.max_reservations,
		       l.max_reservations_rule ? l.max_reservations_rule : "-", l.spawns_per_second,
		       l.spawns_per_second_rule ? l.spawns_per_second_rule : "-");
		return 1;
	}
	printf("ok   %s\n", c->name);
	return 0;
}

int main(void)
{
	size_t failed = 0, n = ELEMENTSOF(cases) + ELEMENTSOF(limits_cases) + 1;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		failed += (size_t)run_case(&cases[i]);
	for (size_t i = 0; i < ELEMENTSOF(limits_cases); i++)
		failed += (size_t)run_limits_case(&limits_cases[i]);
	failed += (size_t)check_every_level_decided();
	printf("%zu passed, %zu failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
