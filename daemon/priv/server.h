/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon as a whole: startup, the event loop, signals, service manager
 * notifications, and an orderly stop (DESIGN §7, §8). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct why;

struct server_options {
	const char *socket_path;
	const char *holder_path;
	const char *config_path;        /* the policy; drop-ins in config_path.d/ */
	const char *front_user;         /* the system user front runs as */
	bool config_named;              /* config_path was given: it must exist */
	size_t max_message_size;
	int log_level;
	unsigned int max_reservations;
	unsigned int max_reservations_per_conn;
	unsigned int max_ttl_sec;
	unsigned int exit_idle_sec;     /* 0: never exit when idle */
	unsigned int max_connections;   /* 0: as many as the fd limit allows */
	unsigned int max_connections_per_user; /* 0: none */
	unsigned int max_requests_per_second;  /* per connection; 0: none */
	unsigned int idle_timeout_sec;  /* 0: connections are never idle */
};

/* Runs priv until SIGTERM/SIGINT or until front (front_pid, on the other
 * end of chan_fd, which this takes) is gone. Returns the exit status. */
int server_run(const struct server_options *opts, int chan_fd, pid_t front_pid);

struct policy;

/* Reads the policy files at path, as a start or a reload does: a path the
 * admin named (--config) must exist, the default one may be missing. */
int server_load_policy(const char *path, bool named, struct policy *policy, struct why *why);

