/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl policy and reload: the admin's policy, as the daemon has it
 * in force (DESIGN §5, §9). */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "pidrestore-raw.h"

int verb_reload(const struct options *o, char **args, size_t n_args)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReloadRequest reload = PIDRESTORE__RELOAD_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__ReloadReply *reply;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r;

	if (n_args > 0)
		return usage_error("reload takes no arguments; the daemon re-reads the files it was started with");
	if (connect_daemon(o, "reload", &c) < 0)
		return EXIT_FAILURE;
	req.body_case = PIDRESTORE__REQUEST__BODY_RELOAD;
	req.reload = &reload;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_RELOAD, &msg);
	if (r < 0) {
		report_failure("reload", c, r);
		goto out;
	}
	reply = msg->response->reload;
	if (o->quiet) {
		status = EXIT_SUCCESS;
		goto out;
	}
	printf("Policy reloaded: %" PRIu32 " grant%s from ", reply->grants, reply->grants == 1 ? "" : "s");
	if (reply->n_files == 0)
		printf("no file (none exists: the defaults apply).\n");
	else if (reply->n_files == 1)
		printf("%s.\n", reply->files[0]);
	else
		printf("%zu files:\n", reply->n_files);
	for (size_t i = 0; reply->n_files > 1 && i < reply->n_files; i++)
		printf("  %s\n", reply->files[i]);
	status = EXIT_SUCCESS;
out:
	pidrestore_raw_free(msg);
	pidrestore_disconnect(c);
	return status;
}

/* ------------------------------------------------------------- listing */

/* "name (uid)" as this user namespace has them, or the uid alone. */
static void print_user(uint32_t daemon_uid)
{
	uid_t uid = userns_uid_from_daemon(daemon_uid);
	struct passwd *pw = getpwuid(uid);

	if (pw)
		printf("%s (%" PRIu32 ")", pw->pw_name, (uint32_t)uid);
	else
		printf("%" PRIu32, (uint32_t)uid);
}

static void print_group(uint32_t daemon_gid)
{
	gid_t gid = userns_gid_from_daemon(daemon_gid);
	struct group *gr = getgrgid(gid);

	if (gr)
		printf("%s (%" PRIu32 ")", gr->gr_name, (uint32_t)gid);
	else
		printf("%" PRIu32, (uint32_t)gid);
}

static void print_grant(const pidrestore_grant *g)
{
	printf("\n%s\n", g->rule ? g->rule : "grant");
	if (g->n_uids > 0) {
		printf("       Users: ");
		for (size_t i = 0; i < g->n_uids; i++) {
			printf("%s", i ? ", " : "");
			print_user(g->uids[i]);
		}
		printf("\n");
	}
	if (g->n_gids > 0) {
		printf("      Groups: ");
		for (size_t i = 0; i < g->n_gids; i++) {
			printf("%s", i ? ", " : "");
			print_group(g->gids[i]);
		}
		printf("\n");
	}
	printf("        PIDs:");
	for (size_t i = 0; i < g->n_pids; i++) {
		if (g->pids[i]->first == g->pids[i]->last)
			printf(" %" PRId32, g->pids[i]->first);
		else
			printf(" %" PRId32 "-%" PRId32, g->pids[i]->first, g->pids[i]->last);
	}
	printf("\n  Namespaces:");
	for (size_t i = 0; i < g->n_namespaces; i++)
		printf(" %s", g->namespaces[i]);
	printf("\n");
	if (g->has_max_reservations)
		printf("Reservations: at most %" PRIu32 " outstanding per user\n", g->max_reservations);
	if (g->has_spawns_per_second)
		printf("      Spawns: at most %" PRIu32 " a second per user\n", g->spawns_per_second);
}

static void print_policy_table(const pidrestore_policy *p)
{
	printf("        Files: ");
	if (p->n_files == 0)
		printf("none (the defaults apply: no grants)\n");
	for (size_t i = 0; i < p->n_files; i++)
		printf("%s%s\n", i ? "               " : "", p->files[i]);
	printf("OwnNamespaces: %s\n", p->own_namespaces ? "yes (a user may take any PID in pid namespaces it owns)" : "no");
	if (p->root_only_below > 0)
		printf("RootOnlyBelow: %" PRId32 " (PIDs below it only root may take, except in a user's own namespaces)\n",
		       p->root_only_below);
	else
		printf("RootOnlyBelow: none\n");
	if (getuid() != 0 || p->has_max_reservations || p->has_spawns_per_second) {
		printf("  Your limits: ");
		if (p->has_max_reservations)
			printf("%" PRIu32 " outstanding reservations", p->max_reservations);
		else
			printf("no limit on reservations");
		if (p->has_spawns_per_second)
			printf(", %" PRIu32 " processes a second\n", p->spawns_per_second);
		else
			printf(", no limit on processes a second\n");
	}
	printf("       Grants: %zu", p->n_grants);
	if (p->grants_not_shown > 0)
		printf(" shown; %" PRIu32 " more do not name you", p->grants_not_shown);
	printf("\n");
	for (size_t i = 0; i < p->n_grants; i++)
		print_grant(p->grants[i]);
}

