/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CHECK lines of the small unit tests: "ok" or "FAIL", a sentence,
 * and a count for the summary that check_summary() prints. */
#pragma once

#include <stdio.h>

static unsigned int failures, checks;

#define CHECK(cond, ...)                                         \
	do {                                                     \
		checks++;                                        \
		if (cond) {                                      \
			printf("ok   " __VA_ARGS__);             \
		} else {                                         \
			failures++;                              \
			printf("FAIL " __VA_ARGS__);             \
		}                                                \
		printf("\n");                                    \
	} while (0)

/* Prints the summary; the test's exit status. */
static inline int check_summary(void)
{
	printf("%u passed, %u failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
