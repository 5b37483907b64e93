/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-blob: the test blob of a blob claim (TREES.md §8, pidrestore-blob.h).
 * Freestanding and position-independent, linked by tree-blob.lds into a
 * flat image whose first byte is its entry; no libc, no writable data (the
 * node maps it read+exec): its state lives on its stacks and in one
 * mapping of its own.
 *
 * fd map: fds[0] is where it reports, fds[1] a pipe it reads at the end.
 * It releases the node's threads one after the other; each, then the main
 * thread, writes one line:
 *
 *   blob pid=P tid=T uid=U gid=G NSpid:A,B Uid:U,U,U,U block:T0,T1,... [threads=N]
 *
 * (its getpid(), gettid(), getuid(), getgid(), /proc/thread-self/status,
 * and its ids at every level as the hand-over block gives them). The
 * threads then wait; the main thread reads one byte from fds[1] and exits
 * the whole process with it as the status (0 at end of stream). A block
 * that is not what it should be ends the process with status 99. */
#include <stddef.h>
#include <stdint.h>

#include "pidrestore-blob.h"

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_getpid 39
#define NR_exit 60
#define NR_getuid 102
#define NR_getgid 104
#define NR_gettid 186
#define NR_futex 202
#define NR_exit_group 231
#define NR_openat 257
#define AT_FDCWD -100
#define STACK_SIZE (64 * 1024UL)
#define BAD_BLOCK 99

struct shared {
	const struct pidrestore_blob_handover *h;
	uint32_t done; /* threads that reported */
};

static inline long sc(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static __attribute__((noreturn)) void die(int status)
{
	for (;;)
		sc(NR_exit_group, status, 0, 0, 0, 0, 0);
}

struct line {
	char buf[512];
	size_t n;
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void put_num(struct line *l, long v)
{
	char d[24];
	int k = 0;

	if (v < 0) {
		put_str(l, "-");
		v = -v;
	}
	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < 23);
	while (k && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = d[--k];
}

static size_t length(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* " name:v1,v2,..." of one field of /proc/thread-self/status. */
static void put_status_field(struct line *l, const char *status, const char *name)
{
	const char *p = status;

	while (*p) {
		if (starts(p, name)) {
			int first = 1;

			put_str(l, " ");
			put_str(l, name);
			p += length(name);
			while (*p && *p != '\n') {
				while (*p == ' ' || *p == '\t')
					p++;
				if (!*p || *p == '\n')
					break;
				if (!first)
					put_str(l, ",");
				first = 0;
				while (*p && *p != '\n' && *p != ' ' && *p != '\t' && l->n < sizeof(l->buf) - 1)
					l->buf[l->n++] = *p++;
			}
			return;
		}
		while (*p && *p != '\n')
			p++;
		if (*p)
			p++;
	}
}

static void report(const struct pidrestore_blob_handover *h, const int32_t *ids, long threads)
{
	struct line l = { .n = 0 };
	char status[4096];
	long fd = sc(NR_openat, AT_FDCWD, (long)"/proc/thread-self/status", 0, 0, 0, 0), n = 0;

	if (fd >= 0) {
		n = sc(NR_read, fd, (long)status, sizeof(status) - 1, 0, 0, 0);
		sc(NR_close, fd, 0, 0, 0, 0, 0);
	}
	status[n > 0 ? n : 0] = 0;
	put_str(&l, "blob pid=");
	put_num(&l, sc(NR_getpid, 0, 0, 0, 0, 0, 0));
	put_str(&l, " tid=");
	put_num(&l, sc(NR_gettid, 0, 0, 0, 0, 0, 0));
	put_str(&l, " uid=");
	put_num(&l, sc(NR_getuid, 0, 0, 0, 0, 0, 0));
	put_str(&l, " gid=");
	put_num(&l, sc(NR_getgid, 0, 0, 0, 0, 0, 0));
	put_status_field(&l, status, "NSpid:");
	put_status_field(&l, status, "Uid:");
	put_str(&l, " block:");
	for (uint32_t k = 0; k < h->n_levels; k++) {
		if (k)
			put_str(&l, ",");
		put_num(&l, ids[k]);
	}
	if (threads >= 0) {
		put_str(&l, " threads=");
		put_num(&l, threads);
	}
	put_str(&l, "\n");
	sc(NR_write, h->fds[0], (long)l.buf, (long)l.n, 0, 0, 0);
}

static long thread_main(uint64_t arg)
{
	struct shared *s = (struct shared *)(uintptr_t)(arg & ~(uint64_t)0xffff);
	uint32_t k = (uint32_t)(arg & 0xffff);
	uint32_t zero = 0;

	if (sc(NR_gettid, 0, 0, 0, 0, 0, 0) != s->h->slots[k].tids[0])
		die(BAD_BLOCK);
	report(s->h, s->h->slots[k].tids, -1);
	__atomic_add_fetch(&s->done, 1, __ATOMIC_SEQ_CST);
	sc(NR_futex, (long)&s->done, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
	/* Keep the thread, as a restored process keeps its own. */
	for (;;)
		sc(NR_futex, (long)&zero, 0 /* FUTEX_WAIT */, 0, 0, 0, 0);
	return 0;
}

__attribute__((section(".text.entry"), used)) long blob_entry(const struct pidrestore_blob_handover *h)
{
	struct shared *s;
	unsigned char *map;
	unsigned char code = 0;

	if (h->magic != PIDRESTORE_BLOB_MAGIC || h->n_fds < 2 || h->n_threads > 64 || h->n_levels < 1 ||
	    h->tgid[0] != sc(NR_getpid, 0, 0, 0, 0, 0, 0))
		die(BAD_BLOCK);
	/* The shared words, then a stack per thread; 64 KiB aligned, so that
	 * one argument carries both the words and the thread's index. */
	map = (unsigned char *)sc(NR_mmap, 0, (long)((h->n_threads + 2) * STACK_SIZE), 3 /* RW */,
				  0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
	if ((unsigned long)map > -4096UL)
		die(BAD_BLOCK);
	s = (struct shared *)(((uintptr_t)map + STACK_SIZE - 1) & ~(uintptr_t)(STACK_SIZE - 1));
	s->h = h;
	for (uint32_t k = 0; k < h->n_threads; k++) {
		struct pidrestore_blob_slot *slot = &h->slots[k];
		uint32_t done;

		slot->entry = (uint64_t)(uintptr_t)thread_main;
		slot->stack = (uint64_t)(uintptr_t)((unsigned char *)s + (k + 1) * STACK_SIZE + STACK_SIZE - 64);
		slot->arg = (uint64_t)(uintptr_t)s | k;
		__atomic_store_n(&slot->futex, PIDRESTORE_BLOB_GO, __ATOMIC_RELEASE);
		sc(NR_futex, (long)&slot->futex, 1 /* FUTEX_WAKE */, 1, 0, 0, 0);
		/* One at a time: their lines do not interleave. */
		while ((done = __atomic_load_n(&s->done, __ATOMIC_SEQ_CST)) < k + 1)
			sc(NR_futex, (long)&s->done, 0 /* FUTEX_WAIT */, done, 0, 0, 0);
	}
	report(h, h->tgid, h->n_threads);
	if (sc(NR_read, h->fds[1], (long)&code, 1, 0, 0, 0) != 1)
		code = 0;
	die(code);
}
