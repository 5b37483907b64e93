/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The listening socket: the one systemd passed, or one bound by hand. */
#pragma once

#include <stdbool.h>

#include "util.h"

struct event_base;

/* Takes the socket from socket activation (LISTEN_FDS) or binds path,
 * creating its directory, mode 0666. */
int listener_open(const char *path, struct why *why);

/* Starts accepting on base; every connection becomes a conn. */
int listener_start(struct event_base *base);

/* Stops accepting and closes the socket (unlinking it if the daemon made it). */
void listener_close(void);

const char *listener_path(void);
bool listener_activated(void);
