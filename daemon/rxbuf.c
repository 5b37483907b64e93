/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "rxbuf.h"

/* What a buffer starts with under valgrind: every ordinary request fits. */
#define RXBUF_VALGRIND_START (64u * 1024)

int rxbuf_init_sized(struct rxbuf *rb, size_t start, size_t max)
{
	size_t cap = start < max ? start : max;

	/* malloc(0) may answer NULL, which is no failure. */
	rb->data = malloc(cap ? cap : 1);
	if (!rb->data)
		return -ENOMEM;
	rb->cap = cap;
	rb->max = max;
	return 0;
}

int rxbuf_init(struct rxbuf *rb, size_t max)
{
	return rxbuf_init_sized(rb, RUNNING_ON_VALGRIND ? RXBUF_VALGRIND_START : max, max);
}

void rxbuf_free(struct rxbuf *rb)
{
	free(rb->data);
	rb->data = NULL;
	rb->cap = 0;
	rb->max = 0;
}

/* A buffer short of max grows to the next packet, whose length a peek
 * tells. Without memory to grow, the packet is received cut short and its
 * reader refuses it as it refuses one too large. */
static int rxbuf_fit_next(struct rxbuf *rb, int fd)
{
	ssize_t next;
	size_t cap;
	uint8_t *data;

	do
		next = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	while (next < 0 && errno == EINTR);
	if (next < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : 0;
	if ((size_t)next <= rb->cap)
		return 0;
	cap = (size_t)next < rb->max ? (size_t)next : rb->max;
	data = realloc(rb->data, cap);
	if (data) {
		rb->data = data;
		rb->cap = cap;
	}
	return 0;
}

int rxbuf_recv(struct rxbuf *rb, int fd, struct wire_packet *pkt)
{
	if (rb->cap < rb->max && rxbuf_fit_next(rb, fd) < 0) {
		/* Nothing received: no fds for the caller to close. */
		pkt->n_fds = 0;
		return -EAGAIN;
	}
	/* Another error of the peek is wire_recv()'s to report. */
	return wire_recv(fd, rb->data, rb->cap, pkt);
}
