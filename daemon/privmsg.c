/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "priv-proto.h"
#include "privmsg.h"

/* ------------------------------------------------------------ packing */

static size_t strings_size(const ProtobufCBinaryData *v, size_t n)
{
	size_t size = 0;

	for (size_t i = 0; i < n; i++)
		size += sizeof(uint32_t) + v[i].len;
	return size;
}

static size_t exec_size(const Pidrestore__ExecSpec *e)
{
	return sizeof(struct priv_exec) + e->n_fds * sizeof(struct priv_fd_map) + (e->has_path ? e->path.len : 0) +
	       strings_size(e->argv, e->n_argv) + strings_size(e->envp, e->n_envp);
}

static size_t claim_size(const Pidrestore__TreeClaimRequest *claim)
{
	if (claim->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB)
		return privmsg_blob_size(claim->blob);
	return exec_size(claim->exec);
}

static size_t body_size(const Pidrestore__Request *req, uint32_t *n_items)
{
	*n_items = 0;
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO:
		return sizeof(struct priv_hello);
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		return sizeof(struct priv_process) + exec_size(req->spawn->exec);
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		*n_items = (uint32_t)req->reserve->n_processes;
		return req->reserve->n_processes * sizeof(struct priv_process);
	case PIDRESTORE__REQUEST__BODY_EXEC:
		return sizeof(uint64_t) + exec_size(req->exec->exec);
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		*n_items = (uint32_t)req->release->n_reservation_ids;
		return req->release->n_reservation_ids * sizeof(uint64_t);
	case PIDRESTORE__REQUEST__BODY_KILL:
		*n_items = (uint32_t)req->kill->n_ids;
		return req->kill->n_ids * sizeof(uint64_t);
	case PIDRESTORE__REQUEST__BODY_POLICY:
		return req->policy->check ? sizeof(struct priv_process) : 0;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL: {
		size_t size = sizeof(uint64_t);

		*n_items = (uint32_t)req->tree_claim_all->n_claims;
		for (size_t i = 0; i < req->tree_claim_all->n_claims; i++)
			size += sizeof(int32_t) + sizeof(uint32_t) + claim_size(req->tree_claim_all->claims[i]);
		return size;
	}
	default:
		return 0;
	}
}

bool privmsg_has_record(const Pidrestore__Request *req)
{
	return req->body_case <= PIDRESTORE__REQUEST__BODY_KILL || req->body_case == PIDRESTORE__REQUEST__BODY_TREE_LIST ||
	       req->body_case == PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL;
}

size_t privmsg_request_size(const Pidrestore__Request *req)
{
	uint32_t n_items;

	return sizeof(struct priv_request) + body_size(req, &n_items);
}

static uint8_t *put(uint8_t *at, const void *p, size_t n)
{
	if (n > 0)
		memcpy(at, p, n);
	return at + n;
}

static uint8_t *put_process(uint8_t *at, const Pidrestore__ProcessSpec *spec)
{
	struct priv_process p = { .pidns_fd_index = -1 };

	if (spec->has_pidns_fd_index) {
		p.flags |= PRIV_PROC_PIDNS_FD;
		p.pidns_fd_index = spec->pidns_fd_index;
	}
	if (spec->has_new_pidns && spec->new_pidns)
		p.flags |= PRIV_PROC_NEW_PIDNS;
	p.n_pids = (uint32_t)spec->n_pids;
	for (size_t i = 0; i < spec->n_pids && i < PR_MAX_LEVELS; i++)
		p.pids[i] = spec->pids[i];
	return put(at, &p, sizeof(p));
}

static uint8_t *put_strings(uint8_t *at, const ProtobufCBinaryData *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t len = (uint32_t)v[i].len;

		at = put(at, &len, sizeof(len));
		at = put(at, v[i].data, v[i].len);
	}
	return at;
}

static uint8_t *put_fd_maps(uint8_t *at, Pidrestore__FdMapping *const *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct priv_fd_map m = { .fd_index = fds[i]->fd_index, .target = fds[i]->target };

		at = put(at, &m, sizeof(m));
	}
	return at;
}

