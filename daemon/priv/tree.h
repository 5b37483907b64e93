/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Process trees (TREES.md): a plan front compiled is checked, authorized
 * and built by a builder holder, all or nothing; the built tree is held
 * until its nodes are claimed, released, or its connection goes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

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

/* The connection is going: its trees' unclaimed nodes are killed, builds
 * in progress rolled back without an answer. */
void tree_conn_closed(struct conn *c);

/* The control channel of node of tree_id, a parked node of a tree c
 * owns, for an exec claim; the tree forgets it (the claim owns it now).
 * Returns the fd and the node's pidfd (a dup) in *pidfd, or -errno with
 * why. *threads is how many threads the exec will end. */
int tree_claim_take(struct conn *c, uint64_t tree_id, int node, int *pidfd, unsigned int *threads, struct why *why);

/* Daemon stop: every held tree's unclaimed nodes are killed. */
void tree_shutdown(void);
