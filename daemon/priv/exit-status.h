/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* How a process that is not the daemon's child ended: a node of a tree,
 * whose parent is another node and reaps it (or never does). */
#pragma once

#include <signal.h>
#include <sys/types.h>

/* Fills si (si_code CLD_EXITED, CLD_KILLED or CLD_DUMPED, si_status, si_pid)
 * for the process pidfd names, PID pid in the daemon's pid namespace, once
 * it has exited: from the pidfd once its parent reaped it (Linux 6.15), or
 * while it is a zombie from /proc/PID/stat, whose PID cannot name another
 * process until it is reaped. Returns 0, -EAGAIN while it runs, or -ENOSYS
 * when neither can tell (an older kernel, after its parent reaped it). */
int exit_status_of_nonchild(int pidfd, pid_t pid, siginfo_t *si);