static uint8_t *put_exec(uint8_t *at, const Pidrestore__ExecSpec *e)
{
	struct priv_exec x = { .program_fd_index = -1, .cwd_fd_index = -1 };

	if (e->has_path) {
		x.flags |= PRIV_EXEC_PATH;
		x.path_len = (uint32_t)e->path.len;
	}
	if (e->has_program_fd_index) {
		x.flags |= PRIV_EXEC_PROGRAM_FD;
		x.program_fd_index = e->program_fd_index;
	}
	if (e->has_cwd_fd_index) {
		x.flags |= PRIV_EXEC_CWD_FD;
		x.cwd_fd_index = e->cwd_fd_index;
	}
	x.n_fds = (uint32_t)e->n_fds;
	x.argc = (uint32_t)e->n_argv;
	x.envc = (uint32_t)e->n_envp;
	at = put(at, &x, sizeof(x));
	at = put_fd_maps(at, e->fds, e->n_fds);
	if (e->has_path)
		at = put(at, e->path.data, e->path.len);
	at = put_strings(at, e->argv, e->n_argv);
	return put_strings(at, e->envp, e->n_envp);
}

size_t privmsg_blob_size(const Pidrestore__TreeBlob *blob)
{
	return sizeof(struct priv_tree_blob) + blob->n_fds * sizeof(struct priv_fd_map);
}

uint8_t *privmsg_put_blob(uint8_t *at, uint64_t tree_id, int32_t node, const Pidrestore__TreeBlob *blob)
{
	struct priv_tree_blob rec = { .tree_id = tree_id, .node = node, .memfd_index = blob->memfd_index,
				      .address = blob->address, .entry = blob->entry, .n_fds = (uint32_t)blob->n_fds };

	at = put(at, &rec, sizeof(rec));
	return put_fd_maps(at, blob->fds, blob->n_fds);
}

/* One claim of a claim-all: its node, how, then its exec or its blob. */
static uint8_t *put_claim(uint8_t *at, uint64_t tree_id, const Pidrestore__TreeClaimRequest *claim)
{
	uint32_t how = claim->how_case == PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB ? PRIV_CLAIM_BLOB : PRIV_CLAIM_EXEC;

	at = put(at, &claim->node, sizeof(int32_t));
	at = put(at, &how, sizeof(how));
	if (how == PRIV_CLAIM_EXEC)
		return put_exec(at, claim->exec);
	return privmsg_put_blob(at, tree_id, claim->node, claim->blob);
}

void privmsg_client_name(const char *name, char *buf, size_t len)
{
	size_t at = 0, i;

	for (i = 0; name && name[i]; i++) {
		unsigned char ch = (unsigned char)name[i];
		bool plain = ch >= 0x20 && ch < 0x7f && ch != '\\';

		/* Room for this byte, a "..." and the NUL. */
		if (at + (plain ? 1 : 4) + 4 > len)
			break;
		if (plain)
			buf[at++] = (char)ch;
		else
			at += (size_t)snprintf(buf + at, len - at, "\\x%02x", ch);
	}
	if (name && name[i]) {
		memcpy(&buf[at], "...", 3);
		at += 3;
	}
	buf[at] = '\0';
}

