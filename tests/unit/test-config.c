/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the policy file parser: files written to a temp dir, loaded with
 * config_load(), and their fields or their "FILE:LINE: ..." errors checked.
 * Users and groups are given as numbers or as "root", which every system
 * has, so the tests do not depend on the machine's passwd database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By its directory: a bare "config.h" is autoconf's, at the top of the build. */
#include "conffile.h"

static char dir[64];
static unsigned int n_failed, n_passed;

#define CHECK(desc, cond)                                                      \
	do {                                                                   \
		if (cond) {                                                    \
			n_passed++;                                            \
		} else {                                                       \
			n_failed++;                                            \
			printf("FAIL %s: %s (line %d)\n", desc, #cond, __LINE__); \
		}                                                              \
	} while (0)

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
}

/* A fresh directory: pidrestored.conf and pidrestored.conf.d/ inside. */
static void reset_dir(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			exit(99);
	}
	snprintf(dir, sizeof(dir), "/tmp/test-config.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(99);
	}
}

static void make_drop_in_dir(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/pidrestored.conf.d", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(99);
	}
}

static int load(struct policy *policy, struct why *why)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/pidrestored.conf", dir);
	return config_load(path, policy, why);
}

static void test_missing_file(void)
{
	struct policy pol;
	struct why why = { 0 };

	reset_dir();
	CHECK("missing main file loads", load(&pol, &why) == 0);
	CHECK("missing main file: own namespaces on", pol.own_namespaces);
	CHECK("missing main file: no floor", pol.root_only_below == 0);
	CHECK("missing main file: no grants", pol.n_grants == 0);
	CHECK("missing main file: 4096 reservations per user by default",
	      pol.default_max_reservations == POLICY_DEFAULT_MAX_RESERVATIONS && POLICY_DEFAULT_MAX_RESERVATIONS == 4096);
	policy_free(&pol);
}

static void test_full_example(void)
{
	struct policy pol;
	struct why why = { 0 };
	const struct policy_grant *g;
	int r;

	reset_dir();
	write_file("pidrestored.conf",
		   "# the example from the documentation\n"
		   "[Policy]\n"
		   "OwnNamespaces=no          # DESIGN 5.2\n"
		   "  RootOnlyBelow = 1000    ; PIDs below this only root may take\n"
		   "\n"
		   "[Grant]                    # any number of these\n"
		   "User=root 1001\n"
		   "Group=0\n"
		   "PIDs=300000-399999 4242, 4194303\n"
		   "Namespace=host\n"
		   "MaxReservations=1000\n"
		   "SpawnsPerSecond=500\n"
		   "[Grant]\n"
		   "Group=root 5000\n"
		   "PIDs=1-10\n"
		   "Namespace=owned-by:1000 owned-by:root any\n"
		   "MaxReservations=infinity\n"
		   "[Policy]\n"
		   "DefaultMaxReservations=64\n");
	r = load(&pol, &why);
	CHECK("the example loads", r == 0);
	if (r < 0) {
		printf("  %s\n", why.text);
		return;
	}
	CHECK("OwnNamespaces=no", !pol.own_namespaces);
	CHECK("RootOnlyBelow=1000 with spaces around =", pol.root_only_below == 1000);
	CHECK("DefaultMaxReservations=64", pol.default_max_reservations == 64);
	CHECK("two grants", pol.n_grants == 2);
	if (pol.n_grants != 2)
		goto out;
	g = &pol.grants[0];
	CHECK("grant 1: two users", g->n_uids == 2 && g->uids[0] == 0 && g->uids[1] == 1001);
	CHECK("grant 1: group 0", g->n_gids == 1 && g->gids[0] == 0);
	CHECK("grant 1: three ranges", g->n_ranges == 3);
	CHECK("grant 1: a range", g->ranges[0].first == 300000 && g->ranges[0].last == 399999);
	CHECK("grant 1: a single PID", g->ranges[1].first == 4242 && g->ranges[1].last == 4242);
	CHECK("grant 1: the largest PID", g->ranges[2].first == 4194303);
	CHECK("grant 1: host", g->n_namespaces == 1 && g->namespaces[0].kind == POLICY_NS_HOST);
	CHECK("grant 1: MaxReservations", g->max_reservations == 1000);
	CHECK("grant 1: SpawnsPerSecond", g->spawns_per_second == 500);
	CHECK("grant 1: rule names file and line", strcmp(g->rule, "grant #1 (pidrestored.conf:6)") == 0);
	g = &pol.grants[1];
	CHECK("grant 2: groups by name and number", g->n_gids == 2 && g->gids[0] == 0 && g->gids[1] == 5000);
	CHECK("grant 2: no users", g->n_uids == 0);
	CHECK("grant 2: three namespaces", g->n_namespaces == 3);
	CHECK("grant 2: owned-by a number",
	      g->namespaces[0].kind == POLICY_NS_OWNED_BY && g->namespaces[0].owner == 1000);
	CHECK("grant 2: owned-by a name",
	      g->namespaces[1].kind == POLICY_NS_OWNED_BY && g->namespaces[1].owner == 0);
	CHECK("grant 2: any", g->namespaces[2].kind == POLICY_NS_ANY);
	CHECK("grant 2: infinity", g->max_reservations == POLICY_UNLIMITED);
	CHECK("grant 2: limit not set", g->spawns_per_second == POLICY_UNLIMITED);
	CHECK("grant 2: rule", strcmp(g->rule, "grant #2 (pidrestored.conf:13)") == 0);
out:
	policy_free(&pol);
	CHECK("policy_free leaves the defaults", pol.n_grants == 0 && pol.grants == NULL && pol.own_namespaces);
}

