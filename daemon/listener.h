/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listening socket: the one systemd passed, or one bound by hand. It is
 * opened by the starting process, as root, and served by front; priv keeps
 * its name for the status and removes a socket the daemon bound itself. */
#pragma once

#include <stdbool.h>

#include "util.h"

struct event_base;

/* Takes the socket from socket activation (LISTEN_FDS) or binds path,
 * creating its directory, mode 0666. */
int listener_open(const char *path, struct why *why);

/* Every accepted connection (non-blocking, close-on-exec) goes to fn. */
typedef void (*listener_accept_fn)(struct event_base *base, int fd);

/* A connection accepted out of fds to be told so and closed (fd taken). */
typedef void (*listener_refuse_fn)(int fd, const struct why *why);

/* Starts accepting on base. */
int listener_start(struct event_base *base, listener_accept_fn fn, listener_refuse_fn refuse);

/* Stops accepting and closes this process's copy of the socket. */
void listener_close(void);

/* Removes the socket file if the daemon bound it (not systemd). */
void listener_unlink(void);

const char *listener_path(void);
bool listener_activated(void);
