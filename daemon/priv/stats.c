/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "stats.h"

/* Outcomes are counted per errno value; anything above is lumped in the
 * last slot (the daemon only ever answers with small ones). */
#define STATS_MAX_ERRNO 160

static const char *const type_names[STATS_N_TYPES] = {
	[STATS_INVALID] = "invalid", [STATS_HELLO] = "hello", [STATS_SPAWN] = "spawn",
	[STATS_RESERVE] = "reserve", [STATS_EXEC] = "exec", [STATS_RELEASE] = "release",
	[STATS_STATUS] = "status", [STATS_RELOAD] = "reload", [STATS_POLICY] = "policy",
	[STATS_LIST] = "list", [STATS_STATS] = "stats", [STATS_CHECK] = "check",
	[STATS_KILL] = "kill",
	[STATS_TREE] = "tree",
};

static uint64_t counts[STATS_N_TYPES][STATS_MAX_ERRNO + 1];
/* Only spawn and reserve are timed; their histograms are 8 KiB each. */
static struct histogram latency_spawn, latency_reserve;

const char *stats_type_name(enum stats_type type)
{
	return type < STATS_N_TYPES ? type_names[type] : "invalid";
}

void stats_count(enum stats_type type, int err, uint64_t latency_usec)
{
	if (type >= STATS_N_TYPES)
		type = STATS_INVALID;
	if (err < 0 || err > STATS_MAX_ERRNO)
		err = STATS_MAX_ERRNO;
	counts[type][err]++;
	if (err != 0)
		return;
	if (type == STATS_SPAWN)
		histogram_add(&latency_spawn, latency_usec);
	else if (type == STATS_RESERVE)
		histogram_add(&latency_reserve, latency_usec);
}

void stats_foreach_count(void (*fn)(enum stats_type type, int err, uint64_t count, void *data), void *data)
{
	for (int t = 0; t < STATS_N_TYPES; t++)
		for (int e = 0; e <= STATS_MAX_ERRNO; e++)
			if (counts[t][e])
				fn((enum stats_type)t, e, counts[t][e], data);
}

const struct histogram *stats_latency(enum stats_type type)
{
	if (type == STATS_SPAWN)
		return &latency_spawn;
	if (type == STATS_RESERVE)
		return &latency_reserve;
	return NULL;
}
