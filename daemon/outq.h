/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A queue of packets (bytes and fds) waiting for a SOCK_SEQPACKET peer to
 * read them: a client's replies in front, the channel's records in either
 * process. It counts what it holds, so that its owner can set limits, and
 * what all queues of the process hold together. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

struct outq_packet;

struct outq {
	TAILQ_HEAD(, outq_packet) packets;
	size_t bytes;          /* outq_cost() of every packet */
	size_t fds;
};

void outq_init(struct outq *q);

/* What a queued packet costs the process: its two allocations, with what
 * malloc adds to each. */
size_t outq_cost(size_t len, size_t n_fds);

/* Appends a copy of buf and duplicates of fds (the caller keeps its own).
 * Returns 0 or -errno. */
int outq_push(struct outq *q, const void *buf, size_t len, const int *fds, size_t n_fds);

/* Sends queued packets on sock until it would block. Returns 0 when the
 * queue is empty, -EAGAIN when packets are left, or the send's -errno. */
int outq_send(struct outq *q, int sock);

/* Sends one packet now, growing the socket's send buffer for a packet
 * larger than it. Returns 0, -EAGAIN, or -errno. */
int outq_send_packet(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);

/* Drops every packet (the peer will never read them). */
void outq_clear(struct outq *q);

static inline bool outq_empty(const struct outq *q)
{
	return TAILQ_EMPTY(&q->packets);
}

/* What every queue of this process holds. */
size_t outq_total(void);
