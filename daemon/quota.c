/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "quota.h"

#define USEC_PER_SEC 1000000ull
#define N_BUCKETS 256

/* A user's record: it exists while the user has an outstanding reservation
 * or an open connection, or from its first creation under a rate limit on. */
struct quota_user {
	struct quota_user *next;
	uid_t uid;
	unsigned int outstanding;
	unsigned int connections;
	struct quota_bucket spawns;
};

static struct quota_user *buckets[N_BUCKETS];

static struct quota_user **slot_of(uid_t uid)
{
	struct quota_user **at = &buckets[(uid ^ (uid >> 8) ^ (uid >> 16)) % N_BUCKETS];

	while (*at && (*at)->uid != uid)
		at = &(*at)->next;
	return at;
}

static struct quota_user *user_get(uid_t uid, bool create)
{
	struct quota_user **at = slot_of(uid);

	if (!*at && create) {
		*at = calloc(1, sizeof(**at));
		if (*at)
			(*at)->uid = uid;
	}
	return *at;
}

/* Adds back what the budget earned since it was last filled, up to full. */
static void bucket_refill(struct quota_bucket *b, uint32_t per_second, uint64_t now)
{
	uint64_t full = (uint64_t)per_second * USEC_PER_SEC;

	if (b->rate != per_second) {
		/* A new bucket, or a reload changed the limit: start full. */
		b->rate = per_second;
		b->budget = full;
	} else if (now > b->filled_usec) {
		uint64_t elapsed = now - b->filled_usec;

		b->budget = elapsed >= USEC_PER_SEC ? full : b->budget + elapsed * per_second;
		if (b->budget > full)
			b->budget = full;
	}
	b->filled_usec = now;
}

int quota_bucket_take(struct quota_bucket *b, uint32_t per_second, size_t n, uint64_t now, uint64_t *retry_usec)
{
	uint64_t need = (uint64_t)n * USEC_PER_SEC;

	*retry_usec = 0;
	if (n > per_second)
		return -E2BIG;
	bucket_refill(b, per_second, now);
	if (b->budget < need) {
		*retry_usec = (need - b->budget + per_second - 1) / per_second;
		return -EAGAIN;
	}
	b->budget -= need;
	return 0;
}

/* Drops u once nothing is counted in it. A user with a rate limit keeps its
 * record: those are only the users the policy names with SpawnsPerSecond=,
 * so they stay few. */
static void user_drop_if_unused(struct quota_user *u)
{
	struct quota_user **at;

	if (u->outstanding > 0 || u->connections > 0 || u->spawns.rate != 0)
		return;
	at = slot_of(u->uid);
	*at = u->next;
	free(u);
}

/* Adds delta to *count, never below 0. */
static void count_add(unsigned int *count, int delta)
{
	if (delta < 0 && *count < (unsigned int)-delta)
		*count = 0;
	else
		*count = (unsigned int)((int)*count + delta);
}

void quota_add_outstanding(uid_t uid, int delta)
{
	struct quota_user *u = user_get(uid, delta > 0);

	if (!u)
		return;
	count_add(&u->outstanding, delta);
	user_drop_if_unused(u);
}

unsigned int quota_outstanding(uid_t uid)
{
	struct quota_user *u = user_get(uid, false);

	return u ? u->outstanding : 0;
}

int quota_take_spawns(uid_t uid, uint32_t per_second, size_t n, uint64_t now, uint64_t *retry_usec)
{
	struct quota_user *u;

	*retry_usec = 0;
	if (n > per_second)
		return -E2BIG;
	u = user_get(uid, true);
	if (!u)
		return -ENOMEM;
	return quota_bucket_take(&u->spawns, per_second, n, now, retry_usec);
}

int quota_add_connection(uid_t uid, int delta)
{
	struct quota_user *u = user_get(uid, delta > 0);

	if (!u)
		return delta > 0 ? -ENOMEM : 0;
	count_add(&u->connections, delta);
	user_drop_if_unused(u);
	return 0;
}

unsigned int quota_connections(uid_t uid)
{
	struct quota_user *u = user_get(uid, false);

	return u ? u->connections : 0;
}

void quota_reset(void)
{
	for (size_t i = 0; i < N_BUCKETS; i++)
		while (buckets[i]) {
			struct quota_user *u = buckets[i];

			buckets[i] = u->next;
			free(u);
		}
}
