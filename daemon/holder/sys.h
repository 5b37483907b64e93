/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The holder's whole view of the kernel: raw system calls, the few types and
 * constants they need, and tiny string helpers.
 *
 * The holder links no libc, so that its exec costs almost nothing and it
 * carries nothing but its own few pages. Every wrapper returns the kernel's
 * answer unchanged: a value >= 0, or a negative errno. */
#pragma once

#if !defined(__x86_64__)
#error "pidrestore-holder makes raw system calls and has only an x86_64 port so far; add one for this architecture to daemon/holder/sys.h"
#endif

#include <stddef.h>
#include <stdint.h>

#include <linux/mman.h>
#include <asm/unistd.h>
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/uio.h>

/* Headers can be older than the kernel the holder runs on. */
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

/* From the socket ABI; the uapi headers leave these to libc. */
#define SYS_SOL_SOCKET 1
#define SYS_SCM_RIGHTS 1
#define SYS_MSG_PEEK 0x2
#define SYS_MSG_CTRUNC 0x8
#define SYS_MSG_TRUNC 0x20
#define SYS_MSG_DONTWAIT 0x40
#define SYS_MSG_NOSIGNAL 0x4000
#define SYS_MSG_CMSG_CLOEXEC 0x40000000

struct sys_msghdr {
	void *name;
	int namelen;
	struct iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	unsigned int flags;
};

struct sys_cmsghdr {
	size_t len;
	int level;
	int type;
};

#define SYS_CMSG_ALIGN(n) (((n) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1))
#define SYS_CMSG_SPACE(n) (SYS_CMSG_ALIGN(sizeof(struct sys_cmsghdr)) + SYS_CMSG_ALIGN(n))
#define SYS_CMSG_LEN(n) (SYS_CMSG_ALIGN(sizeof(struct sys_cmsghdr)) + (n))
#define SYS_CMSG_DATA(c) ((unsigned char *)(c) + SYS_CMSG_ALIGN(sizeof(struct sys_cmsghdr)))

/* Most fds one SCM_RIGHTS message can carry (SCM_MAX_FD). */
#define SYS_SCM_MAX_FD 253

/* Signals as the kernel numbers them; rt_sigaction's mask is 64 bits. */
#define SYS_NSIG 64
#define SYS_SIGKILL 9
#define SYS_SIGTERM 15
#define SYS_SIGSTOP 19
#define SYS_SIGCHLD 17
#define SYS_SIG_SETMASK 2

struct sys_sigaction {
	void *handler; /* NULL = SIG_DFL */
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define SYS_PATH_MAX 4096
#define SYS_PAGE_SIZE 4096UL

static inline long sys_call6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys_call(nr, a, b, c, d, e, f) \
	sys_call6((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline long sys_recvmsg(int fd, struct sys_msghdr *msg, unsigned int flags)
{
	return sys_call(__NR_recvmsg, fd, msg, flags, 0, 0, 0);
}

static inline long sys_sendmsg(int fd, const struct sys_msghdr *msg, unsigned int flags)
{
	return sys_call(__NR_sendmsg, fd, msg, flags, 0, 0, 0);
}

static inline long sys_send(int fd, const void *buf, size_t len, unsigned int flags)
{
	return sys_call(__NR_sendto, fd, buf, len, flags, 0, 0);
}

static inline long sys_write(int fd, const void *buf, size_t len)
{
	return sys_call(__NR_write, fd, buf, len, 0, 0, 0);
}

static inline int sys_openat(int dirfd, const char *path, int flags)
{
	return (int)sys_call(__NR_openat, dirfd, path, flags, 0, 0, 0);
}

static inline int sys_close(int fd)
{
	return (int)sys_call(__NR_close, fd, 0, 0, 0, 0, 0);
}

static inline int sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)sys_call(__NR_close_range, first, last, flags, 0, 0, 0);
}

static inline int sys_fcntl(int fd, int cmd, long arg)
{
	return (int)sys_call(__NR_fcntl, fd, cmd, arg, 0, 0, 0);
}

static inline int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)sys_call(__NR_dup3, oldfd, newfd, flags, 0, 0, 0);
}

