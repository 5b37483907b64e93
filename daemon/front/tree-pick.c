/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "tree-pick.h"

struct named_pid {
	tree_ns ns;
	int32_t pid;
};

/* The requested PIDs of one namespace: a run of named[], and where the next
 * pick starts. */
struct ns_run {
	tree_ns ns;
	size_t first, n;
	int32_t cursor;
};

struct tree_picker {
	size_t n_named;
	struct named_pid *named;     /* sorted by namespace, then PID */
	size_t n_runs, cap_runs;
	struct ns_run *runs;         /* sorted by namespace */
	int32_t floor;
};

static int compare_named(const void *a, const void *b)
{
	const struct named_pid *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void add(struct tree_picker *p, tree_ns ns, int32_t pid)
{
	if (pid > 0)
		p->named[p->n_named++] = (struct named_pid){ ns, pid };
}

struct tree_picker *tree_picker_new(const struct tree *t, const struct tree_facts *facts, int32_t floor)
{
	struct tree_picker *p = calloc(1, sizeof(*p));
	size_t cap = 0;

	if (!p)
		return NULL;
	for (size_t i = 0; i < t->n_nodes; i++)
		cap += t->nodes[i].n_pids * (1 + t->nodes[i].n_threads);
	p->floor = floor < 2 ? 2 : floor;
	/* Namespaces: one per new_pidns node, and the outer levels. */
	p->cap_runs = t->n_nodes + PR_MAX_LEVELS;
	p->named = calloc(cap ? cap : 1, sizeof(*p->named));
	p->runs = calloc(p->cap_runs, sizeof(*p->runs));
	if (!p->named || !p->runs) {
		tree_picker_free(p);
		return NULL;
	}
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *n = &t->nodes[i];

		/* A new namespace's init is 1 whatever it asked: that names
		 * no PID the kernel's allocator could give away. */
		for (uint32_t l = n->new_pidns ? 1 : 0; l < n->n_pids; l++)
			add(p, facts->ns[i][l], n->pids[l]);
		for (uint32_t k = 0; k < n->n_threads; k++)
			for (uint32_t l = 0; l < n->n_pids; l++)
				add(p, facts->ns[i][l], t->threads[n->first_thread + k].tids[l]);
	}
	qsort(p->named, p->n_named, sizeof(*p->named), compare_named);
	for (size_t i = 0; i < p->n_named; i++) {
		if (p->n_runs == 0 || p->runs[p->n_runs - 1].ns != p->named[i].ns)
			p->runs[p->n_runs++] = (struct ns_run){ .ns = p->named[i].ns, .first = i, .cursor = p->floor };
		p->runs[p->n_runs - 1].n++;
	}
	return p;
}

void tree_picker_free(struct tree_picker *p)
{
	if (!p)
		return;
	free(p->named);
	free(p->runs);
	free(p);
}

static int compare_run(const void *key, const void *elem)
{
	tree_ns ns = *(const tree_ns *)key;
	const struct ns_run *r = elem;

	return (ns > r->ns) - (ns < r->ns);
}

static bool named_in(const struct tree_picker *p, const struct ns_run *run, int32_t pid)
{
	struct named_pid key = { run->ns, pid };

	return bsearch(&key, p->named + run->first, run->n, sizeof(key), compare_named) != NULL;
}

static struct ns_run *find_run(const struct tree_picker *p, tree_ns ns)
{
	return bsearch(&ns, p->runs, p->n_runs, sizeof(*p->runs), compare_run);
}

bool tree_picker_picks(const struct tree_picker *p, tree_ns ns)
{
	return find_run(p, ns) != NULL;
}

void tree_picker_require(struct tree_picker *p, tree_ns ns)
{
	size_t at = 0;

	if (find_run(p, ns) || p->n_runs >= p->cap_runs)
		return;
	while (at < p->n_runs && p->runs[at].ns < ns)
		at++;
	memmove(p->runs + at + 1, p->runs + at, (p->n_runs - at) * sizeof(*p->runs));
	p->runs[at] = (struct ns_run){ .ns = ns, .cursor = p->floor };
	p->n_runs++;
}

int32_t tree_pick(struct tree_picker *p, tree_ns ns, bool *picked)
{
	struct ns_run *run = find_run(p, ns);

	*picked = false;
	if (!run)
		return 0;
	while (named_in(p, run, run->cursor))
		run->cursor++;
	*picked = true;
	return run->cursor++;
}
