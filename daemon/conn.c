#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "proc.h"
#include "request.h"
#include "wire.h"

/* Output a peer may leave unread before the daemon gives up on it. */
#define CONN_MAX_QUEUED_BYTES (4u * 1024 * 1024)
/* Packets handled per wakeup, so one busy client cannot starve the rest.
 * One: a client mostly waits for each answer before it asks again, and a
 * second read would only come back empty, a system call per request for
 * nothing; what a client has queued is read on the next wakeups, which the
 * level-triggered event brings at once. */
#define CONN_PACKETS_PER_WAKEUP 1

struct outmsg {
	TAILQ_ENTRY(outmsg) link;
	size_t len;
	uint8_t *buf;
	size_t n_fds;
	int fds[];
};

struct conn {
	int fd;
	uint64_t number;
	struct event *read_ev;
	struct event *write_ev;
	struct peer peer;
	uint32_t version;
	unsigned int reservations;
	bool dead;
	TAILQ_HEAD(, outmsg) out;
	size_t out_bytes;
	TAILQ_ENTRY(conn) link;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned int n_conns;
static uint64_t next_number = 1;
static size_t max_message_size = 64 * 1024;
static uint8_t *rx_buf;

void conn_set_max_message_size(size_t size)
{
	max_message_size = size;
	free(rx_buf);
	rx_buf = NULL;
}

size_t conn_max_message_size(void)
{
	return max_message_size;
}

unsigned int conn_count(void)
{
	return n_conns;
}

unsigned int conn_reservations(const struct conn *c)
{
	return c->reservations;
}

void conn_add_reservations(struct conn *c, int delta)
{
	c->reservations = (unsigned int)((int)c->reservations + delta);
}

const struct peer *conn_peer(const struct conn *c)
{
	return &c->peer;
}

uint64_t conn_number(const struct conn *c)
{
	return c->number;
}

uint32_t conn_version(const struct conn *c)
{
	return c->version;
}

void conn_set_version(struct conn *c, uint32_t version)
{
	c->version = version;
}

static void outmsg_free(struct outmsg *m)
{
	for (size_t i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	free(m->buf);
	free(m);
}

/* Stops serving c; the read event sees the shutdown and frees it, so that a
 * connection is only ever freed from its own read handler. */
static void conn_kill(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	log_debug("connection %llu (pid %d): closing: %s", (unsigned long long)c->number, c->peer.pid, why);
	c->dead = true;
	shutdown(c->fd, SHUT_RDWR);
	event_active(c->read_ev, EV_READ, 0);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct outmsg *m;

	while ((m = TAILQ_FIRST(&c->out))) {
		int r = wire_send(c->fd, m->buf, m->len, m->fds, m->n_fds);

		if (r == -EAGAIN)
			return;
		if (r < 0) {
			conn_kill(c, "send failed");
			return;
		}
		TAILQ_REMOVE(&c->out, m, link);
		c->out_bytes -= m->len;
		outmsg_free(m);
	}
	event_del(c->write_ev);
}

static int queue_packet(struct conn *c, uint8_t *buf, size_t len, const int *fds, size_t n_fds)
{
	struct outmsg *m = calloc(1, sizeof(*m) + n_fds * sizeof(int));

	if (!m)
		return -ENOMEM;
	m->buf = buf;
	m->len = len;
	/* The caller's fds may be closed before the peer reads: keep copies. */
	for (size_t i = 0; i < n_fds; i++) {
		m->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (m->fds[i] < 0) {
			int r = -errno;

			m->buf = NULL;
			outmsg_free(m);
			return r;
		}
		m->n_fds++;
	}
	TAILQ_INSERT_TAIL(&c->out, m, link);
	c->out_bytes += len;
	event_add(c->write_ev, NULL);
	return 0;
}

int conn_send(struct conn *c, const Pidrestore__ServerMessage *msg, const int *fds, size_t n_fds)
{
	size_t len;
	uint8_t *buf;
	int r;

	if (!c || c->dead)
		return -EPIPE;
	len = pidrestore__server_message__get_packed_size(msg);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	pidrestore__server_message__pack(msg, buf);

	if (TAILQ_EMPTY(&c->out)) {
		r = wire_send(c->fd, buf, len, fds, n_fds);
		if (r != -EAGAIN) {
			free(buf);
			if (r < 0)
				conn_kill(c, "send failed");
			return r;
		}
	}
	if (c->out_bytes + len > CONN_MAX_QUEUED_BYTES) {
		free(buf);
		conn_kill(c, "the client does not read its replies");
		return -ENOBUFS;
	}
	r = queue_packet(c, buf, len, fds, n_fds);
	if (r < 0) {
		free(buf);
		conn_kill(c, "cannot queue a reply");
	}
	return r;
}

int conn_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;

	resp->id = id;
	if (n_fds) {
		resp->has_fd_count = 1;
		resp->fd_count = (uint32_t)n_fds;
	}
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = resp;
	return conn_send(c, &msg, fds, n_fds);
}

int conn_respond_error(struct conn *c, uint64_t id, const struct why *why)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;

