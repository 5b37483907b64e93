/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup v1 hierarchies (legacy and hybrid hosts): a new process joins the
 * requester's cgroup in every one of them before it runs anything of its
 * own (DESIGN §6), as CLONE_INTO_CGROUP places it in the v2 one. */
#pragma once

#include <stddef.h>

#include "util.h"

#define CGROUP1_MAX 32 /* the kernel has at most 16 controllers, and names */

/* Where a requester's processes go in the v1 hierarchies. */
struct cgroup1_join {
	size_t n;                 /* hierarchies to join */
	int hierarchy[CGROUP1_MAX]; /* cgroup1_mount()'s index of each */
	char *path[CGROUP1_MAX];  /* its cgroup there, relative to the hierarchy's root */
	int pids;                 /* the entry in the pids hierarchy, or -1 */
	int error;                /* errno: a hierarchy it is in cannot be joined (0: all can) */
	char error_text[256];
};

/* Finds the v1 hierarchies mounted in the daemon's mount namespace, once,
 * and keeps a handle on each that can be written even where the daemon's
 * view of /sys/fs/cgroup is read-only (systemd's ProtectControlGroups=):
 * a detached mount of the hierarchy (fsopen/fsmount, Linux 5.2), or else
 * the mount point. */
void cgroup1_init(void);
void cgroup1_shutdown(void);

/* The number of v1 hierarchies found, and the mount point of the i-th and
 * its controllers ("pids", "cpu,cpuacct", "name=systemd"). */
size_t cgroup1_count(void);
const char *cgroup1_mount(size_t i);
const char *cgroup1_controllers(size_t i);

/* Resolves the v1 lines of a /proc/PID/cgroup text (as the daemon reads
 * it) into ret. A hierarchy that is not mounted where the daemon sees it
 * sets ret->error: every process of that requester is refused, never given
 * the daemon's cgroup there. Returns 0 or -ENOMEM. */
int cgroup1_resolve(const char *cgroups, struct cgroup1_join *ret);
void cgroup1_join_release(struct cgroup1_join *j);

/* Whether one more process fits in the requester's v1 pids cgroup and in
 * every one above it: moving a process into a v1 pids cgroup does not
 * check pids.max, only fork() does, so the daemon checks first. Returns 0,
 * or -EAGAIN (as fork() would fail) naming the cgroup and its limit. */
int cgroup1_check_pids(const struct cgroup1_join *j, struct why *why);

/* Opens the cgroup.procs file of each of j's cgroups for writing, into
 * fds[0..j->n): the holder writes 0 to each to join (holder-proto.h step
 * 0). Returns 0, or -errno with why naming the cgroup (fds all closed). */
int cgroup1_open_procs(const struct cgroup1_join *j, int *fds, struct why *why);
