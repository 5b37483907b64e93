/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore: the client side of the pidrestored protocol.
 *
 * A call sends one Request and reads packets until the Response with the
 * same id arrives; Events that arrive meanwhile are queued in order for
 * pidrestore_wait_event(). Every received fd is either handed to the caller
 * or closed before the call returns. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.h"
#include "pidrestore-raw.h"
#include "pidrestore.pb-c.h"
#include "wire.h"

#define _public_ __attribute__((visibility("default")))

/* Binds a function to a versioned name of the library's ABI; the attribute
 * (GCC 10) survives link-time optimization, a toplevel .symver does not. */
#if defined(__has_attribute) && __has_attribute(symver)
#define _symver_(name) __attribute__((symver(name)))
#else
#define _symver_(name)
#define SYMVER_BY_ASM 1
#endif

/* The daemon's documented default, used until HelloReply states its limit. */
#define DEFAULT_MESSAGE_SIZE (64 * 1024)
/* Bounds on what we believe of HelloReply.max_message_size: a smaller buffer
 * could not hold a status reply, a larger one is a daemon bug, not a need. */
#define MIN_MESSAGE_SIZE 4096
#define MAX_MESSAGE_SIZE (16 * 1024 * 1024)
/* Errno values are small; anything else in Response.error is garbage. */
#define MAX_ERRNO 4095

/* ProcessSpec.pids and ProcessInfo.pids are int32; pid_t is passed through. */
_Static_assert(sizeof(pid_t) == sizeof(int32_t), "pid_t must be 32 bits");

extern char **environ;

struct queued_event {
	struct queued_event *next;
	pidrestore_event event;
};

struct pidrestore {
	int fd;
	uint64_t next_request_id;
	uint32_t version;
	size_t max_message_size;
	uint8_t *recv_buf;
	size_t recv_size;          /* of recv_buf: max_message_size, or more for a large reply */
	struct queued_event *events_head;
	struct queued_event **events_tail;
	bool can_release_uid;      /* HelloReply.features has "release-uid" */
	bool kill_tells_released;  /* and "kill-released-ids" */
	size_t max_tree_message_size; /* HelloReply's; 0: as max_message_size */
	int tree_error_node, tree_error_level; /* of the last refused tree */
	char last_error[1024];
};

/* A failed pidrestore_connect has no connection to keep its message in;
 * pidrestore_last_error(NULL) returns it. */
static _Thread_local char connect_error[1024];

/* The fds one request carries, in index order. */
struct fd_list {
	size_t n;
	int fds[WIRE_MAX_FDS];
};

/* An ExecSpec and the arrays it points into. */
struct exec_build {
	Pidrestore__ExecSpec spec;
	ProtobufCBinaryData *argv;
	ProtobufCBinaryData *envp;
	Pidrestore__FdMapping *mappings;
	Pidrestore__FdMapping **mapping_ptrs;
	int opened_cwd_fd;     /* the caller's cwd we opened, closed after sending */
};

__attribute__((format(printf, 4, 0)))
static int format_error_va(char *buf, size_t size, int r, const char *fmt, va_list ap)
{
	vsnprintf(buf, size, fmt, ap);
	return r;
}

/* Records why a call on c failed; returns r (a negative errno) unchanged.
 * The queries in lib-query.c record theirs with it too. */
int pidrestore_raw_set_error(pidrestore *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_error_va(c->last_error, sizeof(c->last_error), r, fmt, ap);
	va_end(ap);
	return r;
}
#define set_error pidrestore_raw_set_error

__attribute__((format(printf, 2, 3)))
static int set_connect_error(int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_error_va(connect_error, sizeof(connect_error), r, fmt, ap);
	va_end(ap);
	return r;
}

static int fd_list_add(pidrestore *c, struct fd_list *list, int fd, int32_t *ret_index)
{
	if (fd < 0)
		return set_error(c, -EBADF, "invalid file descriptor %d", fd);
	if (list->n >= WIRE_MAX_FDS)
		return set_error(c, -EINVAL, "a request carries at most %d file descriptors", WIRE_MAX_FDS);
	*ret_index = (int32_t)list->n;
	list->fds[list->n++] = fd;
	return 0;
}

/* Takes the fd at index out of pkt, so that closing pkt leaves it open. */
static int take_fd(pidrestore *c, struct wire_packet *pkt, int32_t index, int *ret)
{
	if (index < 0 || (size_t)index >= pkt->n_fds || pkt->fds[index] < 0)
		return set_error(c, -EPROTO, "pidrestored sent an invalid or repeated fd index %d", (int)index);
	*ret = pkt->fds[index];
	pkt->fds[index] = -1;
	return 0;
}

/* The protocol requires every fd of a packet to be named by exactly one field. */
static int check_all_fds_taken(pidrestore *c, const struct wire_packet *pkt)
{
	for (size_t i = 0; i < pkt->n_fds; i++)
		if (pkt->fds[i] >= 0)
			return set_error(c, -EPROTO, "pidrestored sent fd %zu without naming it in the reply", i);
	return 0;
}

static int copy_pids(pidrestore *c, const int32_t *pids, size_t n, pid_t *dst, size_t *ret_n)
{
	if (n > PIDRESTORE_MAX_LEVELS)
		return set_error(c, -EPROTO, "pidrestored sent %zu pid levels, more than %d", n, PIDRESTORE_MAX_LEVELS);
	if (n > 0)
		memcpy(dst, pids, n * sizeof(pid_t));
	*ret_n = n;
	return 0;
}

/* ---------------------------------------------------------------- events */

/* Returns 1 with *ret filled, 0 for an event type this library does not
 * know (a newer daemon's; ignored), or a negative errno. */
static int event_from_message(pidrestore *c, const Pidrestore__Event *m, pidrestore_event *ret)
{
	pidrestore_event ev = { 0 };
	int r;

	switch (m->body_case) {
	case PIDRESTORE__EVENT__BODY_EXITED: {
		const Pidrestore__ExitEvent *e = m->exited;

		ev.type = PIDRESTORE_EVENT_EXITED;
		ev.id = e->id;
		r = copy_pids(c, e->pids, e->n_pids, ev.pids, &ev.n_pids);
		if (r < 0)
			return r;
		ev.signal = e->has_signal ? e->signal : 0;
		ev.exit_code = e->has_exit_code ? e->exit_code : -1;
		ev.core_dumped = e->has_core_dumped && e->core_dumped;
		break;
	}
	case PIDRESTORE__EVENT__BODY_EXPIRED: {
		const Pidrestore__ExpiredEvent *e = m->expired;

		ev.type = PIDRESTORE_EVENT_EXPIRED;
		ev.id = e->id;
		r = copy_pids(c, e->pids, e->n_pids, ev.pids, &ev.n_pids);
		if (r < 0)
			return r;
		ev.exit_code = -1;
		break;
	}
	case PIDRESTORE__EVENT__BODY_RELEASED: {
		const Pidrestore__ReleasedEvent *e = m->released;

		ev.type = PIDRESTORE_EVENT_RELEASED;
		ev.id = e->id;
		r = copy_pids(c, e->pids, e->n_pids, ev.pids, &ev.n_pids);
		if (r < 0)
			return r;
		ev.exit_code = -1;
		ev.signal = e->has_signal ? e->signal : 0;
		ev.by_uid = e->has_by_uid ? e->by_uid : (uid_t)-1;
		ev.by_pid = e->has_by_pid ? e->by_pid : 0;
		break;
	}
	case PIDRESTORE__EVENT__BODY_CLAIMED: {
		const Pidrestore__ClaimedEvent *e = m->claimed;

		ev.type = PIDRESTORE_EVENT_CLAIMED;
		ev.id = e->id;
		r = copy_pids(c, e->pids, e->n_pids, ev.pids, &ev.n_pids);
		if (r < 0)
			return r;
		ev.exit_code = -1;
		ev.by_uid = e->has_by_uid ? e->by_uid : (uid_t)-1;
		ev.by_pid = e->has_by_pid ? e->by_pid : 0;
		break;
	}
	default:
		return 0;
	}
	*ret = ev;
	return 1;
}

static int queue_event(pidrestore *c, const Pidrestore__Event *m)
{
	struct queued_event *q;
	pidrestore_event ev;
	int r;

	r = event_from_message(c, m, &ev);
	if (r <= 0)
		return r;
	q = calloc(1, sizeof(*q));
	if (!q)
		return set_error(c, -ENOMEM, "out of memory queueing an event");
	q->event = ev;
	*c->events_tail = q;
	c->events_tail = &q->next;
	return 0;
}

