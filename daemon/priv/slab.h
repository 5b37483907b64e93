/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixed-size records in pages of their own, given back to the kernel as
 * soon as a page run holds none. The daemon's records of its processes come
 * and go by the ten thousand; from the heap they would leave it fragmented
 * by the few long-lived allocations made meanwhile (libevent's per-fd
 * entries), and the memory would stay with the daemon after the load. */
#pragma once

#include <stddef.h>

struct slab_chunk;

struct slab_pool {
	size_t size;                 /* of a record, rounded up */
	unsigned int per_chunk;
	struct slab_chunk *partial;  /* chunks with a free record */
	struct slab_chunk *empty;    /* one spare, kept against churn */
};

/* Records of size bytes each (at most a few KiB). */
void slab_pool_init(struct slab_pool *pool, size_t size);

/* A zeroed record, or NULL with errno set. */
void *slab_alloc(struct slab_pool *pool);

/* obj NULL: nothing. */
void slab_free(struct slab_pool *pool, void *obj);

/* Unmaps the spare; every record must have been freed. */
void slab_pool_release(struct slab_pool *pool);
