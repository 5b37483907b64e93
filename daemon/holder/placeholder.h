/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the placeholder's parts share: holder.c (its entry, reports, signals
 * and packets), setup.c (applying the holder_setup) and exec.c (the exec
 * command); the spawner and a tree's processes (tree.h) use them too. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Sends one holder_report on control_fd; error is taken as an errno of
 * either sign. */
void report_send(int control_fd, uint32_t type, uint32_t step, int error);

void signals_block_all(void);
void signals_reset_dispositions(uint64_t already_default);
void signals_unblock_fresh(void);

long packet_peek(int control_fd, unsigned int flags, int *has_fds);
void packet_discard(int control_fd);
size_t page_round(size_t n);

struct iovec;

/* One packet of n_iov parts, with fd (>= 0) in SCM_RIGHTS; retries
 * interrupted calls, never raises SIGPIPE. Returns sendmsg's answer. */
long packet_send_with_fd(int sock, struct iovec *iov, size_t n_iov, int fd);

struct holder_setup;

/* Checks a received setup of len bytes (its groups included): 0 or -EPROTO. */
int setup_validate(const struct holder_setup *s, size_t len);

/* The process-wide part of a setup, made as root: cgroup v1 joins (the
 * setup's cgroup1_fds fds of cgroup1), setsid(), oom score, rlimits,
 * scheduling, every namespace but the user one, the root directory. 0, or
 * a negative errno with *step naming what failed. */
int setup_process(const struct holder_setup *s, const int *cgroup1, uint32_t *step);

/* Pieces of the credential drop, each for the calling thread only. */
int bounding_set_restrict(uint32_t cap_last, uint64_t keep);
/* The requester's capabilities, plus extra in the permitted and effective
 * sets. */
int caps_set(const struct holder_setup *s, uint64_t extra);
int ambient_set(uint64_t ambient);
/* CAP_SYS_ADMIN when the setup's seccomp filters need it to be installed
 * (no no_new_privs), else 0: for caps_set() until filters_install(). */
uint64_t caps_kept_for_filters(const struct holder_setup *s);
/* The setup's filters (at filters, after its groups), oldest first, for the
 * calling thread; then the capabilities exactly as the requester's. */
int filters_install(const struct holder_setup *s, const void *filters, uint32_t *step);

/* Reads the setup the daemon queued before starting the holder and applies
 * it. Returns 0, or a negative errno with *step naming what failed. */
int setup_run(uint32_t *step);

/* Runs one exec command. Returns only if it failed, with the holder parked
 * again exactly as before: only the control socket open, signals blocked,
 * in "/". */
void command_run(int *control_fd);
