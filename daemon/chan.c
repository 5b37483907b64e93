/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "chan.h"
#include "log.h"
#include "outq.h"

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
	uint8_t *rx;                 /* rx_cap bytes */
	size_t rx_cap;
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
		ssize_t next = 0;
		int r;

		/* A buffer smaller than the largest packet (under valgrind)
		 * grows to the next packet, whose length a peek tells. */
		if (ch->rx_cap < PRIV_MAX_PACKET) {
			next = recv(ch->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
			if (next < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (next > 0 && (size_t)next > ch->rx_cap) {
			size_t cap = (size_t)next < PRIV_MAX_PACKET ? (size_t)next : PRIV_MAX_PACKET;
			uint8_t *rx = realloc(ch->rx, cap);

			if (rx) {
				ch->rx = rx;
				ch->rx_cap = cap;
			}
		}
		r = wire_recv(ch->fd, ch->rx, ch->rx_cap, &pkt);

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
	/* Room for the largest packet: its pages are only touched as far as
	 * packets fill them. valgrind, though, checks the whole buffer on
	 * every receive, which made 1000 requests take 26 s instead of 4:
	 * under it the buffer starts small and grows to the packets. */
	ch->rx_cap = RUNNING_ON_VALGRIND ? 64 * 1024 : PRIV_MAX_PACKET;
	ch->rx = malloc(ch->rx_cap);
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
	outq_clear(&ch->out);
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
