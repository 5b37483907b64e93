/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's last file descriptors (DESIGN §10): a few kept in reserve so
 * that a daemon out of fds can still accept a connection to say so, and the
 * honest answer for a request that failed because the fds ran out. */
#pragma once

#include <stdbool.h>

#include "util.h"

/* Opens the reserve. Returns 0 or -errno. */
int fdreserve_init(void);

/* Closes the reserve (daemon stop). */
void fdreserve_close(void);

/* Gives the reserve's fds back to the kernel, for one accept() and its
 * refusal, until fdreserve_refill(). */
void fdreserve_lend(void);
void fdreserve_refill(void);

/* Whether the daemon has too few fds left to serve a connection or make
 * a process (16) right now. */
bool fdreserve_exhausted(void);

/* Fills why with "the daemon is out of file descriptors" and EMFILE. */
void fdreserve_why(struct why *why);

/* If the daemon is out of fds now, replaces why (a failure that may have
 * come from it, named or not) with "the daemon is out of file descriptors"
 * and EMFILE, and returns true. */
bool fdreserve_explain(struct why *why);
