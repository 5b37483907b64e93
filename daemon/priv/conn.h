/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A requester's connection as priv knows it: the identity priv captured
 * from the socket front handed over (DESIGN §2, §3), the protocol version
 * agreed in Hello, and what the connection holds. Its bytes are front's
 * (front/client.c); what priv says to it goes through the channel. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "util.h"

#include "pidrestore.pb-c.h"

struct conn;
struct event_base;

/* Where what priv says to connections goes (the channel to front). */
struct conn_ops {
	int (*send)(uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds);
	/* c is about to be forgotten: what waits on it or belongs to it must
	 * let go (requests, processes). */
	void (*closing)(struct conn *c);
	struct event_base *base;     /* priv's loop */
};
void conn_init(const struct conn_ops *ops);

/* Captures the requester on sock (front's connection number), which stays
 * the caller's. Returns 0, or -errno with why saying why the requester is
 * refused. */
int conn_open(uint64_t number, int sock, struct conn **ret, struct why *why);

/* The connection number front uses, or NULL. */
struct conn *conn_find(uint64_t number);

/* Forgets c (front closed it): its placeholders are released, its running
 * programs keep running. */
void conn_free(struct conn *c);

/* Queues a message with optional fds (the caller keeps its fds). */
int conn_send(struct conn *c, const Pidrestore__ServerMessage *msg, const int *fds, size_t n_fds);

/* A request of c arrived; every one gets exactly one response. Until it
 * has, changes of what c holds ride on the response. */
void conn_request_received(struct conn *c);

/* Sends a response to request id; fills the envelope. */
int conn_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds);

/* Sends an error response built from why. */
int conn_respond_error(struct conn *c, uint64_t id, const struct why *why);

const struct peer *conn_peer(const struct conn *c);

/* Copies the requester's seccomp filters as they are now into its peer
 * (peer->seccomp), for the processes of the request being made: filters
 * only ever get added, so a copy per request is never laxer than the
 * requester when it asked. Returns 0 or -errno with why. */
int conn_copy_seccomp(struct conn *c, struct why *why);
/* The event loop that serves c. */
struct event_base *conn_event_base(const struct conn *c);
uint64_t conn_number(const struct conn *c);
/* The loop c is served from, for work a request leaves for later. */
struct event_base *conn_event_base(const struct conn *c);

/* Protocol version agreed in Hello, 0 before it. */
uint32_t conn_version(const struct conn *c);
void conn_set_version(struct conn *c, uint32_t version);

unsigned int conn_count(void);

/* Outstanding reservations owned by c, kept by the process registry. */
unsigned int conn_reservations(const struct conn *c);
void conn_add_reservations(struct conn *c, int delta);

/* Programs owned by c that are being executed or run, kept by the process
 * registry: a connection that has some is never closed as idle. */
void conn_add_running(struct conn *c, int delta);

/* Forgets every connection (daemon stop). */
void conn_close_all(void);

/* The most bytes a request may have (Hello tells clients). */
void conn_set_max_message_size(size_t size);
size_t conn_max_message_size(void);
