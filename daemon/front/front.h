/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* front: the unprivileged process that serves the socket (DESIGN §2). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "client.h"

struct front_options {
	uid_t uid;                   /* the system user front runs as */
	gid_t gid;
	size_t max_message_size;
	struct client_limits limits;
};

/* Runs front in this (freshly forked) process: confines it, serves the
 * listening socket (listener_open() made it) and talks to priv over
 * chan_fd, until priv says stop or goes away. Returns the exit status. */
int front_run(const struct front_options *opts, int chan_fd);
