/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* raw-request: speaks the wire protocol directly, without libpidrestore, so
 * that tests can send what a well-behaved client never would.
 *
 *   raw-request [OPTION...] SOCKET MODE [ARG...]
 *
 * Modes:
 *   hello                       only the Hello exchange; prints "hello version=N"
 *   garbage                     bytes that are no protobuf encoding at all
 *   truncated                   a valid spawn request cut off in its middle
 *   unknown-type                a Request whose body is a field no version of
 *                               the protocol defines
 *   unknown-group               a Status with an unknown field in the
 *                               deprecated group encoding
 *   oversize BYTES              a valid Hello padded to BYTES bytes
 *   fds N FILE [FD_COUNT]       a Status carrying N fds of FILE (the same as
 *                               --fd N*file:FILE [--fd-count FD_COUNT] status)
 *   status                      a Status request
 *   spawn [SPEC-OPTION...] PID[,PID...]
 *                               a spawn of /bin/true with exactly these PIDs
 *                               (negative ones, too many: the daemon judges)
 *   reserve [SPEC-OPTION...] PID[,PID...]
 *   policy-check [SPEC-OPTION...] PID[,PID...]
 *                               "may I take these PIDs there?"
 *   release-uid UID [ID]        a release of uid UID's reservations, without
 *                               "all" (and with the reservation ID, if given)
 * SPEC-OPTIONs:
 *   --new-pidns                 in a new pid namespace
 *   --pidns-fd I                the target pid namespace is fd index I
 *   --map-fds N                 (spawn) maps the last N fds to fds 3, 4, ...
 *
 * Options (before SOCKET):
 *   --no-hello                  skips the Hello: the bad packet comes first
 *   --fd SPEC                   adds fds to the packet (see raw-fds.h), in
 *                               order: e.g. --fd socket --fd 3*file:/etc/passwd
 *   --fd-count N                the Request's fd_count (default: the fds sent)
 *   --client-name TEXT          the Hello's client string (at most 128 bytes;
 *                               default "raw-request")
 *   --unknown-fields            adds fields of every wire type that no version
 *                               of the protocol defines, to every message
 *   --daemon-pid PID            counts, while the connection is still open,
 *                               the daemon's fds on the files of the fds sent,
 *                               before the request and after its answer, and
 *                               prints "daemon_kept_fds=N" (after - before;
 *                               it waits up to 3 s for it to reach 0)
 *
 * Output: "reply error=N name=ENAME message=TEXT" for the response (error=0
 * name=- for a success, followed by a line on its body: "spawned id=ID
 * pids=P,...", "reserved id=ID pids=P,...", "status connections=N ...",
 * "verdict allowed=0|1"), "closed" when the daemon ended the connection, or
 * "timeout". A response with id 0 is the daemon's refusal of the connection
 * or of a packet it could not read; it is printed as the outcome, also in
 * place of the Hello's.
 *
 * Exit status: 0 when the exchange happened as printed, 1 on a local error,
 * 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "pidrestore.pb-c.h"
#include "raw-fds.h"
#include "wire.h"

#define REPLY_TIMEOUT_MS 10000
#define RECV_CAP (1024 * 1024)
#define REQUEST_ID 2
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
/* Above every packet a test sends: SO_SNDBUF caps a datagram's size. */
#define SEND_BUFFER (4 * 1024 * 1024)

/* What the options set, for every mode. */
static struct {
	struct raw_fds fds;
	bool has_fd_count;
	uint32_t fd_count;
	bool unknown_fields;
	const char *client_name;     /* the Hello's client string */
} opt;

/* Fields with numbers no version of the protocol uses, one of each wire
 * type; the data is what follows the tag on the wire. */
