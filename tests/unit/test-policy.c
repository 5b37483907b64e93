/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of policy_check(): the one function between a user and
 * any PID. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define HOST_NS 4026531836ULL

#define NSFS_DEV 4
#define CAP(n) (UINT64_C(1) << (n))
#define NO_CAPS UINT64_C(0)
#define ALL_CAPS UINT64_C(0x1ffffffffff)
#define CAP_SYS_ADMIN_BIT CAP(21)
#define CAP_CHECKPOINT_RESTORE_BIT CAP(40)
/* What a root in its own user namespace keeps after dropping the two that
 * choose PIDs (capsh --drop=cap_sys_admin,cap_checkpoint_restore). */
#define ALL_BUT_SET_TID (ALL_CAPS & ~(CAP_SYS_ADMIN_BIT | CAP_CHECKPOINT_RESTORE_BIT))

/* The user namespaces of the cases: who made each inside which. The
 * requester's is one of them, and every pid namespace belongs to one. */
enum world_userns {
	U_D,               /* the daemon's (the host's) */
	U_1000,            /* uid 1000's own: unshare -U by uid 1000 on the host */
	U_1000_NESTED,     /* made inside U_1000 by its root (whose uid is 1000) */
	U_1001,            /* uid 1001's own */
	U_1001_5000,       /* uid 5000's, inside U_1001 */
	U_1001_1000,       /* uid 1000's, made inside U_1001 (which maps uid 1000) */
	U_1004,            /* uid 1004's own */
	U_ROOT,            /* root's container */
	U_ROOT_1000,       /* uid 1000's, made inside U_ROOT by its uid 1000 */
	U_BEYOND_1000,     /* uid 1000's, in a parent the daemon cannot see */
	U_OTHER_DEV,       /* U_1000's inode on another device: another namespace */
	U_COUNT
};

struct world_ns {
	uint64_t dev, ino;
	uid_t owner;
	int parent;        /* -1: the daemon's has none; -2: beyond what it sees */
};

static const struct world_ns world[U_COUNT] = {
	[U_D] = { NSFS_DEV, 4026531837, 0, -1 },
	[U_1000] = { NSFS_DEV, 4026532001, 1000, U_D },
	[U_1000_NESTED] = { NSFS_DEV, 4026532002, 1000, U_1000 },
	[U_1001] = { NSFS_DEV, 4026532003, 1001, U_D },
	[U_1001_5000] = { NSFS_DEV, 4026532004, 5000, U_1001 },
	[U_1001_1000] = { NSFS_DEV, 4026532005, 1000, U_1001 },
	[U_1004] = { NSFS_DEV, 4026532006, 1004, U_D },
	[U_ROOT] = { NSFS_DEV, 4026532007, 0, U_D },
	[U_ROOT_1000] = { NSFS_DEV, 4026532008, 1000, U_ROOT },
	[U_BEYOND_1000] = { NSFS_DEV, 4026532009, 1000, -2 },
	[U_OTHER_DEV] = { NSFS_DEV + 1, 4026532001, 1001, U_D },
};

static struct policy_nsid world_id(int ns)
{
	return (struct policy_nsid){ world[ns].dev, world[ns].ino };
}

/* The chain nsref would collect for a pid namespace owned by ns: ns and its
 * ancestors below the daemon's user namespace. */
static size_t world_chain(int ns, struct policy_userns *chain, bool *reaches)
{
	size_t n = 0;

	for (; ns >= 0 && ns != U_D; ns = world[ns].parent)
		chain[n++] = (struct policy_userns){ world_id(ns), world[ns].owner };
	*reaches = ns == U_D;
	return n;
}

struct level_spec {
	pid_t pid;
	bool daemon_ns;
	bool is_new;
	int owner;            /* the user namespace that owns it */
	bool target;          /* the namespace the request names */
	bool requester_ns;    /* the requester's own */
};

struct policy_case {
	const char *name;
	bool own_namespaces;
	pid_t root_only_below;
	uid_t uid;
	int userns;               /* the requester's user namespace */
	uint64_t cap_eff;         /* and its effective capabilities there */
	size_t n_levels;
	struct level_spec levels[4];
	int expect;               /* 0 or -EPERM */
	const char *expect_rule;  /* when allowed */
	const char *expect_text;  /* substring of the refusal */
	bool with_grants;         /* the grants below, else none */
	gid_t group;              /* a supplementary group; 0: none */
};