long privmsg_pack_request(const Pidrestore__Request *req, size_t n_fds, uint8_t *buf, size_t cap)
{
	/* Types with no record here (a tree's single claim) are refused by
	 * priv as unknown; a tree itself and its release go as tree-front.c
	 * makes them. */
	uint32_t body = privmsg_has_record(req) ? (uint32_t)req->body_case : PRIV_BODY_NONE;
	struct priv_request r = { .id = req->id, .body = body, .n_fds = (uint32_t)n_fds };
	size_t len = body_size(req, &r.n_items);
	uint8_t *at = buf;

	if (sizeof(r) + len > cap || len > UINT32_MAX)
		return -EMSGSIZE;
	r.len = (uint32_t)len;
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		if (req->reserve->has_ttl_sec) {
			r.flags |= PRIV_REQ_HAS_ARG;
			r.arg = req->reserve->ttl_sec;
		}
		break;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		if (req->release->has_all && req->release->all)
			r.flags |= PRIV_REQ_ALL;
		if (req->release->has_uid) {
			r.flags |= PRIV_REQ_HAS_ARG;
			r.arg = req->release->uid;
		}
		break;
	case PIDRESTORE__REQUEST__BODY_LIST:
		if (req->list->has_all && req->list->all)
			r.flags |= PRIV_REQ_ALL;
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_LIST:
		if (req->tree_list->has_nodes && req->tree_list->nodes)
			r.flags |= PRIV_REQ_ALL;
		break;
	case PIDRESTORE__REQUEST__BODY_KILL:
		if (req->kill->has_signal) {
			r.flags |= PRIV_REQ_HAS_ARG;
			r.arg = (uint32_t)req->kill->signal;
		}
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		if (req->policy->check) {
			r.flags |= PRIV_REQ_CHECK;
			if (req->policy->check->has_uid) {
				r.flags |= PRIV_REQ_HAS_ARG;
				r.arg = req->policy->check->uid;
			}
		}
		break;
	default:
		break;
	}
	at = put(at, &r, sizeof(r));
	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_HELLO: {
		struct priv_hello hello = { .min_version = req->hello->min_version, .max_version = req->hello->max_version };

		privmsg_client_name(req->hello->client, hello.client, sizeof(hello.client));
		at = put(at, &hello, sizeof(hello));
		break;
	}
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		at = put_process(at, req->spawn->process);
		at = put_exec(at, req->spawn->exec);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		for (size_t i = 0; i < req->reserve->n_processes; i++)
			at = put_process(at, req->reserve->processes[i]);
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		at = put(at, &req->exec->reservation_id, sizeof(uint64_t));
		at = put_exec(at, req->exec->exec);
		break;
	case PIDRESTORE__REQUEST__BODY_RELEASE:
		at = put(at, req->release->reservation_ids, req->release->n_reservation_ids * sizeof(uint64_t));
		break;
	case PIDRESTORE__REQUEST__BODY_KILL:
		at = put(at, req->kill->ids, req->kill->n_ids * sizeof(uint64_t));
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		if (req->policy->check)
			at = put_process(at, req->policy->check->process);
		break;
	case PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL:
		at = put(at, &req->tree_claim_all->tree_id, sizeof(uint64_t));
		for (size_t i = 0; i < req->tree_claim_all->n_claims; i++)
			at = put_claim(at, req->tree_claim_all->tree_id, req->tree_claim_all->claims[i]);
		break;
	default:
		break;
	}
	return (long)(at - buf);
}

/* ------------------------------------------------------------ unpacking */

/* What a request is built in: chunks freed together. */
struct privmsg_chunk {
	struct privmsg_chunk *next;
	max_align_t mem[];
};

static void *chunk_alloc(struct privmsg_request *r, size_t size)
{
	struct privmsg_chunk *c = calloc(1, sizeof(*c) + size);

	if (!c)
		return NULL;
	c->next = r->chunks;
	r->chunks = c;
	return c->mem;
}

/* n elements of size bytes, refused before any allocation when the record
 * could not hold n of something at least min_bytes long: a count in a
 * record never makes priv allocate more than the record's size allows. */
static void *chunk_array(struct privmsg_request *r, size_t n, size_t size, size_t min_bytes, size_t left)
{
	if (n > left / min_bytes)
		return NULL;
	return chunk_alloc(r, n * size + 1);
}

struct reader {
	const uint8_t *at, *end;
	struct why *why;
};

static int fault(struct reader *rd, const char *what)
{
	return why_set(rd->why, EPROTO, "the daemon's front sent a malformed request record (%s); this is a bug in pidrestored, not in the client",
		       what);
}