static uint8_t varint_data[] = { 0x2a };
static uint8_t len_data[] = { 0x03, 'n', 'e', 'w' };
static uint8_t fixed32_data[] = { 1, 2, 3, 4 };
static uint8_t fixed64_data[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static ProtobufCMessageUnknownField future_fields[] = {
	{ .tag = 1000, .wire_type = PROTOBUF_C_WIRE_TYPE_VARINT, .len = sizeof(varint_data), .data = varint_data },
	{ .tag = 1001, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, .len = sizeof(len_data), .data = len_data },
	{ .tag = 1002, .wire_type = PROTOBUF_C_WIRE_TYPE_32BIT, .len = sizeof(fixed32_data), .data = fixed32_data },
	{ .tag = 1003, .wire_type = PROTOBUF_C_WIRE_TYPE_64BIT, .len = sizeof(fixed64_data), .data = fixed64_data },
};

static void add_future_fields(ProtobufCMessage *m)
{
	if (!opt.unknown_fields)
		return;
	m->n_unknown_fields = ELEMENTSOF(future_fields);
	m->unknown_fields = future_fields;
}

static int sock_connect(const char *path, int *ret)
{
	int fd = wire_connect(path), size = SEND_BUFFER;

	if (fd < 0)
		return fd;
	/* Past net.core.wmem_max only with CAP_NET_ADMIN; the default is
	 * enough for every packet but the oversized ones. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	*ret = fd;
	return 0;
}

/* A peer that already closed still has its last words queued for us. */
static int sent(int r)
{
	return r == -EPIPE || r == -ECONNRESET ? 0 : r;
}

static int send_bytes(int sock, const uint8_t *buf, size_t len)
{
	return sent(wire_send(sock, buf, len, opt.fds.fd, opt.fds.n));
}

/* The fd count the options say, or that of the fds sent. */
static void set_fd_count(Pidrestore__Request *req)
{
	if (opt.has_fd_count || opt.fds.n > 0) {
		req->has_fd_count = 1;
		req->fd_count = opt.has_fd_count ? opt.fd_count : (uint32_t)opt.fds.n;
	}
}

/* Sends req as it is, with the fds of the options. */
static int send_packed(int sock, const Pidrestore__Request *req)
{
	size_t len;
	uint8_t *buf;
	int r;

	len = pidrestore__request__get_packed_size(req);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	pidrestore__request__pack(req, buf);
	r = send_bytes(sock, buf, len);
	free(buf);
	return r;
}

/* Sends req with its fd count and, when asked, fields from the future. */
static int send_request(int sock, Pidrestore__Request *req)
{
	set_fd_count(req);
	add_future_fields(&req->base);
	return send_packed(sock, req);
}

/* Waits for the response to request id, or one with id 0 (the daemon's
 * refusal of the connection or of a packet it could not read), skipping
 * events. Returns 1 with *ret set (free with
 * pidrestore__server_message__free_unpacked), 0 when the connection was
 * closed, -ETIMEDOUT, or -errno. */
static int recv_response(int sock, uint64_t id, Pidrestore__ServerMessage **ret)
{
	static uint8_t buf[RECV_CAP];
	bool reset = false;

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct wire_packet pkt;
		Pidrestore__ServerMessage *m;
		int r;

		r = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = wire_recv(sock, buf, sizeof(buf), &pkt);
		/* A peer that closed with our packet unread resets the
		 * connection, and the kernel reports that before the packets
		 * still queued for us: read on once. */
		if (r == -ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (r == -ECONNRESET || r == 0)
			return 0;
		if (r < 0)
			return r;
		wire_close_fds(&pkt, 0);
		if (pkt.truncated)
			return -EMSGSIZE;
		m = pidrestore__server_message__unpack(NULL, pkt.len, buf);
		if (!m)
			return -EBADMSG;
		if (m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE &&
		    (m->response->id == id || m->response->id == 0)) {
			*ret = m;
			return 1;
		}
		pidrestore__server_message__free_unpacked(m, NULL);
	}
}

static void print_pids(const char *what, uint64_t id, const int32_t *pids, size_t n)
{
	printf("%s id=%llu pids=", what, (unsigned long long)id);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", pids[i]);
	printf("\n");
}

static void print_body(const Pidrestore__Response *resp)
{
	switch (resp->body_case) {
	case PIDRESTORE__RESPONSE__BODY_SPAWN:
		print_pids("spawned", resp->spawn->process->id, resp->spawn->process->pids, resp->spawn->process->n_pids);
		break;
	case PIDRESTORE__RESPONSE__BODY_RESERVE:
		for (size_t i = 0; i < resp->reserve->n_processes; i++)
			print_pids("reserved", resp->reserve->processes[i]->id, resp->reserve->processes[i]->pids,
				   resp->reserve->processes[i]->n_pids);
		break;
	case PIDRESTORE__RESPONSE__BODY_STATUS:
		printf("status connections=%u reservations=%u running=%u\n", resp->status->connections,
		       resp->status->reservations, resp->status->running);
		break;
	case PIDRESTORE__RESPONSE__BODY_POLICY:
		if (resp->policy->verdict)
			printf("verdict allowed=%d\n", resp->policy->verdict->allowed);
		break;
	default:
		break;
	}
}

static void print_reply(const Pidrestore__ServerMessage *m)
{
	const Pidrestore__Response *resp = m->response;
	const char *name = resp->error > 0 ? strerrorname_np(resp->error) : NULL;

	printf("reply error=%d name=%s message=%s\n", resp->error, name ? name : "-",
	       resp->message ? resp->message : "");
	if (resp->error == 0)
		print_body(resp);
}

/* Prints the outcome of the request with this id. Returns 0 or -errno. */
static int report_outcome(int sock, uint64_t id)
{
	Pidrestore__ServerMessage *m = NULL;
	int r = recv_response(sock, id, &m);

	if (r == -ETIMEDOUT) {
		printf("timeout\n");
		return 0;
	}
	if (r < 0)
		return r;
	if (r == 0) {
		printf("closed\n");
		return 0;
	}
	print_reply(m);
	pidrestore__server_message__free_unpacked(m, NULL);
	return 0;
}

/* Sends req, whose body the caller pointed to, as a request of that type,
 * and prints the outcome. */
static int exchange(int sock, Pidrestore__Request *req, Pidrestore__Request__BodyCase body)
{
	int r;

	req->id = REQUEST_ID;
	req->body_case = body;
	r = send_request(sock, req);
	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

/* Returns 0 after a Hello was answered, 1 when the daemon refused the
 * connection instead (the refusal is printed), or -errno. */
static int hello(int sock, uint32_t *version)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	Pidrestore__ServerMessage *m = NULL;
	uint8_t buf[256];
	size_t len;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)(opt.client_name ? opt.client_name : "raw-request");
	add_future_fields(&h.base);
	req.id = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	add_future_fields(&req.base);
	len = pidrestore__request__pack(&req, buf);
	r = sent(wire_send(sock, buf, len, NULL, 0));
	if (r < 0)
		return r;
	r = recv_response(sock, 1, &m);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	if (m->response->id == 0) {
		print_reply(m);
		r = 1;
	} else if (m->response->error != 0 || m->response->body_case != PIDRESTORE__RESPONSE__BODY_HELLO) {
		r = -EPROTO;
	} else {
		*version = m->response->hello->version;
		r = 0;
	}
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

static int mode_garbage(int sock)
{
	/* Not a valid protobuf encoding: field 0 is reserved, wire type 7 does
	 * not exist, and a length runs past the end. */
	static const uint8_t junk[] = {
		0x00, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x0f, 0x52, 0x7f, 0xde, 0xad, 0xbe, 0xef, 0x0a, 0x80, 0x80, 0x80, 0x80,
	};
	int r = send_bytes(sock, junk, sizeof(junk));

	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

/* A Hello whose client string pads the packet to exactly 'size' bytes: valid
 * except for its size. */
static int mode_oversize(int sock, size_t size)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	size_t pad = size > 64 ? size - 64 : 1;
	char *s;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	req.id = REQUEST_ID;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	for (;;) {
		size_t len;

		s = malloc(pad + 1);
		if (!s)
			return -ENOMEM;
		memset(s, 'x', pad);
		s[pad] = '\0';
		h.client = s;
		len = pidrestore__request__get_packed_size(&req);
		if (len >= size || pad >= size)
			break;
		free(s);
		pad += size - len;
	}
	r = send_request(sock, &req);
	free(s);
	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

/* A Request with no body the daemon knows: field 99, an empty message. */
static int mode_unknown_type(int sock)
{
	static uint8_t empty[] = { 0x00 };
	ProtobufCMessageUnknownField body = {
		.tag = 99, .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, .len = sizeof(empty), .data = empty,
	};
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	int r;

	req.id = REQUEST_ID;
	set_fd_count(&req);
	req.base.n_unknown_fields = 1;
	req.base.unknown_fields = &body;
	r = send_packed(sock, &req);
	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

/* A Status with an unknown field in the deprecated group encoding: a group
 * holding one varint field. */
static int mode_unknown_group(int sock)
{
	/* After the start tag: field 1001 = 5, then the end tag of field 1000. */
	static uint8_t group[] = { 0xc8, 0x3e, 0x05, 0xc4, 0x3e };
	ProtobufCMessageUnknownField field = {
		/* protobuf-c names no group wire types; the start of one is 3. */
		.tag = 1000, .wire_type = (ProtobufCWireType)3, .len = sizeof(group), .data = group,
	};
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest st = PIDRESTORE__STATUS_REQUEST__INIT;
	int r;

	req.id = REQUEST_ID;
	req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
	req.status = &st;
	set_fd_count(&req);
	req.base.n_unknown_fields = 1;
	req.base.unknown_fields = &field;
	r = send_packed(sock, &req);
	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

static int mode_status(int sock)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest st = PIDRESTORE__STATUS_REQUEST__INIT;

	add_future_fields(&st.base);
	req.status = &st;
	return exchange(sock, &req, PIDRESTORE__REQUEST__BODY_STATUS);
}

/* A release that names a uid but not "all": the library never sends it. */
static int mode_release_uid(int sock, uint32_t uid, uint64_t *id)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReleaseRequest rel = PIDRESTORE__RELEASE_REQUEST__INIT;

	rel.has_uid = 1;
	rel.uid = uid;
	rel.n_reservation_ids = id ? 1 : 0;
	rel.reservation_ids = id;
	req.release = &rel;
	return exchange(sock, &req, PIDRESTORE__REQUEST__BODY_RELEASE);
}

/* What the spawn, reserve and policy-check modes are given. */
struct spec_args {
	int32_t pids[64];
	size_t n_pids;
	bool new_pidns;
	long pidns_fd;         /* -1: none */
	long map_fds;
};

static int parse_pids(const char *list, struct spec_args *a)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		return -ENOMEM;
	a->n_pids = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v;

		if (a->n_pids >= ELEMENTSOF(a->pids) || raw_parse_long(tok, INT32_MIN, INT32_MAX, &v) < 0) {
			free(copy);
			return -EINVAL;
		}
		a->pids[a->n_pids++] = (int32_t)v;
	}
	free(copy);
	return 0;
}

/* [--new-pidns] [--pidns-fd I] [--map-fds N] PID[,PID...]: the rest of argv. */
static int parse_spec_args(char **argv, int argc, struct spec_args *a)
{
	int i;

	*a = (struct spec_args){ .pidns_fd = -1 };
	for (i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--new-pidns") == 0)
			a->new_pidns = true;
		else if (strcmp(argv[i], "--pidns-fd") == 0 && i + 2 < argc &&
			 raw_parse_long(argv[i + 1], INT32_MIN, INT32_MAX, &a->pidns_fd) == 0)
			i++;
		else if (strcmp(argv[i], "--map-fds") == 0 && i + 2 < argc &&
			 raw_parse_long(argv[i + 1], 0, WIRE_MAX_FDS, &a->map_fds) == 0)
			i++;
		else
			return -EINVAL;
	}
	if (i + 1 != argc || (size_t)a->map_fds > opt.fds.n)
		return -EINVAL;
	return parse_pids(argv[i], a);
}

static void fill_process(const struct spec_args *a, Pidrestore__ProcessSpec *ps)
{
	ps->n_pids = a->n_pids;
	ps->pids = (int32_t *)a->pids;
	if (a->new_pidns) {
		ps->has_new_pidns = 1;
		ps->new_pidns = 1;
	}
	if (a->pidns_fd != -1) {
		ps->has_pidns_fd_index = 1;
		ps->pidns_fd_index = (int32_t)a->pidns_fd;
	}
	add_future_fields(&ps->base);
}

/* Builds a spawn of /bin/true into req (pointing into the arrays given). */
static void build_spawn(const struct spec_args *a, Pidrestore__Request *req, Pidrestore__SpawnRequest *sp,
			Pidrestore__ProcessSpec *ps, Pidrestore__ExecSpec *ex, Pidrestore__FdMapping *maps,
			Pidrestore__FdMapping **map_ptrs)
{
	static ProtobufCBinaryData argv0 = { .len = 9, .data = (uint8_t *)"/bin/true" };
	size_t first = opt.fds.n - (size_t)a->map_fds;

	fill_process(a, ps);
	ex->has_path = 1;
	ex->path = argv0;
	ex->n_argv = 1;
	ex->argv = &argv0;
	for (size_t i = 0; i < (size_t)a->map_fds; i++) {
		pidrestore__fd_mapping__init(&maps[i]);
		maps[i].fd_index = (int32_t)(first + i);
		maps[i].target = (int32_t)(3 + i);
		add_future_fields(&maps[i].base);
		map_ptrs[i] = &maps[i];
	}
	ex->n_fds = (size_t)a->map_fds;
	ex->fds = map_ptrs;
	add_future_fields(&ex->base);
	sp->process = ps;
	sp->exec = ex;
	add_future_fields(&sp->base);
	req->id = REQUEST_ID;
	req->body_case = PIDRESTORE__REQUEST__BODY_SPAWN;
	req->spawn = sp;
}

static int mode_spawn(int sock, const struct spec_args *a)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__SpawnRequest sp = PIDRESTORE__SPAWN_REQUEST__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT;
	Pidrestore__ExecSpec ex = PIDRESTORE__EXEC_SPEC__INIT;
	Pidrestore__FdMapping maps[WIRE_MAX_FDS], *map_ptrs[WIRE_MAX_FDS];

	build_spawn(a, &req, &sp, &ps, &ex, maps, map_ptrs);
	return exchange(sock, &req, PIDRESTORE__REQUEST__BODY_SPAWN);
}

