/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "kernel.h"
#include "tree-request.h"
#include "wire.h"

/* Paths the kernel takes are shorter than PATH_MAX (4096). */
#define PATH_BYTES_MAX 4095

/* The fds a request names, by index. */
struct fd_uses {
	size_t n_fds;
	size_t n_used;
	bool used[WIRE_MAX_FDS];
};

int decode_fd_index(int32_t index, size_t n_fds, bool used[], const char *what, struct why *why)
{
	if (index < 0 || (size_t)index >= n_fds)
		return why_set(why, EPROTO, "the fd index %d for the %s is out of range: the request carries %zu fds",
			       index, what, n_fds);
	if (used[index])
		return why_set(why, EPROTO, "fd index %d is used twice (again for the %s); each fd serves one purpose", index, what);
	used[index] = true;
	return 0;
}

static int use_fd(struct fd_uses *u, int32_t index, const char *what, struct why *why)
{
	int r = decode_fd_index(index, u->n_fds, u->used, what, why);

	if (r == 0)
		u->n_used++;
	return r;
}

/* Fds only the request types that name them may carry. */
static bool takes_fds(Pidrestore__Request__BodyCase body)
{
	return body == PIDRESTORE__REQUEST__BODY_SPAWN || body == PIDRESTORE__REQUEST__BODY_RESERVE ||
	       body == PIDRESTORE__REQUEST__BODY_EXEC || body == PIDRESTORE__REQUEST__BODY_POLICY ||
	       body == PIDRESTORE__REQUEST__BODY_TREE || body == PIDRESTORE__REQUEST__BODY_TREE_CLAIM ||
	       body == PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL;
}

static int check_process(const Pidrestore__ProcessSpec *spec, struct fd_uses *u, struct why *why)
{
	size_t chosen = spec->n_pids;

	if (spec->n_pids > PR_MAX_LEVELS)
		return why_set(why, EINVAL, "%zu PIDs given; there are at most %d levels (%d nested pid namespaces below the root)",
			       spec->n_pids, PR_MAX_LEVELS, PR_MAX_PID_NS_LEVEL);
	for (size_t i = 0; i < spec->n_pids; i++)
		if (spec->pids[i] < 0)
			return why_set(why, EINVAL, "pid %d (entry %zu, innermost first) is not valid: PIDs are positive (0 means any free PID)",
				       spec->pids[i], i);
	/* Trailing zeros are the kernel's to fill: not chosen. */
	while (chosen > 0 && spec->pids[chosen - 1] == 0)
		chosen--;
	if (chosen > PR_MAX_SET_TID)
		return why_set(why, EINVAL, "%zu PIDs given; at most %d can be chosen: the kernel's clone3() sets at most %d levels' PIDs, innermost first, and gives the outermost level of a process %d namespaces deep a PID of its choice; give 0 for that level or leave it out",
			       spec->n_pids, PR_MAX_SET_TID, PR_MAX_SET_TID, PR_MAX_PID_NS_LEVEL);
	if (spec->has_new_pidns && spec->new_pidns && spec->n_pids > 0 && spec->pids[0] != 1 && spec->pids[0] != 0)
		return why_set(why, EINVAL, "with a new pid namespace the innermost pid must be 1 (the new namespace's init), not %d",
			       spec->pids[0]);
	if (spec->has_pidns_fd_index)
		return use_fd(u, spec->pidns_fd_index, "target pid namespace", why);
	return 0;
}

/* An empty bytes field comes unpacked with data NULL, which memchr may not
 * be given even for a length of 0. */
static bool has_nul(const ProtobufCBinaryData *b)
{
	return b->len > 0 && memchr(b->data, '\0', b->len);
}

static int check_strings(const ProtobufCBinaryData *strings, size_t n, const char *what, struct why *why)
{
	for (size_t i = 0; i < n; i++)
		if (has_nul(&strings[i]))
			return why_set(why, EINVAL, "%s %zu contains a NUL byte", what, i);
	return 0;
}

static int check_fd_maps(Pidrestore__FdMapping *const *fds, size_t n, struct fd_uses *u, struct why *why);

static int check_exec(const Pidrestore__ExecSpec *spec, struct fd_uses *u, struct why *why)
{
	int r;

	if (spec->has_program_fd_index) {
		r = use_fd(u, spec->program_fd_index, "program", why);
		if (r < 0)
			return r;
	} else if (spec->has_path && spec->path.len > 0) {
		if (has_nul(&spec->path))
			return why_set(why, EINVAL, "the program path contains a NUL byte");
		if (spec->path.len > PATH_BYTES_MAX)
			return why_set(why, ENAMETOOLONG, "the program path is %zu bytes long; paths are at most %d",
				       spec->path.len, PATH_BYTES_MAX);
	} else {
		return why_set(why, EINVAL, "no program given: set a path or pass a program fd");
	}
	r = check_strings(spec->argv, spec->n_argv, "argument", why);
	if (r < 0)
		return r;
	r = check_strings(spec->envp, spec->n_envp, "environment entry", why);
	if (r < 0)
		return r;

	r = check_fd_maps(spec->fds, spec->n_fds, u, why);
	if (r < 0)
		return r;
	if (spec->has_cwd_fd_index)
		return use_fd(u, spec->cwd_fd_index, "working directory", why);
	return 0;
}