/* The grants of the cases that have any, as the parser would build them. */
static uid_t uid_1000[] = { 1000 }, uid_1002[] = { 1002 }, uid_1003[] = { 1003 };
static gid_t gid_2000[] = { 2000 };
static struct policy_pid_range host_ranges[] = { { 300000, 399999 }, { 4242, 4242 } };
static struct policy_pid_range group_ranges[] = { { 5000, 5999 } };
static struct policy_pid_range container_ranges[] = { { 100, 200 } };
static struct policy_pid_range low_ranges[] = { { 1, 400 } };
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
	{ .uids = uid_1003, .n_uids = 1, .ranges = low_ranges, .n_ranges = 1, .namespaces = ns_any, .n_namespaces = 1,
	  .rule = "grant #4 (20-low.conf:1)" },
};

#define G1 "grant #1 (pidrestored.conf:6)"
#define G2 "grant #2 (pidrestored.conf:12)"
#define G3 "grant #3 (10-ct.conf:1)"
#define G4 "grant #4 (20-low.conf:1)"

static const struct policy_case cases[] = {
	{ "root takes a host pid", true, 0, 0, U_D, ALL_CAPS, 1, { { 4242, true } }, 0, "root", NULL },
	{ "root takes pid 1 of a new namespace", true, 0, 0, U_D, ALL_CAPS, 2, { { 1, false, true }, { 300, true } }, 0, "root", NULL },
	{ "root below the floor", true, 1000, 0, U_D, ALL_CAPS, 1, { { 5, true } }, 0, "root", NULL },
	{ "user denied a host pid", true, 0, 1000, U_D, NO_CAPS, 1, { { 4242, true } }, -EPERM, NULL, "pid 4242 at level 0" },
	{ "user denied names the daemon's namespace", true, 0, 1000, U_D, NO_CAPS, 1, { { 4242, true } }, -EPERM, NULL, "the daemon's pid namespace" },
	{ "user in a namespace it owns", true, 0, 1000, U_D, NO_CAPS, 1, { { 77, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "nested in a namespace it owns", true, 0, 1000, U_D, NO_CAPS, 1, { { 77, false, false, U_1000_NESTED } }, 0, "own-namespace", NULL },
	{ "namespace owned by someone else", true, 0, 1000, U_D, NO_CAPS, 1, { { 77, false, false, U_1001 } }, -EPERM, NULL, "owned by uid 1001" },
	{ "own-namespace rule off", false, 0, 1000, U_D, NO_CAPS, 1, { { 77, false, false, U_1000 } }, -EPERM, NULL, "rule is off" },
	{ "two owned levels", true, 0, 1000, U_D, NO_CAPS, 2, { { 5, false, false, U_1000_NESTED }, { 6, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "inner owned, outer host", true, 0, 1000, U_D, NO_CAPS, 2, { { 5, false, false, U_1000 }, { 6000, true } }, -EPERM, NULL, "pid 6000 at level 0" },
	{ "inner foreign, outer owned", true, 0, 1000, U_D, NO_CAPS, 2, { { 5, false, false, U_1001 }, { 6, false, false, U_1000 } }, -EPERM, NULL, "pid 5 at level 1" },
	{ "any free pid needs no permission", true, 0, 1000, U_D, NO_CAPS, 1, { { 0, true } }, 0, "any-free-pid", NULL },
	{ "inner any, outer host refused", true, 0, 1000, U_D, NO_CAPS, 2, { { 0, false, false, U_1000 }, { 6000, true } }, -EPERM, NULL, "pid 6000 at level 0" },
	{ "inner chosen, outer any", true, 0, 1000, U_D, NO_CAPS, 2, { { 9, false, false, U_1000 }, { 0, true } }, 0, "any-free-pid", NULL },
	{ "floor does not apply in the user's own namespace", true, 1000, 1000, U_D, NO_CAPS, 1, { { 1, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "floor applies in an own namespace when the rule is off", false, 1000, 1000, U_D, NO_CAPS, 1, { { 999, false, false, U_1000 } }, -EPERM, NULL, "below 1000" },
	{ "floor applies in the host namespace", true, 1000, 1000, U_D, NO_CAPS, 1, { { 999, true } }, -EPERM, NULL, "PIDs below 1000 are reserved for root" },
	{ "new namespace pid 1 under a floor", true, 1000, 1000, U_1000, ALL_CAPS, 2, { { 1, false, true, U_1000 }, { 0, true } }, 0, "any-free-pid", NULL },
	{ "new namespace owned by the user", true, 0, 1000, U_1000, ALL_CAPS, 2, { { 1, false, true, U_1000 }, { 88, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "new namespace in the host user namespace", true, 0, 1000, U_D, NO_CAPS, 1, { { 1, false, true, U_D } }, -EPERM, NULL, "the new pid namespace" },
	{ "no levels named at all", true, 0, 1000, U_D, NO_CAPS, 0, { { 0 } }, 0, "none", NULL },
	{ "any free pid in its own namespace as the target", true, 0, 1000, U_D, NO_CAPS, 1, { { 0, true, false, U_D, true, true } }, 0,
	  "any-free-pid", NULL },
	{ "any free pid in a target it owns", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 0, false, false, U_1000, true }, { 0, true, false, U_D, false, true } }, 0, "any-free-pid", NULL },
	{ "any free pid in another user's target", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 0, false, false, U_1001, true }, { 0, true, false, U_D, false, true } }, -EPERM, NULL,
	  "any free PID at level 1 (pid:[4026531836]): uid 1000 may not create a process there: it is not its own pid namespace and its user namespace is owned by uid 1001; name a PID" },
	{ "any free pid in a root-owned target", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 0, false, false, U_D, true }, { 0, true, false, U_D, false, true } }, -EPERM, NULL,
	  "it is not its own pid namespace and belongs to the daemon's user namespace" },
	{ "any free pid in an owned target, own-namespace rule off", false, 0, 1000, U_D, NO_CAPS, 1,
	  { { 0, false, false, U_1000, true } }, -EPERM, NULL,
	  "it is not its own pid namespace and the own-namespace rule is off (OwnNamespaces=no), though the kernel would let uid 1000 create a process there itself" },
	{ "any free pid in the host named from a container", true, 0, 1000, U_D, NO_CAPS, 1, { { 0, true, false, U_D, true, false } },
	  -EPERM, NULL, "any free PID at level 0" },
	{ "root: any free pid in another user's target", true, 0, 0, U_D, ALL_CAPS, 1, { { 0, false, false, U_1001, true } }, 0, "root",
	  NULL },

	/* §5 rule 1: root is a capability in the daemon's user namespace, not a uid. */
	{ "uid 0 without capabilities is not root", true, 0, 0, U_D, NO_CAPS, 1, { { 4242, true } }, -EPERM, NULL,
	  "no grant for uid 0 covers pid 4242 in the host namespace (uid 0 is not root here: it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective)" },
	{ "uid 0 without capabilities: the floor holds", true, 1000, 0, U_D, NO_CAPS, 1, { { 5, true } }, -EPERM, NULL,
	  "PIDs below 1000 are reserved for root (RootOnlyBelow=) (uid 0 is not root here" },
	{ "uid 0 without capabilities: a new namespace is refused", true, 0, 0, U_D, NO_CAPS, 1, { { 1, false, true, U_D } }, -EPERM,
	  NULL, "the namespace belongs to the daemon's user namespace and no grant for uid 0" },
	{ "uid 0 without capabilities: any free PID where it is", true, 0, 0, U_D, NO_CAPS, 1, { { 0, true, false, U_D, true, true } },
	  0, "any-free-pid", NULL },
	{ "uid 0 with CAP_SYS_ADMIN alone is root", true, 1000, 0, U_D, CAP_SYS_ADMIN_BIT, 1, { { 5, true } }, 0, "root", NULL },
	{ "uid 0 with CAP_CHECKPOINT_RESTORE alone is root", true, 0, 0, U_D, CAP_CHECKPOINT_RESTORE_BIT, 1, { { 4242, true } }, 0,
	  "root", NULL },
	{ "uid 1000 with CAP_CHECKPOINT_RESTORE is root", true, 1000, 1000, U_D, CAP_CHECKPOINT_RESTORE_BIT, 1, { { 5, true } }, 0,
	  "root", NULL },
	{ "every capability but those two is not root", true, 0, 0, U_D, ALL_BUT_SET_TID, 1, { { 4242, true } }, -EPERM, NULL,
	  "uid 0 is not root here" },
	{ "uid 0 of another user namespace, with every capability there, is not root", true, 0, 0, U_ROOT, ALL_CAPS, 1,
	  { { 4242, true } }, -EPERM, NULL, "(uid 0 is not root here: its user namespace is not the daemon's)" },
	{ "CAP_CHECKPOINT_RESTORE in a child user namespace is not root", true, 0, 1000, U_1000, CAP_CHECKPOINT_RESTORE_BIT, 1,
	  { { 4242, true } }, -EPERM, NULL, "no grant for uid 1000 covers pid 4242 in the host namespace" },

	/* §5 rule 2: the kernel's walk from the owner toward the daemon's
	 * user namespace, branch by branch. */
	{ "walk meets its own user namespace first, CAP_SYS_ADMIN effective", true, 0, 1000, U_1000, CAP_SYS_ADMIN_BIT, 1,
	  { { 77, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "walk meets its own user namespace first, CAP_CHECKPOINT_RESTORE effective", true, 0, 1000, U_1000,
	  CAP_CHECKPOINT_RESTORE_BIT, 1, { { 77, false, false, U_1000 } }, 0, "own-namespace", NULL },
	{ "walk meets its own user namespace first, neither effective", true, 0, 1000, U_1000, ALL_BUT_SET_TID, 1,
	  { { 77, false, false, U_1000 } }, -EPERM, NULL,
	  "pid 77 at level 0 (pid:[4026531836]): uid 1000 may not take it: the namespace's user namespace is the one uid 1000 runs in (user:[4026532001]), where it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective, and no grant for uid 1000 covers pid 77 there" },
	{ "walk meets its own further up, with the capability", true, 0, 1001, U_1001, ALL_CAPS, 1,
	  { { 77, false, false, U_1001_5000 } }, 0, "own-namespace", NULL },
	{ "walk meets its own further up, without it", true, 0, 1001, U_1001, NO_CAPS, 1, { { 77, false, false, U_1001_5000 } },
	  -EPERM, NULL, "the namespace's user namespace lies inside the one uid 1001 runs in (user:[4026532003]), where it has neither" },
	{ "walk meets a child of its own that its uid owns, inside a container, no capability needed", true, 0, 1000, U_1001,
	  NO_CAPS, 1, { { 77, false, false, U_1001_1000 } }, 0, "own-namespace", NULL },
	{ "walk meets a child of its own owned by another uid, then its own without the capability", true, 0, 1000, U_1001,
	  NO_CAPS, 1, { { 77, false, false, U_1001_5000 } }, -EPERM, NULL, "lies inside the one uid 1000 runs in (user:[4026532003])" },
	{ "walk meets a child of its own that its uid owns, further up", true, 0, 1000, U_1000, NO_CAPS, 1,
	  { { 77, false, false, U_1000_NESTED } }, 0, "own-namespace", NULL },
	{ "walk meets a child of the daemon's owned by another uid", true, 0, 1002, U_D, NO_CAPS, 1,
	  { { 77, false, false, U_1001 } }, -EPERM, NULL, "owned by uid 1001, not by uid 1002, and no grant" },
	{ "uid 1000's namespace made inside root's is not uid 1000's", true, 0, 1000, U_D, NO_CAPS, 1,
	  { { 77, false, false, U_ROOT_1000 } }, -EPERM, NULL,
	  "pid 77 at level 0 (pid:[4026531836]): uid 1000 may not take it: the namespace's user namespace is owned by uid 1000 but its parent is user:[4026532007] (owned by uid 0), not the one uid 1000 runs in (the daemon's): owning it gives uid 1000 no capability there, and no grant for uid 1000 covers pid 77 there" },
	{ "uid 1000's namespace made inside root's: no free PID either", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 0, false, false, U_ROOT_1000, true }, { 0, true, false, U_D, false, true } }, -EPERM, NULL,
	  "it is not its own pid namespace and its user namespace is owned by uid 1000 but its parent is user:[4026532007] (owned by uid 0)" },
	{ "uid 1000's namespace made inside root's: uid 1000 in there owns it", true, 0, 1000, U_ROOT, NO_CAPS, 1,
	  { { 77, false, false, U_ROOT_1000 } }, 0, "own-namespace", NULL },
	{ "uid 1000's namespace made inside root's: the container's root has it", true, 0, 0, U_ROOT, ALL_CAPS, 1,
	  { { 77, false, false, U_ROOT_1000 } }, 0, "own-namespace", NULL },
	{ "uid 1000's namespace made inside root's: not from the container's capless root", true, 0, 0, U_ROOT, NO_CAPS, 1,
	  { { 77, false, false, U_ROOT_1000 } }, -EPERM, NULL, "lies inside the one uid 0 runs in (user:[4026532007])" },
	{ "walk misses: a namespace of its uid beside its container", true, 0, 1000, U_1001, ALL_CAPS, 1,
	  { { 77, false, false, U_1000 } }, -EPERM, NULL,
	  "owned by uid 1000 but its parent is the daemon's user namespace, not the one uid 1000 runs in (user:[4026532003])" },
	{ "walk misses: the daemon's user namespace, from a container", true, 0, 0, U_ROOT, ALL_CAPS, 1,
	  { { 7, false, false, U_D } }, -EPERM, NULL,
	  "the namespace belongs to the daemon's user namespace and no grant for uid 0 covers pid 7 there (uid 0 is not root here: its user namespace is not the daemon's)" },
	{ "walk cut short: nothing past its end", true, 0, 1000, U_D, NO_CAPS, 1, { { 77, false, false, U_BEYOND_1000 } }, -EPERM,
	  NULL, "its parent is outside the daemon's user namespace" },
	{ "walk cut short: its own before the end", true, 0, 1000, U_BEYOND_1000, ALL_CAPS, 1,
	  { { 77, false, false, U_BEYOND_1000 } }, 0, "own-namespace", NULL },
	{ "walk: the same inode on another device is another namespace", true, 0, 1000, U_1000, ALL_CAPS, 1,
	  { { 77, false, false, U_OTHER_DEV } }, -EPERM, NULL, "owned by uid 1001, not by uid 1000" },
	{ "walk allows, but the rule is off", false, 0, 1000, U_1000, ALL_CAPS, 1, { { 77, false, false, U_1000 } }, -EPERM, NULL,
	  "the own-namespace rule is off (OwnNamespaces=no), though the kernel would let uid 1000 take it itself" },
	{ "any free pid in its own user namespace's target, neither capability", true, 0, 1000, U_1000, ALL_BUT_SET_TID, 2,
	  { { 0, false, false, U_1000, true }, { 0, true } }, -EPERM, NULL,
	  "it is not its own pid namespace and its user namespace is the one uid 1000 runs in (user:[4026532001]), where it has neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE effective; name a PID" },
	{ "a new namespace from its own user namespace, capabilities dropped", true, 0, 1000, U_1000, ALL_BUT_SET_TID, 2,
	  { { 1, false, true, U_1000 }, { 0, false, false, U_1000, true, true } }, -EPERM, NULL, "pid 1 at level 1 (the new pid namespace)" },
	{ "a new namespace from its own user namespace, as its root", true, 0, 1000, U_1000, ALL_CAPS, 2,
	  { { 1, false, true, U_1000 }, { 0, false, false, U_1000, true, true } }, 0, "any-free-pid", NULL },

	/* With grants. */
	{ "fresh install: no grant for a host range", true, 0, 1000, U_D, NO_CAPS, 1, { { 300000, true } }, -EPERM, NULL,
	  "no grant for uid 1000 covers pid 300000 in the host namespace" },
	{ "grant by user: range start", true, 0, 1000, U_D, NO_CAPS, 1, { { 300000, true } }, 0, G1, NULL, true },
	{ "grant by user: range end", true, 0, 1000, U_D, NO_CAPS, 1, { { 399999, true } }, 0, G1, NULL, true },
	{ "grant by user: one below the range", true, 0, 1000, U_D, NO_CAPS, 1, { { 299999, true } }, -EPERM, NULL,
	  "no grant for uid 1000 covers pid 299999 in the host namespace", true },
	{ "grant by user: one above the range", true, 0, 1000, U_D, NO_CAPS, 1, { { 400000, true } }, -EPERM, NULL,
	  "pid 400000 at level 0", true },
	{ "grant by user: a single PID", true, 0, 1000, U_D, NO_CAPS, 1, { { 4242, true } }, 0, G1, NULL, true },
	{ "grant by user: next to the single PID", true, 0, 1000, U_D, NO_CAPS, 1, { { 4243, true } }, -EPERM, NULL,
	  "covers pid 4243 in the host namespace", true },
	{ "another user has no grant", true, 0, 1001, U_D, NO_CAPS, 1, { { 300000, true } }, -EPERM, NULL,
	  "no grant for uid 1001 covers pid 300000", true },
	{ "a host grant does not reach a root-owned container", true, 0, 1000, U_D, NO_CAPS, 1, { { 300000, false, false, U_ROOT } },
	  -EPERM, NULL, "owned by uid 0, not by uid 1000, and no grant", true },
	{ "a host grant does not reach a new namespace", true, 0, 1000, U_D, NO_CAPS, 1, { { 4242, false, true, U_D } },
	  -EPERM, NULL, "the new pid namespace", true },
	{ "grant by supplementary group", true, 0, 1005, U_D, NO_CAPS, 1, { { 5000, true } }, 0, G2, NULL, true, 2000 },
	{ "grant by primary group", true, 0, 2000, U_D, NO_CAPS, 1, { { 5999, true } }, 0, G2, NULL, true },
	{ "group grant: outside its range", true, 0, 1005, U_D, NO_CAPS, 1, { { 6000, true } }, -EPERM, NULL, "pid 6000", true, 2000 },
	{ "group grant: not in the group", true, 0, 1005, U_D, NO_CAPS, 1, { { 5000, true } }, -EPERM, NULL, "uid 1005", true, 2001 },
	{ "Namespace=any reaches a foreign container", true, 0, 1005, U_D, NO_CAPS, 1, { { 5500, false, false, U_1001 } }, 0, G2,
	  NULL, true, 2000 },
	{ "Namespace=any reaches the daemon's own namespace", true, 0, 1005, U_D, NO_CAPS, 1, { { 5100, true } }, 0, G2, NULL, true,
	  2000 },
	{ "Namespace=any reaches a new namespace", true, 0, 1005, U_D, NO_CAPS, 1, { { 5001, false, true, U_D } }, 0, G2, NULL, true,
	  2000 },
	{ "owned-by: the owner directly", true, 0, 1002, U_D, NO_CAPS, 1, { { 150, false, false, U_1001 } }, 0, G3, NULL, true },
	{ "owned-by: the owner up the chain", true, 0, 1002, U_D, NO_CAPS, 1, { { 100, false, false, U_1001_5000 } }, 0, G3, NULL,
	  true },
	{ "owned-by: range end", true, 0, 1002, U_D, NO_CAPS, 1, { { 200, false, false, U_1001 } }, 0, G3, NULL, true },
	{ "owned-by: past the range", true, 0, 1002, U_D, NO_CAPS, 1, { { 201, false, false, U_1001 } }, -EPERM, NULL,
	  "covers pid 201 there", true },
	{ "owned-by: another owner", true, 0, 1002, U_D, NO_CAPS, 1, { { 150, false, false, U_1004 } }, -EPERM, NULL,
	  "owned by uid 1004", true },
	{ "owned-by: not the host", true, 0, 1002, U_D, NO_CAPS, 1, { { 150, true } }, -EPERM, NULL, "in the host namespace", true },
	{ "owned-by works with the own-namespace rule off", false, 0, 1002, U_D, NO_CAPS, 1, { { 150, false, false, U_1001 } }, 0,
	  G3, NULL, true },
	{ "the floor comes before grants", true, 1000, 1002, U_D, NO_CAPS, 1, { { 150, false, false, U_1001 } }, -EPERM, NULL,
	  "PIDs below 1000 are reserved for root", true },
	{ "the floor does not stop root", true, 1000, 0, U_D, ALL_CAPS, 1, { { 150, true } }, 0, "root", NULL, true },
	{ "a grant above the floor", true, 1000, 1000, U_D, NO_CAPS, 1, { { 4242, true } }, 0, G1, NULL, true },
	{ "floor edge: the floor itself may be granted", true, 300000, 1000, U_D, NO_CAPS, 1, { { 300000, true } }, 0, G1, NULL, true },
	{ "floor edge: one below it is root's even with a grant", true, 300001, 1000, U_D, NO_CAPS, 1, { { 300000, true } }, -EPERM, NULL,
	  "PIDs below 300001 are reserved for root", true },
	{ "own namespace before grants", true, 0, 1000, U_D, NO_CAPS, 1, { { 300000, false, false, U_1000 } }, 0, "own-namespace",
	  NULL, true },
	{ "any free PID with grants", true, 0, 1001, U_D, NO_CAPS, 1, { { 0, true } }, 0, "any-free-pid", NULL, true },
	{ "a granted PID in a foreign target, any outside", true, 0, 1002, U_D, NO_CAPS, 2,
	  { { 150, false, false, U_1001, true }, { 0, true, false, U_D, false, true } }, 0, "any-free-pid", NULL, true },
	{ "a grant does not make any free PID in a foreign target", true, 0, 1002, U_D, NO_CAPS, 1,
	  { { 0, false, false, U_1001, true } }, -EPERM, NULL, "name a PID that a grant for uid 1002 covers there", true },
	{ "nested: own inner, granted outer", true, 0, 1000, U_D, NO_CAPS, 2, { { 5, false, false, U_1000 }, { 300001, true } }, 0,
	  G1, NULL, true },
	{ "nested: own inner, outer outside the grant", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 5, false, false, U_1000 }, { 250000, true } }, -EPERM, NULL,
	  "pid 250000 at level 0 (pid:[4026531837], the daemon's pid namespace): uid 1000 may not take it: no grant for uid 1000 covers pid 250000 in the host namespace",
	  true },
	{ "nested: foreign inner refused though the outer is granted", true, 0, 1000, U_D, NO_CAPS, 2,
	  { { 50, false, false, U_1001 }, { 300002, true } }, -EPERM, NULL, "pid 50 at level 1", true },
	{ "nested: group grant inner, user-less outer", true, 0, 1005, U_D, NO_CAPS, 2,
	  { { 5002, false, false, U_1001 }, { 5003, true } }, 0, G2, NULL, true, 2000 },
	{ "nested: three levels, the middle refused", true, 0, 1002, U_D, NO_CAPS, 3,
	  { { 150, false, true, U_1001 }, { 300, false, false, U_1001 }, { 300000, true } }, -EPERM, NULL,
	  "pid 300 at level 1", true },
	/* A namespace the request creates holds no service: the floor
	 * spares its pid 1, and the grants decide it. */
	{ "the floor spares pid 1 of a new namespace a grant covers", true, 300, 1003, U_D, NO_CAPS, 1,
	  { { 1, false, true, U_D } }, 0, G4, NULL, true },
	{ "the floor spares pid 1 of a new namespace, the granted parent above it", true, 300, 1003, U_D, NO_CAPS, 2,
	  { { 1, false, true, U_D }, { 350, true, false, U_D, true } }, 0, G4, NULL, true },
	{ "the floor still holds at the parent of a new namespace", true, 300, 1003, U_D, NO_CAPS, 2,
	  { { 1, false, true, U_D }, { 250, true, false, U_D, true } }, -EPERM, NULL,
	  "pid 250 at level 0 (pid:[4026531837], the daemon's pid namespace): uid 1003 may not take it: PIDs below 300 are reserved for root",
	  true },
	{ "the floor holds at a level of an existing namespace a grant covers", true, 300, 1003, U_D, NO_CAPS, 1,
	  { { 1, false, false, U_1001 } }, -EPERM, NULL, "PIDs below 300 are reserved for root", true },
	{ "pid 1 of a new namespace without a grant: refused by the grants, not the floor", true, 300, 1000, U_D, NO_CAPS, 1,
	  { { 1, false, true, U_D } }, -EPERM, NULL,
	  "pid 1 at level 0 (the new pid namespace): uid 1000 may not take it: the namespace belongs to the daemon's user namespace and no grant for uid 1000 covers pid 1 there",
	  true },
	{ "a capless uid 0 is granted like anyone", true, 0, 0, U_D, NO_CAPS, 1, { { 5000, true } }, 0, G2, NULL, true, 2000 },
};