/* The first two thirds of a valid spawn: it ends inside a field. */
static int mode_truncated(int sock)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__SpawnRequest sp = PIDRESTORE__SPAWN_REQUEST__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT;
	Pidrestore__ExecSpec ex = PIDRESTORE__EXEC_SPEC__INIT;
	struct spec_args a = { .pids = { 0 }, .n_pids = 1, .pidns_fd = -1 };
	uint8_t buf[256];
	size_t len;
	int r;

	build_spawn(&a, &req, &sp, &ps, &ex, NULL, NULL);
	len = pidrestore__request__get_packed_size(&req);
	if (len > sizeof(buf))
		return -E2BIG;
	pidrestore__request__pack(&req, buf);
	r = send_bytes(sock, buf, len * 2 / 3);
	return r < 0 ? r : report_outcome(sock, REQUEST_ID);
}

static int mode_reserve(int sock, const struct spec_args *a)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReserveRequest rs = PIDRESTORE__RESERVE_REQUEST__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT, *ps_ptr = &ps;

	fill_process(a, &ps);
	rs.n_processes = 1;
	rs.processes = &ps_ptr;
	add_future_fields(&rs.base);
	req.reserve = &rs;
	return exchange(sock, &req, PIDRESTORE__REQUEST__BODY_RESERVE);
}

