#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "quota.h"

#define USEC_PER_SEC 1000000ull
#define N_BUCKETS 256

/* A user's record: it exists while the user has an outstanding reservation,
 * or from its first creation under a rate limit on. */
struct quota_user {
	struct quota_user *next;
	uid_t uid;
	unsigned int outstanding;
	/* The rate budget in millionths of a creation: full is per_second *
	 * 1e6, and every microsecond adds per_second of them back. */
	uint64_t budget;
	uint32_t budget_rate;     /* per_second the budget was last filled at */
	uint64_t budget_usec;     /* when it was last filled */
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
static void budget_refill(struct quota_user *u, uint32_t per_second, uint64_t now)
{
	uint64_t full = (uint64_t)per_second * USEC_PER_SEC;

	if (u->budget_rate != per_second) {
		/* A new record, or a reload changed the limit: start full. */
		u->budget_rate = per_second;
		u->budget = full;
	} else if (now > u->budget_usec) {
		uint64_t elapsed = now - u->budget_usec;

		u->budget = elapsed >= USEC_PER_SEC ? full : u->budget + elapsed * per_second;
		if (u->budget > full)
			u->budget = full;
	}
	u->budget_usec = now;
}

static void user_drop(struct quota_user *u)
{
	struct quota_user **at = slot_of(u->uid);

	*at = u->next;
	free(u);
}

void quota_add_outstanding(uid_t uid, int delta)
{
	struct quota_user *u = user_get(uid, delta > 0);

	if (!u)
		return;
	if (delta < 0 && u->outstanding < (unsigned int)-delta)
		u->outstanding = 0;
	else
		u->outstanding = (unsigned int)((int)u->outstanding + delta);
	/* A user with a rate limit keeps its record: those are only the users
	 * the policy names with SpawnsPerSecond=, so they stay few. */
	if (u->outstanding == 0 && u->budget_rate == 0)
		user_drop(u);
}

unsigned int quota_outstanding(uid_t uid)
{
	struct quota_user *u = user_get(uid, false);

	return u ? u->outstanding : 0;
}

int quota_take_spawns(uid_t uid, uint32_t per_second, size_t n, uint64_t now, uint64_t *retry_usec)
{
	uint64_t need = (uint64_t)n * USEC_PER_SEC;
	struct quota_user *u;

	*retry_usec = 0;
	if (n > per_second)
		return -E2BIG;
	u = user_get(uid, true);
	if (!u)
		return -ENOMEM;
	budget_refill(u, per_second, now);
	if (u->budget < need) {
		*retry_usec = (need - u->budget + per_second - 1) / per_second;
		return -EAGAIN;
	}
	u->budget -= need;
	return 0;
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