static void test_drop_ins(void)
{
	struct policy pol;
	struct why why = { 0 };
	int r;

	reset_dir();
	make_drop_in_dir();
	write_file("pidrestored.conf", "[Policy]\nRootOnlyBelow=1000\n[Grant]\nUser=1000\nPIDs=5000-5999\n");
	write_file("pidrestored.conf.d/20-late.conf", "[Policy]\nRootOnlyBelow=2000\nOwnNamespaces=off\nDefaultMaxReservations=infinity\n");
	write_file("pidrestored.conf.d/10-early.conf", "[Policy]\nRootOnlyBelow=500\n\n[Grant]\nUser=1001\nPIDs=7000\n");
	write_file("pidrestored.conf.d/README", "this is not a drop-in [and is not parsed\n");
	write_file("pidrestored.conf.d/30-off.conf.disabled", "[Nonsense]\n");
	r = load(&pol, &why);
	CHECK("drop-ins load", r == 0);
	if (r < 0) {
		printf("  %s\n", why.text);
		return;
	}
	CHECK("the last drop-in's RootOnlyBelow wins", pol.root_only_below == 2000);
	CHECK("DefaultMaxReservations=infinity in a drop-in", pol.default_max_reservations == POLICY_UNLIMITED);
	CHECK("a drop-in turns OwnNamespaces off", !pol.own_namespaces);
	CHECK("grants from main and drop-in", pol.n_grants == 2);
	if (pol.n_grants == 2) {
		CHECK("the main file's grant first", pol.grants[0].uids[0] == 1000);
		CHECK("Namespace defaults to host", pol.grants[0].n_namespaces == 1 &&
							  pol.grants[0].namespaces[0].kind == POLICY_NS_HOST);
		CHECK("the drop-in's grant names its file",
		      strcmp(pol.grants[1].rule, "grant #2 (10-early.conf:4)") == 0);
	}
	policy_free(&pol);

	/* Drop-ins without a main file still apply. */
	reset_dir();
	make_drop_in_dir();
	write_file("pidrestored.conf.d/50-only.conf", "[Grant]\nGroup=0\nPIDs=9-9\n");
	r = load(&pol, &why);
	CHECK("a drop-in without a main file loads", r == 0 && pol.n_grants == 1);
	policy_free(&pol);
}

static void test_booleans(void)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = { { "yes", true }, { "true", true }, { "1", true }, { "on", true }, { "YES", true },
		      { "no", false }, { "false", false }, { "0", false }, { "off", false } };

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct policy pol;
		struct why why = { 0 };
		char text[64];

		reset_dir();
		snprintf(text, sizeof(text), "[Policy]\nOwnNamespaces=%s\n", cases[i].text);
		write_file("pidrestored.conf", text);
		CHECK("boolean parses", load(&pol, &why) == 0 && pol.own_namespaces == cases[i].value);
		policy_free(&pol);
	}
}

