/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that create processes: spawn, reserve, exec (claim). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fd-table.h"
#include "pidrestore.pb-c.h"
#include "privmsg.h"
#include "proc.h"

struct conn;
struct peer;

struct request_limits {
	unsigned int max_reservations;          /* over all connections; 0: none */
	unsigned int max_reservations_per_conn; /* 0: none */
	unsigned int max_ttl_sec;               /* cap on a reservation's TTL; 0: none */
};
void create_set_limits(const struct request_limits *limits);

struct request_stats {
	uint64_t spawns_total;
	uint64_t reservations_total;
};
void create_get_stats(struct request_stats *ret);

/* Each answers c's request id, now or once its processes report. */
void create_spawn(struct conn *c, uint64_t id, const Pidrestore__SpawnRequest *req, struct fd_table *fdt);
void create_exec(struct conn *c, uint64_t id, const Pidrestore__ExecRequest *req, struct fd_table *fdt);

/* Returns true when it took over record and the packet's fds (then it
 * answers later, or has answered). */
bool create_reserve(struct conn *c, struct privmsg_request *record, struct fd_table *fdt);

/* An ExecSpec as the command a holder runs; its fds are fdt's. */
struct exec_parsed {
	struct exec_cmd cmd;
	int fds[WIRE_MAX_FDS];
	int targets[WIRE_MAX_FDS];
	ProtobufCBinaryData argv0;
	char describe[128];          /* "/bin/true", for messages */
};
int create_exec_parse(struct conn *c, const Pidrestore__ExecSpec *spec, struct fd_table *fdt, struct exec_parsed *e,
		      struct why *why);

/* Whether c's requester may claim p now: its owner, with the reserver's
 * context and seccomp filters, and p parked. Returns 0 or -errno with why. */
int create_claimable(struct conn *c, const struct proc *p, struct why *why);
/* Its seccomp part alone: p's holder runs what the claim brings under the
 * filters it installed, which must be the claimer's own as they are now. */
int create_claim_filters_check(struct conn *c, const struct proc *p, struct why *why);
