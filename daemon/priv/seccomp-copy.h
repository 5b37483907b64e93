/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A requester's seccomp filters, copied for the processes made for it
 * (DESIGN §6): read through ptrace at the time of each request, installed
 * by the holder as its last privileged step (holder-proto.h step 9). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct event_base;

/* The filters of one task, oldest first, immutable and shared. data is
 * what follows the groups in a holder_setup: per filter a struct
 * holder_filter and its instructions. */
struct seccomp_set {
	unsigned int refs;
	uint32_t n_filters;
	uint32_t n_insns;
	size_t len;
	unsigned char data[];
};

/* How long a requester's thread may take to stop for the copy. It waits
 * for the reply, so it stops at once; one that does not (a thread stuck in
 * an uninterruptible sleep it arranged) is refused after this. */
#define SECCOMP_COPY_STOP_USEC 20000

/* Where the copy needs the event loop: a requester that dies while it is
 * traced must still be reaped by the tracer, later. */
int seccomp_copy_init(struct event_base *base);
/* Daemon stop: tracees not let go yet are let go as the daemon exits. */
void seccomp_copy_shutdown(void);

/* Copies the filters of pid (in the daemon's pid namespace; pidfd pins the
 * process, so a recycled PID is never taken for it), which waits for a
 * reply. status_fd is its /proc/PID/status, opened while pidfd showed it
 * alive: it reads that process's or nothing, never a later one's. *ret is
 * NULL when pid runs under no filter. Refuses, naming why:
 * strict mode; a filter that returns SECCOMP_RET_USER_NOTIF (or a value it
 * computes, which might be that), whose listener belongs to someone else;
 * a process already traced, or one that does not stop in time; a kernel
 * that cannot read filters. Returns 0 or -errno with why. */
int seccomp_copy(pid_t pid, int pidfd, int status_fd, struct seccomp_set **ret, struct why *why);

struct seccomp_set *seccomp_set_ref(struct seccomp_set *set);
void seccomp_set_unref(struct seccomp_set *set);

/* Whether a and b (NULL: no filter) are the same filters in the same order. */
bool seccomp_set_equal(const struct seccomp_set *a, const struct seccomp_set *b);

/* "3 filters, 412 instructions" or "no filter", for messages. */
void seccomp_set_describe(const struct seccomp_set *set, char *buf, size_t size);