static bool pop_event(pidrestore *c, pidrestore_event *ret)
{
	struct queued_event *q = c->events_head;

	if (!q)
		return false;
	c->events_head = q->next;
	if (!c->events_head)
		c->events_tail = &c->events_head;
	*ret = q->event;
	free(q);
	return true;
}

/* ------------------------------------------------------------- transport */

/* Receives and decodes one packet. On success the caller owns *ret and the
 * fds in pkt; on failure nothing is left open. */
static int receive_message(pidrestore *c, Pidrestore__ServerMessage **ret, struct wire_packet *pkt)
{
	Pidrestore__ServerMessage *msg;
	int r;

	r = wire_recv(c->fd, c->recv_buf, c->recv_size, pkt);
	/* A daemon that closed with our request unread resets the connection,
	 * and the kernel reports that before what is still queued for us,
	 * such as the reply that says why: read on once. */
	if (r == -ECONNRESET)
		r = wire_recv(c->fd, c->recv_buf, c->recv_size, pkt);
	if (r == 0 || r == -ECONNRESET)
		return set_error(c, -ECONNRESET, "pidrestored closed the connection");
	if (r < 0)
		return set_error(c, r, "cannot receive from pidrestored: %s", strerror(-r));
	if (pkt->truncated) {
		r = set_error(c, -EPROTO, "pidrestored sent a %zu-byte message; its limit is %zu bytes",
			      pkt->len, c->recv_size);
		goto out;
	}
	if (pkt->fds_truncated) {
		r = set_error(c, -EPROTO, "pidrestored sent more file descriptors than one message can carry");
		goto out;
	}
	msg = pidrestore__server_message__unpack(NULL, pkt->len, c->recv_buf);
	if (!msg) {
		r = set_error(c, -EPROTO, "cannot decode a %zu-byte message from pidrestored", pkt->len);
		goto out;
	}
	*ret = msg;
	return 0;
out:
	wire_close_fds(pkt, 0);
	return r;
}

/* A response to request 0 answers no request: the daemon says why it
 * closes the connection (idle, stopping, a packet it could not read). */
static int report_goodbye(pidrestore *c, const Pidrestore__Response *resp)
{
	int err = resp->has_error ? resp->error : 0;

	if (err <= 0 || err > MAX_ERRNO)
		err = ECONNRESET;
	if (resp->message && resp->message[0])
		return set_error(c, -err, "%s", resp->message);
	return set_error(c, -err, "pidrestored closed the connection (%s)", strerror(err));
}

/* Handles a message that is not the response a call waits for: events are
 * queued, the daemon's goodbye is reported as such, any other response
 * nobody asked for is a protocol error. */
static int handle_unsolicited(pidrestore *c, Pidrestore__ServerMessage *msg, struct wire_packet *pkt)
{
	int r = 0;

	/* Events carry no fds; a newer daemon's extra ones are not ours to keep. */
	wire_close_fds(pkt, 0);
	switch (msg->kind_case) {
	case PIDRESTORE__SERVER_MESSAGE__KIND_EVENT:
		r = queue_event(c, msg->event);
		break;
	case PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE:
		if (msg->response->id == 0)
			r = report_goodbye(c, msg->response);
		else
			r = set_error(c, -EPROTO, "pidrestored sent a response to request %llu, which is not pending",
				      (unsigned long long)msg->response->id);
		break;
	default:
		break;
	}
	pidrestore__server_message__free_unpacked(msg, NULL);
	return r;
}

static int await_response(pidrestore *c, uint64_t id, Pidrestore__ServerMessage **ret,
			  struct wire_packet *pkt)
{
	for (;;) {
		Pidrestore__ServerMessage *msg;
		int r;

		r = receive_message(c, &msg, pkt);
		if (r < 0)
			return r;
		/* An error with id 0 answers no request: the daemon refused the
		 * connection or a packet it could not read, and says why. */
		if (msg->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE &&
		    (msg->response->id == id || (msg->response->id == 0 && msg->response->error != 0))) {
			*ret = msg;
			return 0;
		}
		r = handle_unsolicited(c, msg, pkt);
		if (r < 0)
			return r;
	}
}

static void response_free(Pidrestore__ServerMessage *msg, struct wire_packet *pkt)
{
	wire_close_fds(pkt, 0);
	if (msg)
		pidrestore__server_message__free_unpacked(msg, NULL);
}

/* A tree request may be larger than the others. */
static size_t request_limit(const pidrestore *c, const Pidrestore__Request *req)
{
	if (req->body_case == PIDRESTORE__REQUEST__BODY_TREE && c->max_tree_message_size > c->max_message_size)
		return c->max_tree_message_size;
	return c->max_message_size;
}

/* The kernel refuses a packet larger than the socket's send buffer: a
 * large tree raises it (an unprivileged process up to twice
 * net.core.wmem_max). */
static int send_room(pidrestore *c, size_t size)
{
	int have = 0, want = size > INT_MAX / 2 ? INT_MAX / 2 : (int)size + 4096;
	socklen_t len = sizeof(have);

	if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &have, &len) == 0 && (size_t)have >= size + 4096)
		return 0;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	len = sizeof(have);
	if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &have, &len) == 0 && (size_t)have < size + 64)
		return set_error(c, -EMSGSIZE, "the request has %zu bytes, more than this socket can send (%d); raise net.core.wmem_max or send a smaller tree",
				 size, have);
	return 0;
}

/* Sends req with fds and waits for its response. Returns the daemon's
 * refusal as its negative errno. On success *ret is a Response of the
 * expected type, and the caller takes its fds from pkt and frees both with
 * response_free(). */
static int call(pidrestore *c, Pidrestore__Request *req, const struct fd_list *fds,
		Pidrestore__Response__BodyCase expected, Pidrestore__ServerMessage **ret,
		struct wire_packet *pkt)
{
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__Response *resp;
	uint8_t *buf = NULL;
	size_t size, n_fds = fds ? fds->n : 0;
	int r;

	pkt->n_fds = 0;
	req->id = c->next_request_id++;
	req->has_fd_count = n_fds > 0;
	req->fd_count = (uint32_t)n_fds;

	size = pidrestore__request__get_packed_size(req);
	if (size > request_limit(c, req)) {
		r = set_error(c, -E2BIG, "request of %zu bytes exceeds pidrestored's limit of %zu bytes "
			      "(too large an environment or argument list, or tree?)", size, request_limit(c, req));
		goto out;
	}
	r = send_room(c, size);
	if (r < 0)
		goto out;
	buf = malloc(size ? size : 1);
	if (!buf) {
		r = set_error(c, -ENOMEM, "out of memory encoding a request");
		goto out;
	}
	pidrestore__request__pack(req, buf);
	r = wire_send(c->fd, buf, size, fds ? fds->fds : NULL, n_fds);
	/* A daemon that refused the connection has said why before closing. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
		r = set_error(c, r, "cannot send to pidrestored: %s", strerror(-r));
		goto out;
	}
	/* A daemon that closed the connection may have said why first: read
	 * it rather than report a broken pipe. */
	r = await_response(c, req->id, &msg, pkt);
	if (r < 0)
		goto out;
	resp = msg->response;
	if ((resp->has_fd_count ? resp->fd_count : 0) != pkt->n_fds) {
		r = set_error(c, -EPROTO, "pidrestored's reply announces %u fds but carries %zu",
			      resp->has_fd_count ? resp->fd_count : 0, pkt->n_fds);
		goto out;
	}
	if (resp->has_error && resp->error != 0) {
		if (resp->body_case == PIDRESTORE__RESPONSE__BODY_TREE) {
			c->tree_error_node = resp->tree->has_error_node ? resp->tree->error_node : -1;
			c->tree_error_level = resp->tree->has_error_level ? resp->tree->error_level : -1;
		}
		if (resp->error < 0 || resp->error > MAX_ERRNO)
			r = set_error(c, -EPROTO, "pidrestored sent an invalid error code %d", (int)resp->error);
		else if (resp->message && resp->message[0])
			r = set_error(c, -resp->error, "%s", resp->message);
		else
			r = set_error(c, -resp->error, "%s", strerror(resp->error));
		goto out;
	}
	if (resp->body_case != expected) {
		r = set_error(c, -EPROTO, "pidrestored sent a reply of type %d to a request of type %d",
			      (int)resp->body_case, (int)expected);
		goto out;
	}
	*ret = msg;
	msg = NULL;
	r = 0;
out:
	if (r < 0)
		response_free(msg, pkt);
	free(buf);
	return r;
}

