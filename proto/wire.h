/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One protobuf message per SOCK_SEQPACKET packet, with fds in SCM_RIGHTS.
 * Shared by the daemon and libpidrestore. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define PIDRESTORE_PROTOCOL_VERSION 1
#define PIDRESTORE_PROTOCOL_MIN_VERSION 1
#define PIDRESTORE_DEFAULT_SOCKET "/run/pidrestore/pidrestored.sock"
#define PIDRESTORE_SOCKET_ENV "PIDRESTORE_SOCKET"
/* The largest TreeRequest packet the daemon takes (HelloReply.
 * max_tree_message_size); other requests are bounded by max_message_size. */
#define WIRE_MAX_TREE_MESSAGE (1024u * 1024)
/* The kernel's SCM_MAX_FD: the most fds one packet can carry. */
#define WIRE_MAX_FDS 253

/* Connects a close-on-exec SOCK_SEQPACKET socket to path. Returns the fd or
 * -errno (-ENAMETOOLONG for a path that does not fit a sockaddr_un). */
int wire_connect(const char *path);

/* Sends one packet carrying buf and n_fds fds. The fds stay owned by the
 * caller. Returns 0, or -EAGAIN on a full non-blocking socket, or -errno. */
int wire_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);

struct wire_packet {
	size_t len;          /* bytes of the packet, even when it was truncated */
	int truncated;       /* the packet was longer than the buffer */
	int fds_truncated;   /* the sender sent more fds than fit (some were dropped) */
	size_t n_fds;
	int fds[WIRE_MAX_FDS];
};

/* Receives one packet into buf (capacity cap). Received fds are close-on-exec
 * and owned by the caller, who must close them, also when the call reports a
 * truncated packet. Returns 1 for a packet, 0 at end of stream, -EAGAIN when
 * nothing is queued on a non-blocking socket, or -errno. */
int wire_recv(int sock, void *buf, size_t cap, struct wire_packet *pkt);

/* Closes every fd of pkt from index 'from' on. */
void wire_close_fds(struct wire_packet *pkt, size_t from);
