/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan-check.h"
#include "priv-proto.h"
#include "tree-claim.h"
#include "tree-encode.h"
#include "tree-front.h"
#include "tree-plan.h"
#include "tree-rules.h"

static void take_node(const Pidrestore__TreeNode *in, struct tree_node *n, struct tree_tids *threads, size_t *n_threads)
{
	n->kind = (int32_t)in->kind;
	n->parent = in->parent;
	n->n_pids = (uint32_t)in->n_pids;
	/* protobuf-c leaves an empty array NULL, which memcpy() may not take. */
	if (in->n_pids)
		memcpy(n->pids, in->pids, in->n_pids * sizeof(*in->pids));
	n->new_pidns = in->has_new_pidns && in->new_pidns;
	n->sid = in->has_sid ? in->sid : TREE_INHERIT;
	n->pgid = in->has_pgid ? in->pgid : TREE_INHERIT;
	n->first_thread = (uint32_t)*n_threads;
	n->n_threads = (uint32_t)in->n_threads;
	for (size_t k = 0; k < in->n_threads; k++) {
		struct tree_tids *th = &threads[(*n_threads)++];

		th->n_tids = (uint32_t)in->threads[k]->n_tids;
		if (th->n_tids)
			memcpy(th->tids, in->threads[k]->tids, th->n_tids * sizeof(int32_t));
	}
	n->has_exit_code = in->has_exit_code;
	n->exit_code = in->exit_code;
	n->has_exit_signal = in->has_exit_signal;
	n->exit_signal = in->exit_signal;
	n->subreaper = in->has_child_subreaper && in->child_subreaper;
	if (in->has_comm) {
		n->comm_len = (uint32_t)in->comm.len;
		if (in->comm.len > 0)
			memcpy(n->comm, in->comm.data, in->comm.len < TREE_COMM_MAX ? in->comm.len : TREE_COMM_MAX);
		n->comm_has_nul = in->comm.len > 0 && memchr(in->comm.data, '\0', in->comm.len);
	}
}

/* The request as plain data. decode_request() bounded every array. */
static int take_tree(const Pidrestore__TreeRequest *in, struct tree *t, struct tree_fault *f)
{
	size_t n_threads = 0;

	*t = (struct tree){ .n_nodes = in->n_nodes };
	for (size_t i = 0; i < in->n_nodes; i++) {
		const Pidrestore__TreeNode *n = in->nodes[i];

		/* TREE_INHERIT is the daemon's word for "left out". */
		if ((n->has_sid && n->sid < TREE_OUTER) || (n->has_pgid && n->pgid < TREE_OUTER))
			return tree_fault_set(f, (int32_t)i, -1, EINVAL, "node %zu: %s %d is neither a node index (0..%zu) nor -1 (the outer session and group)",
					      i, n->has_sid && n->sid < TREE_OUTER ? "sid" : "pgid",
					      n->has_sid && n->sid < TREE_OUTER ? n->sid : n->pgid, in->n_nodes - 1);
		t->n_threads += n->n_threads;
	}
	t->nodes = calloc(in->n_nodes ? in->n_nodes : 1, sizeof(*t->nodes));
	t->threads = calloc(t->n_threads ? t->n_threads : 1, sizeof(*t->threads));
	if (!t->nodes || !t->threads)
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	for (size_t i = 0; i < in->n_nodes; i++)
		take_node(in->nodes[i], &t->nodes[i], t->threads, &n_threads);
	t->flags = in->has_flags ? in->flags : 0;
	t->timeout_ms = in->has_timeout_ms ? in->timeout_ms : 0;
	t->ttl_sec = in->has_ttl_sec ? in->ttl_sec : 0;
	t->has_pidns_fd = in->has_pidns_fd_index;
	t->pidns_fd_index = in->pidns_fd_index;
	return 0;
}