/* -------------------------------------------------------- request parts */

static int process_spec_build(pidrestore *c, Pidrestore__ProcessSpec *spec,
			      const pidrestore_target *target, struct fd_list *fds)
{
	int r;

	if (!target)
		return set_error(c, -EINVAL, "no target given");
	if (target->n_pids > PIDRESTORE_MAX_LEVELS)
		return set_error(c, -EINVAL, "%zu pid levels requested; at most %d exist",
				 target->n_pids, PIDRESTORE_MAX_LEVELS);
	if (target->n_pids > 0 && !target->pids)
		return set_error(c, -EINVAL, "target has n_pids but no pids");
	if (target->n_pids > PIDRESTORE_MAX_PIDS && target->pids[PIDRESTORE_MAX_PIDS] != 0)
		return set_error(c, -EINVAL, "%zu PIDs given; at most %d can be chosen: the kernel's clone3() sets at most %d levels' PIDs, innermost first, and gives the outermost level of a process %d namespaces deep a PID of its choice; give 0 for that level or leave it out",
				 target->n_pids, PIDRESTORE_MAX_PIDS, PIDRESTORE_MAX_PIDS, PIDRESTORE_MAX_PIDS);
	if (target->flags & ~PIDRESTORE_NEW_PIDNS)
		return set_error(c, -EINVAL, "unknown target flags 0x%x", target->flags);

	pidrestore__process_spec__init(spec);
	spec->n_pids = target->n_pids;
	spec->pids = (int32_t *)target->pids;
	if (target->pidns_fd >= 0) {
		r = fd_list_add(c, fds, target->pidns_fd, &spec->pidns_fd_index);
		if (r < 0)
			return r;
		spec->has_pidns_fd_index = true;
	}
	if (target->flags & PIDRESTORE_NEW_PIDNS) {
		spec->has_new_pidns = true;
		spec->new_pidns = true;
	}
	return 0;
}

static void exec_build_init(struct exec_build *b)
{
	memset(b, 0, sizeof(*b));
	pidrestore__exec_spec__init(&b->spec);
	b->opened_cwd_fd = -1;
}

static void exec_build_free(struct exec_build *b)
{
	free(b->argv);
	free(b->envp);
	free(b->mappings);
	free(b->mapping_ptrs);
	if (b->opened_cwd_fd >= 0)
		close(b->opened_cwd_fd);
	exec_build_init(b);
}

/* Points *ret at a new array of the strings of a NULL-terminated vector; the
 * strings themselves are not copied. */
static int strv_to_bytes(pidrestore *c, char *const *strv, ProtobufCBinaryData **ret, size_t *ret_n)
{
	ProtobufCBinaryData *items;
	size_t n = 0;

	while (strv && strv[n])
		n++;
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		return set_error(c, -ENOMEM, "out of memory encoding a command");
	for (size_t i = 0; i < n; i++) {
		items[i].data = (uint8_t *)strv[i];
		items[i].len = strlen(strv[i]);
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

static int exec_build(pidrestore *c, struct exec_build *b, const pidrestore_command *cmd, struct fd_list *fds)
{
	Pidrestore__ExecSpec *spec = &b->spec;
	char *default_argv[2] = { NULL, NULL };
	int r;

	if (!cmd)
		return set_error(c, -EINVAL, "no command given");
	if (!cmd->path && cmd->program_fd < 0)
		return set_error(c, -EINVAL, "the command needs a path or a program_fd");
	if (!cmd->argv && !cmd->path)
		return set_error(c, -EINVAL, "argv is required when the command has no path");
	if (cmd->n_fd_map > 0 && !cmd->fd_map)
		return set_error(c, -EINVAL, "n_fd_map is set but fd_map is NULL");

	if (cmd->path) {
		spec->has_path = true;
		spec->path.data = (uint8_t *)cmd->path;
		spec->path.len = strlen(cmd->path);
	}
	if (cmd->program_fd >= 0) {
		r = fd_list_add(c, fds, cmd->program_fd, &spec->program_fd_index);
		if (r < 0)
			return r;
		spec->has_program_fd_index = true;
	}

	default_argv[0] = (char *)cmd->path;
	r = strv_to_bytes(c, cmd->argv ? cmd->argv : default_argv, &b->argv, &spec->n_argv);
	if (r < 0)
		return r;
	spec->argv = b->argv;
	r = strv_to_bytes(c, cmd->envp ? cmd->envp : environ, &b->envp, &spec->n_envp);
	if (r < 0)
		return r;
	spec->envp = b->envp;

	if (cmd->cwd_fd >= 0) {
		r = fd_list_add(c, fds, cmd->cwd_fd, &spec->cwd_fd_index);
	} else {
		b->opened_cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->opened_cwd_fd < 0)
			return set_error(c, -errno, "cannot open the working directory: %m");
		r = fd_list_add(c, fds, b->opened_cwd_fd, &spec->cwd_fd_index);
	}
	if (r < 0)
		return r;
	spec->has_cwd_fd_index = true;

	b->mappings = calloc(cmd->n_fd_map ? cmd->n_fd_map : 1, sizeof(*b->mappings));
	b->mapping_ptrs = calloc(cmd->n_fd_map ? cmd->n_fd_map : 1, sizeof(*b->mapping_ptrs));
	if (!b->mappings || !b->mapping_ptrs)
		return set_error(c, -ENOMEM, "out of memory encoding a command");
	for (size_t i = 0; i < cmd->n_fd_map; i++) {
		Pidrestore__FdMapping *m = &b->mappings[i];

		pidrestore__fd_mapping__init(m);
		if (cmd->fd_map[i][1] < 0)
			return set_error(c, -EINVAL, "fd_map[%zu] maps to the invalid fd %d", i, cmd->fd_map[i][1]);
		r = fd_list_add(c, fds, cmd->fd_map[i][0], &m->fd_index);
		if (r < 0)
			return r;
		m->target = cmd->fd_map[i][1];
		b->mapping_ptrs[i] = m;
	}
	spec->n_fds = cmd->n_fd_map;
	spec->fds = b->mapping_ptrs;
	return 0;
}

/* Fills ret from info, taking its pidfd out of pkt. */
static int process_from_info(pidrestore *c, const Pidrestore__ProcessInfo *info,
			     struct wire_packet *pkt, pidrestore_process *ret)
{
	pidrestore_process p = { .pidfd = -1 };
	int r;

	if (!info)
		return set_error(c, -EPROTO, "pidrestored's reply lacks the process");
	p.id = info->id;
	p.pidns_inode = info->has_pidns_inode ? info->pidns_inode : 0;
	r = copy_pids(c, info->pids, info->n_pids, p.pids, &p.n_pids);
	if (r < 0)
		return r;
	if (info->has_pidfd_index) {
		r = take_fd(c, pkt, info->pidfd_index, &p.pidfd);
		if (r < 0)
			return r;
	}
	*ret = p;
	return 0;
}

/* ------------------------------------------------------------- public */

static int hello(pidrestore *c)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__HelloReply *reply;
	struct wire_packet pkt = { 0 };
	size_t size;
	uint8_t *buf;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)"libpidrestore " PACKAGE_VERSION;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;

	r = call(c, &req, NULL, PIDRESTORE__RESPONSE__BODY_HELLO, &msg, &pkt);
	if (r < 0)
		return r;
	r = check_all_fds_taken(c, &pkt);
	if (r < 0)
		goto out;
	reply = msg->response->hello;
	if (reply->version < PIDRESTORE_PROTOCOL_MIN_VERSION || reply->version > PIDRESTORE_PROTOCOL_VERSION) {
		r = set_error(c, -EPROTONOSUPPORT, "pidrestored chose protocol version %u; this library speaks %d to %d",
			      reply->version, PIDRESTORE_PROTOCOL_MIN_VERSION, PIDRESTORE_PROTOCOL_VERSION);
		goto out;
	}
	c->version = reply->version;
	for (size_t i = 0; i < reply->n_features; i++)
		if (!reply->features[i])
			continue;
		else if (strcmp(reply->features[i], "release-uid") == 0)
			c->can_release_uid = true;
		else if (strcmp(reply->features[i], "kill-released-ids") == 0)
			c->kill_tells_released = true;
	c->max_tree_message_size = reply->has_max_tree_message_size ? reply->max_tree_message_size : 0;
	if (c->max_tree_message_size > MAX_MESSAGE_SIZE)
		c->max_tree_message_size = MAX_MESSAGE_SIZE;

	size = reply->has_max_message_size && reply->max_message_size > 0 ? reply->max_message_size
									 : DEFAULT_MESSAGE_SIZE;
	if (size < MIN_MESSAGE_SIZE)
		size = MIN_MESSAGE_SIZE;
	if (size > MAX_MESSAGE_SIZE)
		size = MAX_MESSAGE_SIZE;
	if (size != c->max_message_size) {
		buf = realloc(c->recv_buf, size);
		if (!buf) {
			r = set_error(c, -ENOMEM, "out of memory for a %zu-byte receive buffer", size);
			goto out;
		}
		c->recv_buf = buf;
		c->max_message_size = c->recv_size = size;
	}
