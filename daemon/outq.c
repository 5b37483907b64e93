/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outq.h"
#include "wire.h"

#define MALLOC_OVERHEAD 16u
/* Queued output freed since the heap was last trimmed: past this much, the
 * free pages go back to the kernel, so that a flood of slow readers does not
 * leave the process at its high-water mark. */
#define OUTQ_TRIM_AFTER_BYTES (8u * 1024 * 1024)

struct outq_packet {
	TAILQ_ENTRY(outq_packet) link;
	size_t len;
	uint8_t *buf;
	size_t n_fds;
	int fds[];
};

static size_t total;

/* A packet cannot be larger than the socket's send buffer (the reply to a
 * reserve of 10,000 processes may be): make room for one of len bytes.
 * Without CAP_NET_ADMIN the kernel's wmem_max caps it. */
static int grow_send_buffer(int fd, size_t len)
{
	int size = len < (size_t)INT_MAX / 2 ? (int)len * 2 : INT_MAX;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		return -errno;
	return 0;
}

int outq_send_packet(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	int r = wire_send(sock, buf, len, fds, n_fds);

	if (r == -EMSGSIZE && grow_send_buffer(sock, len) == 0)
		r = wire_send(sock, buf, len, fds, n_fds);
	return r;
}
static size_t freed_since_trim;

void outq_init(struct outq *q)
{
	TAILQ_INIT(&q->packets);
	q->bytes = q->fds = 0;
}

size_t outq_cost(size_t len, size_t n_fds)
{
	return len + sizeof(struct outq_packet) + n_fds * sizeof(int) + 2 * MALLOC_OVERHEAD;
}

size_t outq_total(void)
{
	return total;
}

static void packet_free(struct outq_packet *p)
{
	for (size_t i = 0; i < p->n_fds; i++)
		close(p->fds[i]);
	free(p->buf);
	free(p);
}

int outq_push(struct outq *q, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	struct outq_packet *p = calloc(1, sizeof(*p) + n_fds * sizeof(int));
	size_t cost = outq_cost(len, n_fds);

	if (!p || !(p->buf = malloc(len ? len : 1))) {
		free(p);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(p->buf, buf, len);
	p->len = len;
	/* The caller's fds may be closed before the peer reads: keep copies. */
	for (size_t i = 0; i < n_fds; i++) {
		p->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (p->fds[i] < 0) {
			int r = -errno;

			packet_free(p);
			return r;
		}
		p->n_fds++;
	}
	TAILQ_INSERT_TAIL(&q->packets, p, link);
	q->bytes += cost;
	q->fds += n_fds;
	total += cost;
	return 0;
}

static void dequeue(struct outq *q, struct outq_packet *p)
{
	size_t cost = outq_cost(p->len, p->n_fds);

	TAILQ_REMOVE(&q->packets, p, link);
	q->bytes -= cost;
	q->fds -= p->n_fds;
	total -= cost;
	freed_since_trim += cost;
	packet_free(p);
}

static void trim_heap(void)
{
	if (freed_since_trim < OUTQ_TRIM_AFTER_BYTES)
		return;
	freed_since_trim = 0;
	malloc_trim(0);
}

int outq_send(struct outq *q, int sock)
{
	struct outq_packet *p;

	while ((p = TAILQ_FIRST(&q->packets))) {
		int r = outq_send_packet(sock, p->buf, p->len, p->fds, p->n_fds);

		if (r < 0)
			return r;
		dequeue(q, p);
	}
	trim_heap();
	return 0;
}

void outq_clear(struct outq *q)
{
	struct outq_packet *p;

	while ((p = TAILQ_FIRST(&q->packets)))
		dequeue(q, p);
	trim_heap();
}
