/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "answer.h"
#include "authorize.h"
#include "conn.h"
#include "create.h"
#include "fd-table.h"
#include "log.h"
#include "manage.h"
#include "pending.h"
#include "priv-proto.h"
#include "privmsg.h"
#include "query.h"
#include "request.h"
#include "tree.h"

void request_set_host(const struct request_host *h)
{
	query_set_host(&(struct query_host){ .start_usec = h->start_usec, .kernel_features = h->kernel_features,
					     .front_pid = h->front_pid });
	manage_set_reload(h->reload_policy);
}

void request_set_limits(const struct request_limits *l)
{
	create_set_limits(l);
}

void request_set_policy(const struct policy *policy)
{
	authorize_set_policy(policy);
}

void request_get_stats(struct request_stats *ret)
{
	create_get_stats(ret);
}

void request_conn_closed(struct conn *c)
{
	manage_conn_closed(c);
	pending_conn_closed(c);
	tree_conn_closed(c);
}

static enum stats_type stats_type_of(Pidrestore__Request__BodyCase body)
{
	switch (body) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		return STATS_HELLO;
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		return STATS_SPAWN;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		return STATS_RESERVE;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		return STATS_EXEC;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		return STATS_RELEASE;
	case PIDRESTORE__REQUEST__BODY_STATUS:
		return STATS_STATUS;
	case PIDRESTORE__REQUEST__BODY_RELOAD:
		return STATS_RELOAD;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		return STATS_POLICY;
	case PIDRESTORE__REQUEST__BODY_LIST:
		return STATS_LIST;
	case PIDRESTORE__REQUEST__BODY_STATS:
		return STATS_STATS;
	case PIDRESTORE__REQUEST__BODY_CHECK:
		return STATS_CHECK;
	case PIDRESTORE__REQUEST__BODY_KILL:
		return STATS_KILL;
	case PIDRESTORE__REQUEST__BODY_TREE_LIST:
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		return STATS_TREE;
	default:
		return STATS_INVALID;
	}
}

/* A tree's records carry no protobuf to rebuild: the plan is checked by
 * tree_plan_check() and acted on as it is. Returns true when buf was one. */
static bool tree_record_handle(struct conn *c, const uint8_t *buf, size_t len, struct fd_table *fdt)
{
	struct priv_request pr;
	struct why why = { 0 };
	uint64_t tree_id;

	if (len < sizeof(pr))
		return false;
	memcpy(&pr, buf, sizeof(pr));
	if (pr.body != PRIV_BODY_TREE && pr.body != PRIV_BODY_TREE_RELEASE && pr.body != PRIV_BODY_TREE_CLAIM)
		return false;
	answer_set(STATS_TREE, now_usec());
	if (pr.len != len - sizeof(pr) || pr.n_fds != fdt->pkt->n_fds)
		why_set(&why, EPROTO, "a tree record whose size or fds do not match its header");
	else if (conn_version(c) == 0)
		why_set(&why, EPROTO, "the first request on a connection must be Hello (to agree on the protocol version)");
	else if (pr.body == PRIV_BODY_TREE_RELEASE && (pr.n_items != 1 || pr.len != sizeof(tree_id) || pr.n_fds))
		why_set(&why, EPROTO, "a tree release names exactly one tree and carries no fds");
	if (why.err) {
		answer_error(c, pr.id, &why);
	} else if (pr.body == PRIV_BODY_TREE) {
		tree_request(c, pr.id, buf + sizeof(pr), pr.len, fdt);
	} else if (pr.body == PRIV_BODY_TREE_CLAIM) {
		tree_claim_blob(c, pr.id, buf + sizeof(pr), pr.len, fdt);
	} else {
		memcpy(&tree_id, buf + sizeof(pr), sizeof(tree_id));
		tree_release(c, pr.id, tree_id);
	}
	return true;
}

void request_handle(struct conn *c, const uint8_t *buf, size_t len, struct wire_packet *pkt)
{
	struct fd_table fdt = { .pkt = pkt };
	struct privmsg_request record;
	Pidrestore__Request *req;
	struct why why = { 0 };
	int r;

	answer_set(STATS_INVALID, now_usec());
	conn_request_received(c);
	if (tree_record_handle(c, buf, len, &fdt)) {
		wire_close_fds(pkt, 0);
		answer_set(STATS_INVALID, 0);
		return;
	}
	r = privmsg_unpack_request(buf, len, pkt->n_fds, &record, &why);
	req = record.req;
	if (r < 0) {
		if (!req)
			log_info("connection %llu (uid %u): %s", (unsigned long long)conn_number(c), conn_peer(c)->uid, why.text);
		else
			answer_set_type(stats_type_of(req->body_case));
		answer_error(c, req ? req->id : 0, &why);
		goto out;
	}
	answer_set_type(stats_type_of(req->body_case));
	if (conn_version(c) == 0 && req->body_case != PIDRESTORE__REQUEST__BODY_HELLO) {
		why_set(&why, EPROTO, "the first request on a connection must be Hello (to agree on the protocol version)");
		answer_error(c, req->id, &why);
		goto out;
	}

	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		query_hello(c, req->id, req->hello);
		break;
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		create_spawn(c, req->id, req->spawn, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		/* It may go on after this returns, with the request and its fds. */
		if (create_reserve(c, &record, &fdt))
			record = (struct privmsg_request){ 0 };
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		create_exec(c, req->id, req->exec, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		manage_release(c, req->id, req->release);
		break;
	case PIDRESTORE__REQUEST__BODY_STATUS:
		query_status(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_RELOAD:
		manage_reload(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		query_policy(c, req->id, req->policy, &fdt);
		break;
	case PIDRESTORE__REQUEST__BODY_LIST:
		query_list(c, req->id, req->list);
		break;
	case PIDRESTORE__REQUEST__BODY_STATS:
		query_stats(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_KILL:
		manage_kill(c, req->id, req->kill);
		break;
	case PIDRESTORE__REQUEST__BODY_CHECK:
		query_check(c, req->id);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_LIST:
		tree_list(c, req->id, req->tree_list);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		tree_claim_all(c, req->id, req->tree_claim_all, &fdt);
		break;
	default:
		why_set(&why, EOPNOTSUPP, "unknown request type; this daemon (protocol %u) does not know it — check HelloReply.features",
			PIDRESTORE_PROTOCOL_VERSION);
		answer_error(c, req->id, &why);
		break;
	}
out:
	privmsg_request_free(&record);
	wire_close_fds(pkt, 0);
	answer_set(STATS_INVALID, 0);
}