out:
	response_free(msg, &pkt);
	return r;
}

_public_ void pidrestore_disconnect(pidrestore *c)
{
	pidrestore_event ev;

	if (!c)
		return;
	while (pop_event(c, &ev))
		;
	if (c->fd >= 0)
		close(c->fd);
	free(c->recv_buf);
	free(c);
}

_public_ int pidrestore_connect(const char *path, pidrestore **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pidrestore *c;
	int r;

	connect_error[0] = '\0';
	if (!ret)
		return set_connect_error(-EINVAL, "no place to return the connection");
	if (!path)
		path = secure_getenv(PIDRESTORE_SOCKET_ENV);
	if (!path || !path[0])
		path = PIDRESTORE_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return set_connect_error(-ENAMETOOLONG, "socket path %s is longer than %zu bytes",
					 path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path));

	c = calloc(1, sizeof(*c));
	if (!c)
		return set_connect_error(-ENOMEM, "out of memory");
	c->fd = -1;
	c->next_request_id = 1;
	c->events_tail = &c->events_head;
	c->max_message_size = c->recv_size = DEFAULT_MESSAGE_SIZE;
	c->recv_buf = malloc(c->max_message_size);
	if (!c->recv_buf) {
		r = set_connect_error(-ENOMEM, "out of memory");
		goto out;
	}

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = set_connect_error(-errno, "cannot create a socket: %m");
		goto out;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r == -ENOENT || r == -ECONNREFUSED)
			set_connect_error(r, "cannot connect to %s: %s; is pidrestored running?", path, strerror(-r));
		else
			set_connect_error(r, "cannot connect to %s: %s", path, strerror(-r));
		goto out;
	}
	r = hello(c);
	if (r < 0) {
		set_connect_error(r, "%s", c->last_error);
		goto out;
	}
	*ret = c;
	return 0;
out:
	pidrestore_disconnect(c);
	return r;
}

_public_ int pidrestore_fd(const pidrestore *c)
{
	return c ? c->fd : -EINVAL;
}

_public_ const char *pidrestore_last_error(const pidrestore *c)
{
	return c ? c->last_error : connect_error;
}

_public_ uint32_t pidrestore_protocol_version(const pidrestore *c)
{
	return c ? c->version : 0;
}

_public_ int pidrestore_spawn(pidrestore *c, const pidrestore_target *target,
			      const pidrestore_command *cmd, pidrestore_process *ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__SpawnRequest spawn = PIDRESTORE__SPAWN_REQUEST__INIT;
	Pidrestore__ProcessSpec spec;
	Pidrestore__ServerMessage *msg = NULL;
	pidrestore_process p = { .pidfd = -1 };
	struct wire_packet pkt = { 0 };
	struct exec_build eb;
	struct fd_list fds = { 0 };
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return set_error(c, -EINVAL, "no place to return the process");
	exec_build_init(&eb);
	r = process_spec_build(c, &spec, target, &fds);
	if (r < 0)
		goto out;
	r = exec_build(c, &eb, cmd, &fds);
	if (r < 0)
		goto out;
	spawn.process = &spec;
	spawn.exec = &eb.spec;
	req.body_case = PIDRESTORE__REQUEST__BODY_SPAWN;
	req.spawn = &spawn;

	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_SPAWN, &msg, &pkt);
	if (r < 0)
		goto out;
	r = process_from_info(c, msg->response->spawn->process, &pkt, &p);
	if (r < 0)
		goto out;
	r = check_all_fds_taken(c, &pkt);
	if (r < 0)
		goto out;
	*ret = p;
	p.pidfd = -1;
out:
	if (p.pidfd >= 0)
		close(p.pidfd);
	response_free(msg, &pkt);
	exec_build_free(&eb);
	return r;
}

/* The most a reserve reply takes per process (ProcessInfo with an id, 33
 * PIDs, the namespace and a pidfd index), and for the rest of it. */
#define RESERVE_REPLY_PER_PROCESS 200
#define RESERVE_REPLY_BASE 256

/* Makes room to receive a reply of up to size bytes (at most
 * MAX_MESSAGE_SIZE): the reply to a large reserve is larger than any
 * request may be. */
static int recv_room(pidrestore *c, size_t size)
{
	uint8_t *buf;

	if (size > MAX_MESSAGE_SIZE)
		size = MAX_MESSAGE_SIZE;
	if (size <= c->recv_size)
		return 0;
	buf = realloc(c->recv_buf, size);
	if (!buf)
		return set_error(c, -ENOMEM, "out of memory for a %zu-byte receive buffer", size);
	c->recv_buf = buf;
	c->recv_size = size;
	return 0;
}

_public_ int pidrestore_reserve(pidrestore *c, const pidrestore_target *targets, size_t n,
				unsigned int ttl_sec, pidrestore_process *ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReserveRequest reserve = PIDRESTORE__RESERVE_REQUEST__INIT;
	Pidrestore__ProcessSpec *specs = NULL, **spec_ptrs = NULL;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__ReserveReply *reply;
	struct wire_packet pkt = { 0 };
	struct fd_list fds = { 0 };
	size_t n_filled = 0;
	int r;

	if (!c)
		return -EINVAL;
	if (n == 0 || !targets || !ret)
		return set_error(c, -EINVAL, "nothing to reserve");
	specs = calloc(n, sizeof(*specs));
	spec_ptrs = calloc(n, sizeof(*spec_ptrs));
	if (!specs || !spec_ptrs) {
		r = set_error(c, -ENOMEM, "out of memory encoding %zu reservations", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		r = process_spec_build(c, &specs[i], &targets[i], &fds);
		if (r < 0)
			goto out;
		spec_ptrs[i] = &specs[i];
	}
	reserve.n_processes = n;
	reserve.processes = spec_ptrs;
	if (ttl_sec > 0) {
		reserve.has_ttl_sec = true;
		reserve.ttl_sec = ttl_sec;
	}
	req.body_case = PIDRESTORE__REQUEST__BODY_RESERVE;
	req.reserve = &reserve;

	r = recv_room(c, RESERVE_REPLY_BASE + n * RESERVE_REPLY_PER_PROCESS);
	if (r < 0)
		goto out;
	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_RESERVE, &msg, &pkt);
	if (r < 0)
		goto out;
	reply = msg->response->reserve;
	if (reply->n_processes != n) {
		r = set_error(c, -EPROTO, "pidrestored reserved %zu processes; %zu were asked for",
			      reply->n_processes, n);
		goto out;
	}
	for (; n_filled < n; n_filled++) {
		r = process_from_info(c, reply->processes[n_filled], &pkt, &ret[n_filled]);
		if (r < 0)
			goto out;
	}
	r = check_all_fds_taken(c, &pkt);
out:
	if (r < 0)
		for (size_t i = 0; i < n_filled; i++)
			if (ret[i].pidfd >= 0) {
				close(ret[i].pidfd);
				ret[i].pidfd = -1;
			}
	response_free(msg, &pkt);
	free(spec_ptrs);
	free(specs);
	return r;
}

