/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process trees (TREES.md): a plan front compiled is checked, authorized
 * and built by a builder holder, all or nothing; the built tree is held
 * until its nodes are claimed, released, or its connection goes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pidrestore.pb-c.h"

struct conn;
struct event_base;
struct fd_table;

int tree_init(struct event_base *base);

/* Builds the tree of plan (len bytes, from front's record) for c's
 * request id, answering it once built or rolled back. The plan is
 * copied; fdt's fds stay the table's. */
void tree_request(struct conn *c, uint64_t id, const uint8_t *plan, size_t len, struct fd_table *fdt);

/* Kills the unclaimed nodes of c's tree tree_id and answers id. */
void tree_release(struct conn *c, uint64_t id, uint64_t tree_id);

/* Lists the held trees of c's user (root: everyone's), with every node
 * when req asks. */
void tree_list(struct conn *c, uint64_t id, const Pidrestore__TreeListRequest *req);

/* Claims every listed live node of a tree by exec, all checked before
 * any is told (tree-claim-all.c); answers once every exec reported. */
void tree_claim_all(struct conn *c, uint64_t id, const Pidrestore__TreeClaimAllRequest *req, struct fd_table *fdt);

/* The connection is going: its trees' unclaimed nodes are killed, builds
 * in progress rolled back without an answer. */
void tree_conn_closed(struct conn *c);

/* The threads (besides the main one) of the held tree node that is
 * reservation_id; 0 when it is none. */
unsigned int tree_reservation_threads(uint64_t reservation_id);

/* tree-claim.c: a blob claim (priv-proto.h PRIV_BODY_TREE_CLAIM, body of
 * len bytes) of c for request id; answered once the node entered the blob
 * or failed to. fdt's fds stay the table's. */
void tree_claim_blob(struct conn *c, uint64_t id, const uint8_t *body, size_t len, struct fd_table *fdt);

/* Daemon stop: every held tree's unclaimed nodes are killed. */
void tree_shutdown(void);
