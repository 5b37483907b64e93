/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hand-over block of a blob claim (TREES.md §8, libpidrestore(3)
 * "Blob claims"): what a blob finds when a parked node of a tree jumps to
 * it. Freestanding: a blob includes this header alone (x86-64).
 *
 * The node's main thread maps the blob's sealed memfd private, read+exec,
 * at its address (MAP_FIXED_NOREPLACE), installs the fd map as an exec
 * claim would, closes every other fd, and calls
 *
 *     entry(const struct pidrestore_blob_handover *block)
 *
 * on its own stack, with every signal blocked and the requester's
 * credentials (nothing privileged happens after the claim). If entry
 * returns, the process exits with the value it returned (exit_group).
 *
 * Every other thread of the node waits on its slot's futex word. To
 * release one, the blob fills the slot's entry, stack and arg, stores
 * PIDRESTORE_BLOB_GO in futex (release order) and wakes it (FUTEX_WAKE).
 * The thread then calls entry(arg) with its stack pointer at stack (16-byte
 * aligned); if entry returns, that thread alone exits. Until then a thread
 * runs the holder's code on a stack inside the threads' area: the blob
 * unmaps the holder's image and the threads' area only once every thread
 * was released and runs code of its own.
 *
 * mappings[] lists what the holder mapped for itself (its image, the
 * threads' area, this block's own mapping), so that the blob can unmap
 * them; the main thread's stack and the vDSO are not listed. */
#ifndef PIDRESTORE_BLOB_H
#define PIDRESTORE_BLOB_H

#include <stdint.h>

#define PIDRESTORE_BLOB_MAGIC 0x70724231u /* "prB1" */
#define PIDRESTORE_BLOB_MAX_LEVELS 33    /* pid namespace levels + 1 */

/* pidrestore_blob_slot.futex */
#define PIDRESTORE_BLOB_PARKED 0u
#define PIDRESTORE_BLOB_GO 1u

struct pidrestore_blob_slot {
	uint32_t futex;          /* PIDRESTORE_BLOB_PARKED, then _GO */
	uint32_t reserved;
	uint64_t entry;          /* void entry(uint64_t arg) */
	uint64_t stack;          /* the initial stack pointer, 16-byte aligned */
	uint64_t arg;
	/* The thread's TID at every level, innermost first (n_levels). */
	int32_t tids[PIDRESTORE_BLOB_MAX_LEVELS];
	uint32_t reserved2;
};

struct pidrestore_blob_mapping {
	uint64_t start;          /* page aligned */
	uint64_t length;
};

struct pidrestore_blob_handover {
	uint32_t magic;          /* PIDRESTORE_BLOB_MAGIC */
	uint32_t size;           /* bytes of this block, arrays included */
	uint32_t n_levels;       /* entries of tgid[] and of each slot's tids[] */
	uint32_t n_threads;      /* slots: the node's threads besides the main one */
	uint32_t n_mappings;
	uint32_t n_fds;
	int32_t tgid[PIDRESTORE_BLOB_MAX_LEVELS]; /* the main thread's PID, innermost first */
	uint32_t reserved;
	uint64_t blob_address;   /* where the blob is mapped */
	uint64_t blob_length;    /* its memfd's size */
	struct pidrestore_blob_slot *slots;        /* n_threads, in the order of the tree request */
	struct pidrestore_blob_mapping *mappings;  /* n_mappings */
	int32_t *fds;            /* n_fds: the fd numbers the claim's fd map installed, in its order */
};

#endif