static int mode_policy_check(int sock, const struct spec_args *a)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__PolicyRequest pr = PIDRESTORE__POLICY_REQUEST__INIT;
	Pidrestore__PolicyCheck pc = PIDRESTORE__POLICY_CHECK__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT;

	fill_process(a, &ps);
	pc.process = &ps;
	add_future_fields(&pc.base);
	pr.check = &pc;
	add_future_fields(&pr.base);
	req.policy = &pr;
	return exchange(sock, &req, PIDRESTORE__REQUEST__BODY_POLICY);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: raw-request [OPTION...] SOCKET hello|garbage|truncated|unknown-type|unknown-group|status\n"
		"       raw-request [OPTION...] SOCKET oversize BYTES\n"
		"       raw-request [OPTION...] SOCKET fds N FILE [FD_COUNT]\n"
		"       raw-request [OPTION...] SOCKET spawn|reserve|policy-check [--new-pidns] [--pidns-fd I] [--map-fds N] PID[,PID...]\n"
		"       raw-request [OPTION...] SOCKET release-uid UID [ID]\n"
		"options: --no-hello, --fd SPEC, --fd-count N, --unknown-fields, --daemon-pid PID\n");
}

/* The daemon's fds on the files sent, while the connection is open: it may
 * still be tearing the request down, so give it a moment. */
