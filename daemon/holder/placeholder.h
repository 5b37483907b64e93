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

/* The process-wide part of a setup, made as root: setsid(), oom score,
 * rlimits, scheduling, every namespace but the user one, the root
 * directory. 0, or a negative errno with *step naming what failed. */
int setup_process(const struct holder_setup *s, uint32_t *step);

/* Pieces of the credential drop, each for the calling thread only. */
int bounding_set_restrict(uint32_t cap_last, uint64_t keep);
int caps_set(const struct holder_setup *s);
int ambient_set(uint64_t ambient);

/* Reads the setup the daemon queued before starting the holder and applies
 * it. Returns 0, or a negative errno with *step naming what failed. */
int setup_run(uint32_t *step);

/* Runs one exec command. Returns only if it failed, with the holder parked
 * again exactly as before: only the control socket open, signals blocked,
 * in "/". */
void command_run(int *control_fd);
