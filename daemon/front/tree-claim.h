/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* front's share of a tree node's claim: a TreeClaimRequest with a blob,
 * as decode_request() accepted it, becomes the fixed-layout record priv
 * takes (priv-proto.h PRIV_BODY_TREE_CLAIM). A claim by exec is an
 * ExecRequest on the node's reservation id. */
#pragma once

#include <stddef.h>

#include "pidrestore.pb-c.h"
#include "tree-request.h"

/* Returns the record's length with *ret a new buffer (free() it), or
 * -errno with f saying why. */
long tree_claim_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f);
