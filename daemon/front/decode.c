/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "kernel.h"
#include "wire.h"

/* Paths the kernel takes are shorter than PATH_MAX (4096). */
#define PATH_BYTES_MAX 4095

/* The fds a request names, by index. */
struct fd_uses {
	size_t n_fds;
	size_t n_used;
	bool used[WIRE_MAX_FDS];
};

int decode_fd_index(int32_t index, size_t n_fds, bool used[], const char *what, struct why *why)
{
	if (index < 0 || (size_t)index >= n_fds)
		return why_set(why, EPROTO, "the fd index %d for the %s is out of range: the request carries %zu fds",
			       index, what, n_fds);
	if (used[index])
		return why_set(why, EPROTO, "fd index %d is used twice (again for the %s); each fd serves one purpose", index, what);
	used[index] = true;
	return 0;
}

static int use_fd(struct fd_uses *u, int32_t index, const char *what, struct why *why)
{
	int r = decode_fd_index(index, u->n_fds, u->used, what, why);

	if (r == 0)
		u->n_used++;
	return r;
}

/* Fds only the request types that name them may carry. */
static bool takes_fds(Pidrestore__Request__BodyCase body)
{
	return body == PIDRESTORE__REQUEST__BODY_SPAWN || body == PIDRESTORE__REQUEST__BODY_RESERVE ||
	       body == PIDRESTORE__REQUEST__BODY_EXEC || body == PIDRESTORE__REQUEST__BODY_POLICY;
}

static int check_process(const Pidrestore__ProcessSpec *spec, struct fd_uses *u, struct why *why)
{
	size_t chosen = spec->n_pids;

	if (spec->n_pids > PR_MAX_LEVELS)
		return why_set(why, EINVAL, "%zu PIDs given; there are at most %d levels (%d nested pid namespaces below the root)",
			       spec->n_pids, PR_MAX_LEVELS, PR_MAX_PID_NS_LEVEL);
	for (size_t i = 0; i < spec->n_pids; i++)
		if (spec->pids[i] < 0)
			return why_set(why, EINVAL, "pid %d (entry %zu, innermost first) is not valid: PIDs are positive (0 means any free PID)",
				       spec->pids[i], i);
	/* Trailing zeros are the kernel's to fill: not chosen. */
	while (chosen > 0 && spec->pids[chosen - 1] == 0)
		chosen--;
	if (chosen > PR_MAX_SET_TID)
		return why_set(why, EINVAL, "%zu PIDs given; at most %d can be chosen: the kernel's clone3() sets at most %d levels' PIDs, innermost first, and gives the outermost level of a process %d namespaces deep a PID of its choice; give 0 for that level or leave it out",
			       spec->n_pids, PR_MAX_SET_TID, PR_MAX_SET_TID, PR_MAX_PID_NS_LEVEL);
	if (spec->has_new_pidns && spec->new_pidns && spec->n_pids > 0 && spec->pids[0] != 1 && spec->pids[0] != 0)
		return why_set(why, EINVAL, "with a new pid namespace the innermost pid must be 1 (the new namespace's init), not %d",
			       spec->pids[0]);
	if (spec->has_pidns_fd_index)
		return use_fd(u, spec->pidns_fd_index, "target pid namespace", why);
	return 0;
}

/* An empty bytes field comes unpacked with data NULL, which memchr may not
 * be given even for a length of 0. */
static bool has_nul(const ProtobufCBinaryData *b)
{
	return b->len > 0 && memchr(b->data, '\0', b->len);
}

static int check_strings(const ProtobufCBinaryData *strings, size_t n, const char *what, struct why *why)
{
	for (size_t i = 0; i < n; i++)
		if (has_nul(&strings[i]))
			return why_set(why, EINVAL, "%s %zu contains a NUL byte", what, i);
	return 0;
}

static int check_exec(const Pidrestore__ExecSpec *spec, struct fd_uses *u, struct why *why)
{
	int r;

	if (spec->has_program_fd_index) {
		r = use_fd(u, spec->program_fd_index, "program", why);
		if (r < 0)
			return r;
	} else if (spec->has_path && spec->path.len > 0) {
		if (has_nul(&spec->path))
			return why_set(why, EINVAL, "the program path contains a NUL byte");
		if (spec->path.len > PATH_BYTES_MAX)
			return why_set(why, ENAMETOOLONG, "the program path is %zu bytes long; paths are at most %d",
				       spec->path.len, PATH_BYTES_MAX);
	} else {
		return why_set(why, EINVAL, "no program given: set a path or pass a program fd");
	}
	r = check_strings(spec->argv, spec->n_argv, "argument", why);
	if (r < 0)
		return r;
	r = check_strings(spec->envp, spec->n_envp, "environment entry", why);
	if (r < 0)
		return r;

	if (spec->n_fds > WIRE_MAX_FDS - 2)
		return why_set(why, EINVAL, "%zu fds to map; at most %d", spec->n_fds, WIRE_MAX_FDS - 2);
	for (size_t i = 0; i < spec->n_fds; i++) {
		for (size_t j = 0; j < i; j++)
			if (spec->fds[j]->target == spec->fds[i]->target)
				return why_set(why, EINVAL, "fd target %d is mapped twice", spec->fds[i]->target);
		r = use_fd(u, spec->fds[i]->fd_index, "fd map", why);
		if (r < 0)
			return r;
	}
	if (spec->has_cwd_fd_index)
		return use_fd(u, spec->cwd_fd_index, "working directory", why);
	return 0;
}

