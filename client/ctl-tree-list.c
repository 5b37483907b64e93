/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl tree list: the held trees, a line each; with --json also
 * every node with its PIDs at every level and its state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "json.h"

static const char *kind_name(pidrestore_tree_kind kind)
{
	switch (kind) {
	case PIDRESTORE_TREE_LIVE:
		return "live";
	case PIDRESTORE_TREE_ZOMBIE:
		return "zombie";
	case PIDRESTORE_TREE_GHOST:
		return "ghost";
	}
	return "unknown";
}

static void print_table(const struct options *o, const pidrestore_tree_entry *trees, size_t n)
{
	char owner[64], ttl[64];

	if (!o->no_legend)
		printf("%-8s %-12s %6s %6s %7s %8s %7s %8s %-18s %s\n", "TREE", "OWNER", "NODES", "LIVE", "PARKED",
		       "CLAIMED", "ZOMBIES", "THREADS", "PIDNS", "TTL");
	for (size_t i = 0; i < n; i++) {
		const pidrestore_tree_entry *e = &trees[i];
		char pidns[32] = "-";

		userns_user_name(e->owner_uid, owner, sizeof(owner));
		if (e->has_ttl)
			format_timespan(ttl, sizeof(ttl), e->ttl_left_usec);
		else
			snprintf(ttl, sizeof(ttl), "-");
		if (e->pidns_inode)
			snprintf(pidns, sizeof(pidns), "pid:[%" PRIu64 "]", e->pidns_inode);
		printf("%-8" PRIu64 " %-12s %6zu %6zu %7zu %8zu %7zu %8zu %-18s %s\n", e->id, owner, e->n_nodes, e->n_live,
		       e->n_parked, e->n_claimed, e->n_zombies, e->n_threads, pidns, ttl);
	}
	if (!o->no_legend)
		printf("\n%zu tree%s listed.\n", n, n == 1 ? "" : "s");
}

static void print_nodes(struct json *j, const pidrestore_tree_entry *e)
{
	json_key(j, "nodes");
	json_array_begin(j);
	for (size_t k = 0; e->nodes && k < e->n_nodes; k++) {
		const pidrestore_tree_info *info = &e->nodes[k];

		json_object_begin(j);
		json_key(j, "node");
		json_uint(j, k);
		json_key(j, "kind");
		json_string(j, kind_name(info->kind));
		json_key(j, "state");
		json_string(j, tree_state_name(info->state, info->kind));
		json_key(j, "reservation");
		if (info->reservation_id)
			json_uint(j, info->reservation_id);
		else
			json_null(j);
		json_key(j, "pids");
		json_pids(j, info->pids, info->n_pids);
		json_object_end(j);
	}
	json_array_end(j);
}

static void print_json(const struct options *o, const pidrestore_tree_entry *trees, size_t n)
{
	struct json j;
	char owner[64];

	json_start(&j, o);
	json_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const pidrestore_tree_entry *e = &trees[i];

		json_object_begin(&j);
		json_key(&j, "tree");
		json_uint(&j, e->id);
		json_key(&j, "owner_uid");
		json_uint(&j, userns_uid_from_daemon(e->owner_uid));
		json_key(&j, "owner");
		userns_user_name(e->owner_uid, owner, sizeof(owner));
		json_string(&j, owner);
		json_key(&j, "node_count");
		json_uint(&j, e->n_nodes);
		json_key(&j, "live");
		json_uint(&j, e->n_live);
		json_key(&j, "parked");
		json_uint(&j, e->n_parked);
		json_key(&j, "claimed");
		json_uint(&j, e->n_claimed);
		json_key(&j, "zombies");
		json_uint(&j, e->n_zombies);
		json_key(&j, "threads");
		json_uint(&j, e->n_threads);
		json_key(&j, "pidns_inode");
		if (e->pidns_inode)
			json_uint(&j, e->pidns_inode);
		else
			json_null(&j);
		json_key(&j, "age_usec");
		json_uint(&j, e->age_usec);
		json_key(&j, "ttl_left_usec");
		if (e->has_ttl)
			json_uint(&j, e->ttl_left_usec);
		else
			json_null(&j);
		print_nodes(&j, e);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_finish(&j);
}

int tree_list(const struct options *o)
{
	pidrestore_tree_entry *trees = NULL;
	pidrestore *c = NULL;
	size_t n = 0;
	int status = EXIT_FAILURE, r;

	if (connect_daemon(o, "tree list", &c) < 0)
		return EXIT_FAILURE;
	/* The rows are for --json; the table has a line per tree. */
	r = pidrestore_tree_list(c, o->json != 0, &trees, &n);
	if (r < 0) {
		report_failure("tree list", c, r);
		goto out;
	}
	if (o->json)
		print_json(o, trees, n);
	else
		print_table(o, trees, n);
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	pidrestore_tree_list_free(trees, n);
	pidrestore_disconnect(c);
	return status;
}
