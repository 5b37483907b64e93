/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-read.h"

/* Nesting past this is refused: the files are a few levels deep. */
#define JSON_READ_MAX_DEPTH 64

struct reader {
	const char *at, *start, *end;
	char *err;
	size_t err_len;
	unsigned int depth;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
	size_t line = 1, col = 1;
	char what[160];
	va_list ap;

	for (const char *p = r->start; p < r->at && p < r->end; p++) {
		col++;
		if (*p == '\n') {
			line++;
			col = 1;
		}
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->err_len, "line %zu, column %zu: %s", line, col, what);
	return -EINVAL;
}

static void skip_space(struct reader *r)
{
	while (r->at < r->end && (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r'))
		r->at++;
}

static int parse_value(struct reader *r, struct json_value *v);

static int hex4(struct reader *r, unsigned int *ret)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++, r->at++) {
		char c = r->at < r->end ? *r->at : 0;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (unsigned int)((c | 0x20) - 'a' + 10);
		else
			return fail(r, "expected 4 hex digits after \\u");
	}
	*ret = v;
	return 0;
}

/* Writes code point cp as UTF-8 at *out. */
static void put_utf8(char **out, unsigned int cp)
{
	char *o = *out;

	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	*out = o;
}

static int parse_string(struct reader *r, char **ret)
{
	const char *s = ++r->at;
	char *buf, *o;
	int err;

	while (r->at < r->end && *r->at != '"')
		r->at += *r->at == '\\' && r->end - r->at > 1 ? 2 : 1;
	if (r->at >= r->end)
		return fail(r, "a string is not closed");
	/* Escapes only shrink: a \u escape with its four hex digits (6 bytes) is
	 * at most 4 bytes of UTF-8. */
	buf = o = malloc((size_t)(r->at - s) + 1);
	if (!buf)
		return -ENOMEM;
	for (r->at = s; *r->at != '"'; ) {
		unsigned int cp = 0;

		if ((unsigned char)*r->at < 0x20 || (*r->at == '\0')) {
			free(buf);
			return fail(r, "a control character in a string");
		}
		if (*r->at != '\\') {
			*o++ = *r->at++;
			continue;
		}
		r->at++;
		switch (*r->at++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			err = hex4(r, &cp);
			if (err == 0 && cp == 0)
				err = fail(r, "a NUL character (\\u0000) in a string");
			if (err == 0 && cp >= 0xd800 && cp <= 0xdfff)
				err = fail(r, "a UTF-16 surrogate (\\u%04x) in a string; write the character itself", cp);
			if (err < 0) {
				free(buf);
				return err;
			}
			put_utf8(&o, cp);
			break;
		default:
			r->at--;
			free(buf);
			return fail(r, "unknown escape \\%c", *r->at);
		}
	}
	r->at++;
	*o = '\0';
	*ret = buf;
	return 0;
}

static int parse_int(struct reader *r, struct json_value *v)
{
	const char *p = r->at;
	bool neg = *p == '-';
	uint64_t n = 0;

	if (neg)
		p++;
	if (p >= r->end || *p < '0' || *p > '9')
		return fail(r, "expected a value");
	for (; p < r->end && *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_C(1) << 62))
			return fail(r, "a number too large");
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return fail(r, "only whole numbers are read here");
	v->type = JSON_INT;
	v->integer = neg ? -(int64_t)n : (int64_t)n;
	r->at = p;
	return 0;
}

static bool take_word(struct reader *r, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(r->end - r->at) < len || memcmp(r->at, word, len) != 0)
		return false;
	r->at += len;
	return true;
}

/* An array or an object: items separated by commas until close. */
static int parse_items(struct reader *r, struct json_value *v, char close)
{
	size_t cap = 0;
	int err;

	if (++r->depth > JSON_READ_MAX_DEPTH)
		return fail(r, "nested more than %d deep", JSON_READ_MAX_DEPTH);
	r->at++;
	skip_space(r);
	if (r->at < r->end && *r->at == close) {
		r->at++;
		r->depth--;
		return 0;
	}
	for (;;) {
		struct json_value *item;

		if (v->n == cap) {
			struct json_value *items = realloc(v->items, (cap = cap ? 2 * cap : 8) * sizeof(*items));

			if (!items)
				return -ENOMEM;
			v->items = items;
		}
		item = &v->items[v->n];
		memset(item, 0, sizeof(*item));
		v->n++;
		skip_space(r);
		if (close == '}') {
			if (r->at >= r->end || *r->at != '"')
				return fail(r, "expected a member name in quotes");
			err = parse_string(r, &item->key);
			if (err < 0)
				return err;
			skip_space(r);
			if (r->at >= r->end || *r->at != ':')
				return fail(r, "expected ':' after \"%s\"", item->key);
			r->at++;
		}
		err = parse_value(r, item);
		if (err < 0)
			return err;
		skip_space(r);
		if (r->at < r->end && *r->at == ',') {
			r->at++;
			continue;
		}
		if (r->at < r->end && *r->at == close) {
			r->at++;
			r->depth--;
			return 0;
		}
		return fail(r, "expected ',' or '%c'", close);
	}
}

static int parse_value(struct reader *r, struct json_value *v)
{
	skip_space(r);
	if (r->at >= r->end)
		return fail(r, "the document ends where a value was expected");
	switch (*r->at) {
	case '{':
		v->type = JSON_OBJECT;
		return parse_items(r, v, '}');
	case '[':
		v->type = JSON_ARRAY;
		return parse_items(r, v, ']');
	case '"':
		v->type = JSON_STRING;
		return parse_string(r, &v->string);
	default:
		break;
	}
	if (take_word(r, "true") || take_word(r, "false")) {
		v->type = JSON_BOOL;
		v->boolean = r->at[-1] == 'e' && r->at[-2] == 'u';
		return 0;
	}
	if (take_word(r, "null")) {
		v->type = JSON_NULL;
		return 0;
	}
	return parse_int(r, v);
}

void json_value_free(struct json_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		json_value_free(&v->items[i]);
	free(v->items);
	free(v->string);
	free(v->key);
	memset(v, 0, sizeof(*v));
}

int json_parse(const char *text, size_t len, struct json_value *ret, char *err, size_t err_len)
{
	struct reader r = { .at = text, .start = text, .end = text + len, .err = err, .err_len = err_len };
	int e;

	memset(ret, 0, sizeof(*ret));
	if (memchr(text, '\0', len))
		return (r.at = memchr(text, '\0', len)), fail(&r, "a NUL byte");
	e = parse_value(&r, ret);
	if (e == 0) {
		skip_space(&r);
		if (r.at < r.end)
			e = fail(&r, "more after the document");
	}
	if (e == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	if (e < 0)
		json_value_free(ret);
	return e;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->items[i].key, key) == 0)
			return &v->items[i];
	return NULL;
}
