/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Answering a request: the reply, and its count in the statistics. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "pidrestore.pb-c.h"
#include "stats.h"
#include "util.h"

struct conn;

/* The request being answered, for the statistics: set while a request is
 * handled, and again while one that waited is finished; type
 * STATS_INVALID and start_usec 0 once it is answered. */
void answer_set(enum stats_type type, uint64_t start_usec);
void answer_set_type(enum stats_type type);
void answer_get(enum stats_type *type, uint64_t *start_usec);

/* Counts the request being answered, with err (0: answered). */
void answer_count(int err);

/* Counts, then sends resp (with n_fds fds, which stay the caller's) or an
 * error that says why; as conn_respond() and conn_respond_error(). */
int answer_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds);
int answer_error(struct conn *c, uint64_t id, const struct why *why);
