/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* front's confinement (DESIGN §2): whatever a requester's bytes might make
 * of front, it holds the rights of an unprivileged system user and no more. */
#pragma once

#include <sys/types.h>

#include "util.h"

/* Drops the process, for good, to uid and gid with no supplementary group
 * and no capability in any set, sets no_new_privs and makes it
 * non-dumpable, then installs a seccomp allow-list of the system calls an
 * event loop of sockets needs. Returns 0 or -errno with why set. Without
 * root it keeps its ids (and says so in the log) but confines itself all
 * the same. */
int confine_front(uid_t uid, gid_t gid, struct why *why);
