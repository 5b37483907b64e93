/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl tree: a process tree from a JSON description, built in one
 * request and held until a signal (like reserve); tree release ID. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "json-read.h"

/* A description larger than this is no tree the daemon takes. */
#define TREE_FILE_MAX (16u * 1024 * 1024)

struct tree_file {
	pidrestore_tree_node *nodes;
	pid_t (*pids)[PIDRESTORE_MAX_LEVELS];
	pid_t **tids;
	size_t n_nodes;
	unsigned int timeout_ms;
	struct json_value doc;
};

static void tree_file_free(struct tree_file *tf)
{
	for (size_t i = 0; tf->tids && i < tf->n_nodes; i++)
		free(tf->tids[i]);
	free(tf->tids);
	free(tf->pids);
	free(tf->nodes);
	json_value_free(&tf->doc);
}

static int bad(const char *file, size_t node, const char *what)
{
	fprintf(stderr, "pidrestorectl: %s: node %zu: %s\n", file, node, what);
	return -EINVAL;
}

/* An int member, or def when absent. */
static int get_int(const struct json_value *o, const char *key, int64_t min, int64_t max, int64_t def, int64_t *ret)
{
	const struct json_value *v = json_get(o, key);

	*ret = def;
	if (!v)
		return 0;
	if (v->type != JSON_INT || v->integer < min || v->integer > max)
		return -EINVAL;
	*ret = v->integer;
	return 0;
}

/* "sid"/"pgid": a node index, "outer", or absent (inherit). */
static int get_ref(const struct json_value *o, const char *key, size_t n_nodes, int *ret)
{
	const struct json_value *v = json_get(o, key);

	*ret = PIDRESTORE_TREE_INHERIT;
	if (!v)
		return 0;
	if (v->type == JSON_STRING && strcmp(v->string, "outer") == 0) {
		*ret = PIDRESTORE_TREE_OUTER;
		return 0;
	}
	if (v->type != JSON_INT || v->integer < 0 || (uint64_t)v->integer >= n_nodes)
		return -EINVAL;
	*ret = (int)v->integer;
	return 0;
}

static int get_ids(const struct json_value *v, pid_t *out, size_t *n)
{
	if (!v || v->type != JSON_ARRAY || v->n > PIDRESTORE_MAX_LEVELS)
		return -EINVAL;
	for (size_t l = 0; l < v->n; l++) {
		if (v->items[l].type != JSON_INT || v->items[l].integer < 0 || v->items[l].integer > INT32_MAX)
			return -EINVAL;
		out[l] = (pid_t)v->items[l].integer;
	}
	*n = v->n;
	return 0;
}

static int take_kind(const char *file, size_t i, const struct json_value *o, pidrestore_tree_node *n)
{
	const struct json_value *k = json_get(o, "kind");

	if (!k)
		n->kind = PIDRESTORE_TREE_LIVE;
	else if (k->type == JSON_STRING && strcmp(k->string, "live") == 0)
		n->kind = PIDRESTORE_TREE_LIVE;
	else if (k->type == JSON_STRING && strcmp(k->string, "zombie") == 0)
		n->kind = PIDRESTORE_TREE_ZOMBIE;
	else if (k->type == JSON_STRING && strcmp(k->string, "ghost") == 0)
		n->kind = PIDRESTORE_TREE_GHOST;
	else
		return bad(file, i, "\"kind\" is \"live\" (the default), \"zombie\" or \"ghost\"");
	return 0;
}

static int take_exit(const char *file, size_t i, const struct json_value *o, pidrestore_tree_node *n)
{
	const struct json_value *sig = json_get(o, "exit_signal");
	int64_t v;

	if (get_int(o, "exit_code", 0, 255, 0, &v) < 0)
		return bad(file, i, "\"exit_code\" is a number from 0 to 255");
	n->exit_code = (int)v;
	if (!sig)
		return 0;
	if (sig->type == JSON_STRING ? parse_signal(sig->string, &n->exit_signal) < 0
				     : sig->type != JSON_INT || sig->integer < 1 || sig->integer > 64)
		return bad(file, i, "\"exit_signal\" is a signal: a number, or a name such as \"TERM\"");
	if (sig->type == JSON_INT)
		n->exit_signal = (int)sig->integer;
	n->exit_code = -1;
	return 0;
}