/* A priv_request, then the plan. */
static long make_record(const Pidrestore__Request *req, size_t n_fds, const uint8_t *plan, size_t plan_len, uint8_t **ret,
			struct tree_fault *f)
{
	struct priv_request pr = { .id = req->id, .body = PRIV_BODY_TREE, .n_fds = (uint32_t)n_fds, .len = (uint32_t)plan_len };
	size_t len = sizeof(pr) + plan_len;
	uint8_t *buf;

	if (len > PRIV_MAX_PACKET - sizeof(struct priv_header))
		return tree_fault_set(f, -1, -1, EMSGSIZE, "the tree's plan takes %zu bytes inside the daemon, more than it passes on (%zu); send fewer threads or nodes per tree",
				      len, (size_t)PRIV_MAX_PACKET - sizeof(struct priv_header));
	buf = malloc(len);
	if (!buf)
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	memcpy(buf, &pr, sizeof(pr));
	memcpy(buf + sizeof(pr), plan, plan_len);
	*ret = buf;
	return (long)len;
}

/* A tree's release: its id. */
static long release_record(const Pidrestore__Request *req, uint8_t **ret, struct tree_fault *f)
{
	struct priv_request pr = { .id = req->id, .body = PRIV_BODY_TREE_RELEASE, .n_items = 1, .len = sizeof(uint64_t) };
	uint8_t *buf = malloc(sizeof(pr) + sizeof(uint64_t));

	if (!buf)
		return tree_fault_set(f, -1, -1, ENOMEM, "the daemon is out of memory");
	memcpy(buf, &pr, sizeof(pr));
	memcpy(buf + sizeof(pr), &req->tree_release->tree_id, sizeof(uint64_t));
	*ret = buf;
	return (long)(sizeof(pr) + sizeof(uint64_t));
}

static long plan_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f)
{
	struct tree t = { 0 };
	struct tree_facts facts = { 0 };
	struct plan plan = { 0 };
	uint8_t *bytes = NULL;
	size_t len = 0;
	long r;

	r = take_tree(req->tree, &t, f);
	if (r == 0)
		r = tree_rules_check(&t, &facts, f);
	if (r == 0)
		r = plan_compile(&t, &facts, TREE_PICK_FLOOR, &plan, f);
	if (r == 0)
		r = tree_encode_plan(&plan, t.n_nodes, &bytes, &len, f);
	if (r == 0)
		r = make_record(req, n_fds, bytes, len, ret, f);
	free(bytes);
	plan_free(&plan);
	tree_facts_free(&facts);
	free(t.nodes);
	free(t.threads);
	return r;
}

long tree_front_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f)
{
	*ret = NULL;
	*f = (struct tree_fault){ .node = -1, .level = -1 };
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_TREE:
		return plan_record(req, n_fds, ret, f);
	case PIDRESTORE__REQUEST__BODY_TREE_RELEASE:
		return release_record(req, ret, f);
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM:
		return tree_claim_record(req, n_fds, ret, f);
	default:
		return tree_fault_set(f, -1, -1, EOPNOTSUPP, "this daemon builds, claims by blob and releases trees but does not serve this request on them (it is not in HelloReply.features): claim a node with an Exec request naming its reservation_id, or a blob claim");
	}
}

size_t tree_front_error(uint64_t id, const struct tree_fault *f, uint8_t *buf, size_t cap)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	Pidrestore__TreeReply reply = PIDRESTORE__TREE_REPLY__INIT;

	reply.has_error_node = 1;
	reply.error_node = f->node;
	reply.has_error_level = 1;
	reply.error_level = f->level;
	resp.id = id;
	resp.has_error = 1;
	resp.error = f->why.err ? f->why.err : EIO;
	resp.message = (char *)f->why.text;
	resp.body_case = PIDRESTORE__RESPONSE__BODY_TREE;
	resp.tree = &reply;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	if (pidrestore__server_message__get_packed_size(&msg) > cap)
		return 0;
	return pidrestore__server_message__pack(&msg, buf);
}
