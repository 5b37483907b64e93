/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Latency histograms for `pidrestorectl stats`: constant memory, constant
 * time per sample, percentiles within a few percent. */
#pragma once

#include <stdint.h>

/* 16 buckets per power of two: each spans at most 1/16 of its values. */
#define HISTOGRAM_SUB_BITS 4
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)

struct histogram {
	uint64_t count;
	uint64_t max;
	uint32_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_add(struct histogram *h, uint64_t value);

/* The value below which the fraction q (0..1) of the samples lie: the upper
 * edge of the bucket that holds it, never above the largest sample. 0 when
 * there are none. */
uint64_t histogram_quantile(const struct histogram *h, double q);