static int take_threads(const char *file, size_t i, const struct json_value *o, pidrestore_tree_node *n, pid_t **tids)
{
	const struct json_value *th = json_get(o, "threads");

	if (!th)
		return 0;
	if (th->type != JSON_ARRAY)
		return bad(file, i, "\"threads\" is an array of TID lists, one TID per level as \"pids\"");
	*tids = calloc(th->n * (n->n_pids ? n->n_pids : 1), sizeof(pid_t));
	if (!*tids)
		return -ENOMEM;
	for (size_t k = 0; k < th->n; k++) {
		size_t got;

		if (get_ids(&th->items[k], *tids + k * n->n_pids, &got) < 0 || got != n->n_pids)
			return bad(file, i, "each of \"threads\" lists one TID per level, as many as \"pids\"");
	}
	n->tids = *tids;
	n->n_threads = th->n;
	return 0;
}

static int take_node(const char *file, size_t i, struct tree_file *tf)
{
	const struct json_value *o = &json_get(&tf->doc, "nodes")->items[i], *v;
	pidrestore_tree_node *n = &tf->nodes[i];
	int64_t parent;
	int r;

	if (o->type != JSON_OBJECT)
		return bad(file, i, "a node is an object");
	r = take_kind(file, i, o, n);
	if (r < 0)
		return r;
	if (get_int(o, "parent", -1, (int64_t)tf->n_nodes - 1, -1, &parent) < 0)
		return bad(file, i, "\"parent\" is the index of a node, or -1 for a root");
	n->parent = (int)parent;
	if (get_ids(json_get(o, "pids"), tf->pids[i], &n->n_pids) < 0)
		return bad(file, i, "\"pids\" lists the node's PIDs, innermost first, 0 for any");
	n->pids = tf->pids[i];
	v = json_get(o, "new_pidns");
	n->new_pidns = v && v->type == JSON_BOOL && v->boolean;
	if (get_ref(o, "sid", tf->n_nodes, &n->sid) < 0 || get_ref(o, "pgid", tf->n_nodes, &n->pgid) < 0)
		return bad(file, i, "\"sid\" and \"pgid\" are the index of the node that leads, or \"outer\"");
	v = json_get(o, "child_subreaper");
	n->child_subreaper = v && v->type == JSON_BOOL && v->boolean;
	v = json_get(o, "comm");
	if (v && v->type != JSON_STRING)
		return bad(file, i, "\"comm\" is a string");
	n->comm = v ? v->string : NULL;
	r = take_exit(file, i, o, n);
	return r < 0 ? r : take_threads(file, i, o, n, &tf->tids[i]);
}

static int read_tree_file(const char *file, struct tree_file *tf)
{
	const struct json_value *nodes;
	char err[256], *text = NULL;
	struct stat st;
	int64_t timeout;
	ssize_t got = 0;
	int fd, r = -EINVAL;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > TREE_FILE_MAX) {
		fprintf(stderr, "pidrestorectl: cannot read %s: %s\n", file, fd < 0 ? strerror(errno) : "too large");
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text || (got = read(fd, text, (size_t)st.st_size)) != st.st_size) {
		fprintf(stderr, "pidrestorectl: cannot read %s: %s\n", file, text ? strerror(errno) : "out of memory");
		goto out;
	}
	if (json_parse(text, (size_t)got, &tf->doc, err, sizeof(err)) < 0) {
		fprintf(stderr, "pidrestorectl: %s: %s\n", file, err);
		goto out;
	}
	nodes = json_get(&tf->doc, "nodes");
	if (!nodes || nodes->type != JSON_ARRAY || nodes->n == 0) {
		fprintf(stderr, "pidrestorectl: %s: expected an object with \"nodes\", an array of at least one node\n", file);
		goto out;
	}
	if (get_int(&tf->doc, "timeout_ms", 0, UINT32_MAX, 0, &timeout) < 0) {
		fprintf(stderr, "pidrestorectl: %s: \"timeout_ms\" is a number of milliseconds\n", file);
		goto out;
	}
	tf->timeout_ms = (unsigned int)timeout;
	tf->n_nodes = nodes->n;
	tf->nodes = calloc(tf->n_nodes, sizeof(*tf->nodes));
	tf->pids = calloc(tf->n_nodes, sizeof(*tf->pids));
	tf->tids = calloc(tf->n_nodes, sizeof(*tf->tids));
	if (!tf->nodes || !tf->pids || !tf->tids) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < tf->n_nodes; i++) {
		r = take_node(file, i, tf);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	return r;
}

static const char *state_name(pidrestore_tree_state s, pidrestore_tree_kind kind)
{
	if (kind == PIDRESTORE_TREE_GHOST)
		return "ghost";
	switch (s) {
	case PIDRESTORE_TREE_PARKED:
		return "parked";
	case PIDRESTORE_TREE_EXITED:
		return "exited";
	case PIDRESTORE_TREE_CLAIMED:
		return "claimed";
	default:
		return "-";
	}
}

