/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fds a request carried, and which of them its fields used. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

/* The fds a packet carried, and which the request's fields used. Every fd
 * is closed by request_handle() whatever happens: handlers only borrow. */
struct fd_table {
	struct wire_packet *pkt;
	bool used[WIRE_MAX_FDS];
	size_t n_used;
};

/* Sets *fd to the fd at index, for what (named in why's refusal): each
 * index once. The fd stays the table's. */
int fd_table_take(struct fd_table *t, int32_t index, const char *what, int *fd, struct why *why);

/* Refuses a request that carried fds its fields do not name. */
int fd_table_check_all_used(const struct fd_table *t, struct why *why);
