/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree-rules.h"

int tree_fault_set(struct tree_fault *f, int32_t node, int32_t level, int err, const char *fmt, ...)
{
	va_list ap;

	f->node = node;
	f->level = level;
	f->why.err = err;
	va_start(ap, fmt);
	vsnprintf(f->why.text, sizeof(f->why.text), fmt, ap);
	va_end(ap);
	return -err;
}

const char *tree_node_name(const struct tree *t, int32_t node, char *buf, size_t len)
{
	const struct tree_node *n;

	if (node == TREE_OUTER) {
		snprintf(buf, len, "the outer session");
		return buf;
	}
	n = &t->nodes[node];
	if (n->n_pids > 0 && n->pids[0] > 0)
		snprintf(buf, len, "node %d (pid %d)", node, n->pids[0]);
	else
		snprintf(buf, len, "node %d", node);
	return buf;
}

void tree_facts_free(struct tree_facts *facts)
{
	free(facts->sid);
	free(facts->pgid);
	free(facts->ns);
	*facts = (struct tree_facts){ 0 };
}

static const char *kind_name(int32_t kind)
{
	switch (kind) {
	case TREE_KIND_LIVE:
		return "LIVE";
	case TREE_KIND_ZOMBIE:
		return "ZOMBIE";
	default:
		return "GHOST";
	}
}

/* Signals whose default action does not end a process (signal(7)). */
static bool signal_ends_process(int sig)
{
	switch (sig) {
	case SIGCHLD:
	case SIGCONT:
	case SIGSTOP:
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
	case SIGURG:
	case SIGWINCH:
		return false;
	default:
		return true;
	}
}

/* The largest signal number of the kernel (_NSIG - 1 on x86 and most). */
#define TREE_SIGNAL_MAX 64

static int check_exit(const struct tree *t, int32_t i, struct tree_fault *f)
{
	const struct tree_node *n = &t->nodes[i];
	char name[48];

	tree_node_name(t, i, name, sizeof(name));
	if (n->kind != TREE_KIND_ZOMBIE) {
		if (n->has_exit_code || n->has_exit_signal)
			return tree_fault_set(f, i, -1, EINVAL, "%s is %s: only a ZOMBIE has an exit code or signal", name,
					      kind_name(n->kind));
		return 0;
	}
	if (n->has_exit_code && n->has_exit_signal)
		return tree_fault_set(f, i, -1, EINVAL, "%s has both an exit code and a signal; a zombie either exited or was killed: give one",
				      name);
	if (n->has_exit_code && (n->exit_code < 0 || n->exit_code > 255))
		return tree_fault_set(f, i, -1, EINVAL, "%s: exit code %d is not in 0..255", name, n->exit_code);
	if (n->has_exit_signal && (n->exit_signal < 1 || n->exit_signal > TREE_SIGNAL_MAX))
		return tree_fault_set(f, i, -1, EINVAL, "%s: %d is not a signal (1..%d)", name, n->exit_signal, TREE_SIGNAL_MAX);
	if (n->has_exit_signal && !signal_ends_process(n->exit_signal))
		return tree_fault_set(f, i, -1, EINVAL, "%s: signal %d (SIG%s) does not end a process by default, so no zombie was killed by it; give a signal that does (e.g. 15, SIGTERM) or an exit code",
				      name, n->exit_signal, sigabbrev_np(n->exit_signal));
	return 0;
}