static void json_grant(struct json *j, const pidrestore_grant *g)
{
	json_object_begin(j);
	json_key(j, "rule");
	json_string(j, g->rule);
	json_key(j, "uids");
	json_array_begin(j);
	for (size_t i = 0; i < g->n_uids; i++)
		json_uint(j, userns_uid_from_daemon(g->uids[i]));
	json_array_end(j);
	json_key(j, "gids");
	json_array_begin(j);
	for (size_t i = 0; i < g->n_gids; i++)
		json_uint(j, userns_gid_from_daemon(g->gids[i]));
	json_array_end(j);
	json_key(j, "pids");
	json_array_begin(j);
	for (size_t i = 0; i < g->n_pids; i++) {
		json_object_begin(j);
		json_key(j, "first");
		json_int(j, g->pids[i]->first);
		json_key(j, "last");
		json_int(j, g->pids[i]->last);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "namespaces");
	json_array_begin(j);
	for (size_t i = 0; i < g->n_namespaces; i++)
		json_string(j, g->namespaces[i]);
	json_array_end(j);
	json_key(j, "max_reservations");
	if (g->has_max_reservations)
		json_uint(j, g->max_reservations);
	else
		json_null(j);
	json_key(j, "spawns_per_second");
	if (g->has_spawns_per_second)
		json_uint(j, g->spawns_per_second);
	else
		json_null(j);
	json_object_end(j);
}

static void print_policy_json(const struct options *o, const pidrestore_policy *p)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "files");
	json_array_begin(&j);
	for (size_t i = 0; i < p->n_files; i++)
		json_string(&j, p->files[i]);
	json_array_end(&j);
	json_key(&j, "own_namespaces");
	json_bool(&j, p->own_namespaces);
	json_key(&j, "root_only_below");
	json_int(&j, p->root_only_below);
	json_key(&j, "your_max_reservations");
	if (p->has_max_reservations)
		json_uint(&j, p->max_reservations);
	else
		json_null(&j);
	json_key(&j, "your_spawns_per_second");
	if (p->has_spawns_per_second)
		json_uint(&j, p->spawns_per_second);
	else
		json_null(&j);
	json_key(&j, "grants");
	json_array_begin(&j);
	for (size_t i = 0; i < p->n_grants; i++)
		json_grant(&j, p->grants[i]);
	json_array_end(&j);
	json_key(&j, "grants_not_shown");
	json_uint(&j, p->grants_not_shown);
	json_object_end(&j);
	json_finish(&j);
}

/* --------------------------------------------------------------- check */

static void print_verdict_table(const struct options *o, const pidrestore_verdict *v)
{
	int pid_width = 3;

	for (size_t i = 0; i < v->n_levels; i++) {
		int w = snprintf(NULL, 0, "%" PRId32, v->levels[i]->pid);

		if (w > pid_width)
			pid_width = w;
	}
	/* --no-legend: the levels only; the exit status says allowed or not. */
	if (!o->no_legend) {
		if (v->allowed)
			printf("allowed: uid %" PRIu32 " may take these PIDs\n", (uint32_t)userns_uid_from_daemon(v->uid));
		else
			printf("denied: %s\n", v->message ? v->message : "no rule allows it");
		if (v->assumed)
			printf("checked as %s\n", v->assumed);
		printf("\nLEVEL %-*s %-22s RULE\n", pid_width, "PID", "NAMESPACE");
	}
	for (size_t i = 0; i < v->n_levels; i++) {
		const pidrestore_policy_level *lv = v->levels[i];
		char ns[32];

		if (lv->pidns_inode)
			snprintf(ns, sizeof(ns), "pid:[%" PRIu64 "]", lv->pidns_inode);
		else
			snprintf(ns, sizeof(ns), "(new)");
		printf("%-5" PRIu32 " %-*" PRId32 " %-22s %s\n", lv->depth, pid_width, lv->pid, ns,
		       lv->rule ? lv->rule : "refused");
	}
}