_public_ int pidrestore_exec(pidrestore *c, uint64_t id, const pidrestore_command *cmd)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ExecRequest exec = PIDRESTORE__EXEC_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	pidrestore_process p = { .pidfd = -1 };
	struct wire_packet pkt = { 0 };
	struct exec_build eb;
	struct fd_list fds = { 0 };
	int r;

	if (!c)
		return -EINVAL;
	exec_build_init(&eb);
	r = exec_build(c, &eb, cmd, &fds);
	if (r < 0)
		goto out;
	exec.reservation_id = id;
	exec.exec = &eb.spec;
	req.body_case = PIDRESTORE__REQUEST__BODY_EXEC;
	req.exec = &exec;

	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_EXEC, &msg, &pkt);
	if (r < 0)
		goto out;
	/* The caller got the pidfd with the reservation; a second one is
	 * validated and closed. */
	r = process_from_info(c, msg->response->exec->process, &pkt, &p);
	if (r < 0)
		goto out;
	r = check_all_fds_taken(c, &pkt);
out:
	if (p.pidfd >= 0)
		close(p.pidfd);
	response_free(msg, &pkt);
	exec_build_free(&eb);
	return r;
}

int pidrestore_raw_call(pidrestore *c, Pidrestore__Request *req, const int *fds, size_t n_fds,
			Pidrestore__Response__BodyCase expected, Pidrestore__ServerMessage **ret)
{
	struct fd_list list = { .n = n_fds };
	struct wire_packet pkt = { 0 };
	Pidrestore__ServerMessage *msg = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (n_fds > WIRE_MAX_FDS)
		return set_error(c, -E2BIG, "%zu fds in one request; at most %d fit", n_fds, WIRE_MAX_FDS);
	if (n_fds > 0)
		memcpy(list.fds, fds, n_fds * sizeof(*fds));
	r = call(c, req, &list, expected, &msg, &pkt);
	if (r < 0)
		return r;
	r = check_all_fds_taken(c, &pkt);
	if (r < 0) {
		response_free(msg, &pkt);
		return r;
	}
	*ret = msg;
	return 0;
}

void pidrestore_raw_free(Pidrestore__ServerMessage *msg)
{
	if (msg)
		pidrestore__server_message__free_unpacked(msg, NULL);
}

int pidrestore_raw_process_spec(pidrestore *c, const pidrestore_target *target, Pidrestore__ProcessSpec *spec,
				int *fds, size_t *n_fds, size_t cap)
{
	struct fd_list list = { 0 };
	int r;

	r = process_spec_build(c, spec, target, &list);
	if (r < 0)
		return r;
	if (list.n > cap)
		return set_error(c, -E2BIG, "the target names %zu fds; %zu fit", list.n, cap);
	memcpy(fds, list.fds, list.n * sizeof(*fds));
	*n_fds = list.n;
	return 0;
}

_public_ int pidrestore_kill(pidrestore *c, const uint64_t *ids, size_t n, int sig)
{
	return pidrestore_kill_report(c, ids, n, sig, NULL, NULL);
}

_public_ int pidrestore_kill_report(pidrestore *c, const uint64_t *ids, size_t n, int sig, size_t *n_signalled,
				    size_t *n_released)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__KillRequest kill = PIDRESTORE__KILL_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__KillReply *reply;
	size_t signalled;
	int r;

	if (!c)
		return -EINVAL;
	if (!ids || n == 0)
		return set_error(c, -EINVAL, "no process ids given");
	kill.n_ids = n;
	kill.ids = (uint64_t *)ids;
	kill.has_signal = 1;
	kill.signal = sig;
	req.body_case = PIDRESTORE__REQUEST__BODY_KILL;
	req.kill = &kill;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_KILL, &msg);
	if (r < 0)
		return r;
	reply = msg->response->kill;
	signalled = reply->n_signalled_ids;
	if (reply->n_released_ids > signalled) {
		pidrestore_raw_free(msg);
		return set_error(c, -EPROTO, "pidrestored released %zu of the %zu processes it names", reply->n_released_ids,
				 signalled);
	}
	/* An older daemon does not tell: (size_t)-1, unknown. */
	if (n_released)
		*n_released = c->kill_tells_released ? reply->n_released_ids : (size_t)-1;
	if (n_signalled)
		*n_signalled = c->kill_tells_released ? signalled - reply->n_released_ids : (size_t)-1;
	pidrestore_raw_free(msg);
	return signalled > INT_MAX ? INT_MAX : (int)signalled;
}

static int entry_from_message(pidrestore *c, const Pidrestore__ListEntry *m, pidrestore_entry *e)
{
	*e = (pidrestore_entry){
		.id = m->id,
		.owner_uid = m->owner_uid,
		.state = m->has_state ? (pidrestore_state)m->state : PIDRESTORE_STATE_RUNNING,
		.pidns_inode = m->pidns_inode,
		.age_usec = m->age_usec,
		.has_ttl = m->has_ttl_left_usec,
		.ttl_left_usec = m->ttl_left_usec,
		.exit_code = m->has_signal ? -1 : m->exit_code,
		.signal = m->has_signal ? m->signal : 0,
		.owner_connected = m->has_owner_connected && m->owner_connected,
	};
	return copy_pids(c, m->pids, m->n_pids, e->pids, &e->n_pids);
}

_public_ int pidrestore_list(pidrestore *c, int all, pidrestore_entry **ret, size_t *n)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ListRequest list = PIDRESTORE__LIST_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__ListReply *reply;
	pidrestore_entry *entries = NULL;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret || !n)
		return set_error(c, -EINVAL, "no place to return the list");
	list.has_all = 1;
	list.all = all != 0;
	req.body_case = PIDRESTORE__REQUEST__BODY_LIST;
	req.list = &list;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_LIST, &msg);
	if (r < 0)
		return r;
	reply = msg->response->list;
	entries = calloc(reply->n_entries ? reply->n_entries : 1, sizeof(*entries));
	if (!entries) {
		r = set_error(c, -ENOMEM, "out of memory for %zu entries", reply->n_entries);
		goto out;
	}
	for (size_t i = 0; i < reply->n_entries; i++) {
		r = entry_from_message(c, reply->entries[i], &entries[i]);
		if (r < 0)
			goto out;
	}
	*ret = entries;
	*n = reply->n_entries;
	entries = NULL;
	r = 0;
out:
	free(entries);
	pidrestore_raw_free(msg);
	return r;
}

_public_ int pidrestore_reload(pidrestore *c)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReloadRequest reload = PIDRESTORE__RELOAD_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	int r;

	req.body_case = PIDRESTORE__REQUEST__BODY_RELOAD;
	req.reload = &reload;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_RELOAD, &msg);
	pidrestore_raw_free(msg);
	return r;
}

_public_ int pidrestore_release(pidrestore *c, const uint64_t *ids, size_t n)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReleaseRequest release = PIDRESTORE__RELEASE_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	struct wire_packet pkt = { 0 };
	size_t released;
	int r;

	if (!c)
		return -EINVAL;
	if (ids && n == 0)
		return 0;
	if (ids) {
		release.n_reservation_ids = n;
		release.reservation_ids = (uint64_t *)ids;
	} else {
		release.has_all = true;
		release.all = true;
	}
	req.body_case = PIDRESTORE__REQUEST__BODY_RELEASE;
	req.release = &release;

	r = call(c, &req, NULL, PIDRESTORE__RESPONSE__BODY_RELEASE, &msg, &pkt);
	if (r < 0)
		return r;
	r = check_all_fds_taken(c, &pkt);
	if (r < 0)
		goto out;
	released = msg->response->release->n_released_ids;
	r = released > INT_MAX ? INT_MAX : (int)released;
out:
	response_free(msg, &pkt);
	return r;
}

_public_ int pidrestore_release_user(pidrestore *c, uid_t uid)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReleaseRequest release = PIDRESTORE__RELEASE_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	size_t released;
	int r;

	if (!c)
		return -EINVAL;
	/* An older daemon would ignore the uid and release this connection's
	 * reservations only, which is not what was asked. */
	if (!c->can_release_uid)
		return set_error(c, -EOPNOTSUPP, "pidrestored is older and cannot release a user's reservations over all of its connections; upgrade it, or release them by id");
	release.has_all = true;
	release.all = true;
	release.has_uid = true;
	release.uid = (uint32_t)uid;
	req.body_case = PIDRESTORE__REQUEST__BODY_RELEASE;
	req.release = &release;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_RELEASE, &msg);
	if (r < 0)
		return r;
	released = msg->response->release->n_released_ids;
	pidrestore_raw_free(msg);
	return released > INT_MAX ? INT_MAX : (int)released;
}

