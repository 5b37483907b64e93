/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that only tell: hello, status, list, stats, policy, check. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-table.h"
#include "pidrestore.pb-c.h"

struct conn;

/* What status and stats tell of the daemon around them (server.c's). */
struct query_host {
	uint64_t start_usec;
	/* The kernel features the daemon uses, at most cap names. */
	size_t (*kernel_features)(const char **names, size_t cap);
	/* front's PID, or -1 once it is gone. */
	pid_t (*front_pid)(void);
};
void query_set_host(const struct query_host *host);

/* Each answers c's request id. */
void query_hello(struct conn *c, uint64_t id, const Pidrestore__Hello *hello);
void query_status(struct conn *c, uint64_t id);
void query_list(struct conn *c, uint64_t id, const Pidrestore__ListRequest *req);
void query_stats(struct conn *c, uint64_t id);
void query_policy(struct conn *c, uint64_t id, const Pidrestore__PolicyRequest *req, struct fd_table *fdt);
void query_check(struct conn *c, uint64_t id);
