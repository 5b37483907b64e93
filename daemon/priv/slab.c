/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Records are announced to valgrind and AddressSanitizer as allocations of
 * their own, so that both still see leaks and uses after free. */
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, redzone, zeroed) ((void)0)
#define VALGRIND_FREELIKE_BLOCK(addr, redzone) ((void)0)
#endif
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)0)
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)0)
#endif

#include "slab.h"

/* Chunks are aligned to their size, so that a record finds its chunk by
 * masking its address. */
#define CHUNK_SIZE ((size_t)64 * 1024)
#define RECORD_ALIGN 16

struct slab_chunk {
	struct slab_chunk *prev, *next;   /* in pool->partial */
	unsigned int used;
	unsigned int n_carved;            /* records handed out at least once */
	unsigned int n_free;              /* entries in free_index */
	uint16_t free_index[];            /* freed records, reused first */
};

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static size_t records_offset(unsigned int per_chunk)
{
	return round_up(sizeof(struct slab_chunk) + per_chunk * sizeof(uint16_t), 64);
}

static char *record_at(const struct slab_pool *pool, struct slab_chunk *c, unsigned int i)
{
	return (char *)c + records_offset(pool->per_chunk) + (size_t)i * pool->size;
}

void slab_pool_init(struct slab_pool *pool, size_t size)
{
	unsigned int n;

	memset(pool, 0, sizeof(*pool));
	pool->size = round_up(size ? size : 1, RECORD_ALIGN);
	n = (unsigned int)((CHUNK_SIZE - sizeof(struct slab_chunk)) / (pool->size + sizeof(uint16_t)));
	while (n > 1 && records_offset(n) + n * pool->size > CHUNK_SIZE)
		n--;
	pool->per_chunk = n;
}

static struct slab_chunk *chunk_map(void)
{
	char *p = mmap(NULL, 2 * CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *start;

	if (p == MAP_FAILED)
		return NULL;
	start = (char *)round_up((uintptr_t)p, CHUNK_SIZE);
	if (start > p)
		munmap(p, (size_t)(start - p));
	munmap(start + CHUNK_SIZE, (size_t)(p + 2 * CHUNK_SIZE - (start + CHUNK_SIZE)));
	return (struct slab_chunk *)start;
}

/* The range may be mapped again for anything: no poison may stay on it. */
static void chunk_unmap(struct slab_chunk *c)
{
	ASAN_UNPOISON_MEMORY_REGION(c, CHUNK_SIZE);
	munmap(c, CHUNK_SIZE);
}

static void partial_add(struct slab_pool *pool, struct slab_chunk *c)
{
	c->prev = NULL;
	c->next = pool->partial;
	if (pool->partial)
		pool->partial->prev = c;
	pool->partial = c;
}

static void partial_remove(struct slab_pool *pool, struct slab_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		pool->partial = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

void *slab_alloc(struct slab_pool *pool)
{
	struct slab_chunk *c = pool->partial;
	unsigned int i;
	char *obj;

	if (!c) {
		c = pool->empty;
		pool->empty = NULL;
		if (!c && !(c = chunk_map())) {
			errno = ENOMEM;
			return NULL;
		}
		c->used = c->n_carved = c->n_free = 0;
		partial_add(pool, c);
	}
	i = c->n_free > 0 ? c->free_index[--c->n_free] : c->n_carved++;
	if (++c->used == pool->per_chunk)
		partial_remove(pool, c);
	obj = record_at(pool, c, i);
	VALGRIND_MALLOCLIKE_BLOCK(obj, pool->size, 0, 0);
	ASAN_UNPOISON_MEMORY_REGION(obj, pool->size);
	memset(obj, 0, pool->size);
	return obj;
}

void slab_free(struct slab_pool *pool, void *obj)
{
	struct slab_chunk *c;
	unsigned int i;

	if (!obj)
		return;
	c = (struct slab_chunk *)((uintptr_t)obj & ~(uintptr_t)(CHUNK_SIZE - 1));
	i = (unsigned int)(((char *)obj - record_at(pool, c, 0)) / pool->size);
	VALGRIND_FREELIKE_BLOCK(obj, 0);
	ASAN_POISON_MEMORY_REGION(obj, pool->size);
	if (c->used == pool->per_chunk)
		partial_add(pool, c);
	c->free_index[c->n_free++] = (uint16_t)i;
	if (--c->used > 0)
		return;
	partial_remove(pool, c);
	if (pool->empty)
		chunk_unmap(c);
	else
		pool->empty = c;
}

void slab_pool_release(struct slab_pool *pool)
{
	if (pool->empty)
		chunk_unmap(pool->empty);
	pool->empty = NULL;
}