/* What one node is, on its own and against its parent. */
static int check_node_shape(const struct tree *t, int32_t i, struct tree_fault *f)
{
	const struct tree_node *n = &t->nodes[i];
	char name[48], pname[48];

	tree_node_name(t, i, name, sizeof(name));
	if (n->kind != TREE_KIND_LIVE && n->kind != TREE_KIND_ZOMBIE && n->kind != TREE_KIND_GHOST)
		return tree_fault_set(f, i, -1, EINVAL, "%s: kind %d is not LIVE (1), ZOMBIE (2) or GHOST (3)", name, n->kind);
	if (n->kind == TREE_KIND_GHOST && n->parent != TREE_ROOT)
		return tree_fault_set(f, i, -1, EINVAL, "%s is a GHOST but names parent %d; a ghost has no parent: the daemon places it",
				      name, n->parent);
	if (n->parent != TREE_ROOT && (n->parent < 0 || n->parent >= i))
		return tree_fault_set(f, i, -1, EINVAL, "%s: parent %d is not a node before it (0..%d) nor -1 (a root); list every parent before its children",
				      name, n->parent, i - 1);
	if (n->parent != TREE_ROOT) {
		const struct tree_node *p = &t->nodes[n->parent];

		tree_node_name(t, n->parent, pname, sizeof(pname));
		if (p->kind == TREE_KIND_ZOMBIE)
			return tree_fault_set(f, i, -1, EINVAL, "%s: its parent %s is a ZOMBIE, and a zombie has no children (they were reparented when it exited); give %s the parent it was reparented to",
					      name, pname, name);
		if (p->kind == TREE_KIND_GHOST)
			return tree_fault_set(f, i, -1, EINVAL, "%s: its parent %s is a GHOST, and a ghost has no children; a ghost only holds a dead leader's PID",
					      name, pname);
	}
	if (n->comm_has_nul)
		return tree_fault_set(f, i, -1, EINVAL, "%s: its comm contains a NUL byte", name);
	if (n->comm_len > TREE_COMM_MAX)
		return tree_fault_set(f, i, -1, EINVAL, "%s: its comm has %u bytes; the kernel keeps at most %d", name, n->comm_len,
				      TREE_COMM_MAX);
	if (n->kind != TREE_KIND_LIVE && n->n_threads > 0)
		return tree_fault_set(f, i, -1, EINVAL, "%s is a %s with %u threads; only a LIVE node has threads besides its main one",
				      name, kind_name(n->kind), n->n_threads);
	if (n->kind != TREE_KIND_LIVE && n->subreaper)
		return tree_fault_set(f, i, -1, EINVAL, "%s is a %s; only a LIVE node can be a child subreaper", name, kind_name(n->kind));
	if (n->new_pidns && n->kind == TREE_KIND_GHOST)
		return tree_fault_set(f, i, 0, EINVAL, "%s is a GHOST and cannot make a pid namespace; only a LIVE node can be the init of a new one",
				      name);
	if (n->new_pidns && n->kind == TREE_KIND_ZOMBIE)
		return tree_fault_set(f, i, 0, EINVAL, "%s is a ZOMBIE and cannot be the init of a new pid namespace: the namespace ends when its init exits",
				      name);
	if (n->new_pidns && n->n_pids > 0 && n->pids[0] != 1 && n->pids[0] != 0)
		return tree_fault_set(f, i, 0, EINVAL, "%s is the init of a new pid namespace, so its pid there (level 0) is 1, not %d",
				      name, n->pids[0]);
	return check_exit(t, i, f);
}

/* The PIDs a node has: one per level of the namespaces it is in. */
static int check_levels(const struct tree *t, uint32_t base, int32_t i, struct tree_fault *f)
{
	const struct tree_node *n = &t->nodes[i];
	uint32_t want;
	char name[48];

	tree_node_name(t, i, name, sizeof(name));
	if (n->kind != TREE_KIND_GHOST) {
		want = (n->parent == TREE_ROOT ? base : t->nodes[n->parent].n_pids) + (n->new_pidns ? 1 : 0);
		if (n->n_pids != want)
			return tree_fault_set(f, i, -1, EINVAL, "%s has %u PIDs but is in %u pid namespaces (%s%s); give one PID per level, innermost first, 0 for any",
					      name, n->n_pids, want, n->parent == TREE_ROOT ? "those of the tree's first root" : "its parent's",
					      n->new_pidns ? " and the one it makes" : "");
	}
	for (uint32_t k = 0; k < n->n_threads; k++) {
		const struct tree_tids *th = &t->threads[n->first_thread + k];

		if (th->n_tids != n->n_pids)
			return tree_fault_set(f, i, -1, EINVAL, "%s: thread %u has %u TIDs but the node has %u levels; give one TID per level, innermost first, 0 for any",
					      name, k, th->n_tids, n->n_pids);
	}
	return 0;
}

/* A sid or pgid as received: a node, TREE_OUTER, or left out. */
static int check_ref(const struct tree *t, int32_t i, int32_t ref, const char *what, struct tree_fault *f)
{
	char name[48];

	if (ref == TREE_INHERIT || ref == TREE_OUTER || (ref >= 0 && (size_t)ref < t->n_nodes))
		return 0;
	return tree_fault_set(f, i, -1, EINVAL, "%s: %s %d is neither a node index (0..%zu) nor -1 (the outer session and group)",
			      tree_node_name(t, i, name, sizeof(name)), what, ref, t->n_nodes - 1);
}

