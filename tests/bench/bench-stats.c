/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int samples_init(struct samples *s, size_t cap)
{
	s->n = 0;
	s->cap = cap ? cap : 1;
	s->ns = calloc(s->cap, sizeof(*s->ns));
	return s->ns ? 0 : -ENOMEM;
}

void samples_free(struct samples *s)
{
	free(s->ns);
	s->ns = NULL;
	s->n = s->cap = 0;
}

void samples_reset(struct samples *s)
{
	s->n = 0;
}

void samples_add(struct samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double samples_quantile_us(struct samples *s, double q)
{
	size_t i;

	if (s->n == 0)
		return NAN;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	/* Nearest rank: the smallest sample with at least q of them at or below. */
	i = (size_t)ceil(q * (double)s->n);
	if (i > 0)
		i--;
	if (i >= s->n)
		i = s->n - 1;
	return (double)s->ns[i] / 1000.0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct figure figure_of(const double *values, size_t n)
{
	double sorted[BENCH_MAX_REPS];
	struct figure f = { .median = NAN, .min = NAN, .max = NAN };
	size_t m = 0;

	for (size_t i = 0; i < n && m < BENCH_MAX_REPS; i++)
		if (!isnan(values[i]))
			sorted[m++] = values[i];
	if (m == 0)
		return f;
	qsort(sorted, m, sizeof(*sorted), cmp_double);
	f.median = m % 2 ? sorted[m / 2] : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
	f.min = sorted[0];
	f.max = sorted[m - 1];
	f.valid = true;
	return f;
}

void rep_from_samples(struct rep *r, struct samples *s, size_t count, uint64_t wall_ns)
{
	r->p50_us = samples_quantile_us(s, 0.50);
	r->p99_us = samples_quantile_us(s, 0.99);
	r->per_sec = wall_ns ? (double)count * 1e9 / (double)wall_ns : NAN;
}