struct broken_case {
	const char *name;
	const char *main_text;
	const char *drop_in;      /* name in pidrestored.conf.d/, or NULL */
	const char *drop_in_text; /* NULL with drop_in: a directory by that name */
	bool in_drop_in;          /* the error names the drop-in */
	unsigned int line;        /* 0: the error names no line */
	const char *expect;       /* a substring of the rest */
};

static const struct broken_case broken[] = {
	{ "unknown section", "[Policy]\nOwnNamespaces=yes\n[Grants]\n", NULL, NULL, false, 3, "unknown section [Grants]" },
	{ "unknown key", "[Grant]\nUsers=1000\nPIDs=5\n", NULL, NULL, false, 2, "unknown key Users= in [Grant]" },
	{ "unknown key lists the known ones", "[Policy]\nFloor=5\n", NULL, NULL, false, 2, "OwnNamespaces=, RootOnlyBelow=" },
	{ "key outside a section", "# top\nRootOnlyBelow=100\n", NULL, NULL, false, 2, "outside any section" },
	{ "key in the wrong section", "[Policy]\nUser=1000\n", NULL, NULL, false, 2, "User= belongs in [Grant]" },
	{ "duplicate key", "[Grant]\nUser=1000\nPIDs=5\nUser=1001\n", NULL, NULL, false, 4, "set twice in this [Grant] section (first on line 2)" },
	{ "range with start > end", "[Grant]\nUser=1000\nPIDs=10 400-300\n", NULL, NULL, false, 3, "range 400-300 starts after it ends; write it as 300-400" },
	{ "PID at the kernel's maximum", "[Grant]\nUser=1000\nPIDs=4194304\n", NULL, NULL, false, 3, "4194304 is beyond the kernel's limit" },
	{ "range end beyond the maximum", "[Grant]\nUser=1000\nPIDs=1-99999999999\n", NULL, NULL, false, 3, "beyond the kernel's limit" },
	{ "PID 0", "[Grant]\nUser=1000\nPIDs=0-10\n", NULL, NULL, false, 3, "PID 0 cannot be granted" },
	{ "not a PID", "[Grant]\nUser=1000\nPIDs=12x\n", NULL, NULL, false, 3, "\"12x\" is not a PID or a range" },
	{ "non-numeric id", "[Grant]\nUser=10o0\nPIDs=5\n", NULL, NULL, false, 2, "\"10o0\" is neither a numeric uid nor a known user name" },
	{ "unknown user", "[Grant]\nUser=no-such-user.pidrestore-test\nPIDs=5\n", NULL, NULL, false, 2, "unknown user \"no-such-user.pidrestore-test\"" },
	{ "unknown group", "[Grant]\nGroup=0 no-such-group.pidrestore-test\nPIDs=5\n", NULL, NULL, false, 2, "unknown group \"no-such-group.pidrestore-test\"" },
	{ "uid out of range", "[Grant]\nUser=4294967295\nPIDs=5\n", NULL, NULL, false, 2, "out of range" },
	{ "unknown owner", "[Grant]\nUser=1000\nPIDs=5\nNamespace=owned-by:no-such-user.pidrestore-test\n", NULL, NULL, false, 4, "unknown user" },
	{ "unknown namespace", "[Grant]\nUser=1000\nPIDs=5\nNamespace=container\n", NULL, NULL, false, 4, "unknown namespace; use host, owned-by:UID" },
	{ "owned-by with nobody", "[Grant]\nUser=1000\nPIDs=5\nNamespace=owned-by:\n", NULL, NULL, false, 4, "name the owner" },
	{ "grant with no user or group", "[Policy]\n\n[Grant]\nPIDs=5\n", NULL, NULL, false, 3, "names nobody; add User= or Group=" },
	{ "grant with no PIDs", "[Grant]\nUser=1000\n[Policy]\n", NULL, NULL, false, 1, "grants no PIDs" },
	{ "grant with no PIDs at the end of the file", "[Grant]\nGroup=1000\nNamespace=any\n", NULL, NULL, false, 1, "grants no PIDs" },
	{ "invalid boolean", "[Policy]\nOwnNamespaces=maybe\n", NULL, NULL, false, 2, "not a boolean; use yes or no" },
	{ "invalid number", "[Policy]\nRootOnlyBelow=1k\n", NULL, NULL, false, 2, "RootOnlyBelow=1k: not a valid number" },
	{ "negative number", "[Policy]\nRootOnlyBelow=-1\n", NULL, NULL, false, 2, "not a valid number" },
	{ "floor above the limit", "[Policy]\nRootOnlyBelow=4194305\n", NULL, NULL, false, 2, "above the kernel's PID limit" },
	{ "invalid limit", "[Grant]\nUser=1000\nPIDs=5\nSpawnsPerSecond=fast\n", NULL, NULL, false, 4, "SpawnsPerSecond=fast: not a valid number" },
	{ "invalid default limit", "[Policy]\nDefaultMaxReservations=-1\n", NULL, NULL, false, 2, "DefaultMaxReservations=-1: not a valid number" },
	{ "default limit in a grant", "[Grant]\nUser=1000\nPIDs=5\nDefaultMaxReservations=5\n", NULL, NULL, false, 4, "DefaultMaxReservations= belongs in [Policy]" },
	{ "empty value", "[Grant]\nUser=\n", NULL, NULL, false, 2, "User= has no value" },
	{ "section header without ]", "[Policy\n", NULL, NULL, false, 1, "must end with ']'" },
	{ "a line that is no assignment", "[Policy]\nOwnNamespaces yes\n", NULL, NULL, false, 2, "expected Key=Value" },
	{ "error in a drop-in", "[Policy]\nRootOnlyBelow=10\n", "10-x.conf", "\n\n[Grant]\nUser=1000\nPIDs=9-1\n", true, 5, "starts after it ends" },
	{ "a directory as a drop-in", "", "20-dir.conf", NULL, true, 0, "not a regular file" },
	{ "a dangling link as a drop-in", "", "30-link.conf", "->/nonexistent/pidrestore-test", true, 0, "cannot read it (No such file or directory)" },
};