static void resolve_ids(const struct tree *t, struct tree_facts *facts)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *n = &t->nodes[i];
		int32_t self = (int32_t)i;

		if (n->kind == TREE_KIND_GHOST) {
			facts->sid[i] = n->sid == TREE_INHERIT ? self : n->sid;
			facts->pgid[i] = n->pgid == TREE_INHERIT ? self : n->pgid;
		} else if (n->parent == TREE_ROOT) {
			facts->sid[i] = n->sid == TREE_INHERIT ? TREE_OUTER : n->sid;
			facts->pgid[i] = n->pgid == TREE_INHERIT ? TREE_OUTER : n->pgid;
		} else {
			facts->sid[i] = n->sid == TREE_INHERIT ? facts->sid[n->parent] : n->sid;
			facts->pgid[i] = n->pgid == TREE_INHERIT ? facts->pgid[n->parent] : n->pgid;
		}
	}
}

/* "the session of node 3 (pid 10)", or "the outer session". */
static const char *session_phrase(const struct tree *t, int32_t s, char *buf, size_t len)
{
	char name[48];

	if (s == TREE_OUTER)
		snprintf(buf, len, "the outer session");
	else
		snprintf(buf, len, "the session of %s", tree_node_name(t, s, name, sizeof(name)));
	return buf;
}

/* Sessions and groups as the kernel has them: ids are leaders' PIDs. */
static int check_ids(const struct tree *t, const struct tree_facts *facts, int32_t i, struct tree_fault *f)
{
	int32_t s = facts->sid[i], g = facts->pgid[i];
	char name[48], other[48], third[48];

	tree_node_name(t, i, name, sizeof(name));
	if (t->nodes[i].kind == TREE_KIND_GHOST && g != i)
		return tree_fault_set(f, i, -1, EINVAL, "%s is a GHOST in the group of %s; a ghost holds the PID of a dead group leader, so its pgid is itself",
				      name, tree_node_name(t, g, other, sizeof(other)));
	if (s >= 0 && facts->sid[s] != s)
		return tree_fault_set(f, i, -1, EINVAL, "%s is in the session of %s, which is not a session leader (it is in %s); a session's id is its leader's PID, and a leader's sid is itself",
				      name, tree_node_name(t, s, other, sizeof(other)),
				      session_phrase(t, facts->sid[s], (char[80]){ 0 }, 80));
	if (s == i && g != i)
		return tree_fault_set(f, i, -1, EINVAL, "%s leads its session but is in the group of %s; a session leader is the leader of its own group (pgid = its pid)",
				      name, tree_node_name(t, g, other, sizeof(other)));
	if (g >= 0 && facts->pgid[g] != g)
		return tree_fault_set(f, i, -1, ENOTSUP, "%s is in the group of %s, which has left it for the group of %s; a group is rebuilt only with its leader (alive, zombie or ghost) in it",
				      name, tree_node_name(t, g, other, sizeof(other)),
				      tree_node_name(t, facts->pgid[g], third, sizeof(third)));
	if (g == TREE_OUTER && s != TREE_OUTER)
		return tree_fault_set(f, i, -1, EINVAL, "%s is in the outer group but in %s; the outer group is in the outer session only",
				      name, session_phrase(t, s, other, sizeof(other)));
	if (g >= 0 && facts->sid[g] != s)
		return tree_fault_set(f, i, -1, EINVAL, "%s is in %s but in the group of %s, which is in %s; all members of a group are in their leader's session",
				      name, session_phrase(t, s, (char[80]){ 0 }, 80), tree_node_name(t, g, third, sizeof(third)),
				      session_phrase(t, facts->sid[g], (char[80]){ 0 }, 80));
	return 0;
}

/* The namespaces of every live or zombie node, from its parent's. */
static void resolve_ns(const struct tree *t, struct tree_facts *facts)
{
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *n = &t->nodes[i];
		uint32_t off = n->new_pidns ? 1 : 0;

		if (n->kind == TREE_KIND_GHOST)
			continue;
		if (n->new_pidns)
			facts->ns[i][0] = (tree_ns)i;
		for (uint32_t l = off; l < n->n_pids; l++)
			facts->ns[i][l] = n->parent == TREE_ROOT ? -1 - (tree_ns)(l - off) : facts->ns[n->parent][l - off];
	}
}

/* Whether node m names ghost g as its session or group. */
static bool names(const struct tree_facts *facts, size_t m, int32_t g)
{
	return facts->sid[m] == g || facts->pgid[m] == g;
}