/* In the order the handlers use the fields, so that of several faults the
 * one reported is the one a handler would meet first. */
static int check_body(const Pidrestore__Request *req, struct fd_uses *u, struct why *why)
{
	int r = 0;

	switch (req->body_case) {
	case PIDRESTORE__REQUEST__BODY_SPAWN:
		r = check_exec(req->spawn->exec, u, why);
		if (r == 0)
			r = check_process(req->spawn->process, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_RESERVE:
		for (size_t i = 0; i < req->reserve->n_processes && r == 0; i++)
			r = check_process(req->reserve->processes[i], u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_EXEC:
		r = check_exec(req->exec->exec, u, why);
		break;
	case PIDRESTORE__REQUEST__BODY_POLICY:
		/* A policy check names a target as a spawn would. */
		if (req->policy->check)
			r = check_process(req->policy->check->process, u, why);
		break;
	default:
		break;
	}
	return r;
}

/* ------------------------------------------------ why bytes do not decode */

/* protobuf-c only says that bytes did not unpack. For the refusal, the
 * bytes are walked again, against the same descriptors, to name the first
 * fault and where it is. */

#define WIRE_VARINT_MAX 10

/* The packet being explained, for the offsets in the refusal. */
struct wire_walk {
	const uint8_t *packet;
	size_t packet_len;
	struct why *why;
};

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < WIRE_VARINT_MAX && *p < end; i++) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -1;
}

/* The wire type a field of this type has when it is not packed. */
static ProtobufCWireType wire_type_of(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return PROTOBUF_C_WIRE_TYPE_32BIT;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return PROTOBUF_C_WIRE_TYPE_64BIT;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
	default:
		return PROTOBUF_C_WIRE_TYPE_VARINT;
	}
}

static const char *wire_type_name(unsigned int wire_type)
{
	static const char *const names[] = { "a varint", "a 64-bit value", "length-delimited", "a group start",
					     "a group end", "a 32-bit value" };

	return wire_type < ELEMENTSOF(names) ? names[wire_type] : "no wire type";
}

__attribute__((format(printf, 3, 4)))
static int walk_fault(const struct wire_walk *w, const uint8_t *at, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return why_set(w->why, EPROTO, "the request (%zu bytes) could not be decoded as a pidrestore.Request message: at byte %zu, %s",
		       w->packet_len, (size_t)(at - w->packet), what);
}

/* A packed repeated scalar: whole values only. */
static int walk_packed(const struct wire_walk *w, const ProtobufCMessageDescriptor *desc,
		       const ProtobufCFieldDescriptor *f, const uint8_t *p, const uint8_t *end)
{
	ProtobufCWireType wt = wire_type_of(f->type);
	size_t size = wt == PROTOBUF_C_WIRE_TYPE_32BIT ? 4 : 8;
	uint64_t v;

	if (wt != PROTOBUF_C_WIRE_TYPE_VARINT)
		return (size_t)(end - p) % size ? walk_fault(w, p, "%s.%s (field %u) holds %zu bytes, not a whole number of %zu-byte values",
							     desc->short_name, f->name, f->id, (size_t)(end - p), size) : 0;
	while (p < end) {
		const uint8_t *at = p;

		if (read_varint(&p, end, &v) < 0)
			return walk_fault(w, at, "%s.%s (field %u) ends inside a value", desc->short_name, f->name, f->id);
	}
	return 0;
}

static int walk_message(const struct wire_walk *w, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
			const uint8_t *end);

/* A field of a known number: its wire type, and what a value holds. */
static int walk_known(const struct wire_walk *w, const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
		      unsigned int wt, const uint8_t *at, const uint8_t *value, const uint8_t *value_end)
{
	ProtobufCWireType want = wire_type_of(f->type);

	if (wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && want != wt && f->label == PROTOBUF_C_LABEL_REPEATED)
		return walk_packed(w, desc, f, value, value_end);
	if (wt != want)
		return walk_fault(w, at, "%s.%s (field %u) is %s, not %s", desc->short_name, f->name, f->id,
				  wire_type_name(wt), wire_type_name(want));
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return walk_message(w, f->descriptor, value, value_end);
	return 0;
}