/* PIDs or TIDs of a tree's node: the bounds the plain copy relies on. */
static int check_ids(const int32_t *ids, size_t n, size_t node, const char *what, struct why *why)
{
	if (n > PR_MAX_LEVELS)
		return why_set(why, EINVAL, "node %zu: %zu %s given; there are at most %d levels", node, n, what, PR_MAX_LEVELS);
	for (size_t l = 0; l < n; l++)
		if (ids[l] < 0)
			return why_set(why, EINVAL, "node %zu: %d (level %zu, innermost first) is not valid: %s are positive (0 means any free one)",
				       node, ids[l], l, what);
	return 0;
}

/* The bounds of a tree; its rules are tree-rules.c's, after decoding. */
static int check_tree(const Pidrestore__TreeRequest *tree, struct fd_uses *u, struct why *why)
{
	size_t threads = 0;
	int r;

	if (tree->n_nodes > TREE_MAX_NODES)
		return why_set(why, EINVAL, "the tree has %zu nodes; at most %u fit in one request", tree->n_nodes, TREE_MAX_NODES);
	for (size_t i = 0; i < tree->n_nodes; i++) {
		const Pidrestore__TreeNode *n = tree->nodes[i];

		r = check_ids(n->pids, n->n_pids, i, "PIDs", why);
		if (r < 0)
			return r;
		threads += n->n_threads;
		if (threads > TREE_MAX_THREADS)
			return why_set(why, EINVAL, "the tree has more than %u threads; at most so many fit in one request", TREE_MAX_THREADS);
		for (size_t k = 0; k < n->n_threads; k++) {
			r = check_ids(n->threads[k]->tids, n->threads[k]->n_tids, i, "TIDs", why);
			if (r < 0)
				return r;
		}
	}
	if (tree->has_pidns_fd_index)
		return use_fd(u, tree->pidns_fd_index, "target pid namespace", why);
	return 0;
}

static int check_fd_maps(Pidrestore__FdMapping *const *fds, size_t n, struct fd_uses *u, struct why *why)
{
	int r;

	if (n > WIRE_MAX_FDS - 2)
		return why_set(why, EINVAL, "%zu fds to map; at most %d", n, WIRE_MAX_FDS - 2);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (fds[j]->target == fds[i]->target)
				return why_set(why, EINVAL, "fd target %d is mapped twice", fds[i]->target);
		r = use_fd(u, fds[i]->fd_index, "fd map", why);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_tree_claim(const Pidrestore__TreeClaimRequest *claim, struct fd_uses *u, struct why *why)
{
	int r;

	switch (claim->how_case) {
	case PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC:
		return check_exec(claim->exec, u, why);
	case PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB:
		r = use_fd(u, claim->blob->memfd_index, "blob", why);
		return r < 0 ? r : check_fd_maps(claim->blob->fds, claim->blob->n_fds, u, why);
	default:
		return why_set(why, EINVAL, "the claim of node %d says neither how: give an exec or a blob", claim->node);
	}
}

/* In the order the handlers use the fields, so that of several faults the
 * one reported is the one a handler would meet first. */
static int check_body(const Pidrestore__Request *req, struct fd_uses *u, struct why *why)
{
	int r = 0;

	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		r = check_exec(req->spawn->exec, u, why);
		if (r == 0)
			r = check_process(req->spawn->process, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		for (size_t i = 0; i < req->reserve->n_processes && r == 0; i++)
			r = check_process(req->reserve->processes[i], u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		r = check_exec(req->exec->exec, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		/* A policy check names a target as a spawn would. */
		if (req->policy->check)
			r = check_process(req->policy->check->process, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE:
		r = check_tree(req->tree, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM:
		r = check_tree_claim(req->tree_claim, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		for (size_t i = 0; i < req->tree_claim_all->n_claims && r == 0; i++)
			r = check_tree_claim(req->tree_claim_all->claims[i], u, why);
		break;
	default:
		break;
	}
	return r;
}

/* ------------------------------------------------------------- requests */

int decode_request(const uint8_t *buf, size_t len, size_t n_fds, Pidrestore__Request **ret, struct why *why)
{
	Pidrestore__Request *req;

	*ret = req = pidrestore__request__unpack(NULL, len, buf);
	/* protobuf-c does not say where bytes went wrong, and a second parser
	 * of requester bytes only to say so is not worth its attack surface. */
	if (!req)
		return why_set(why, EPROTO,
			       "the request (%zu bytes) could not be decoded as a pidrestore.Request message; "
			       "send one whole, well-formed Request per packet (the schema is pidrestore.proto)",
			       len);
	return decode_validate(req, n_fds, why);
}

int decode_validate(const Pidrestore__Request *req, size_t n_fds, struct why *why)
{
	struct fd_uses uses = { .n_fds = n_fds };
	uint32_t fd_count;
	int r;

	if (n_fds > WIRE_MAX_FDS)
		return why_set(why, EPROTO, "the packet carried %zu fds; at most %d fit in one", n_fds, WIRE_MAX_FDS);
	fd_count = req->has_fd_count ? req->fd_count : 0;
	if (fd_count != n_fds)
		return why_set(why, EPROTO, "the request says it carries %u fds but its packet carried %zu", fd_count, n_fds);
	if (n_fds > 0 && !takes_fds(req->body_case))
		return why_set(why, EPROTO, "this request takes no fds but carried %zu", n_fds);
	r = check_body(req, &uses, why);
	if (r < 0)
		return r;
	if (uses.n_used != n_fds)
		return why_set(why, EPROTO, "the request carries %zu fds but its fields use only %zu; send exactly the fds the request names",
			       n_fds, uses.n_used);
	return 0;
}
