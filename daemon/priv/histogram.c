/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "histogram.h"

/* Values below 2^SUB_BITS get a bucket each; above, the bucket is the
 * power of two and the next SUB_BITS bits below the leading one. */
static unsigned int bucket_of(uint64_t v)
{
	unsigned int exponent;

	if (v < (1u << HISTOGRAM_SUB_BITS))
		return (unsigned int)v;
	exponent = 63u - (unsigned int)__builtin_clzll(v);
	return ((exponent - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS) |
	       (unsigned int)((v >> (exponent - HISTOGRAM_SUB_BITS)) & ((1u << HISTOGRAM_SUB_BITS) - 1));
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_upper(unsigned int b)
{
	unsigned int group = b >> HISTOGRAM_SUB_BITS, sub = b & ((1u << HISTOGRAM_SUB_BITS) - 1);
	unsigned int exponent;

	if (group == 0)
		return sub;
	exponent = group + HISTOGRAM_SUB_BITS - 1;
	/* Leading one, then sub, then all ones below. */
	return (1ull << exponent) | ((uint64_t)sub << (exponent - HISTOGRAM_SUB_BITS)) |
	       ((1ull << (exponent - HISTOGRAM_SUB_BITS)) - 1);
}

void histogram_add(struct histogram *h, uint64_t value)
{
	h->buckets[bucket_of(value)]++;
	h->count++;
	if (value > h->max)
		h->max = value;
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		q = 0;
	if (q >= 1)
		return h->max;
	/* The sample at this rank (1-based) is the one asked for. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count || rank == 0)
		rank++;
	for (unsigned int b = 0; b < HISTOGRAM_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t upper = bucket_upper(b);

			return upper < h->max ? upper : h->max;
		}
	}
	return h->max;
}
