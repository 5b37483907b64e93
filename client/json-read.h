/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small JSON reader for pidrestorectl's input files (tree --file): the
 * whole document into a tree of values. Numbers are integers (what the
 * files hold: PIDs, indexes, codes); strings must be UTF-8 without NUL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
	enum json_type type;
	bool boolean;
	int64_t integer;
	char *string;                 /* JSON_STRING; an object's member: its key too */
	size_t n;                     /* items of an array or members of an object */
	struct json_value *items;     /* JSON_ARRAY, JSON_OBJECT (each member has key) */
	char *key;
};

/* Parses text (len bytes). Returns 0 with *ret a value to free with
 * json_value_free(), or -EINVAL with err saying where ("line 3, column 7:
 * expected ','") or -ENOMEM. */
int json_parse(const char *text, size_t len, struct json_value *ret, char *err, size_t err_len);
void json_value_free(struct json_value *v);

/* The member key of object v, or NULL. */
const struct json_value *json_get(const struct json_value *v, const char *key);
