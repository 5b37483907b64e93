/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One client connection, as front serves it: its socket, its libevent
 * events, its queued output and the limits against floods (DESIGN §10).
 * Who the requester is, is priv's to capture: front hands priv the socket
 * when it accepts, and serves the connection once priv has accepted it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "priv-proto.h"
#include "util.h"

struct event_base;
struct client;

/* How a client reaches priv (front.c's channel). */
struct client_ops {
	int (*to_priv)(uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds);
};
void client_init(const struct client_ops *ops);

/* Takes ownership of fd (non-blocking, close-on-exec, already accepted). */
int client_new(struct event_base *base, int fd);

/* What priv says of connection number. An unknown number is a connection
 * front closed meanwhile: ignored. fds stay the caller's. */
void client_accepted(uint64_t number, const struct priv_conn_accepted *a);
void client_refused(uint64_t number, const struct priv_refusal *r);
void client_state(uint64_t number, const struct priv_conn_state *s);
void client_deliver(uint64_t number, const uint8_t *buf, size_t len, const int *fds, size_t n_fds);

/* Answers an accepted connection front will not serve with why, as its
 * first message, and closes it (fd is taken over). */
void client_refuse(int fd, const struct why *why);

/* Closes connection number telling why (a reply front could not pass on). */
void client_fail(uint64_t number, const struct why *why);

unsigned int client_count(void);

/* Closes every connection (daemon stop). */
void client_close_all(void);

/* The daemon's limits against floods (DESIGN §10). */
struct client_limits {
	unsigned int max_connections;          /* over all users; 0: only the fd limit */
	unsigned int max_connections_per_user; /* by responsible uid, root too; 0: none */
	unsigned int requests_per_second;      /* per connection; 0: none */
	unsigned int idle_timeout_sec;         /* 0: never closed as idle */
};

/* Sets the limits. max_connections is lowered, with a log line saying so, to
 * what the daemon's fd limit can hold. */
void client_set_limits(const struct client_limits *limits);

/* The most bytes a request may have. */
void client_set_max_message_size(size_t size);
