/* One client connection: it owns its socket, its libevent events, the
 * requester's identity taken at accept, and its queued output. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "util.h"

#include "pidrestore.pb-c.h"

struct event_base;

struct conn;

/* Takes ownership of fd (non-blocking, close-on-exec, already accepted). */
int conn_new(struct event_base *base, int fd, struct conn **ret);

/* Answers an accepted connection the daemon will not serve with why, as
 * its first message, and closes it (fd is taken over). */
void conn_refuse(int fd, const struct why *why);

/* Closes the connection and releases everything it owns. */
void conn_free(struct conn *c);

/* Queues a message with optional fds (the caller keeps its fds). A
 * connection whose peer stopped reading is closed, not waited for forever. */
int conn_send(struct conn *c, const Pidrestore__ServerMessage *msg, const int *fds, size_t n_fds);

/* Sends a response to request id; fills the envelope. */
int conn_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds);

/* Sends an error response built from why. */
int conn_respond_error(struct conn *c, uint64_t id, const struct why *why);

const struct peer *conn_peer(const struct conn *c);
/* The event loop that serves c. */
struct event_base *conn_event_base(const struct conn *c);
uint64_t conn_number(const struct conn *c);

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

/* Closes every connection (daemon stop). */
void conn_close_all(void);

/* The daemon's limits against floods (DESIGN §10). */
struct conn_limits {
	unsigned int max_connections;          /* over all users; 0: only the fd limit */
	unsigned int max_connections_per_user; /* by requester uid, root too; 0: none */
	unsigned int requests_per_second;      /* per connection; 0: none */
	unsigned int idle_timeout_sec;         /* 0: never closed as idle */
};

/* Sets the limits. max_connections is lowered, with a log line saying so, to
 * what the daemon's fd limit can hold: each connection keeps its socket and
 * the requester's pidfd, namespaces, root and cgroup open. */
void conn_set_limits(const struct conn_limits *limits);

/* The most bytes a request may have. */
void conn_set_max_message_size(size_t size);
size_t conn_max_message_size(void);
