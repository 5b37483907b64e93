/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the daemon has done since it started, for `pidrestorectl stats`:
 * requests by type and outcome, and how long spawn and reserve took. */
#pragma once

#include <stdint.h>

#include "histogram.h"

enum stats_type {
	STATS_INVALID,            /* not decodable, or of no known type */
	STATS_HELLO,
	STATS_SPAWN,
	STATS_RESERVE,
	STATS_EXEC,
	STATS_RELEASE,
	STATS_STATUS,
	STATS_RELOAD,
	STATS_POLICY,
	STATS_LIST,
	STATS_STATS,
	STATS_CHECK,
	STATS_KILL,
	STATS_TREE,               /* a tree built, released (its parts count once) */
	STATS_N_TYPES,
};

const char *stats_type_name(enum stats_type type);

/* One answered request: err is 0 or a positive errno value; latency_usec
 * is from its arrival to its answer. */
void stats_count(enum stats_type type, int err, uint64_t latency_usec);

/* Calls fn for each (type, outcome) seen, in type then errno order. */
void stats_foreach_count(void (*fn)(enum stats_type type, int err, uint64_t count, void *data), void *data);

/* The latencies of the successful requests of a type. */
const struct histogram *stats_latency(enum stats_type type);
