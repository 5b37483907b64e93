/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "decode.h"
#include "fd-table.h"

int fd_table_take(struct fd_table *t, int32_t index, const char *what, int *fd, struct why *why)
{
	int r = decode_fd_index(index, t->pkt->n_fds, t->used, what, why);

	if (r < 0)
		return r;
	t->n_used++;
	*fd = t->pkt->fds[index];
	return 0;
}

int fd_table_check_all_used(const struct fd_table *t, struct why *why)
{
	if (t->n_used != t->pkt->n_fds)
		return why_set(why, EPROTO, "the request carries %zu fds but its fields use only %zu; send exactly the fds the request names",
			       t->pkt->n_fds, t->n_used);
	return 0;
}