	resp.has_error = 1;
	resp.error = why->err ? why->err : EIO;
	resp.message = (char *)why->text;
	return conn_respond(c, id, &resp, NULL, 0);
}

static void reject_packet(struct conn *c, struct wire_packet *pkt, const struct why *why_in)
{
	const struct why *why = why_in;

	wire_close_fds(pkt, 0);
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->peer.uid, c->peer.pid, why->text);
	conn_respond_error(c, 0, why);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!rx_buf && !(rx_buf = malloc(max_message_size))) {
		log_error("out of memory for the receive buffer");
		return;
	}
	/* A bounded batch per wakeup: the event is level-triggered, so what
	 * is left is read on the next one, after the other clients. */
	for (int i = 0; i < CONN_PACKETS_PER_WAKEUP && !c->dead; i++) {
		struct wire_packet pkt;
		int r = wire_recv(c->fd, rx_buf, max_message_size, &pkt);

		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			/* End of stream or a receive error: the client is gone. */
			wire_close_fds(&pkt, 0);
			conn_free(c);
			return;
		}
		if (pkt.truncated) {
			struct why why;

			why_set(&why, EMSGSIZE, "the request has %zu bytes, more than the daemon's limit of %zu; send smaller requests (e.g. fewer processes per reserve)",
				pkt.len, max_message_size);
			reject_packet(c, &pkt, &why);
			continue;
		}
		if (pkt.fds_truncated) {
			struct why why;

			why_set(&why, EPROTO, "the request carried more fds than one packet can hold (%zu received, at most %d)",
				pkt.n_fds, WIRE_MAX_FDS);
			reject_packet(c, &pkt, &why);
			continue;
		}
		request_handle(c, rx_buf, pkt.len, &pkt);
	}
	if (c->dead)
		conn_free(c);
}

static void send_refusal(int fd, const struct why *why)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	uint8_t buf[1024];

	resp.has_error = 1;
	resp.error = why->err;
	resp.message = (char *)why->text;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	if (pidrestore__server_message__get_packed_size(&msg) <= sizeof(buf))
		wire_send(fd, buf, pidrestore__server_message__pack(&msg, buf), NULL, 0);
}

int conn_new(struct event_base *base, int fd, struct conn **ret)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct why why = { 0 };
	int r;

	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->number = next_number++;
	TAILQ_INIT(&c->out);
	r = peer_capture(fd, &c->peer, &why);
	if (r < 0) {
		log_info("refusing a connection: %s", why.text);
		/* Answer the Hello the client is about to send, then go. */
		send_refusal(fd, &why);
		peer_release(&c->peer);
		close(fd);
		free(c);
		return r;
	}
	c->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->write_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (!c->read_ev || !c->write_ev || event_add(c->read_ev, NULL) < 0) {
		if (c->read_ev)
			event_free(c->read_ev);
		if (c->write_ev)
			event_free(c->write_ev);
		peer_release(&c->peer);
		close(fd);
		free(c);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&conns, c, link);
	n_conns++;
	log_debug("connection %llu: uid %u gid %u pid %d%s", (unsigned long long)c->number,
		  c->peer.uid, c->peer.gid, c->peer.pid, c->peer.pidfd_from_socket ? "" : " (pid pinned after connect)");
	*ret = c;
	return 0;
}

void conn_free(struct conn *c)
{
	struct outmsg *m;

	request_conn_closed(c);
	proc_conn_closed(c);
	while ((m = TAILQ_FIRST(&c->out))) {
		TAILQ_REMOVE(&c->out, m, link);
		outmsg_free(m);
	}
	event_free(c->read_ev);
	event_free(c->write_ev);
	peer_release(&c->peer);
	close(c->fd);
	TAILQ_REMOVE(&conns, c, link);
	n_conns--;
	free(c);
}

void conn_close_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)))
		conn_free(c);
	free(rx_buf);
	rx_buf = NULL;
}
