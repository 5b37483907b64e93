/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"

/* Unread output past which the other side is taken for broken. The two
 * processes are each other's only peer and read as fast as they can: this
 * much queued means one of them stopped. */
#define CHAN_MAX_QUEUED_BYTES (256u * 1024 * 1024)
#define CHAN_MAX_QUEUED_FDS 65536u

struct chan_packet {
	TAILQ_ENTRY(chan_packet) link;
	size_t len;
	size_t n_fds;
	uint8_t *buf;
	int fds[];
};

struct chan {
	int fd;
	struct event *read_ev;
	struct event *write_ev;
	chan_packet_fn on_packet;
	chan_closed_fn on_closed;
	void *data;
	bool closed;
	uint8_t *rx;                 /* PRIV_MAX_PACKET bytes */
	uint8_t *tx;                 /* scratch for a packet sent at once */
	size_t tx_cap;
	TAILQ_HEAD(, chan_packet) out;
	size_t out_bytes;
	size_t out_fds;
};

static void packet_free(struct chan_packet *p)
{
	for (size_t i = 0; i < p->n_fds; i++)
		close(p->fds[i]);
	free(p->buf);
	free(p);
}

static void drop_output(struct chan *ch)
{
	struct chan_packet *p;

	while ((p = TAILQ_FIRST(&ch->out))) {
		TAILQ_REMOVE(&ch->out, p, link);
		packet_free(p);
	}
	ch->out_bytes = ch->out_fds = 0;
}

static void chan_close(struct chan *ch, const char *why)
{
	if (ch->closed)
		return;
	ch->closed = true;
	event_del(ch->read_ev);
	event_del(ch->write_ev);
	drop_output(ch);
	ch->on_closed(why, ch->data);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;

	/* A bounded batch, so that the other events of the loop get their
	 * turn; the event is level-triggered. */
	for (int i = 0; i < 16 && !ch->closed; i++) {
		struct priv_header h;
		struct wire_packet pkt;
		int r = wire_recv(ch->fd, ch->rx, PRIV_MAX_PACKET, &pkt);

		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, r == 0 ? "the other process closed the channel" : "reading the channel failed");
			return;
		}
		if (pkt.truncated || pkt.fds_truncated || pkt.len < sizeof(h)) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, "a packet on the channel was cut short");
			return;
		}
		memcpy(&h, ch->rx, sizeof(h));
		if (h.magic != PRIV_PROTO_MAGIC) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, "a packet on the channel is no record of it (bad magic)");
			return;
		}
		ch->on_packet(&h, ch->rx + sizeof(h), pkt.len - sizeof(h), &pkt, ch->data);
	}
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;
	struct chan_packet *p;

	while ((p = TAILQ_FIRST(&ch->out))) {
		int r = wire_send(ch->fd, p->buf, p->len, p->fds, p->n_fds);

		if (r == -EAGAIN)
			return;
		if (r < 0) {
			chan_close(ch, "writing to the channel failed");
			return;
		}
		TAILQ_REMOVE(&ch->out, p, link);
		ch->out_bytes -= p->len;
		ch->out_fds -= p->n_fds;
		packet_free(p);
	}
	event_del(ch->write_ev);
}

int chan_new(struct event_base *base, int fd, chan_packet_fn on_packet, chan_closed_fn on_closed, void *data,
	     struct chan **ret)
{
	struct chan *ch = calloc(1, sizeof(*ch));
	int flags;

	if (!ch)
		return -ENOMEM;
	ch->fd = fd;
	ch->on_packet = on_packet;
	ch->on_closed = on_closed;
	ch->data = data;
	TAILQ_INIT(&ch->out);
	flags = fcntl(fd, F_GETFL);
	ch->rx = malloc(PRIV_MAX_PACKET);
	ch->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, ch);
	ch->write_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, ch);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || !ch->rx || !ch->read_ev || !ch->write_ev ||
	    event_add(ch->read_ev, NULL) < 0) {
		ch->fd = -1;
		chan_free(ch);
		return -ENOMEM;
	}
	*ret = ch;
	return 0;
}

void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	drop_output(ch);
	if (ch->read_ev)
		event_free(ch->read_ev);
	if (ch->write_ev)
		event_free(ch->write_ev);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch->rx);
	free(ch->tx);
	free(ch);
}

static uint8_t *compose(uint8_t *buf, uint32_t type, uint64_t conn, const void *body, size_t len)
{
	struct priv_header h = { .magic = PRIV_PROTO_MAGIC, .type = type, .conn = conn };

	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), body, len);
	return buf;
}

static int queue(struct chan *ch, uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds)
{
	struct chan_packet *p;

	if (ch->out_bytes + len > CHAN_MAX_QUEUED_BYTES || ch->out_fds + n_fds > CHAN_MAX_QUEUED_FDS) {
		chan_close(ch, "the other process does not read the channel");
		return -ENOBUFS;
	}
	p = calloc(1, sizeof(*p) + n_fds * sizeof(int));
	if (!p || !(p->buf = malloc(sizeof(struct priv_header) + len))) {
		free(p);
		return -ENOMEM;
	}
	compose(p->buf, type, conn, body, len);
	p->len = sizeof(struct priv_header) + len;
	/* The caller's fds may be closed before the other side reads. */
	for (size_t i = 0; i < n_fds; i++) {
		p->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (p->fds[i] < 0) {
			int r = -errno;

			packet_free(p);
			return r;
		}
		p->n_fds++;
	}
	TAILQ_INSERT_TAIL(&ch->out, p, link);
	ch->out_bytes += p->len;
	ch->out_fds += n_fds;
	event_add(ch->write_ev, NULL);
	return 0;
}

int chan_send(struct chan *ch, uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds)
{
	size_t size = sizeof(struct priv_header) + len;
	int r;

	if (ch->closed)
		return -EPIPE;
	if (size > PRIV_MAX_PACKET)
		return -EMSGSIZE;
	if (!TAILQ_EMPTY(&ch->out))
		return queue(ch, type, conn, body, len, fds, n_fds);
	/* The common case: nothing waits, the packet goes at once, from a
	 * buffer that is kept. */
	if (size > ch->tx_cap) {
		uint8_t *tx = realloc(ch->tx, size);

		if (!tx)
			return -ENOMEM;
		ch->tx = tx;
		ch->tx_cap = size;
	}
	r = wire_send(ch->fd, compose(ch->tx, type, conn, body, len), size, fds, n_fds);
	if (r == -EAGAIN)
		return queue(ch, type, conn, body, len, fds, n_fds);
	if (r < 0) {
		chan_close(ch, "writing to the channel failed");
		return -EPIPE;
	}
	/* A large scratch buffer is not kept for good. */
	if (ch->tx_cap > 64 * 1024) {
		free(ch->tx);
		ch->tx = NULL;
		ch->tx_cap = 0;
	}
	return 0;
}

void chan_flush(struct chan *ch)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLOUT };

	while (!ch->closed && !TAILQ_EMPTY(&ch->out)) {
		if (poll(&pfd, 1, 1000) <= 0)
			return;
		on_write(ch->fd, EV_WRITE, ch);
	}
}
