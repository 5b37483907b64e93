/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PIDRESTORE_RXBUF_H
#define PIDRESTORE_RXBUF_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* Where packets of a SOCK_SEQPACKET socket are received, with room for the
 * largest one the reader takes (max). Natively it has that room from the
 * start: pages are only touched as far as packets fill them. valgrind,
 * though, checks the whole buffer on every receive, so under it the buffer
 * starts small and grows to the packets that come. */
struct rxbuf {
	uint8_t *data;
	size_t cap;
	size_t max;
};

int rxbuf_init(struct rxbuf *rb, size_t max);
/* rxbuf_init() with the first size given, as valgrind would have it. */
int rxbuf_init_sized(struct rxbuf *rb, size_t start, size_t max);
void rxbuf_free(struct rxbuf *rb);
/* wire_recv() into the buffer: 1 with a packet (truncated only if it is
 * larger than max, or memory to grow ran out), 0 at end of stream,
 * -EAGAIN when none waits, another negative errno on failure. */
int rxbuf_recv(struct rxbuf *rb, int fd, struct wire_packet *pkt);

#endif