static int take(struct reader *rd, void *out, size_t n, const char *what)
{
	if ((size_t)(rd->end - rd->at) < n)
		return fault(rd, what);
	memcpy(out, rd->at, n);
	rd->at += n;
	return 0;
}

static size_t left(const struct reader *rd)
{
	return (size_t)(rd->end - rd->at);
}

static int take_process(struct privmsg_request *r, struct reader *rd, Pidrestore__ProcessSpec **ret)
{
	Pidrestore__ProcessSpec *spec = chunk_alloc(r, sizeof(*spec));
	struct priv_process p;
	int ret_r;

	if (!spec)
		return why_set(rd->why, ENOMEM, "out of memory");
	ret_r = take(rd, &p, sizeof(p), "process record cut short");
	if (ret_r < 0)
		return ret_r;
	if (p.n_pids > PR_MAX_LEVELS || (p.flags & ~(uint32_t)(PRIV_PROC_PIDNS_FD | PRIV_PROC_NEW_PIDNS)))
		return fault(rd, "process record out of range");
	pidrestore__process_spec__init(spec);
	spec->pids = chunk_alloc(r, (p.n_pids + 1) * sizeof(int32_t));
	if (!spec->pids)
		return why_set(rd->why, ENOMEM, "out of memory");
	spec->n_pids = p.n_pids;
	memcpy(spec->pids, p.pids, p.n_pids * sizeof(int32_t));
	if (p.flags & PRIV_PROC_PIDNS_FD) {
		spec->has_pidns_fd_index = 1;
		spec->pidns_fd_index = p.pidns_fd_index;
	}
	if (p.flags & PRIV_PROC_NEW_PIDNS) {
		spec->has_new_pidns = 1;
		spec->new_pidns = 1;
	}
	*ret = spec;
	return 0;
}

static int take_strings(struct privmsg_request *r, struct reader *rd, size_t n, ProtobufCBinaryData **ret)
{
	ProtobufCBinaryData *v = chunk_array(r, n, sizeof(*v), sizeof(uint32_t), left(rd));

	if (!v)
		return n > left(rd) / sizeof(uint32_t) ? fault(rd, "more strings than bytes") :
							 why_set(rd->why, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		uint32_t len = 0;
		int err = take(rd, &len, sizeof(len), "string length cut short");

		if (err < 0)
			return err;
		if (len > left(rd))
			return fault(rd, "string longer than the record");
		v[i].len = len;
		v[i].data = (uint8_t *)rd->at;
		rd->at += len;
	}
	*ret = v;
	return 0;
}

/* n struct priv_fd_map as FdMappings. */
static int take_fd_maps(struct privmsg_request *r, struct reader *rd, size_t n, Pidrestore__FdMapping ***ret)
{
	Pidrestore__FdMapping **ptrs = chunk_array(r, n, sizeof(*ptrs) + sizeof(Pidrestore__FdMapping),
						   sizeof(struct priv_fd_map), left(rd));
	Pidrestore__FdMapping *maps;

	if (!ptrs)
		return n > left(rd) / sizeof(struct priv_fd_map) ? fault(rd, "more fd maps than bytes") :
								   why_set(rd->why, ENOMEM, "out of memory");
	/* The mappings themselves sit right after the pointers. */
	maps = (Pidrestore__FdMapping *)(ptrs + n);
	for (size_t i = 0; i < n; i++) {
		struct priv_fd_map m;
		int err = take(rd, &m, sizeof(m), "fd map cut short");

		if (err < 0)
			return err;
		pidrestore__fd_mapping__init(&maps[i]);
		maps[i].fd_index = m.fd_index;
		maps[i].target = m.target;
		ptrs[i] = &maps[i];
	}
	*ret = ptrs;
	return 0;
}

