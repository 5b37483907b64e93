/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clone3()'s argument block, for the daemon and the libc-free holder alike:
 * only <stdint.h>, so that both can include it. */
#pragma once

#include <stdint.h>

/* The full struct clone_args of 5.7+ (CLONE_ARGS_SIZE_VER2 = 88). Passing
 * fewer than 80 bytes makes the kernel ignore set_tid silently. */
struct pr_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};