static int run_case(const struct policy_case *c)
{
	struct policy pol = {
		.own_namespaces = c->own_namespaces, .root_only_below = c->root_only_below,
		.grants = c->with_grants ? grants : NULL, .n_grants = c->with_grants ? ELEMENTSOF(grants) : 0,
	};
	struct policy_level levels[4];
	struct policy_userns chains[4][U_COUNT];
	struct policy_request req = {
		.uid = c->uid, .gid = c->uid, .groups = &c->group, .n_groups = c->group ? 1 : 0,
		.userns = world_id(c->userns), .in_daemon_userns = c->userns == U_D, .cap_eff = c->cap_eff,
		.n_levels = c->n_levels, .levels = levels,
	};
	struct why why = { 0 };
	const char *rules[4] = { NULL }, *rule;
	int r;

	for (size_t i = 0; i < c->n_levels; i++) {
		bool reaches;
		size_t n = world_chain(c->levels[i].owner, chains[i], &reaches);

		levels[i] = (struct policy_level){
			.pid = c->levels[i].pid,
			/* The outermost level of every case is the daemon's. */
			.depth = (unsigned int)(c->n_levels - 1 - i),
			.ns_inode = HOST_NS + i,
			.is_daemon_ns = c->levels[i].daemon_ns,
			.is_new = c->levels[i].is_new,
			.is_target = c->levels[i].target,
			.is_requester_ns = c->levels[i].requester_ns,
			.n_userns = n,
			.userns = chains[i],
			.reaches_daemon_userns = reaches,
		};
	}
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
	struct policy_userns foreign[] = { { world_id(U_1001), 1001 } };
	struct policy_level levels[] = {
		{ .pid = 50, .depth = 1, .ns_inode = HOST_NS + 1, .n_userns = 1, .userns = foreign, .reaches_daemon_userns = true },
		{ .pid = 300002, .depth = 0, .ns_inode = HOST_NS, .is_daemon_ns = true, .reaches_daemon_userns = true },
	};
	struct policy_request req = {
		.uid = 1000, .gid = 1000, .userns = world_id(U_D), .in_daemon_userns = true, .n_levels = 2, .levels = levels,
	};
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

/* Root (rule 1) and admin (the admin verbs) are capabilities in the
 * daemon's user namespace; admin takes CAP_SYS_ADMIN. */
static int check_root_and_admin(void)
{
	static const struct {
		const char *name;
		uid_t uid;
		int userns;
		uint64_t cap_eff;
		bool root, admin;
	} rows[] = {
		{ "uid 0 with every capability", 0, U_D, ALL_CAPS, true, true },
		{ "uid 0 without capabilities", 0, U_D, NO_CAPS, false, false },
		{ "uid 0 with CAP_SYS_ADMIN alone", 0, U_D, CAP_SYS_ADMIN_BIT, true, true },
		{ "uid 0 with CAP_CHECKPOINT_RESTORE alone", 0, U_D, CAP_CHECKPOINT_RESTORE_BIT, true, false },
		{ "uid 1000 with CAP_CHECKPOINT_RESTORE", 1000, U_D, CAP_CHECKPOINT_RESTORE_BIT, true, false },
		{ "uid 1000 with CAP_SYS_ADMIN", 1000, U_D, CAP_SYS_ADMIN_BIT, true, true },
		{ "uid 1000 without", 1000, U_D, NO_CAPS, false, false },
		{ "uid 0 with every capability in a container's user namespace", 0, U_ROOT, ALL_CAPS, false, false },
	};
	int failed = 0;

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		struct policy_request req = {
			.uid = rows[i].uid, .userns = world_id(rows[i].userns), .in_daemon_userns = rows[i].userns == U_D,
			.cap_eff = rows[i].cap_eff,
		};
		bool root = policy_is_root(&req), admin = policy_is_admin(&req);

		if (root != rows[i].root || admin != rows[i].admin) {
			printf("FAIL root and admin: %s: root=%d admin=%d, expected %d %d\n", rows[i].name, root, admin,
			       rows[i].root, rows[i].admin);
			failed++;
		}
	}
	if (!failed)
		printf("ok   root and admin: %zu requesters\n", ELEMENTSOF(rows));
	return failed ? 1 : 0;
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
	size_t failed = 0, n = ELEMENTSOF(cases) + ELEMENTSOF(limits_cases) + 2;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		failed += (size_t)run_case(&cases[i]);
	for (size_t i = 0; i < ELEMENTSOF(limits_cases); i++)
		failed += (size_t)run_limits_case(&limits_cases[i]);
	failed += (size_t)check_every_level_decided();
	failed += (size_t)check_root_and_admin();
	printf("%zu passed, %zu failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