static int take_exec(struct privmsg_request *r, struct reader *rd, Pidrestore__ExecSpec **ret)
{
	Pidrestore__ExecSpec *e = chunk_alloc(r, sizeof(*e));
	struct priv_exec x;
	int err;

	if (!e)
		return why_set(rd->why, ENOMEM, "out of memory");
	err = take(rd, &x, sizeof(x), "exec record cut short");
	if (err < 0)
		return err;
	if (x.flags & ~(uint32_t)(PRIV_EXEC_PATH | PRIV_EXEC_PROGRAM_FD | PRIV_EXEC_CWD_FD))
		return fault(rd, "unknown exec flags");
	pidrestore__exec_spec__init(e);
	err = take_fd_maps(r, rd, x.n_fds, &e->fds);
	if (err < 0)
		return err;
	e->n_fds = x.n_fds;
	if (x.flags & PRIV_EXEC_PATH) {
		if (x.path_len > left(rd))
			return fault(rd, "path longer than the record");
		e->has_path = 1;
		e->path.len = x.path_len;
		e->path.data = (uint8_t *)rd->at;
		rd->at += x.path_len;
	}
	if (x.flags & PRIV_EXEC_PROGRAM_FD) {
		e->has_program_fd_index = 1;
		e->program_fd_index = x.program_fd_index;
	}
	if (x.flags & PRIV_EXEC_CWD_FD) {
		e->has_cwd_fd_index = 1;
		e->cwd_fd_index = x.cwd_fd_index;
	}
	err = take_strings(r, rd, x.argc, &e->argv);
	if (err < 0)
		return err;
	e->n_argv = x.argc;
	err = take_strings(r, rd, x.envc, &e->envp);
	if (err < 0)
		return err;
	e->n_envp = x.envc;
	*ret = e;
	return 0;
}

static int take_ids(struct privmsg_request *r, struct reader *rd, size_t n, uint64_t **ret)
{
	uint64_t *ids = chunk_array(r, n, sizeof(uint64_t), sizeof(uint64_t), left(rd));

	if (!ids)
		return n > left(rd) / sizeof(uint64_t) ? fault(rd, "more ids than bytes") : why_set(rd->why, ENOMEM, "out of memory");
	return take(rd, (*ret = ids), n * sizeof(uint64_t), "ids cut short");
}

/* A blob claim of a claim-all, for the node the claim names. */
static int take_blob(struct privmsg_request *r, struct reader *rd, const Pidrestore__TreeClaimRequest *claim,
		     Pidrestore__TreeBlob **ret)
{
	Pidrestore__TreeBlob *b = chunk_alloc(r, sizeof(*b));
	struct priv_tree_blob rec;
	int err;

	if (!b)
		return why_set(rd->why, ENOMEM, "out of memory");
	err = take(rd, &rec, sizeof(rec), "blob record cut short");
	if (err < 0)
		return err;
	if (rec.node != claim->node || rec.tree_id != claim->tree_id)
		return fault(rd, "a blob record of another claim");
	pidrestore__tree_blob__init(b);
	b->memfd_index = rec.memfd_index;
	b->address = rec.address;
	b->entry = rec.entry;
	err = take_fd_maps(r, rd, rec.n_fds, &b->fds);
	if (err < 0)
		return err;
	b->n_fds = rec.n_fds;
	*ret = b;
	return 0;
}

/* A claim-all: its tree, then n claims, each a node, how, and its exec or
 * its blob. */
static int take_claims(struct privmsg_request *r, struct reader *rd, size_t n, Pidrestore__TreeClaimAllRequest *all)
{
	/* Every claim has at least its node and how. */
	size_t min_bytes = sizeof(int32_t) + sizeof(uint32_t);
	Pidrestore__TreeClaimRequest *claims;
	int err = take(rd, &all->tree_id, sizeof(uint64_t), "tree id cut short");

	if (err < 0)
		return err;
	all->claims = chunk_array(r, n, sizeof(void *), min_bytes, left(rd));
	claims = all->claims ? chunk_array(r, n, sizeof(*claims), min_bytes, left(rd)) : NULL;
	if (!claims)
		return n > left(rd) / min_bytes ? fault(rd, "more claims than bytes") : why_set(rd->why, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && err == 0; i++) {
		uint32_t how = 0;

		pidrestore__tree_claim_request__init(&claims[i]);
		claims[i].tree_id = all->tree_id;
		err = take(rd, &claims[i].node, sizeof(int32_t), "claim node cut short");
		if (err == 0)
			err = take(rd, &how, sizeof(how), "claim kind cut short");
		if (err == 0 && how == PRIV_CLAIM_EXEC) {
			claims[i].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC;
			err = take_exec(r, rd, &claims[i].exec);
		} else if (err == 0 && how == PRIV_CLAIM_BLOB) {
			claims[i].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
			err = take_blob(r, rd, &claims[i], &claims[i].blob);
		} else if (err == 0) {
			err = fault(rd, "unknown claim kind");
		}
		all->claims[i] = &claims[i];
	}
	all->n_claims = n;
	return err;
}

