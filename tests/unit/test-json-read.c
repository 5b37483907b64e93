/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl's JSON reader (client/json-read.c): what a tree file holds,
 * and each refusal with where it is. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "json-read.h"

static void expect_error(const char *text, const char *message)
{
	struct json_value v;
	char err[256] = "";
	int r = json_parse(text, strlen(text), &v, err, sizeof(err));

	CHECK(r == -EINVAL && strcmp(err, message) == 0, "%s -> \"%s\" (got %d \"%s\")", text, message, r, err);
}

int main(void)
{
	const char *doc = "{ \"nodes\": [ { \"pids\": [1, -2, 300], \"new_pidns\": true, \"comm\": \"a\\u00e9\\n\\\"\" },\n"
			  "  { \"kind\": null, \"x\": false } ], \"timeout_ms\": 5000 }";
	struct json_value v;
	const struct json_value *nodes, *n0;
	char err[256] = "";
	int r;

	r = json_parse(doc, strlen(doc), &v, err, sizeof(err));
	CHECK(r == 0, "a tree file parses: %s", err);
	if (r == 0) {
		nodes = json_get(&v, "nodes");
		n0 = nodes && nodes->n == 2 ? &nodes->items[0] : NULL;
		CHECK(n0 && json_get(n0, "pids")->n == 3 && json_get(n0, "pids")->items[1].integer == -2 &&
			      json_get(n0, "pids")->items[2].integer == 300,
		      "arrays of integers, negative ones too");
		CHECK(n0 && json_get(n0, "new_pidns")->type == JSON_BOOL && json_get(n0, "new_pidns")->boolean,
		      "true");
		CHECK(n0 && strcmp(json_get(n0, "comm")->string, "a\xc3\xa9\n\"") == 0, "string escapes, \\u00e9 as UTF-8");
		CHECK(nodes && json_get(&nodes->items[1], "kind")->type == JSON_NULL &&
			      json_get(&nodes->items[1], "x")->type == JSON_BOOL && !json_get(&nodes->items[1], "x")->boolean,
		      "null and false");
		CHECK(json_get(&v, "timeout_ms")->integer == 5000 && json_get(&v, "missing") == NULL, "members by name");
		json_value_free(&v);
	}
	expect_error("", "line 1, column 1: the document ends where a value was expected");
	expect_error("{\"a\": [1, 2,]}", "line 1, column 13: expected a value");
	expect_error("{\"a\": 1.5}", "line 1, column 7: only whole numbers are read here");
	expect_error("{\"a\" 1}", "line 1, column 6: expected ':' after \"a\"");
	expect_error("{\"a\": \"b}", "line 1, column 10: a string is not closed");
	expect_error("[\"\\u0000\"]", "line 1, column 9: a NUL character (\\u0000) in a string");
	expect_error("[\"\\ud800\"]", "line 1, column 9: a UTF-16 surrogate (\\ud800) in a string; write the character itself");
	expect_error("[\"\\x\"]", "line 1, column 4: unknown escape \\x");
	expect_error("{} {}", "line 1, column 4: more after the document");
	expect_error("[1 2]", "line 1, column 4: expected ',' or ']'");
	expect_error("{\"a\":\n  x}", "line 2, column 3: expected a value");
	expect_error("{1: 2}", "line 1, column 2: expected a member name in quotes");
	expect_error("[99999999999999999999]", "line 1, column 2: a number too large");
	{
		char deep[200];

		memset(deep, '[', 100);
		deep[100] = '\0';
		expect_error(deep, "line 1, column 65: nested more than 64 deep");
	}
	return check_summary();
}
