/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A blob claim of a parked live node (TREES.md §8, holder-proto.h
 * HOLDER_CMD_BLOB): the blob is mapped where its owner linked it, the
 * hand-over block of pidrestore-blob.h is built, and the main thread
 * enters the blob while every other thread waits on its own slot. All of
 * it as the requester: the node dropped its credentials when it parked. */
#include "holder-proto.h"
#include "pidrestore-blob.h"
#include "placeholder.h"
#include "sys.h"
#include "tree.h"

/* The holder's image, from the linker (a static, non-PIE program). */
extern char __executable_start[], _end[];

/* Calls entry(arg) on stack; exits the calling thread with what it
 * returns. */
__attribute__((noreturn)) void blob_thread_jump(uint64_t entry, uint64_t stack, uint64_t arg);
__asm__(".text\n"
	".global blob_thread_jump\n"
	".type blob_thread_jump, @function\n"
	"blob_thread_jump:\n"
	"	mov %rsi, %rsp\n"
	"	mov %rdi, %rax\n"
	"	mov %rdx, %rdi\n"
	"	xor %ebp, %ebp\n"
	"	call *%rax\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n" /* __NR_exit: this thread only */
	"	syscall\n"
	"	hlt\n");

void tree_blob_thread_wait(struct pidrestore_blob_slot *slot)
{
	while (__atomic_load_n(&slot->futex, __ATOMIC_ACQUIRE) != PIDRESTORE_BLOB_GO)
		sys_futex_wait(&slot->futex, __atomic_load_n(&slot->futex, __ATOMIC_RELAXED), 0);
	blob_thread_jump(slot->entry, slot->stack, slot->arg);
}

int blob_decode(const void *packet, size_t len, unsigned int n_received, const int32_t **targets, uint32_t *n_map)
{
	const struct holder_blob *b = packet;
	uint64_t want;

	if (len < sizeof(*b) || b->type != HOLDER_CMD_BLOB)
		return -EPROTO;
	if (b->n_levels == 0 || b->n_levels > PIDRESTORE_BLOB_MAX_LEVELS || b->n_fds > SYS_SCM_MAX_FD ||
	    b->n_threads > 65536)
		return -EPROTO;
	want = sizeof(*b) + (uint64_t)b->n_fds * sizeof(int32_t) +
	       ((uint64_t)b->n_threads + 1) * b->n_levels * sizeof(int32_t);
	if (want != len || n_received != b->n_fds + 1)
		return -EPROTO;
	if ((b->address & (SYS_PAGE_SIZE - 1)) || b->size == 0 || b->entry < b->address ||
	    b->entry - b->address >= b->size || b->address + b->size < b->address)
		return -EPROTO;
	*targets = (const int32_t *)(b + 1);
	for (uint32_t i = 0; i < b->n_fds; i++)
		if ((*targets)[i] < 0)
			return -EPROTO;
	*n_map = b->n_fds;
	return 0;
}

static size_t block_size(const struct holder_blob *b)
{
	return sizeof(struct pidrestore_blob_handover) + b->n_threads * sizeof(struct pidrestore_blob_slot) +
	       3 * sizeof(struct pidrestore_blob_mapping) + b->n_fds * sizeof(int32_t);
}

/* The block, in a mapping of its own (len bytes at block). */
static void block_fill(struct pidrestore_blob_handover *h, size_t len, const struct holder_blob *b, void *area,
		       size_t area_len)
{
	const int32_t *targets = (const int32_t *)(b + 1);
	const int32_t *ids = targets + b->n_fds;
	struct pidrestore_blob_mapping *m;
	uintptr_t image = (uintptr_t)__executable_start & ~(SYS_PAGE_SIZE - 1);

	h->magic = PIDRESTORE_BLOB_MAGIC;
	h->size = (uint32_t)block_size(b);
	h->n_levels = b->n_levels;
	h->n_threads = b->n_threads;
	h->n_fds = b->n_fds;
	h->blob_address = b->address;
	h->blob_length = b->size;
	memcpy(h->tgid, ids, b->n_levels * sizeof(int32_t));
	h->slots = (struct pidrestore_blob_slot *)(h + 1);
	for (uint32_t t = 0; t < b->n_threads; t++)
		memcpy(h->slots[t].tids, ids + (t + 1) * b->n_levels, b->n_levels * sizeof(int32_t));
	h->mappings = m = (struct pidrestore_blob_mapping *)(h->slots + b->n_threads);
	m[h->n_mappings++] = (struct pidrestore_blob_mapping){ image, page_round((uintptr_t)_end - image) };
	if (area)
		m[h->n_mappings++] = (struct pidrestore_blob_mapping){ (uintptr_t)area, area_len };
	m[h->n_mappings++] = (struct pidrestore_blob_mapping){ (uintptr_t)h, len };
	h->fds = (int32_t *)(m + 3);
	memcpy(h->fds, targets, b->n_fds * sizeof(int32_t));
}

int blob_enter(const void *packet, int memfd, int *control_fd, void *work, size_t work_len, uint32_t *step)
{
	const struct holder_blob *b = packet;
	struct pidrestore_blob_handover *h;
	void *area, *at;
	size_t area_len, len;
	uint32_t n_threads;
	uint64_t entry = b->entry;
	long (*enter)(const struct pidrestore_blob_handover *);

	*step = HOLDER_STEP_BLOB_THREADS;
	tree_threads_area(&area, &area_len, &n_threads);
	if (n_threads != b->n_threads)
		return -EPROTO;
	*step = HOLDER_STEP_BLOB_MAP;
	at = (void *)sys_call(__NR_mmap, b->address, b->size, PROT_READ | PROT_EXEC,
			      MAP_PRIVATE | MAP_FIXED_NOREPLACE, memfd, 0);
	if (sys_mmap_failed(at))
		return (int)(long)at;
	if ((uintptr_t)at != b->address) {
		/* A kernel that takes the flag for a hint. */
		sys_munmap(at, b->size);
		return -EEXIST;
	}
	len = page_round(block_size(b));
	h = sys_mmap_anon(len);
	if (sys_mmap_failed(h)) {
		sys_munmap(at, b->size);
		return (int)(long)h;
	}
	block_fill(h, len, b, area, area_len);
	/* From here on nothing can fail: the end of stream on the control
	 * socket tells the daemon the claim succeeded. */
	sys_close(memfd);
	sys_close(*control_fd);
	sys_munmap(work, work_len);
	tree_threads_hand_over(h->slots);
	enter = (long (*)(const struct pidrestore_blob_handover *))(uintptr_t)entry;
	sys_exit((int)enter(h));
}
