/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Requests: decode -> validate -> authorize -> act -> reply (STYLE.md). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "create.h"
#include "policy.h"
#include "wire.h"

struct conn;

/* Handles the request record (priv-proto.h) front passed on for c, len
 * bytes at buf. Every fd in pkt is consumed: used by the request or closed. */
void request_handle(struct conn *c, const uint8_t *buf, size_t len, struct wire_packet *pkt);

/* Requests of c still waiting on a process answer nobody any more. */
void request_conn_closed(struct conn *c);

/* What the handlers need of the daemon around them (server.c). */
struct request_host {
	uint64_t start_usec;
	/* Reads the policy files again; on an error the policy in force
	 * stays and why says FILE:LINE: what is wrong. */
	int (*reload_policy)(struct why *why);
	/* The kernel features the daemon uses, at most cap names. */
	size_t (*kernel_features)(const char **names, size_t cap);
	/* front's PID, or -1 once it is gone. */
	pid_t (*front_pid)(void);
};
void request_set_host(const struct request_host *host);

/* struct request_limits and struct request_stats: create.h. */
void request_set_limits(const struct request_limits *limits);

/* The policy requests are decided by. */
void request_set_policy(const struct policy *policy);

void request_get_stats(struct request_stats *ret);
