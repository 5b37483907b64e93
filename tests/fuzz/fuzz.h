/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the fuzz targets share with the two programs that drive them:
 * libFuzzer (make fuzz) and replay.c (make check). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer's entry point: one input, 0 always (a fault aborts). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the code under test promised and broke: a crash, so that
 * libFuzzer keeps the input and the replay fails. */
#define FUZZ_REQUIRE(cond)                                                               \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: broken invariant: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                         \
		}                                                                        \
	} while (0)
