/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the tree parts of the holder share (tree-proto.h): tree-build.c
 * (the builder, clones, reports, the barrier) and tree-node.c (each
 * process's program: groups, threads, the credential drop, zombies,
 * parking). */
#pragma once

#include <stdint.h>

#include "plan-check.h"

/* The build, as every process of the tree inherits it by clone. */
struct tree_state {
	const struct holder_setup *setup;
	const uint32_t *groups;
	struct tree_plan_view v;
	struct tree_barrier *barrier;
	unsigned long barrier_len;
	void *plan_map;
	unsigned long plan_map_len;
	void *setup_map;
	unsigned long setup_map_len;
	/* What getppid() must say in the process being cloned. */
	int expected_ppid;
	/* The requester is in another user namespace than the daemon. */
	int in_user_ns;
};

extern struct tree_state tree;

/* When the daemon started this program as the builder of a tree, builds
 * it and exits; otherwise returns at once. */
void tree_run_if_asked(void);

/* Sends a report on the tree socket; fd (>= 0) travels with it. */
void tree_report_send(uint32_t type, int proc, const int32_t *pids, uint32_t n_pids, int fd);

/* Reports the failure, tells every other process of the tree and exits. */
__attribute__((noreturn)) void tree_fail(int proc, uint32_t step, uint32_t setup_step, int level,
					 int thread, int error);

/* Clones proc child (its creator is the caller) and reports its pidfd.
 * Returns only on success. */
void tree_clone(int child);

/* The index of the first level whose id in ids[0..n) is taken, found by
 * probing clones of growing set_tid; -1 if none is. */
int tree_busy_level(const int32_t *ids, uint32_t n, uint64_t clone_flags);

/* Waits until *word is 0 (want_zero) or non-zero; exits when the build
 * was aborted. */
void tree_barrier_wait(uint32_t *word, int want_zero);

/* Decrements a barrier counter and wakes its waiters at 0. */
void tree_barrier_count_down(uint32_t *word);

struct pidrestore_blob_slot;

/* tree-node.c, for a blob claim of a parked live node: the threads' area
 * (NULL when it has none), its length and how many threads it has... */
void tree_threads_area(void **map, size_t *len, uint32_t *n);

/* ...and sends each thread to slots[its index], to wait for its release. */
void tree_threads_hand_over(struct pidrestore_blob_slot *slots);

/* tree-blob.c: a thread waits for the blob to release it, then runs the
 * slot's entry on the slot's stack. */
__attribute__((noreturn)) void tree_blob_thread_wait(struct pidrestore_blob_slot *slot);

/* tree-blob.c, for exec.c: checks a HOLDER_CMD_BLOB of len bytes that
 * came with n_received fds and points *targets at its fd map of *n_map
 * entries (its fds follow the memfd)... */
int blob_decode(const void *packet, size_t len, unsigned int n_received, const int32_t **targets, uint32_t *n_map);

/* ...and, the fd map installed, maps the blob from memfd and enters it,
 * closing memfd, the control socket and the command's mapping (work). Returns
 * only if it failed, with nothing of it left mapped and *step naming what
 * failed. */
int blob_enter(const void *packet, int memfd, int *control_fd, void *work, size_t work_len, uint32_t *step);

/* The program of proc self, from its first instruction after the clone. */
__attribute__((noreturn)) void tree_proc_run(int self);