/* A ghost is seen by its members in one pid namespace: its namespaces are
 * the outer ones of theirs, as many as it has PIDs. */
static int resolve_ghost(const struct tree *t, struct tree_facts *facts, int32_t g, struct tree_fault *f)
{
	const struct tree_node *n = &t->nodes[g];
	int32_t first = -1;
	char name[48], other[48];

	tree_node_name(t, g, name, sizeof(name));
	for (size_t m = 0; m < t->n_nodes && first < 0; m++)
		if (t->nodes[m].kind != TREE_KIND_GHOST && names(facts, m, g))
			first = (int32_t)m;
	if (first < 0)
		return tree_fault_set(f, g, -1, EINVAL, "%s is a GHOST that no LIVE or ZOMBIE node names as its session or group; a ghost stands for a dead leader whose session or group still has members",
				      name);
	if (n->n_pids == 0 || n->n_pids > t->nodes[first].n_pids)
		return tree_fault_set(f, g, -1, EINVAL, "%s is a GHOST with %u PIDs, but its member %s is in %u pid namespaces; give the ghost one PID per level of the namespace its members see it in (1..%u)",
				      name, n->n_pids, tree_node_name(t, first, other, sizeof(other)), t->nodes[first].n_pids,
				      t->nodes[first].n_pids);
	for (uint32_t l = 0; l < n->n_pids; l++)
		facts->ns[g][l] = facts->ns[first][t->nodes[first].n_pids - n->n_pids + l];
	for (size_t m = (size_t)first + 1; m < t->n_nodes; m++) {
		const struct tree_node *mn = &t->nodes[m];
		bool same = mn->n_pids >= n->n_pids;

		if (t->nodes[m].kind == TREE_KIND_GHOST || !names(facts, m, g))
			continue;
		for (uint32_t l = 0; same && l < n->n_pids; l++)
			same = facts->ns[m][mn->n_pids - n->n_pids + l] == facts->ns[g][l];
		if (!same)
			return tree_fault_set(f, g, -1, EINVAL, "%s is a GHOST named by %s and by %s, which are not in the same pid namespaces at the ghost's %u levels; the members of a dead leader's session or group see it in one pid namespace",
					      name, tree_node_name(t, first, other, sizeof(other)),
					      tree_node_name(t, (int32_t)m, (char[48]){ 0 }, 48), n->n_pids);
	}
	return 0;
}

/* One explicit PID or TID of the tree, for the duplicate search. */
struct pid_use {
	tree_ns ns;
	int32_t pid;
	int32_t node;
	int32_t thread;    /* -1: the node's own PID */
	int32_t level;
};

static int compare_uses(const void *a, const void *b)
{
	const struct pid_use *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return (x->level > y->level) - (x->level < y->level);
}

static void describe_use(const struct tree *t, const struct pid_use *u, char *buf, size_t len)
{
	char name[48];

	tree_node_name(t, u->node, name, sizeof(name));
	if (u->thread >= 0)
		snprintf(buf, len, "thread %d of %s", u->thread, name);
	else
		snprintf(buf, len, "%s", name);
}

/* Per pid namespace, every explicit PID and TID once. */
static int check_distinct(const struct tree *t, const struct tree_facts *facts, struct tree_fault *f)
{
	struct pid_use *uses;
	size_t n = 0, cap = 0;
	int r = 0;

	for (size_t i = 0; i < t->n_nodes; i++)
		cap += t->nodes[i].n_pids * (1 + t->nodes[i].n_threads);
	uses = calloc(cap ? cap : 1, sizeof(*uses));
	if (!uses)
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	for (size_t i = 0; i < t->n_nodes; i++) {
		const struct tree_node *nd = &t->nodes[i];

		for (uint32_t l = 0; l < nd->n_pids; l++) {
			if (nd->pids[l] > 0)
				uses[n++] = (struct pid_use){ facts->ns[i][l], nd->pids[l], (int32_t)i, -1, (int32_t)l };
			for (uint32_t k = 0; k < nd->n_threads; k++) {
				int32_t tid = t->threads[nd->first_thread + k].tids[l];

				if (tid > 0)
					uses[n++] = (struct pid_use){ facts->ns[i][l], tid, (int32_t)i, (int32_t)k, (int32_t)l };
			}
		}
	}
	qsort(uses, n, sizeof(*uses), compare_uses);
	for (size_t k = 1; k < n && r == 0; k++) {
		char a[96], b[96];

		if (uses[k].ns != uses[k - 1].ns || uses[k].pid != uses[k - 1].pid)
			continue;
		describe_use(t, &uses[k - 1], a, sizeof(a));
		describe_use(t, &uses[k], b, sizeof(b));
		r = tree_fault_set(f, uses[k].node, uses[k].level, EINVAL, "%s asks for %s %d at level %d, which %s has in the same pid namespace (its level %d); PIDs and TIDs in one pid namespace are distinct",
				   b, uses[k].thread >= 0 ? "TID" : "pid", uses[k].pid, uses[k].level, a, uses[k - 1].level);
	}
	free(uses);
	return r;
}