static inline void *sys_mmap_anon(size_t len)
{
	return (void *)sys_call(__NR_mmap, 0, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static inline int sys_mmap_failed(const void *p)
{
	return (unsigned long)p > -4096UL;
}

static inline int sys_munmap(void *addr, size_t len)
{
	return (int)sys_call(__NR_munmap, addr, len, 0, 0, 0, 0);
}

static inline int sys_rt_sigaction(int sig, const struct sys_sigaction *act)
{
	return (int)sys_call(__NR_rt_sigaction, sig, act, 0, sizeof(uint64_t), 0, 0);
}

static inline int sys_rt_sigprocmask_set(uint64_t mask)
{
	return (int)sys_call(__NR_rt_sigprocmask, SYS_SIG_SETMASK, &mask, 0, sizeof(mask), 0, 0);
}

static inline int sys_rt_sigpending(uint64_t *set)
{
	return (int)sys_call(__NR_rt_sigpending, set, sizeof(*set), 0, 0, 0, 0);
}

static inline int sys_setsid(void)
{
	return (int)sys_call(__NR_setsid, 0, 0, 0, 0, 0, 0);
}

/* struct holder_rlimit has the layout of the kernel's struct rlimit64. */
static inline int sys_prlimit64(int resource, const void *new_limit)
{
	return (int)sys_call(__NR_prlimit64, 0, resource, new_limit, 0, 0, 0);
}

struct sys_sched_param {
	int sched_priority;
};

static inline int sys_sched_setscheduler(int policy, const struct sys_sched_param *param)
{
	return (int)sys_call(__NR_sched_setscheduler, 0, policy, param, 0, 0, 0);
}

/* The kernel takes the nice value itself, -20 to 19. */
static inline int sys_setpriority_self(int nice)
{
	return (int)sys_call(__NR_setpriority, 0 /* PRIO_PROCESS */, 0, nice, 0, 0, 0);
}

static inline int sys_sched_setaffinity(const uint64_t *mask, size_t len)
{
	return (int)sys_call(__NR_sched_setaffinity, 0, len, mask, 0, 0, 0);
}

static inline int sys_ioprio_set(unsigned int ioprio)
{
	return (int)sys_call(__NR_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, ioprio, 0, 0, 0);
}

static inline long sys_personality(unsigned long persona)
{
	return sys_call(__NR_personality, persona, 0, 0, 0, 0, 0);
}

static inline int sys_prctl(int option, unsigned long a, unsigned long b)
{
	return (int)sys_call(__NR_prctl, option, a, b, 0, 0, 0);
}

static inline int sys_setgroups(size_t n, const uint32_t *groups)
{
	return (int)sys_call(__NR_setgroups, n, groups, 0, 0, 0, 0);
}

static inline int sys_setns(int fd, int nstype)
{
	return (int)sys_call(__NR_setns, fd, nstype, 0, 0, 0, 0);
}

/* __WALL: children of any exit signal. */
static inline long sys_wait4_all(int pid)
{
	return sys_call(__NR_wait4, pid, 0, 0x40000000 /* __WALL */, 0, 0, 0);
}

static inline int sys_unshare(int flags)
{
	return (int)sys_call(__NR_unshare, flags, 0, 0, 0, 0, 0);
}

static inline int sys_fchdir(int fd)
{
	return (int)sys_call(__NR_fchdir, fd, 0, 0, 0, 0, 0);
}

static inline int sys_chdir(const char *path)
{
	return (int)sys_call(__NR_chdir, path, 0, 0, 0, 0, 0);
}

static inline int sys_chroot(const char *path)
{
	return (int)sys_call(__NR_chroot, path, 0, 0, 0, 0, 0);
}

static inline int sys_setresgid(uint32_t gid)
{
	return (int)sys_call(__NR_setresgid, gid, gid, gid, 0, 0, 0);
}

static inline int sys_setresuid(uint32_t uid)
{
	return (int)sys_call(__NR_setresuid, uid, uid, uid, 0, 0, 0);
}

static inline int sys_capset(const struct __user_cap_header_struct *hdr,
			     const struct __user_cap_data_struct *data)
{
	return (int)sys_call(__NR_capset, hdr, data, 0, 0, 0, 0);
}

/* A classic BPF program as seccomp(SECCOMP_SET_MODE_FILTER) takes it
 * (struct sock_fprog). */
struct sys_sock_fprog {
	unsigned short len;
	const void *filter;
};

#define SYS_SECCOMP_SET_MODE_FILTER 1
#define SYS_SECCOMP_FILTER_FLAG_LOG 2

static inline int sys_seccomp_filter(unsigned int flags, const struct sys_sock_fprog *prog)
{
	return (int)sys_call(__NR_seccomp, SYS_SECCOMP_SET_MODE_FILTER, flags, prog, 0, 0, 0);
}

static inline int sys_umask(uint32_t mask)
{
	return (int)sys_call(__NR_umask, mask, 0, 0, 0, 0, 0);
}

static inline int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)sys_call(__NR_execve, path, argv, envp, 0, 0, 0);
}