_public_ int pidrestore_get_status(pidrestore *c, pidrestore_status *ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest status = PIDRESTORE__STATUS_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__StatusReply *s;
	struct wire_packet pkt = { 0 };
	pidrestore_status st = { 0 };
	int r;

	if (!c)
		return -EINVAL;
	if (!ret)
		return set_error(c, -EINVAL, "no place to return the status");
	req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
	req.status = &status;

	r = call(c, &req, NULL, PIDRESTORE__RESPONSE__BODY_STATUS, &msg, &pkt);
	if (r < 0)
		return r;
	r = check_all_fds_taken(c, &pkt);
	if (r < 0)
		goto out;
	s = msg->response->status;
	snprintf(st.daemon_version, sizeof(st.daemon_version), "%s", s->daemon_version ? s->daemon_version : "");
	snprintf(st.socket_path, sizeof(st.socket_path), "%s", s->socket_path ? s->socket_path : "");
	st.protocol_version = s->has_protocol_version ? s->protocol_version : c->version;
	st.uptime_usec = s->uptime_usec;
	st.connections = s->connections;
	st.reservations = s->reservations;
	st.running = s->running;
	st.spawns_total = s->spawns_total;
	st.reservations_total = s->reservations_total;
	st.own_reservations = s->own_reservations;
	st.own_running = s->own_running;
	st.socket_activated = s->has_socket_activated && s->socket_activated;
	*ret = st;
out:
	response_free(msg, &pkt);
	return r;
}

/* Defined under a name of its own, bound to the name the header declares,
 * version LIBPIDRESTORE_0.2; programs and pidrestorectl call it by that
 * name. */
int pidrestore_wait_event_2(pidrestore *c, int timeout_ms, pidrestore_event *ev);
#ifdef SYMVER_BY_ASM
__asm__(".symver pidrestore_wait_event_2, pidrestore_wait_event@@LIBPIDRESTORE_0.2");
#endif

_public_ _symver_("pidrestore_wait_event@@LIBPIDRESTORE_0.2") int pidrestore_wait_event_2(pidrestore *c, int timeout_ms,
											 pidrestore_event *ev)
{
	struct timespec now, deadline = { 0 };

	if (!c)
		return -EINVAL;
	if (!ev)
		return set_error(c, -EINVAL, "no place to return the event");
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		Pidrestore__ServerMessage *msg;
		struct wire_packet pkt;
		int wait_ms = timeout_ms, r;

		if (pop_event(c, ev))
			return 1;
		if (timeout_ms > 0) {
			long long left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (long long)(deadline.tv_sec - now.tv_sec) * 1000 +
			       (deadline.tv_nsec - now.tv_nsec) / 1000000;
			wait_ms = left > 0 ? (int)left : 0;
		}
		r = poll(&pfd, 1, wait_ms);
		if (r < 0)
			return set_error(c, -errno, "cannot wait for pidrestored: %m");
		if (r == 0)
			return 0;
		r = receive_message(c, &msg, &pkt);
		if (r < 0)
			return r;
		r = handle_unsolicited(c, msg, &pkt);
		if (r < 0)
			return r;
	}
}

/* pidrestore_event as LIBPIDRESTORE_0 had it, before by_uid and by_pid:
 * a program built against that version passes a struct of this size, and
 * its calls are bound to pidrestore_wait_event@LIBPIDRESTORE_0. */
struct pidrestore_event_0 {
	pidrestore_event_type type;
	uint64_t id;
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	int exit_code;
	int signal;
	int core_dumped;
};
_Static_assert(offsetof(pidrestore_event, core_dumped) == offsetof(struct pidrestore_event_0, core_dumped),
	       "pidrestore_event must start as LIBPIDRESTORE_0's did");

int pidrestore_wait_event_0(pidrestore *c, int timeout_ms, struct pidrestore_event_0 *ev);
#ifdef SYMVER_BY_ASM
__asm__(".symver pidrestore_wait_event_0, pidrestore_wait_event@LIBPIDRESTORE_0");
#endif

_public_ _symver_("pidrestore_wait_event@LIBPIDRESTORE_0") int pidrestore_wait_event_0(pidrestore *c, int timeout_ms,
										       struct pidrestore_event_0 *ev)
{
	pidrestore_event full;
	int r;

	r = pidrestore_wait_event_2(c, timeout_ms, ev ? &full : NULL);
	if (r > 0)
		memcpy(ev, &full, sizeof(*ev));
	return r;
}

/* ------------------------------------------------------------------ trees */

_Static_assert(sizeof(pid_t) == sizeof(int32_t), "PIDs travel as int32");

/* The request's nodes, pointing into spec. */
struct tree_build {
	Pidrestore__TreeNode *nodes;
	Pidrestore__TreeNode **node_ptrs;
	Pidrestore__TreeThread *threads;
	Pidrestore__TreeThread **thread_ptrs;
};

static void tree_build_free(struct tree_build *b)
{
	free(b->nodes);
	free(b->node_ptrs);
	free(b->threads);
	free(b->thread_ptrs);
}

static int tree_build_nodes(pidrestore *c, const pidrestore_tree_spec *spec, struct tree_build *b)
{
	size_t n_threads = 0, at = 0;

	for (size_t i = 0; i < spec->n_nodes; i++)
		n_threads += spec->nodes[i].n_threads;
	b->nodes = calloc(spec->n_nodes, sizeof(*b->nodes));
	b->node_ptrs = calloc(spec->n_nodes, sizeof(*b->node_ptrs));
	b->threads = calloc(n_threads ? n_threads : 1, sizeof(*b->threads));
	b->thread_ptrs = calloc(n_threads ? n_threads : 1, sizeof(*b->thread_ptrs));
	if (!b->nodes || !b->node_ptrs || !b->threads || !b->thread_ptrs)
		return set_error(c, -ENOMEM, "out of memory encoding a tree of %zu nodes", spec->n_nodes);
	for (size_t i = 0; i < spec->n_nodes; i++) {
		const pidrestore_tree_node *in = &spec->nodes[i];
		Pidrestore__TreeNode *n = &b->nodes[i];

		pidrestore__tree_node__init(n);
		b->node_ptrs[i] = n;
		n->kind = (Pidrestore__TreeNodeKind)in->kind;
		/* Absent means -1 (a root): every other parent is sent. */
		n->has_parent = in->parent != PIDRESTORE_TREE_ROOT;
		n->parent = in->parent;
		n->n_pids = in->n_pids;
		n->pids = (int32_t *)in->pids;
		n->has_new_pidns = n->new_pidns = in->new_pidns != 0;
		n->has_sid = in->sid != PIDRESTORE_TREE_INHERIT;
		n->sid = in->sid;
		n->has_pgid = in->pgid != PIDRESTORE_TREE_INHERIT;
		n->pgid = in->pgid;
		if (in->kind == PIDRESTORE_TREE_ZOMBIE) {
			n->has_exit_signal = in->exit_signal != 0;
			n->exit_signal = in->exit_signal;
			n->has_exit_code = !n->has_exit_signal;
			n->exit_code = in->exit_code;
		}
		n->has_child_subreaper = n->child_subreaper = in->child_subreaper != 0;
		if (in->comm) {
			n->has_comm = 1;
			n->comm.data = (uint8_t *)in->comm;
			n->comm.len = strlen(in->comm);
		}
		n->n_threads = in->n_threads;
		n->threads = b->thread_ptrs + at;
		for (size_t k = 0; k < in->n_threads; k++, at++) {
			pidrestore__tree_thread__init(&b->threads[at]);
			b->thread_ptrs[at] = &b->threads[at];
			b->threads[at].n_tids = in->n_pids;
			b->threads[at].tids = (int32_t *)in->tids + k * in->n_pids;
		}
	}
	return 0;
}

