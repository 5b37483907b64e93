/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "answer.h"
#include "conn.h"

/* The request being answered, for the statistics: set while a request is
 * handled, and while a pending one is finished. */
static struct {
	enum stats_type type;
	uint64_t start_usec;
} answering = { STATS_INVALID, 0 };

void answer_set(enum stats_type type, uint64_t start_usec)
{
	answering.type = type;
	answering.start_usec = start_usec;
}

void answer_set_type(enum stats_type type)
{
	answering.type = type;
}

void answer_get(enum stats_type *type, uint64_t *start_usec)
{
	*type = answering.type;
	*start_usec = answering.start_usec;
}

void answer_count(int err)
{
	stats_count(answering.type, err, answering.start_usec ? now_usec() - answering.start_usec : 0);
}

int answer_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds)
{
	answer_count(0);
	return conn_respond(c, id, resp, fds, n_fds);
}

int answer_error(struct conn *c, uint64_t id, const struct why *why)
{
	answer_count(why->err);
	return conn_respond_error(c, id, why);
}