static int walk_message(const struct wire_walk *w, const ProtobufCMessageDescriptor *desc, const uint8_t *p,
			const uint8_t *end)
{
	const uint8_t *start = p;
	bool seen[64] = { false };
	int r;

	while (p < end) {
		const uint8_t *at = p, *value;
		const ProtobufCFieldDescriptor *f;
		uint64_t key, n;
		unsigned int wt;
		char name[160];

		if (read_varint(&p, end, &key) < 0)
			return walk_fault(w, at, "a field's key runs past the end of %s", desc->short_name);
		wt = (unsigned int)(key & 7);
		if (key >> 3 == 0 || key >> 3 > 536870911)
			return walk_fault(w, at, "field number %llu does not exist (in %s)", (unsigned long long)(key >> 3),
					  desc->short_name);
		f = protobuf_c_message_descriptor_get_field(desc, (unsigned int)(key >> 3));
		if (f)
			snprintf(name, sizeof(name), "%s.%s (field %u)", desc->short_name, f->name, f->id);
		else
			snprintf(name, sizeof(name), "unknown field %llu of %s", (unsigned long long)(key >> 3), desc->short_name);
		value = p;
		switch (wt) {
		case PROTOBUF_C_WIRE_TYPE_VARINT:
			if (read_varint(&p, end, &n) < 0)
				return walk_fault(w, at, "%s is cut off inside its varint", name);
			break;
		case PROTOBUF_C_WIRE_TYPE_64BIT:
		case PROTOBUF_C_WIRE_TYPE_32BIT:
			n = wt == PROTOBUF_C_WIRE_TYPE_32BIT ? 4 : 8;
			if ((uint64_t)(end - p) < n)
				return walk_fault(w, at, "%s is cut off: %llu bytes needed, %zu left", name, (unsigned long long)n,
						  (size_t)(end - p));
			p += n;
			break;
		case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
			if (read_varint(&p, end, &n) < 0)
				return walk_fault(w, at, "%s is cut off inside its length", name);
			if ((uint64_t)(end - p) < n)
				return walk_fault(w, at, "%s says it has %llu bytes but %zu are left", name, (unsigned long long)n,
						  (size_t)(end - p));
			value = p;
			p += n;
			break;
		case 3:
		case 4:
			return walk_fault(w, at, "%s is %s: the deprecated group encoding is not read", name, wire_type_name(wt));
		default:
			return walk_fault(w, at, "%s has wire type %u, which does not exist", name, wt);
		}
		if (!f)
			continue;
		r = walk_known(w, desc, f, wt, at, value, p);
		if (r < 0)
			return r;
		if (f - desc->fields < (ptrdiff_t)ELEMENTSOF(seen))
			seen[f - desc->fields] = true;
	}
	for (unsigned int i = 0; i < desc->n_fields && i < ELEMENTSOF(seen); i++)
		if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return walk_fault(w, start, "%s lacks its required field %s (field %u)", desc->short_name,
					  desc->fields[i].name, desc->fields[i].id);
	return 0;
}

/* Sets why to the first fault of bytes that did not unpack as a Request. */
static int explain_undecodable(const uint8_t *buf, size_t len, struct why *why)
{
	struct wire_walk w = { .packet = buf, .packet_len = len, .why = why };

	if (walk_message(&w, &pidrestore__request__descriptor, buf, buf + len) < 0)
		return -EPROTO;
	return why_set(why, EPROTO, "the request (%zu bytes) could not be decoded as a pidrestore.Request message", len);
}

/* ------------------------------------------------------------- requests */

int decode_request(const uint8_t *buf, size_t len, size_t n_fds, Pidrestore__Request **ret, struct why *why)
{
	Pidrestore__Request *req;

	*ret = req = pidrestore__request__unpack(NULL, len, buf);
	if (!req)
		return explain_undecodable(buf, len, why);
	return decode_validate(req, n_fds, why);
}

int decode_validate(const Pidrestore__Request *req, size_t n_fds, struct why *why)
{
	struct fd_uses uses = { .n_fds = n_fds };
	uint32_t fd_count;
	int r;

	if (n_fds > WIRE_MAX_FDS)
		return why_set(why, EPROTO, "the packet carried %zu fds; at most %d fit in one", n_fds, WIRE_MAX_FDS);
	fd_count = req->has_fd_count ? req->fd_count : 0;
	if (fd_count != n_fds)
		return why_set(why, EPROTO, "the request says it carries %u fds but its packet carried %zu", fd_count, n_fds);
	if (n_fds > 0 && !takes_fds(req->body_case))
		return why_set(why, EPROTO, "this request takes no fds but carried %zu", n_fds);
	r = check_body(req, &uses, why);
	if (r < 0)
		return r;
	if (uses.n_used != n_fds)
		return why_set(why, EPROTO, "the request carries %zu fds but its fields use only %zu; send exactly the fds the request names",
			       n_fds, uses.n_used);
	return 0;
}
