/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-user counters behind MaxReservations=, SpawnsPerSecond= and
 * --max-connections-per-user, and the token bucket of every rate, driven
 * with a clock of the test's own, so that "after the window" is exact. */
#include <errno.h>
#include <stdio.h>

#include "quota.h"
#include "check.h"

static void test_outstanding(void)
{
	quota_add_outstanding(1001, 1);
	quota_add_outstanding(1001, 1);
	quota_add_outstanding(1002, 1);
	CHECK(quota_outstanding(1001) == 2, "outstanding counts per uid (1001 has %u)", quota_outstanding(1001));
	CHECK(quota_outstanding(1002) == 1, "another uid counts apart (1002 has %u)", quota_outstanding(1002));
	CHECK(quota_outstanding(1003) == 0, "an unknown uid has none");
	quota_add_outstanding(1001, -1);
	quota_add_outstanding(1001, -1);
	CHECK(quota_outstanding(1001) == 0, "claims and releases bring it back to 0");
	quota_add_outstanding(1001, -1);
	CHECK(quota_outstanding(1001) == 0, "it never goes below 0");
	quota_add_outstanding(1002, -1);
}

static void test_rate(void)
{
	const uint64_t t0 = 5000000;
	uint64_t retry;
	int r;

	/* A burst up to the limit passes. */
	for (int i = 0; i < 10; i++) {
		r = quota_take_spawns(2001, 10, 1, t0, &retry);
		if (r < 0)
			break;
	}
	CHECK(r == 0, "a burst of 10 at SpawnsPerSecond=10 passes");
	r = quota_take_spawns(2001, 10, 1, t0, &retry);
	CHECK(r == -EAGAIN, "the 11th in the same instant gets EAGAIN (%d)", r);
	CHECK(retry == 100000, "and is told to retry in 100 ms (%llu us)", (unsigned long long)retry);
	r = quota_take_spawns(2001, 10, 1, t0 + 99999, &retry);
	CHECK(r == -EAGAIN, "1 us before a token has refilled: still EAGAIN");
	r = quota_take_spawns(2001, 10, 1, t0 + 100000, &retry);
	CHECK(r == 0, "one token refills after 1/10 s");
	r = quota_take_spawns(2002, 10, 5, t0, &retry);
	CHECK(r == 0, "another uid has a budget of its own");
	r = quota_take_spawns(2001, 10, 10, t0 + 100000 + 1000000, &retry);
	CHECK(r == 0, "after a whole second the whole budget is back");
	r = quota_take_spawns(2001, 10, 11, t0 + 5000000, &retry);
	CHECK(r == -E2BIG, "more than one second's worth at once can never pass (%d)", r);
	r = quota_take_spawns(2001, 20, 15, t0 + 5000000, &retry);
	CHECK(r == 0, "a changed limit starts a full budget at the new rate");
	r = quota_take_spawns(2001, 20, 6, t0 + 5000000, &retry);
	CHECK(r == -EAGAIN && retry == 50000, "and is enforced at that rate (retry %llu us)", (unsigned long long)retry);
}

/* The bucket alone, as a connection's request rate uses it. */
static void test_bucket(void)
{
	struct quota_bucket b = { 0 };
	const uint64_t t0 = 7000000;
	uint64_t retry;
	int r = 0, n = 0;

	while (n < 1000 && (r = quota_bucket_take(&b, 100, 1, t0, &retry)) == 0)
		n++;
	CHECK(n == 100 && r == -EAGAIN, "a new bucket at 100 a second passes a burst of 100, then EAGAIN (%d passed)", n);
	CHECK(retry == 10000, "the next token comes in 10 ms (%llu us)", (unsigned long long)retry);
	r = quota_bucket_take(&b, 100, 1, t0 + 10000, &retry);
	CHECK(r == 0, "and does");
	r = quota_bucket_take(&b, 100, 50, t0 + 10000 + 500000, &retry);
	CHECK(r == 0, "half a second refills half the bucket");
	r = quota_bucket_take(&b, 100, 1, t0 + 10000 + 500000, &retry);
	CHECK(r == -EAGAIN, "and no more");
}

static void test_connections(void)
{
	CHECK(quota_add_connection(3001, 1) == 0 && quota_add_connection(3001, 1) == 0, "connections are counted");
	quota_add_outstanding(3001, 1);
	CHECK(quota_connections(3001) == 2, "per uid (3001 has %u)", quota_connections(3001));
	CHECK(quota_connections(3002) == 0, "an unknown uid has none");
	quota_add_connection(3001, -1);
	quota_add_connection(3001, -1);
	CHECK(quota_connections(3001) == 0 && quota_outstanding(3001) == 1,
	      "closing them leaves the uid's reservations counted (%u)", quota_outstanding(3001));
	quota_add_outstanding(3001, -1);
	quota_add_connection(3001, -1);
	CHECK(quota_connections(3001) == 0, "it never goes below 0");
}

int main(void)
{
	test_outstanding();
	test_rate();
	test_bucket();
	test_connections();
	quota_reset();
	return check_summary();
}
