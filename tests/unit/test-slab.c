/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record allocator behind the daemon's process records: records are
 * zeroed, distinct and aligned, a freed one is reused first, and pages that
 * hold no record any more go back to the kernel (one spare chunk kept). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"
#include "check.h"

/* Whether the page holding addr is mapped: msync says ENOMEM if not. */
static int mapped(const void *addr)
{
	long page = sysconf(_SC_PAGESIZE);
	void *start = (void *)((uintptr_t)addr & ~(uintptr_t)(page - 1));

	return msync(start, (size_t)page, MS_ASYNC) == 0 || errno != ENOMEM;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	struct slab_pool pool;
	size_t n, zeroed = 0, aligned = 0, overlaps = 0, unmapped = 0;
	unsigned char **recs;
	void *again;

	slab_pool_init(&pool, 200);
	CHECK(pool.size == 208, "a 200-byte record takes 208 bytes (16-byte steps), got %zu", pool.size);
	CHECK(pool.per_chunk > 100 && pool.per_chunk * pool.size <= 64 * 1024,
	      "a 64 KiB chunk holds %u of them", pool.per_chunk);

	/* Three and a half chunks' worth. */
	n = pool.per_chunk * 7 / 2;
	recs = calloc(n, sizeof(*recs));
	for (size_t i = 0; i < n; i++) {
		size_t k;

		recs[i] = slab_alloc(&pool);
		if (!recs[i])
			break;
		for (k = 0; k < 200 && recs[i][k] == 0; k++)
			;
		zeroed += k == 200;
		aligned += ((uintptr_t)recs[i] & 15) == 0;
		memset(recs[i], 0xa5, 200);
	}
	CHECK(zeroed == n, "all %zu records come zeroed (%zu were)", n, zeroed);
	CHECK(aligned == n, "all are 16-byte aligned (%zu were)", aligned);
	{
		uintptr_t *sorted = calloc(n, sizeof(*sorted));

		for (size_t i = 0; i < n; i++)
			sorted[i] = (uintptr_t)recs[i];
		qsort(sorted, n, sizeof(*sorted), cmp_ptr);
		for (size_t i = 1; i < n; i++)
			overlaps += sorted[i] - sorted[i - 1] < 200;
		free(sorted);
	}
	CHECK(overlaps == 0, "no two overlap (%zu did)", overlaps);

	slab_free(&pool, recs[5]);
	again = slab_alloc(&pool);
	CHECK(again == recs[5], "a freed record is handed out again first");
	CHECK(((unsigned char *)again)[0] == 0 && ((unsigned char *)again)[199] == 0, "and zeroed again");

	for (size_t i = 0; i < n; i++)
		slab_free(&pool, recs[i]);
	for (size_t i = 0; i < n; i++)
		unmapped += !mapped(recs[i]);
	/* 3.5 chunks: all but the spare chunk's records are unmapped. */
	CHECK(unmapped >= n - pool.per_chunk && unmapped < n,
	      "freeing all gives back every chunk but one spare (%zu of %zu records unmapped)", unmapped, n);
	CHECK(pool.partial == NULL, "no chunk is left partly used");

	again = slab_alloc(&pool);
	CHECK(again != NULL && mapped(again), "the spare serves the next record");
	slab_free(&pool, again);
	slab_pool_release(&pool);
	CHECK(!mapped(again), "releasing the pool unmaps the spare");
	slab_free(&pool, NULL);
	CHECK(1, "freeing NULL does nothing");

	free(recs);
	return check_summary();
}