static inline int sys_execveat(int dirfd, const char *path, char *const argv[],
			       char *const envp[], int flags)
{
	return (int)sys_call(__NR_execveat, dirfd, path, argv, envp, flags, 0);
}

static inline int sys_pidfd_open(int pid)
{
	return (int)sys_call(434 /* __NR_pidfd_open */, pid, 0, 0, 0, 0, 0);
}

/* Fork-like (no CLONE_VM): the child returns 0 here on a copy of the stack. */
static inline long sys_clone3(void *args, size_t size)
{
	return sys_call(__NR_clone3, args, size, 0, 0, 0, 0);
}

static inline __attribute__((noreturn)) void sys_exit(int status)
{
	for (;;)
		sys_call(__NR_exit_group, status, 0, 0, 0, 0, 0);
}

static inline int sys_getpid(void)
{
	return (int)sys_call(__NR_getpid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_getppid(void)
{
	return (int)sys_call(__NR_getppid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_gettid(void)
{
	return (int)sys_call(__NR_gettid, 0, 0, 0, 0, 0, 0);
}

static inline int sys_getpgid(int pid)
{
	return (int)sys_call(__NR_getpgid, pid, 0, 0, 0, 0, 0);
}

static inline int sys_setpgid(int pid, int pgid)
{
	return (int)sys_call(__NR_setpgid, pid, pgid, 0, 0, 0, 0);
}

static inline int sys_kill(int pid, int sig)
{
	return (int)sys_call(__NR_kill, pid, sig, 0, 0, 0, 0);
}

/* __WALL, with the status. */
static inline long sys_wait4_status(int pid, int *status)
{
	return sys_call(__NR_wait4, pid, status, 0x40000000 /* __WALL */, 0, 0, 0);
}

static inline int sys_socketpair_seqpacket(int sv[2])
{
	return (int)sys_call(__NR_socketpair, 1 /* AF_UNIX */, 5 /* SOCK_SEQPACKET */ | O_CLOEXEC, 0, sv, 0, 0);
}

static inline int sys_pipe2(int fds[2], int flags)
{
	return (int)sys_call(__NR_pipe2, fds, flags, 0, 0, 0, 0);
}

static inline long sys_read(int fd, void *buf, size_t len)
{
	return sys_call(__NR_read, fd, buf, len, 0, 0, 0);
}

static inline int sys_ioctl(int fd, unsigned long request, unsigned long arg)
{
	return (int)sys_call(__NR_ioctl, fd, request, arg, 0, 0, 0);
}

static inline void *sys_mmap_shared_anon(size_t len)
{
	return (void *)sys_call(__NR_mmap, 0, len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

/* Futex words shared between processes (no FUTEX_PRIVATE_FLAG). */
struct sys_timespec {
	long sec;
	long nsec;
};

static inline int sys_futex_wait(uint32_t *word, uint32_t expected, const struct sys_timespec *timeout)
{
	return (int)sys_call(__NR_futex, word, 0 /* FUTEX_WAIT */, expected, timeout, 0, 0);
}

static inline int sys_futex_wake(uint32_t *word)
{
	return (int)sys_call(__NR_futex, word, 1 /* FUTEX_WAKE */, 0x7fffffff, 0, 0, 0);
}

/* Takes the fds of every SCM_RIGHTS message in msg into fds[*n..max);
 * fds beyond max are left to the caller to close. Returns the count. */
static inline unsigned int sys_cmsg_fds(const struct sys_msghdr *msg, int *fds, unsigned int n,
					unsigned int max)
{
	const unsigned char *p = msg->control;
	const unsigned char *end = p + msg->controllen;

	while ((size_t)(end - p) >= sizeof(struct sys_cmsghdr)) {
		const struct sys_cmsghdr *c = (const void *)p;

		if (c->len < SYS_CMSG_LEN(0) || c->len > (size_t)(end - p))
			break;
		if (c->level == SYS_SOL_SOCKET && c->type == SYS_SCM_RIGHTS) {
			size_t count = (c->len - SYS_CMSG_LEN(0)) / sizeof(int);
			const int *in = (const int *)SYS_CMSG_DATA(c);

			for (size_t i = 0; i < count && n < max; i++)
				fds[n++] = in[i];
		}
		p += SYS_CMSG_ALIGN(c->len);
	}
	return n;
}

/* Defined in holder.c with external linkage: the compiler may call them for
 * struct copies and zeroing even in a freestanding build. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

static inline size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static inline int str_has_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}