static void print_verdict_json(const struct options *o, const pidrestore_verdict *v)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "allowed");
	json_bool(&j, v->allowed);
	json_key(&j, "uid");
	json_uint(&j, userns_uid_from_daemon(v->uid));
	json_key(&j, "message");
	if (v->message)
		json_string(&j, v->message);
	else
		json_null(&j);
	json_key(&j, "assumed");
	if (v->assumed)
		json_string(&j, v->assumed);
	else
		json_null(&j);
	json_key(&j, "levels");
	json_array_begin(&j);
	for (size_t i = 0; i < v->n_levels; i++) {
		const pidrestore_policy_level *lv = v->levels[i];

		json_object_begin(&j);
		json_key(&j, "level");
		json_uint(&j, lv->depth);
		json_key(&j, "pid");
		json_int(&j, lv->pid);
		json_key(&j, "pidns_inode");
		if (lv->pidns_inode)
			json_uint(&j, lv->pidns_inode);
		else
			json_null(&j);
		json_key(&j, "rule");
		if (lv->rule)
			json_string(&j, lv->rule);
		else
			json_null(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

/* Fills target from the options (its pids in pids); target->pidns_fd is
 * the fd to close, or -1. *daemon_uid: --uid as the daemon knows it. */
static int build_check(const struct options *o, pidrestore_target *target, pid_t *pids, uid_t *daemon_uid)
{
	size_t n;

	if (!o->pid_list)
		return usage_error("policy --check needs --pid; e.g. pidrestorectl policy --check --uid 1000 --pid 4242");
	if (parse_pid_list(o->pid_list, "--pid", pids, &n) < 0)
		return EXIT_USAGE;
	/* The user as this user namespace knows it; the daemon, as its own. */
	if ((o->seen & SEEN_UID) && userns_uid_to_daemon(o->uid, daemon_uid) < 0)
		return usage_error("--uid %" PRIu32 " has no mapping in this user namespace (see /proc/self/uid_map), "
				   "so no process of it can ask the daemon; give a uid that the map has",
				   (uint32_t)o->uid);
	*target = (pidrestore_target){ .pids = pids, .n_pids = n, .pidns_fd = -1,
				       .flags = o->new_pidns ? PIDRESTORE_NEW_PIDNS : 0 };
	if (open_pidns(o, "policy", &target->pidns_fd) < 0)
		return EXIT_FAILURE;
	return 0;
}

/* Decides the request the options describe and prints the verdict;
 * returns the exit status. */
static int check_policy(const struct options *o, pidrestore *c, const pidrestore_target *target, uid_t daemon_uid)
{
	pidrestore_verdict *verdict = NULL;
	int status = EXIT_FAILURE, r;

	r = pidrestore_check_policy(c, o->seen & SEEN_UID ? daemon_uid : PIDRESTORE_UID_SELF, target, &verdict);
	if (r < 0) {
		report_failure("policy", c, r);
		return EXIT_FAILURE;
	}
	/* -q: the exit status is the answer. */
	if (o->quiet)
		;
	else if (o->json)
		print_verdict_json(o, verdict);
	else
		print_verdict_table(o, verdict);
	status = verdict->allowed ? EXIT_SUCCESS : EXIT_FAILURE;
	free(verdict);
	return status;
}

static int show_policy(const struct options *o, pidrestore *c)
{
	pidrestore_policy *policy = NULL;
	int r;

	r = pidrestore_get_policy(c, &policy);
	if (r < 0) {
		report_failure("policy", c, r);
		return EXIT_FAILURE;
	}
	if (o->json)
		print_policy_json(o, policy);
	else
		print_policy_table(policy);
	free(policy);
	return EXIT_SUCCESS;
}

int verb_policy(const struct options *o, char **args, size_t n_args)
{
	pidrestore_target target = { .pidns_fd = -1 };
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	uid_t daemon_uid = 0;
	int status = EXIT_FAILURE, r;
	pidrestore *c = NULL;

	if (n_args > 0)
		return usage_error("policy takes no arguments; e.g. pidrestorectl policy --check --pid 4242");
	if (!o->check && (o->seen & (SEEN_UID | SEEN_PID | SEEN_PIDNS | SEEN_NEW_PIDNS | SEEN_QUIET | SEEN_NO_LEGEND)))
		return usage_error("--uid, --pid, --pidns, --new-pidns, --quiet and --no-legend go with policy --check "
				   "(the policy itself is no table); e.g. pidrestorectl policy --check --uid 1000 --pid 4242");
	if (o->check) {
		r = build_check(o, &target, pids, &daemon_uid);
		if (r != 0)
			return r;
	}
	if (connect_daemon(o, "policy", &c) < 0)
		goto out;
	status = o->check ? check_policy(o, c, &target, daemon_uid) : show_policy(o, c);
	if (fflush(stdout) != 0)
		status = EXIT_FAILURE;
out:
	if (target.pidns_fd >= 0)
		close(target.pidns_fd);
	pidrestore_disconnect(c);
	return status;
}
