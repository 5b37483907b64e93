/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One end of the channel between front and priv (priv-proto.h): packets of
 * a priv_header and a body, with fds, over a non-blocking SOCK_SEQPACKET
 * socket, read and written from the event loop. What the other side does
 * not read yet waits in a queue; a side that leaves too much unread is
 * taken for broken and the channel is closed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "priv-proto.h"
#include "wire.h"

struct event_base;
struct chan;

/* Called for every packet, with the header checked and the body after it.
 * The callee owns pkt's fds (closes or keeps each one); with
 * pkt->fds_truncated some fds were dropped for want of room in this
 * process, and the packet must fail as such. */
typedef void (*chan_packet_fn)(const struct priv_header *h, const uint8_t *body, size_t len, struct wire_packet *pkt,
			       void *data);
/* Called once when the other side is gone (end of stream, an error, a
 * packet that is no record of this channel, or output it does not read);
 * the channel stops reading, and may then only be freed. */
typedef void (*chan_closed_fn)(const char *why, void *data);

/* Takes fd (a connected SOCK_SEQPACKET socket). Returns 0 or -errno. */
int chan_new(struct event_base *base, int fd, chan_packet_fn on_packet, chan_closed_fn on_closed, void *data,
	     struct chan **ret);
void chan_free(struct chan *ch);

/* Sends a packet; fds stay the caller's. Returns 0, or -EPIPE once the
 * channel is closed, -ENOBUFS when the other side left too much unread (the
 * channel is then closed), -ENOMEM, or -errno. */
int chan_send(struct chan *ch, uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds);

/* Writes what is queued, waiting for the other side up to a second at a
 * time: only for the last words before an exit. */
void chan_flush(struct chan *ch);
