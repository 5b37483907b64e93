/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "priv-proto.h"
#include "tree-claim.h"

long tree_claim_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f)
{
	const Pidrestore__TreeClaimRequest *claim = req->tree_claim;
	const Pidrestore__TreeBlob *blob = claim->blob;
	struct priv_request pr = { .id = req->id, .body = PRIV_BODY_TREE_CLAIM, .n_fds = (uint32_t)n_fds };
	struct priv_tree_blob rec = { 0 };
	size_t len;
	uint8_t *buf, *at;

	f->node = claim->node;
	if (claim->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB)
		return tree_fault_set(f, claim->node, -1, EOPNOTSUPP, "a tree node is claimed by exec with an Exec request naming its reservation_id (TreeNodeInfo.reservation_id), or by a blob here");
	rec.tree_id = claim->tree_id;
	rec.node = claim->node;
	rec.memfd_index = blob->memfd_index;
	rec.address = blob->address;
	rec.entry = blob->entry;
	rec.n_fds = (uint32_t)blob->n_fds;
	pr.len = (uint32_t)(sizeof(rec) + blob->n_fds * sizeof(struct priv_fd_map));
	len = sizeof(pr) + pr.len;
	buf = malloc(len);
	if (!buf)
		return tree_fault_set(f, claim->node, -1, ENOMEM, "the daemon is out of memory");
	memcpy(buf, &pr, sizeof(pr));
	memcpy(buf + sizeof(pr), &rec, sizeof(rec));
	at = buf + sizeof(pr) + sizeof(rec);
	for (size_t i = 0; i < blob->n_fds; i++) {
		struct priv_fd_map m = { .fd_index = blob->fds[i]->fd_index, .target = blob->fds[i]->target };

		memcpy(at, &m, sizeof(m));
		at += sizeof(m);
	}
	*ret = buf;
	return (long)len;
}