static void test_broken(const struct broken_case *c)
{
	struct policy pol;
	struct why why = { 0 };
	char path[256], prefix[300];
	int r;

	reset_dir();
	write_file("pidrestored.conf", c->main_text);
	snprintf(path, sizeof(path), "%s/pidrestored.conf", dir);
	if (c->drop_in) {
		make_drop_in_dir();
		snprintf(path, sizeof(path), "%s/pidrestored.conf.d/%s", dir, c->drop_in);
		if (!c->drop_in_text) {
			if (mkdir(path, 0755) < 0)
				exit(99);
		} else if (strncmp(c->drop_in_text, "->", 2) == 0) {
			if (symlink(c->drop_in_text + 2, path) < 0)
				exit(99);
		} else {
			char name[128];

			snprintf(name, sizeof(name), "pidrestored.conf.d/%s", c->drop_in);
			write_file(name, c->drop_in_text);
		}
		if (!c->in_drop_in)
			snprintf(path, sizeof(path), "%s/pidrestored.conf", dir);
	}
	if (c->line)
		snprintf(prefix, sizeof(prefix), "%s:%u: ", path, c->line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", path);

	r = load(&pol, &why);
	if (r >= 0) {
		n_failed++;
		printf("FAIL %s: loaded\n", c->name);
		policy_free(&pol);
		return;
	}
	if (strncmp(why.text, prefix, strlen(prefix)) != 0 || !strstr(why.text, c->expect)) {
		n_failed++;
		printf("FAIL %s: \"%s\" is not \"%s...%s...\"\n", c->name, why.text, prefix, c->expect);
		return;
	}
	if (pol.n_grants != 0 || pol.grants) {
		n_failed++;
		printf("FAIL %s: a failed load left grants behind\n", c->name);
		return;
	}
	n_passed++;
	printf("ok   %s: %s\n", c->name, why.text + strlen(dir) + 1);
}

int main(void)
{
	test_missing_file();
	test_full_example();
	test_drop_ins();
	test_booleans();
	for (size_t i = 0; i < ELEMENTSOF(broken); i++)
		test_broken(&broken[i]);
	reset_dir();
	rmdir(dir);
	printf("%u checks passed, %u failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