static int count_kept(pid_t daemon_pid, int before)
{
	int n = -1;

	for (int i = 0; i < 30; i++) {
		struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

		n = raw_fds_held_by(&opt.fds, daemon_pid);
		if (n <= before)
			break;
		nanosleep(&ts, NULL);
	}
	return n < 0 ? n : n - before;
}

static int run_mode(int sock, char **argv, int argc)
{
	const char *mode = argv[0];
	struct spec_args a;
	long v;

	if (strcmp(mode, "garbage") == 0 && argc == 1)
		return mode_garbage(sock);
	if (strcmp(mode, "truncated") == 0 && argc == 1)
		return mode_truncated(sock);
	if (strcmp(mode, "unknown-type") == 0 && argc == 1)
		return mode_unknown_type(sock);
	if (strcmp(mode, "status") == 0 && argc == 1)
		return mode_status(sock);
	if (strcmp(mode, "unknown-group") == 0 && argc == 1)
		return mode_unknown_group(sock);
	if (strcmp(mode, "oversize") == 0 && argc == 2 && raw_parse_long(argv[1], 1, 64 << 20, &v) == 0)
		return mode_oversize(sock, (size_t)v);
	if (strcmp(mode, "spawn") == 0 && parse_spec_args(argv + 1, argc - 1, &a) == 0)
		return mode_spawn(sock, &a);
	if (strcmp(mode, "reserve") == 0 && parse_spec_args(argv + 1, argc - 1, &a) == 0)
		return mode_reserve(sock, &a);
	if (strcmp(mode, "policy-check") == 0 && parse_spec_args(argv + 1, argc - 1, &a) == 0)
		return mode_policy_check(sock, &a);
	if (strcmp(mode, "release-uid") == 0 && (argc == 2 || argc == 3) &&
	    raw_parse_long(argv[1], 0, UINT32_MAX, &v) == 0) {
		uint64_t id = argc == 3 ? strtoull(argv[2], NULL, 10) : 0;

		return mode_release_uid(sock, (uint32_t)v, argc == 3 ? &id : NULL);
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	long daemon_pid = 0, v, count;
	uint32_t version = 0;
	bool no_hello = false;
	int sock = -1, before = 0, r;

	for (;;) {
		if (argc > 2 && strcmp(argv[1], "--daemon-pid") == 0 && raw_parse_long(argv[2], 1, INT_MAX, &daemon_pid) == 0) {
			argv += 2;
			argc -= 2;
		} else if (argc > 2 && strcmp(argv[1], "--fd") == 0) {
			r = raw_fds_add(&opt.fds, argv[2]);
			if (r < 0) {
				fprintf(stderr, "raw-request: --fd %s: %s\n", argv[2], strerror(-r));
				return r == -EINVAL ? 2 : 1;
			}
			argv += 2;
			argc -= 2;
		} else if (argc > 2 && strcmp(argv[1], "--fd-count") == 0 && raw_parse_long(argv[2], 0, UINT32_MAX, &v) == 0) {
			opt.has_fd_count = true;
			opt.fd_count = (uint32_t)v;
			argv += 2;
			argc -= 2;
		} else if (argc > 1 && strcmp(argv[1], "--no-hello") == 0) {
			no_hello = true;
			argv++;
			argc--;
		} else if (argc > 2 && strcmp(argv[1], "--client-name") == 0 && strlen(argv[2]) <= 128) {
			opt.client_name = argv[2];
			argv += 2;
			argc -= 2;
		} else if (argc > 1 && strcmp(argv[1], "--unknown-fields") == 0) {
			opt.unknown_fields = true;
			argv++;
			argc--;
		} else {
			break;
		}
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	/* "fds N FILE [FD_COUNT]": a Status with N fds of FILE. */
	if (strcmp(argv[2], "fds") == 0 && (argc == 5 || argc == 6)) {
		char spec[PATH_MAX + 16];

		if (raw_parse_long(argv[3], 1, WIRE_MAX_FDS, &v) < 0 ||
		    (argc == 6 && raw_parse_long(argv[5], 0, UINT32_MAX, &count) < 0)) {
			usage();
			return 2;
		}
		snprintf(spec, sizeof(spec), "%ld*file:%s", v, argv[4]);
		r = raw_fds_add(&opt.fds, spec);
		if (r < 0) {
			fprintf(stderr, "raw-request: %s: %s\n", argv[4], strerror(-r));
			return 1;
		}
		if (argc == 6) {
			opt.has_fd_count = true;
			opt.fd_count = (uint32_t)count;
		}
		argv[2] = (char *)"status";
		argc = 3;
	}
	r = sock_connect(argv[1], &sock);
	if (r < 0) {
		fprintf(stderr, "raw-request: connect %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	r = no_hello ? 0 : hello(sock, &version);
	if (r < 0) {
		fprintf(stderr, "raw-request: hello: %s\n", strerror(-r));
		return 1;
	}
	if (r == 1)
		goto done;
	if (daemon_pid > 0) {
		before = raw_fds_held_by(&opt.fds, (pid_t)daemon_pid);
		if (before < 0) {
			fprintf(stderr, "raw-request: /proc/%ld/fd: %s\n", daemon_pid, strerror(-before));
			return 1;
		}
	}

	if (strcmp(argv[2], "hello") == 0 && argc == 3) {
		printf("hello version=%u\n", version);
		goto done;
	}
	r = run_mode(sock, argv + 2, argc - 2);
	if (r == -EINVAL) {
		usage();
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "raw-request: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	if (daemon_pid > 0) {
		int kept = count_kept((pid_t)daemon_pid, before);

		if (kept < 0) {
			fprintf(stderr, "raw-request: /proc/%ld/fd: %s\n", daemon_pid, strerror(-kept));
			return 1;
		}
		printf("daemon_kept_fds=%d\n", kept);
	}
done:
	fflush(stdout);
	close(sock);
	raw_fds_close(&opt.fds);
	return 0;
}