static int check_tree(const struct tree *t, struct tree_facts *facts, struct tree_fault *f)
{
	int32_t first_root = -1;
	uint32_t base;
	int r;

	if (t->n_nodes == 0)
		return tree_fault_set(f, -1, -1, EINVAL, "the tree has no nodes; give at least one");
	if (t->n_nodes > TREE_MAX_NODES)
		return tree_fault_set(f, -1, -1, EINVAL, "the tree has %zu nodes; at most %u fit in one request", t->n_nodes, TREE_MAX_NODES);
	if (t->n_threads > TREE_MAX_THREADS)
		return tree_fault_set(f, -1, -1, EINVAL, "the tree has %zu threads; at most %u fit in one request", t->n_threads,
				      TREE_MAX_THREADS);
	if (t->flags & ~TREE_FLAGS_KNOWN)
		return tree_fault_set(f, -1, -1, EINVAL, "unknown flags 0x%x in the tree request; this daemon knows 0x%x (TREE_THREAD_PIDFDS)",
				      t->flags & ~TREE_FLAGS_KNOWN, TREE_FLAGS_KNOWN);
	for (size_t i = 0; i < t->n_nodes; i++) {
		r = check_node_shape(t, (int32_t)i, f);
		if (r < 0)
			return r;
		if (first_root < 0 && t->nodes[i].kind != TREE_KIND_GHOST)
			first_root = (int32_t)i;
	}
	if (first_root < 0)
		return tree_fault_set(f, -1, -1, EINVAL, "the tree has only GHOSTs; a ghost stands for a dead leader of live or zombie members: give them");
	base = t->nodes[first_root].n_pids - (t->nodes[first_root].new_pidns ? 1 : 0);
	if (t->nodes[first_root].n_pids == 0 || base == 0)
		return tree_fault_set(f, first_root, -1, EINVAL, "%s, the first root, gives %u PIDs; give its PID in the target pid namespace (0 for any)%s",
				      tree_node_name(t, first_root, (char[48]){ 0 }, 48), t->nodes[first_root].n_pids,
				      t->nodes[first_root].new_pidns ? " after the 1 of the namespace it makes" : "");
	for (size_t i = 0; i < t->n_nodes; i++) {
		r = check_levels(t, base, (int32_t)i, f);
		if (r == 0)
			r = check_ref(t, (int32_t)i, t->nodes[i].sid, "sid", f);
		if (r == 0)
			r = check_ref(t, (int32_t)i, t->nodes[i].pgid, "pgid", f);
		if (r < 0)
			return r;
	}

	facts->n_nodes = t->n_nodes;
	facts->base_levels = base;
	facts->sid = calloc(t->n_nodes, sizeof(*facts->sid));
	facts->pgid = calloc(t->n_nodes, sizeof(*facts->pgid));
	facts->ns = calloc(t->n_nodes, sizeof(*facts->ns));
	if (!facts->sid || !facts->pgid || !facts->ns)
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	resolve_ids(t, facts);
	for (size_t i = 0; i < t->n_nodes; i++) {
		r = check_ids(t, facts, (int32_t)i, f);
		if (r < 0)
			return r;
	}
	resolve_ns(t, facts);
	for (size_t i = 0; i < t->n_nodes; i++) {
		if (t->nodes[i].kind != TREE_KIND_GHOST)
			continue;
		r = resolve_ghost(t, facts, (int32_t)i, f);
		if (r < 0)
			return r;
	}
	return check_distinct(t, facts, f);
}

int tree_rules_check(const struct tree *t, struct tree_facts *facts, struct tree_fault *f)
{
	int r;

	*facts = (struct tree_facts){ 0 };
	r = check_tree(t, facts, f);
	if (r < 0)
		tree_facts_free(facts);
	return r;
}