/* One node of a reply part into t. */
static int tree_take_node(pidrestore *c, const Pidrestore__TreeNodeInfo *m, struct wire_packet *pkt, pidrestore_tree_info *info)
{
	int r = copy_pids(c, m->pids, m->n_pids, info->pids, &info->n_pids);

	if (r < 0)
		return r;
	info->reservation_id = m->has_reservation_id ? m->reservation_id : 0;
	info->state = m->has_state ? (pidrestore_tree_state)m->state : 0;
	if (m->n_threads > 0) {
		info->tids = calloc(m->n_threads * info->n_pids, sizeof(pid_t));
		if (!info->tids)
			return set_error(c, -ENOMEM, "out of memory for the TIDs of a tree");
		info->n_threads = m->n_threads;
		for (size_t k = 0; k < m->n_threads; k++) {
			if (m->threads[k]->n_tids != info->n_pids)
				return set_error(c, -EPROTO, "pidrestored sent %zu TIDs of a thread of node %d, which has %zu levels",
						 m->threads[k]->n_tids, m->node, info->n_pids);
			memcpy(info->tids + k * info->n_pids, m->threads[k]->tids, info->n_pids * sizeof(pid_t));
		}
	}
	return m->has_pidfd_index ? take_fd(c, pkt, m->pidfd_index, &info->pidfd) : 0;
}

/* A part of the reply: nodes from *next on, in order. */
static int tree_take_part(pidrestore *c, const Pidrestore__TreeReply *reply, struct wire_packet *pkt, pidrestore_tree *t,
			  size_t *next)
{
	int r;

	if (!reply->has_tree_id || (*next > 0 && reply->tree_id != t->id) ||
	    (size_t)(reply->has_first_node ? reply->first_node : 0) != *next)
		return set_error(c, -EPROTO, "pidrestored sent a part of a tree out of order (node %d where %zu was next)",
				 reply->has_first_node ? reply->first_node : 0, *next);
	t->id = reply->tree_id;
	for (size_t k = 0; k < reply->n_nodes; k++, (*next)++) {
		if (*next >= t->n_nodes || reply->nodes[k]->node != (int32_t)*next)
			return set_error(c, -EPROTO, "pidrestored sent node %d of a tree of %zu where %zu was next",
					 reply->nodes[k]->node, t->n_nodes, *next);
		r = tree_take_node(c, reply->nodes[k], pkt, &t->nodes[*next]);
		if (r < 0)
			return r;
	}
	return check_all_fds_taken(c, pkt);
}

/* The next part of the reply to request id, checked as call() checks the
 * first. */
static int tree_next_part(pidrestore *c, uint64_t id, Pidrestore__ServerMessage **msg, struct wire_packet *pkt)
{
	const Pidrestore__Response *resp;
	int r = await_response(c, id, msg, pkt);

	if (r < 0)
		return r;
	resp = (*msg)->response;
	if ((resp->has_fd_count ? resp->fd_count : 0) != pkt->n_fds)
		return set_error(c, -EPROTO, "pidrestored's reply announces %u fds but carries %zu", resp->has_fd_count ? resp->fd_count : 0,
				 pkt->n_fds);
	if ((resp->has_error && resp->error != 0) || resp->body_case != PIDRESTORE__RESPONSE__BODY_TREE)
		return set_error(c, -EPROTO, "pidrestored broke off a tree's reply (%s)", resp->message ? resp->message : "no reason");
	return 0;
}

_public_ int pidrestore_tree_build(pidrestore *c, const pidrestore_tree_spec *spec, pidrestore_tree *ret)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeRequest tree = PIDRESTORE__TREE_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	struct wire_packet pkt = { 0 };
	struct tree_build b = { 0 };
	struct fd_list fds = { 0 };
	size_t next = 0;
	bool more;
	int r;

	if (!c || !ret)
		return -EINVAL;
	*ret = (pidrestore_tree){ .error_node = -1, .error_level = -1 };
	if (!spec || !spec->nodes || spec->n_nodes == 0)
		return set_error(c, -EINVAL, "a tree has at least one node");
	r = tree_build_nodes(c, spec, &b);
	if (r < 0)
		goto out;
	if (spec->pidns_fd >= 0) {
		tree.has_pidns_fd_index = 1;
		r = fd_list_add(c, &fds, spec->pidns_fd, &tree.pidns_fd_index);
		if (r < 0)
			goto out;
	}
	tree.n_nodes = spec->n_nodes;
	tree.nodes = b.node_ptrs;
	tree.has_timeout_ms = spec->timeout_ms > 0;
	tree.timeout_ms = spec->timeout_ms;
	tree.has_ttl_sec = spec->ttl_sec > 0;
	tree.ttl_sec = spec->ttl_sec;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE;
	req.tree = &tree;
	ret->nodes = calloc(spec->n_nodes, sizeof(*ret->nodes));
	if (!ret->nodes) {
		r = set_error(c, -ENOMEM, "out of memory for a tree of %zu nodes", spec->n_nodes);
		goto out;
	}
	ret->n_nodes = spec->n_nodes;
	for (size_t i = 0; i < ret->n_nodes; i++)
		ret->nodes[i].pidfd = -1;

	c->tree_error_node = c->tree_error_level = -1;
	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_TREE, &msg, &pkt);
	ret->error_node = c->tree_error_node;
	ret->error_level = c->tree_error_level;
	for (;;) {
		if (r < 0)
			goto out;
		r = tree_take_part(c, msg->response->tree, &pkt, ret, &next);
		more = msg->response->tree->has_more && msg->response->tree->more;
		response_free(msg, &pkt);
		msg = NULL;
		if (r < 0 || !more)
			break;
		r = tree_next_part(c, req.id, &msg, &pkt);
	}
	if (r == 0 && next != ret->n_nodes)
		r = set_error(c, -EPROTO, "pidrestored sent %zu nodes of a tree of %zu", next, ret->n_nodes);
out:
	response_free(msg, &pkt);
	tree_build_free(&b);
	if (r < 0) {
		int node = ret->error_node, level = ret->error_level;

		pidrestore_tree_free(ret);
		ret->error_node = node;
		ret->error_level = level;
	}
	return r;
}

_public_ int pidrestore_tree_release(pidrestore *c, uint64_t id)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeReleaseRequest release = PIDRESTORE__TREE_RELEASE_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	struct wire_packet pkt = { 0 };
	int r;

	if (!c)
		return -EINVAL;
	release.tree_id = id;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_RELEASE;
	req.tree_release = &release;
	r = call(c, &req, NULL, PIDRESTORE__RESPONSE__BODY_TREE_RELEASE, &msg, &pkt);
	if (r < 0)
		return r;
	r = check_all_fds_taken(c, &pkt);
	if (r == 0)
		r = msg->response->tree_release->n_released_nodes > INT_MAX ? INT_MAX
									     : (int)msg->response->tree_release->n_released_nodes;
	response_free(msg, &pkt);
	return r;
}

/* A blob claim's wire form; its fds go to fds. */
struct blob_build {
	Pidrestore__TreeBlob tb;
	Pidrestore__FdMapping *maps;
	Pidrestore__FdMapping **map_ptrs;
};

static void blob_build_free(struct blob_build *b)
{
	free(b->maps);
	free(b->map_ptrs);
	b->maps = NULL;
	b->map_ptrs = NULL;
}

static int blob_build(pidrestore *c, struct blob_build *b, const pidrestore_blob *blob, struct fd_list *fds)
{
	int r;

	pidrestore__tree_blob__init(&b->tb);
	b->maps = NULL;
	b->map_ptrs = NULL;
	if (!blob || blob->memfd < 0)
		return set_error(c, -EINVAL, "no blob given: a claim by blob needs its sealed memfd");
	if (blob->n_fd_map > 0 && !blob->fd_map)
		return set_error(c, -EINVAL, "n_fd_map is set but fd_map is NULL");
	b->maps = calloc(blob->n_fd_map + 1, sizeof(*b->maps));
	b->map_ptrs = calloc(blob->n_fd_map + 1, sizeof(*b->map_ptrs));
	if (!b->maps || !b->map_ptrs)
		return set_error(c, -ENOMEM, "out of memory encoding a blob claim");
	r = fd_list_add(c, fds, blob->memfd, &b->tb.memfd_index);
	for (size_t i = 0; r == 0 && i < blob->n_fd_map; i++) {
		pidrestore__fd_mapping__init(&b->maps[i]);
		if (blob->fd_map[i][1] < 0)
			return set_error(c, -EINVAL, "fd_map[%zu] maps to the invalid fd %d", i, blob->fd_map[i][1]);
		r = fd_list_add(c, fds, blob->fd_map[i][0], &b->maps[i].fd_index);
		b->maps[i].target = blob->fd_map[i][1];
		b->map_ptrs[i] = &b->maps[i];
	}
	if (r < 0)
		return r;
	b->tb.address = blob->address;
	b->tb.entry = blob->entry;
	b->tb.fds = b->map_ptrs;
	b->tb.n_fds = blob->n_fd_map;
	return 0;
}

