/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Kernel interfaces newer than the build machine's headers may be.
 *
 * The headers can be older than the running kernel, so every constant used
 * here is defined when missing and every feature is detected at run time
 * (a syscall or ioctl returning ENOSYS/EINVAL/ENOTTY means "not here"). */
#pragma once

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/sched.h>

#include "clone-args.h"

#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif


/* The deepest pid namespace level the kernel allows (MAX_PID_NS_LEVEL; the
 * initial namespace is level 0): a process has at most this many + 1 PIDs,
 * one per level. */
#define PR_MAX_PID_NS_LEVEL 32
#define PR_MAX_LEVELS (PR_MAX_PID_NS_LEVEL + 1)
/* But clone3() takes at most MAX_PID_NS_LEVEL entries in set_tid (EINVAL
 * beyond): at most 32 PIDs can be chosen, and a process 32 namespaces deep
 * gets its outermost PID from the kernel. */
#define PR_MAX_SET_TID PR_MAX_PID_NS_LEVEL
/* PID_MAX_LIMIT on 64-bit: no namespace's pid_max can exceed it. */
#define PR_PID_MAX_LIMIT (4 * 1024 * 1024)

/* Since 6.9 pidfds live on their own file system, before on anon_inodefs. */
#define PR_PID_FS_MAGIC 0x50494446

/* SO_PEERPIDFD: 6.5. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* pidfs ioctls: 6.11 (namespaces), 6.13 (PIDFD_GET_INFO). */
#define PR_PIDFS_IOCTL_MAGIC 0xFF
#ifndef PIDFD_GET_CGROUP_NAMESPACE
#define PIDFD_GET_CGROUP_NAMESPACE            _IO(PR_PIDFS_IOCTL_MAGIC, 1)
#define PIDFD_GET_IPC_NAMESPACE               _IO(PR_PIDFS_IOCTL_MAGIC, 2)
#define PIDFD_GET_MNT_NAMESPACE               _IO(PR_PIDFS_IOCTL_MAGIC, 3)
#define PIDFD_GET_NET_NAMESPACE               _IO(PR_PIDFS_IOCTL_MAGIC, 4)
#define PIDFD_GET_PID_NAMESPACE               _IO(PR_PIDFS_IOCTL_MAGIC, 5)
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE  _IO(PR_PIDFS_IOCTL_MAGIC, 6)
#define PIDFD_GET_TIME_NAMESPACE              _IO(PR_PIDFS_IOCTL_MAGIC, 7)
#define PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE _IO(PR_PIDFS_IOCTL_MAGIC, 8)
#define PIDFD_GET_USER_NAMESPACE              _IO(PR_PIDFS_IOCTL_MAGIC, 9)
#define PIDFD_GET_UTS_NAMESPACE               _IO(PR_PIDFS_IOCTL_MAGIC, 10)
#endif

/* PIDFD_GET_INFO: 6.13. The first version of struct pidfd_info (64 bytes);
 * the ioctl number encodes that size. */
struct pr_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid;
	uint32_t tgid;
	uint32_t ppid;
	uint32_t ruid;
	uint32_t rgid;
	uint32_t euid;
	uint32_t egid;
	uint32_t suid;
	uint32_t sgid;
	uint32_t fsuid;
	uint32_t fsgid;
	uint32_t spare0[1];
};
#define PR_PIDFD_GET_INFO _IOWR(PR_PIDFS_IOCTL_MAGIC, 11, struct pr_pidfd_info)
#define PR_PIDFD_INFO_PID (1ULL << 0)
#define PR_PIDFD_INFO_CREDS (1ULL << 1)
/* 6.15: set once the process was reaped (its PID is free again); the exit
 * status is then in spare0[0] (exit_code in newer headers). */
#define PR_PIDFD_INFO_EXIT (1ULL << 3)

/* Capabilities: CAP_CHECKPOINT_RESTORE is 5.9+. */
#define PR_CAP_SYS_ADMIN 21
#define PR_CAP_CHECKPOINT_RESTORE 40

/* nsfs ioctls (4.9/4.11); NS_GET_PID_FROM_PIDNS etc. are not needed. */
#define PR_NSIO 0xb7
#ifndef NS_GET_USERNS
#define NS_GET_USERNS    _IO(PR_NSIO, 0x1)
#define NS_GET_PARENT    _IO(PR_NSIO, 0x2)
#define NS_GET_NSTYPE    _IO(PR_NSIO, 0x3)
#define NS_GET_OWNER_UID _IO(PR_NSIO, 0x4)
#endif

static inline int pr_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

static inline int pr_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_send_signal, pidfd, sig, info, flags);
}

static inline int pr_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)syscall(__NR_close_range, first, last, flags);
}

static inline long pr_clone3(struct pr_clone_args *args)
{
	return syscall(__NR_clone3, args, sizeof(*args));
}
