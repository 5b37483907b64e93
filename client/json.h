/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON for pidrestorectl --json: a writer that places commas itself and,
 * in pretty mode, newlines and indentation, so that callers only say what
 * comes next. Strings that are not UTF-8 get U+FFFD for the bad bytes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	bool pretty;
	unsigned int depth;
	bool has_items[JSON_MAX_DEPTH];  /* the container at this depth has an item */
	bool after_key;
};

void json_init(struct json *j, FILE *f, bool pretty);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);

/* The key of the next value in an object. */
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
void json_pids(struct json *j, const pid_t *pids, size_t n);

/* Ends the document with a newline. */
void json_finish(struct json *j);
