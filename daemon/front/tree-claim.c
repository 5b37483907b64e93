/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "priv-proto.h"
#include "privmsg.h"
#include "tree-claim.h"

long tree_claim_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f)
{
	const Pidrestore__TreeClaimRequest *claim = req->tree_claim;
	struct priv_request pr = { .id = req->id, .body = PRIV_BODY_TREE_CLAIM, .n_fds = (uint32_t)n_fds };
	size_t len;
	uint8_t *buf;

	f->node = claim->node;
	if (claim->how_case != PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB)
		return tree_fault_set(f, claim->node, -1, EOPNOTSUPP, "a tree node is claimed by exec with an Exec request naming its reservation_id (TreeNodeInfo.reservation_id), or by a blob here");
	pr.len = (uint32_t)privmsg_blob_size(claim->blob);
	len = sizeof(pr) + pr.len;
	buf = malloc(len);
	if (!buf)
		return tree_fault_set(f, claim->node, -1, ENOMEM, "the daemon is out of memory");
	memcpy(buf, &pr, sizeof(pr));
	privmsg_put_blob(buf + sizeof(pr), claim->tree_id, claim->node, claim->blob);
	*ret = buf;
	return (long)len;
}
