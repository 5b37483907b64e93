/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the placeholder's parts share: holder.c (its entry, reports, signals
 * and packets), setup.c (applying the holder_setup) and exec.c (the exec
 * command). */
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

/* Reads the setup the daemon queued before starting the holder and applies
 * it. Returns 0, or a negative errno with *step naming what failed. */
int setup_run(uint32_t *step);

/* Runs one exec command. Returns only if it failed, with the holder parked
 * again exactly as before: only the control socket open, signals blocked,
 * in "/". */
void command_run(int *control_fd);