/* Each body in a message of its own type, every one allocated zeroed and
 * initialized, so that the handlers see what protobuf-c would have built. */
static int take_body(struct privmsg_request *r, struct reader *rd, const struct priv_request *pr, Pidrestore__Request *req)
{
	bool has_arg = pr->flags & PRIV_REQ_HAS_ARG, all = pr->flags & PRIV_REQ_ALL;
	int err = 0;

#define BODY(field, type, init)                                                      \
	do {                                                                         \
		if (!(req->field = chunk_alloc(r, sizeof(type))))                    \
			return why_set(rd->why, ENOMEM, "out of memory");            \
		init(req->field);                                                    \
	} while (0)

	req->body_case = (Pidrestore__Request__BodyCase)pr->body;
	switch (pr->body) {
	case PRIV_BODY_HELLO: {
		struct priv_hello h;

		BODY(hello, Pidrestore__Hello, pidrestore__hello__init);
		err = take(rd, &h, sizeof(h), "hello record cut short");
		if (err < 0)
			return err;
		h.client[sizeof(h.client) - 1] = '\0';
		req->hello->min_version = h.min_version;
		req->hello->max_version = h.max_version;
		if (!(req->hello->client = chunk_alloc(r, sizeof(h.client))))
			return why_set(rd->why, ENOMEM, "out of memory");
		memcpy(req->hello->client, h.client, sizeof(h.client));
		break;
	}
	case PRIV_BODY_SPAWN:
		BODY(spawn, Pidrestore__SpawnRequest, pidrestore__spawn_request__init);
		err = take_process(r, rd, &req->spawn->process);
		if (err == 0)
			err = take_exec(r, rd, &req->spawn->exec);
		break;
	case PRIV_BODY_RESERVE:
		BODY(reserve, Pidrestore__ReserveRequest, pidrestore__reserve_request__init);
		req->reserve->processes = chunk_array(r, pr->n_items, sizeof(void *), sizeof(struct priv_process), left(rd));
		if (!req->reserve->processes)
			return pr->n_items > left(rd) / sizeof(struct priv_process) ? fault(rd, "more processes than bytes") :
										     why_set(rd->why, ENOMEM, "out of memory");
		for (size_t i = 0; i < pr->n_items && err == 0; i++)
			err = take_process(r, rd, &req->reserve->processes[i]);
		req->reserve->n_processes = pr->n_items;
		req->reserve->has_ttl_sec = has_arg;
		req->reserve->ttl_sec = pr->arg;
		break;
	case PRIV_BODY_EXEC:
		BODY(exec, Pidrestore__ExecRequest, pidrestore__exec_request__init);
		err = take(rd, &req->exec->reservation_id, sizeof(uint64_t), "reservation id cut short");
		if (err == 0)
			err = take_exec(r, rd, &req->exec->exec);
		break;
	case PRIV_BODY_RELEASE:
		BODY(release, Pidrestore__ReleaseRequest, pidrestore__release_request__init);
		err = take_ids(r, rd, pr->n_items, &req->release->reservation_ids);
		req->release->n_reservation_ids = pr->n_items;
		req->release->has_all = all;
		req->release->all = all;
		req->release->has_uid = has_arg;
		req->release->uid = pr->arg;
		break;
	case PRIV_BODY_KILL:
		BODY(kill, Pidrestore__KillRequest, pidrestore__kill_request__init);
		err = take_ids(r, rd, pr->n_items, &req->kill->ids);
		req->kill->n_ids = pr->n_items;
		req->kill->has_signal = has_arg;
		req->kill->signal = (int32_t)pr->arg;
		break;
	case PRIV_BODY_LIST:
		BODY(list, Pidrestore__ListRequest, pidrestore__list_request__init);
		req->list->has_all = all;
		req->list->all = all;
		break;
	case PRIV_BODY_POLICY:
		BODY(policy, Pidrestore__PolicyRequest, pidrestore__policy_request__init);
		if (pr->flags & PRIV_REQ_CHECK) {
			if (!(req->policy->check = chunk_alloc(r, sizeof(Pidrestore__PolicyCheck))))
				return why_set(rd->why, ENOMEM, "out of memory");
			pidrestore__policy_check__init(req->policy->check);
			req->policy->check->has_uid = has_arg;
			req->policy->check->uid = pr->arg;
			err = take_process(r, rd, &req->policy->check->process);
		}
		break;
	case PRIV_BODY_TREE_CLAIM_ALL:
		BODY(tree_claim_all, Pidrestore__TreeClaimAllRequest, pidrestore__tree_claim_all_request__init);
		err = take_claims(r, rd, pr->n_items, req->tree_claim_all);
		break;
	case PRIV_BODY_TREE_LIST:
		BODY(tree_list, Pidrestore__TreeListRequest, pidrestore__tree_list_request__init);
		req->tree_list->has_nodes = all;
		req->tree_list->nodes = all;
		break;
	case PRIV_BODY_STATUS:
		BODY(status, Pidrestore__StatusRequest, pidrestore__status_request__init);
		break;
	case PRIV_BODY_RELOAD:
		BODY(reload, Pidrestore__ReloadRequest, pidrestore__reload_request__init);
		break;
	case PRIV_BODY_STATS:
		BODY(stats, Pidrestore__StatsRequest, pidrestore__stats_request__init);
		break;
	case PRIV_BODY_CHECK:
		BODY(check, Pidrestore__CheckRequest, pidrestore__check_request__init);
		break;
	case PRIV_BODY_NONE:
		/* A type front's protobuf did not know: the handlers refuse it. */
		break;
	default:
		return fault(rd, "unknown request type");
	}
#undef BODY
	return err;
}

