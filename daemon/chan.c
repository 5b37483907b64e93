/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "outq.h"
#include "rxbuf.h"

/* Unread output past which the other side is taken for broken. The two
 * processes are each other's only peer and read as fast as they can: this
 * much queued means one of them stopped. */
#define CHAN_MAX_QUEUED_BYTES (256u * 1024 * 1024)
#define CHAN_MAX_QUEUED_FDS 65536u

struct chan {
	int fd;
	struct event *read_ev;
	struct event *write_ev;
	chan_packet_fn on_packet;
	chan_closed_fn on_closed;
	void *data;
	bool closed;
	struct rxbuf rx;
	uint8_t *tx;                 /* scratch for a packet sent at once */
	size_t tx_cap;
	struct outq out;
};

static void chan_close(struct chan *ch, const char *why)
{
	if (ch->closed)
		return;
	ch->closed = true;
	event_del(ch->read_ev);
	event_del(ch->write_ev);
	outq_clear(&ch->out);
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
		int r;

		r = rxbuf_recv(&ch->rx, ch->fd, &pkt);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, r == 0 ? "the other process closed the channel" : "reading the channel failed");
			return;
		}
		/* Fds the kernel had no room for (this process is out of
		 * them) fail the one packet: its handler sees fds_truncated. */
		if (pkt.truncated || pkt.len < sizeof(h)) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, "a packet on the channel was cut short");
			return;
		}
		memcpy(&h, ch->rx.data, sizeof(h));
		if (h.magic != PRIV_PROTO_MAGIC) {
			wire_close_fds(&pkt, 0);
			chan_close(ch, "a packet on the channel is no record of it (bad magic)");
			return;
		}
		ch->on_packet(&h, ch->rx.data + sizeof(h), pkt.len - sizeof(h), &pkt, ch->data);
	}
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct chan *ch = arg;
	int r = outq_send(&ch->out, ch->fd);

	if (r == -EAGAIN)
		return;
	if (r < 0) {
		chan_close(ch, "writing to the channel failed");
		return;
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
	outq_init(&ch->out);
	flags = fcntl(fd, F_GETFL);
	ch->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, ch);
	ch->write_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, ch);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || rxbuf_init(&ch->rx, PRIV_MAX_PACKET) < 0 ||
	    !ch->read_ev || !ch->write_ev || event_add(ch->read_ev, NULL) < 0) {
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
	outq_clear(&ch->out);
	if (ch->read_ev)
		event_free(ch->read_ev);
	if (ch->write_ev)
		event_free(ch->write_ev);
	if (ch->fd >= 0)
		close(ch->fd);
	rxbuf_free(&ch->rx);
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

static int queue(struct chan *ch, const uint8_t *packet, size_t size, const int *fds, size_t n_fds)
{
	int r;

	if (ch->out.bytes + size > CHAN_MAX_QUEUED_BYTES || ch->out.fds + n_fds > CHAN_MAX_QUEUED_FDS) {
		chan_close(ch, "the other process does not read the channel");
		return -ENOBUFS;
	}
	r = outq_push(&ch->out, packet, size, fds, n_fds);
	if (r == 0)
		event_add(ch->write_ev, NULL);
	return r;
}

int chan_send(struct chan *ch, uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds)
{
	size_t size = sizeof(struct priv_header) + len;
	int r;

	if (ch->closed)
		return -EPIPE;
	if (size > PRIV_MAX_PACKET)
		return -EMSGSIZE;
	/* Composed in a buffer that is kept: in the common case nothing
	 * waits and the packet goes at once. */
	if (size > ch->tx_cap) {
		uint8_t *tx = realloc(ch->tx, size);

		if (!tx)
			return -ENOMEM;
		ch->tx = tx;
		ch->tx_cap = size;
	}
	compose(ch->tx, type, conn, body, len);
	r = outq_empty(&ch->out) ? wire_send(ch->fd, ch->tx, size, fds, n_fds) : -EAGAIN;
	if (r == -EAGAIN)
		r = queue(ch, ch->tx, size, fds, n_fds);
	else if (r < 0) {
		chan_close(ch, "writing to the channel failed");
		r = -EPIPE;
	}
	/* A large scratch buffer is not kept for good. */
	if (ch->tx_cap > 64 * 1024) {
		free(ch->tx);
		ch->tx = NULL;
		ch->tx_cap = 0;
	}
	return r;
}

void chan_flush(struct chan *ch)
{
	struct pollfd pfd = { .fd = ch->fd, .events = POLLOUT };

	while (!ch->closed && !outq_empty(&ch->out)) {
		if (poll(&pfd, 1, 1000) <= 0)
			return;
		on_write(ch->fd, EV_WRITE, ch);
	}
}
