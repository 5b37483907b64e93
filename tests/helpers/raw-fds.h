/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* raw-fds: the fds raw-request puts in a packet, of every kind a requester
 * could send where the daemon expects another, and a count of the fds
 * another process holds on the same files (to see that the daemon kept
 * none). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "wire.h"

struct raw_fds {
	size_t n;
	int fd[WIRE_MAX_FDS];
	/* Children made for pidfd:zombie, reaped when the set is closed. */
	size_t n_zombies;
	pid_t zombie[WIRE_MAX_FDS];
};

/* Adds the fds SPEC describes: [N*]KIND, N copies (1 by default) of
 *   file:PATH      PATH opened read-only (a file, /proc/PID/ns/pid, ...)
 *   socket         one end of a socketpair
 *   eventfd        an eventfd
 *   pidfd:PID      a pidfd of process PID
 *   pidfd:zombie   a pidfd of a child that exited and is not reaped
 *   pidfd:reaped   a pidfd of a child that exited and was reaped
 *   inherit:N      a copy of fd N, inherited from the caller
 * Returns 0, -EINVAL for a SPEC it does not know, -E2BIG past WIRE_MAX_FDS
 * fds, or -errno. */
int raw_fds_add(struct raw_fds *set, const char *spec);

/* Closes the fds and reaps the children. */
void raw_fds_close(struct raw_fds *set);

/* How many fds process pid has open on the files the set's fds refer to
 * (each file counted once however many fds of the set share it), or
 * -errno. */
int raw_fds_held_by(const struct raw_fds *set, pid_t pid);

/* Parses a whole decimal number from min to max into *ret; -EINVAL if s
 * is anything else. */
int raw_parse_long(const char *s, long min, long max, long *ret);
