/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The latency histogram behind `pidrestorectl stats`: quantiles within the
 * bucket width of the exact ones, on known distributions. */
#include <stdio.h>
#include <string.h>

#include "histogram.h"

static unsigned int failures, checks;

static void expect_near(const char *what, uint64_t got, uint64_t exact)
{
	/* A bucket spans at most 1/16 of its values. */
	uint64_t slack = exact / 16 + 1;

	checks++;
	if (got + slack < exact || got > exact + slack) {
		failures++;
		printf("FAIL %s: %llu, exact %llu\n", what, (unsigned long long)got, (unsigned long long)exact);
	} else {
		printf("ok   %s: %llu (exact %llu)\n", what, (unsigned long long)got, (unsigned long long)exact);
	}
}

int main(void)
{
	static struct histogram h;

	memset(&h, 0, sizeof(h));
	checks++;
	if (histogram_quantile(&h, 0.5) != 0) {
		failures++;
		printf("FAIL an empty histogram gives 0\n");
	}
	/* 1..10000 us, once each. */
	for (uint64_t v = 1; v <= 10000; v++)
		histogram_add(&h, v);
	expect_near("uniform p50", histogram_quantile(&h, 0.50), 5000);
	expect_near("uniform p90", histogram_quantile(&h, 0.90), 9000);
	expect_near("uniform p99", histogram_quantile(&h, 0.99), 9900);
	expect_near("uniform max", histogram_quantile(&h, 1.0), 10000);
	checks++;
	if (h.count != 10000 || h.max != 10000) {
		failures++;
		printf("FAIL count %llu max %llu\n", (unsigned long long)h.count, (unsigned long long)h.max);
	}

	/* 99 fast, 1 slow: p99 is fast, max is slow. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 99; i++)
		histogram_add(&h, 60);
	histogram_add(&h, 250000);
	expect_near("one outlier: p50", histogram_quantile(&h, 0.50), 60);
	expect_near("one outlier: p99", histogram_quantile(&h, 0.99), 60);
	expect_near("one outlier: max", histogram_quantile(&h, 1.0), 250000);

	/* Small values are exact; huge ones do not overflow. */
	memset(&h, 0, sizeof(h));
	histogram_add(&h, 3);
	expect_near("a single small sample", histogram_quantile(&h, 0.5), 3);
	histogram_add(&h, UINT64_MAX / 2);
	expect_near("a huge sample is the max", histogram_quantile(&h, 1.0), UINT64_MAX / 2);

	printf("%u passed, %u failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