_public_ int pidrestore_tree_claim_blob(pidrestore *c, uint64_t tree_id, int node, const pidrestore_blob *blob)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeClaimRequest claim = PIDRESTORE__TREE_CLAIM_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	struct wire_packet pkt = { 0 };
	struct blob_build b = { 0 };
	struct fd_list fds = { 0 };
	int r;

	if (!c)
		return -EINVAL;
	r = blob_build(c, &b, blob, &fds);
	if (r < 0)
		goto out;
	claim.tree_id = tree_id;
	claim.node = node;
	claim.how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
	claim.blob = &b.tb;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_CLAIM;
	req.tree_claim = &claim;
	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_TREE_CLAIM, &msg, &pkt);
	if (r == 0)
		r = check_all_fds_taken(c, &pkt);
	response_free(msg, &pkt);
out:
	blob_build_free(&b);
	return r;
}

_public_ void pidrestore_tree_free(pidrestore_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->nodes && i < t->n_nodes; i++) {
		if (t->nodes[i].pidfd >= 0)
			close(t->nodes[i].pidfd);
		free(t->nodes[i].tids);
	}
	free(t->nodes);
	*t = (pidrestore_tree){ .error_node = -1, .error_level = -1 };
}

/* One row of a listed tree. */
static int tree_take_row(pidrestore *c, const Pidrestore__TreeNodeInfo *m, pidrestore_tree_info *info)
{
	*info = (pidrestore_tree_info){
		.pidfd = -1,
		.reservation_id = m->has_reservation_id ? m->reservation_id : 0,
		.state = m->has_state ? (pidrestore_tree_state)m->state : 0,
		.kind = m->has_kind ? (pidrestore_tree_kind)m->kind : 0,
	};
	return copy_pids(c, m->pids, m->n_pids, info->pids, &info->n_pids);
}

static int tree_take_entry(pidrestore *c, const Pidrestore__TreeListEntry *m, pidrestore_tree_entry *e)
{
	*e = (pidrestore_tree_entry){
		.id = m->tree_id,
		.owner_uid = m->owner_uid,
		.n_nodes = m->nodes,
		.n_threads = m->threads,
		.n_live = m->live,
		.n_zombies = m->zombies,
		.n_parked = m->parked,
		.n_claimed = m->claimed,
		.pidns_inode = m->pidns_inode,
		.age_usec = m->age_usec,
		.has_ttl = m->has_ttl_left_usec,
		.ttl_left_usec = m->ttl_left_usec,
	};
	if (m->n_node_infos == 0)
		return 0;
	if (m->n_node_infos != m->nodes)
		return set_error(c, -EPROTO, "pidrestored listed %zu nodes of tree %llu, which has %u", m->n_node_infos,
				 (unsigned long long)m->tree_id, m->nodes);
	e->nodes = calloc(m->n_node_infos, sizeof(*e->nodes));
	if (!e->nodes)
		return set_error(c, -ENOMEM, "out of memory for the nodes of tree %llu", (unsigned long long)m->tree_id);
	for (size_t i = 0; i < m->n_node_infos; i++) {
		int r = tree_take_row(c, m->node_infos[i], &e->nodes[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

_public_ int pidrestore_tree_list(pidrestore *c, int with_nodes, pidrestore_tree_entry **ret, size_t *n)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeListRequest list = PIDRESTORE__TREE_LIST_REQUEST__INIT;
	Pidrestore__ServerMessage *msg = NULL;
	const Pidrestore__TreeListReply *reply;
	pidrestore_tree_entry *entries = NULL;
	size_t n_taken = 0;
	int r;

	if (!c)
		return -EINVAL;
	if (!ret || !n)
		return set_error(c, -EINVAL, "no place to return the list of trees");
	list.has_nodes = with_nodes != 0;
	list.nodes = with_nodes != 0;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_LIST;
	req.tree_list = &list;
	r = pidrestore_raw_call(c, &req, NULL, 0, PIDRESTORE__RESPONSE__BODY_TREE_LIST, &msg);
	if (r < 0)
		return r;
	reply = msg->response->tree_list;
	entries = calloc(reply->n_trees ? reply->n_trees : 1, sizeof(*entries));
	if (!entries) {
		r = set_error(c, -ENOMEM, "out of memory for %zu trees", reply->n_trees);
		goto out;
	}
	for (; n_taken < reply->n_trees; n_taken++) {
		r = tree_take_entry(c, reply->trees[n_taken], &entries[n_taken]);
		if (r < 0) {
			n_taken++;
			goto out;
		}
	}
	*ret = entries;
	*n = n_taken;
	entries = NULL;
	r = 0;
out:
	pidrestore_tree_list_free(entries, n_taken);
	pidrestore_raw_free(msg);
	return r;
}

_public_ void pidrestore_tree_list_free(pidrestore_tree_entry *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i].nodes);
	free(list);
}

_public_ int pidrestore_tree_claim_all(pidrestore *c, uint64_t id, const pidrestore_tree_claim *claims, size_t n)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__TreeClaimAllRequest all = PIDRESTORE__TREE_CLAIM_ALL_REQUEST__INIT;
	Pidrestore__TreeClaimRequest *items = NULL, **ptrs = NULL;
	Pidrestore__ServerMessage *msg = NULL;
	struct exec_build *builds = NULL;
	struct blob_build *blobs = NULL;
	struct wire_packet pkt = { 0 };
	struct fd_list fds = { 0 };
	size_t n_built = 0;
	int r;

	if (!c)
		return -EINVAL;
	if (!claims || n == 0)
		return set_error(c, -EINVAL, "a claim-all needs at least one claim");
	items = calloc(n, sizeof(*items));
	ptrs = calloc(n, sizeof(*ptrs));
	builds = calloc(n, sizeof(*builds));
	blobs = calloc(n, sizeof(*blobs));
	if (!items || !ptrs || !builds || !blobs) {
		r = set_error(c, -ENOMEM, "out of memory for %zu claims", n);
		goto out;
	}
	for (; n_built < n; n_built++) {
		const pidrestore_tree_claim *cl = &claims[n_built];

		exec_build_init(&builds[n_built]);
		pidrestore__tree_claim_request__init(&items[n_built]);
		if (cl->cmd && cl->blob)
			r = set_error(c, -EINVAL, "claim %zu (node %d) gives both a command and a blob; give one", n_built,
				      cl->node);
		else if (!cl->cmd && !cl->blob)
			r = set_error(c, -EINVAL, "claim %zu (node %d) gives neither a command nor a blob", n_built, cl->node);
		else if (cl->blob)
			r = blob_build(c, &blobs[n_built], cl->blob, &fds);
		else
			r = exec_build(c, &builds[n_built], cl->cmd, &fds);
		if (r < 0) {
			n_built++;
			goto out;
		}
		items[n_built].tree_id = id;
		items[n_built].node = cl->node;
		if (cl->blob) {
			items[n_built].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_BLOB;
			items[n_built].blob = &blobs[n_built].tb;
		} else {
			items[n_built].how_case = PIDRESTORE__TREE_CLAIM_REQUEST__HOW_EXEC;
			items[n_built].exec = &builds[n_built].spec;
		}
		ptrs[n_built] = &items[n_built];
	}
	all.tree_id = id;
	all.n_claims = n;
	all.claims = ptrs;
	req.body_case = PIDRESTORE__REQUEST__BODY_TREE_CLAIM_ALL;
	req.tree_claim_all = &all;
	r = call(c, &req, &fds, PIDRESTORE__RESPONSE__BODY_TREE_CLAIM_ALL, &msg, &pkt);
	if (r < 0)
		goto out;
	r = check_all_fds_taken(c, &pkt);
	if (r == 0 && msg->response->tree_claim_all->n_nodes != n)
		r = set_error(c, -EPROTO, "pidrestored claimed %zu nodes of %zu", msg->response->tree_claim_all->n_nodes, n);
	if (r == 0)
		r = n > INT_MAX ? INT_MAX : (int)n;
out:
	response_free(msg, &pkt);
	for (size_t i = 0; builds && blobs && i < n_built; i++) {
		exec_build_free(&builds[i]);
		blob_build_free(&blobs[i]);
	}
	free(builds);
	free(blobs);
	free(items);
	free(ptrs);
	return r;
}