static void print_tree(const struct options *o, const struct tree_file *tf, const pidrestore_tree *t)
{
	struct json j;

	if (!o->json) {
		if (!o->no_legend)
			printf("TREE %llu\n%-6s %-8s %-12s %s\n", (unsigned long long)t->id, "NODE", "STATE", "RESERVATION", "PIDS");
		for (size_t i = 0; i < t->n_nodes; i++) {
			char id[24] = "-";

			if (t->nodes[i].reservation_id)
				snprintf(id, sizeof(id), "%llu", (unsigned long long)t->nodes[i].reservation_id);
			printf("%-6zu %-8s %-12s ", i, state_name(t->nodes[i].state, tf->nodes[i].kind), id);
			print_pids(stdout, t->nodes[i].pids, t->nodes[i].n_pids);
			printf("\n");
		}
		return;
	}
	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "tree");
	json_uint(&j, t->id);
	json_key(&j, "nodes");
	json_array_begin(&j);
	for (size_t i = 0; i < t->n_nodes; i++) {
		json_object_begin(&j);
		json_key(&j, "node");
		json_uint(&j, i);
		json_key(&j, "state");
		json_string(&j, state_name(t->nodes[i].state, tf->nodes[i].kind));
		if (t->nodes[i].reservation_id) {
			json_key(&j, "reservation");
			json_uint(&j, t->nodes[i].reservation_id);
		}
		json_key(&j, "pids");
		json_pids(&j, t->nodes[i].pids, t->nodes[i].n_pids);
		json_key(&j, "threads");
		json_array_begin(&j);
		for (size_t k = 0; k < t->nodes[i].n_threads; k++)
			json_pids(&j, t->nodes[i].tids + k * t->nodes[i].n_pids, t->nodes[i].n_pids);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

static int tree_build(const struct options *o)
{
	struct tree_file tf = { 0 };
	pidrestore_tree t = { .error_node = -1 };
	pidrestore_tree_spec spec;
	pidrestore *c = NULL;
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	int pidns_fd = -1, status = EXIT_FAILURE, r;

	if (read_tree_file(o->file, &tf) < 0)
		goto out;
	if (open_pidns(o, "tree", &pidns_fd) < 0 || connect_daemon(o, "tree", &c) < 0)
		goto out;
	spec = (pidrestore_tree_spec){ tf.nodes, tf.n_nodes, pidns_fd, tf.timeout_ms, o->ttl_sec };
	r = pidrestore_tree_build(c, &spec, &t);
	if (r < 0) {
		/* The daemon's message names the node and level. */
		report_failure("tree", c, r);
		goto out;
	}
	ids = calloc(t.n_nodes, sizeof(*ids));
	if (!ids) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < t.n_nodes; i++)
		if (t.nodes[i].reservation_id)
			ids[n_ids++] = t.nodes[i].reservation_id;
	print_tree(o, &tf, &t);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pidrestorectl: tree failed: cannot write the tree: %m\n");
		goto out;
	}
	status = hold_reservations(o, c, ids, n_ids);
out:
	free(ids);
	pidrestore_tree_free(&t);
	pidrestore_disconnect(c);
	if (pidns_fd >= 0)
		close(pidns_fd);
	tree_file_free(&tf);
	return status;
}

static int tree_release(const struct options *o, char *arg)
{
	uint64_t *id = NULL;
	pidrestore *c = NULL;
	int status, r;

	status = parse_ids(&arg, 1, "tree ID", "the ID is the number tree printed after TREE", &id);
	if (status != 0)
		return status;
	status = EXIT_FAILURE;
	if (connect_daemon(o, "tree release", &c) < 0)
		goto out;
	r = pidrestore_tree_release(c, *id);
	if (r < 0) {
		report_failure("tree release", c, r);
		goto out;
	}
	printf("%d\n", r);
	status = EXIT_SUCCESS;
out:
	pidrestore_disconnect(c);
	free(id);
	return status;
}

int verb_tree(const struct options *o, char **args, size_t n_args)
{
	if (n_args == 2 && strcmp(args[0], "release") == 0)
		return tree_release(o, args[1]);
	if (n_args > 0)
		return usage_error("tree takes --file TREE.json, or release ID; e.g. pidrestorectl tree --file job.json");
	if (!o->file)
		return usage_error("tree needs --file TREE.json, a JSON description of the tree");
	return tree_build(o);
}
