/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* front's share of a tree request: from a decoded pidrestore.TreeRequest to
 * the record priv takes (priv-proto.h, PRIV_BODY_TREE) — the request as
 * plain data (tree-request.h), its rules (tree-rules.h), its plan
 * (tree-plan.h) and the plan's records (tree-encode.h) — or the refusal,
 * which names the node and level. No fds and no state: fuzzed with the
 * decoder (tests/fuzz/fuzz-request.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pidrestore.pb-c.h"
#include "tree-request.h"

/* The lowest PID the daemon picks for itself in a tree (TREES §5.3): above
 * the kernel's reserved PIDs (RESERVED_PIDS, 300) and the usual policy
 * floor of system services. priv applies the policy to picked PIDs as to
 * requested ones. */
#define TREE_PICK_FLOOR 1000

/* Builds the PRIV_MSG_REQUEST body for req, a tree's request that
 * decode_request() accepted with n_fds fds: for a TreeRequest a
 * priv_request and the plan, for a TreeReleaseRequest one and the tree's
 * id. Returns its length with *ret a new buffer (free() it), or -errno with
 * f saying which node and level and why (-EOPNOTSUPP: a request on trees
 * priv has no record for). */
long tree_front_record(const Pidrestore__Request *req, size_t n_fds, uint8_t **ret, struct tree_fault *f);

/* Packs the error response to tree request id into buf (cap bytes):
 * Response.error and .message from f, and TreeReply.error_node and
 * .error_level. Returns its length, or 0 if it does not fit. */
size_t tree_front_error(uint64_t id, const struct tree_fault *f, uint8_t *buf, size_t cap);