int privmsg_unpack_request(const uint8_t *buf, size_t len, size_t n_fds, struct privmsg_request *ret, struct why *why)
{
	struct reader rd = { .at = buf, .end = buf + len, .why = why };
	struct priv_request pr;
	Pidrestore__Request *req;
	int r;

	*ret = (struct privmsg_request){ 0 };
	r = take(&rd, &pr, sizeof(pr), "request record cut short");
	if (r < 0)
		return r;
	if (!(req = chunk_alloc(ret, sizeof(*req))))
		return why_set(why, ENOMEM, "out of memory");
	pidrestore__request__init(req);
	req->id = pr.id;
	ret->req = req;
	if (pr.len != left(&rd))
		return fault(&rd, "body length does not match the packet");
	if (pr.n_fds != n_fds)
		return fault(&rd, "fd count does not match the packet");
	if (n_fds > 0) {
		req->has_fd_count = 1;
		req->fd_count = (uint32_t)n_fds;
	}
	r = take_body(ret, &rd, &pr, req);
	if (r < 0)
		return r;
	if (left(&rd) != 0)
		return fault(&rd, "bytes left over after the body");
	/* front checked all of this before; priv does not take its word. */
	return decode_validate(req, n_fds, why);
}

void privmsg_request_free(struct privmsg_request *r)
{
	while (r->chunks) {
		struct privmsg_chunk *next = r->chunks->next;

		free(r->chunks);
		r->chunks = next;
	}
	r->req = NULL;
}
