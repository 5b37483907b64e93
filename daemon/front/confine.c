/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include "confine.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define CONFINE_FOR_SANITIZERS 1
#else
#define CONFINE_FOR_SANITIZERS 0
#endif

/* What front's event loop does: sockets, memory, time, its own exit, and
 * log lines (stderr, or the journal's datagram socket). */
static const int allowed_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(accept4),
	SCMP_SYS(getsockopt), SCMP_SYS(shutdown),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(fcntl),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(sched_yield),
	SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* abort() on a broken invariant must still end the process. */
	SCMP_SYS(tgkill), SCMP_SYS(rt_sigaction),
};

static int install_filter(struct why *why)
{
	scmp_filter_ctx ctx;
	int r;

	/* A system call off the list fails with EPERM rather than killing
	 * front: the daemon logs what failed and goes on serving. Built with
	 * sanitizers, whose runtime needs far more (LeakSanitizer traces
	 * the process at exit), the filter only refuses running programs. */
	ctx = seccomp_init(CONFINE_FOR_SANITIZERS ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return why_set(why, ENOMEM, "cannot set up front's seccomp filter: out of memory");
	if (CONFINE_FOR_SANITIZERS) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0);
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0);
	} else {
		r = 0;
		for (size_t i = 0; i < ELEMENTSOF(allowed_syscalls) && r == 0; i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
		/* New sockets only of the journal's kind. */
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return why_set(why, -r, "cannot install front's seccomp filter: %s", strerror(-r));
	return 0;
}

static int drop_ids(uid_t uid, gid_t gid, struct why *why)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (geteuid() != 0) {
		log_notice("front keeps uid %u: only root can switch to uid %u", geteuid(), uid);
		return 0;
	}
	if (setgroups(0, NULL) < 0)
		return why_set(why, errno, "front cannot drop its supplementary groups: %m");
	if (setresgid(gid, gid, gid) < 0)
		return why_set(why, errno, "front cannot switch to gid %u: %m", gid);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return why_set(why, errno, "front cannot clear its ambient capabilities: %m");
	if (setresuid(uid, uid, uid) < 0)
		return why_set(why, errno, "front cannot switch to uid %u: %m", uid);
	/* Leaving uid 0 cleared the permitted and effective sets already
	 * (no keep-caps); the inheritable one is cleared here. */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &head, data) < 0)
		return why_set(why, errno, "front cannot clear its capabilities: %m");
	return 0;
}

int confine_front(uid_t uid, gid_t gid, struct why *why)
{
	int r = drop_ids(uid, gid, why);

	if (r < 0)
		return r;
	/* Nothing of front's memory for another process of its user to read;
	 * LeakSanitizer needs to trace the process, so sanitizer builds keep
	 * it dumpable. */
	if (!CONFINE_FOR_SANITIZERS && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return why_set(why, errno, "front cannot make itself non-dumpable: %m");
	/* A change of uid made the process non-dumpable; LeakSanitizer
	 * must trace it at exit. */
	if (CONFINE_FOR_SANITIZERS && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return why_set(why, errno, "front cannot make itself dumpable for the sanitizers: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return why_set(why, errno, "front cannot set no_new_privs: %m");
	if (RUNNING_ON_VALGRIND) {
		/* valgrind makes system calls of its own on front's behalf. */
		log_notice("running under valgrind: front installs no seccomp filter");
		return 0;
	}
	return install_filter(why);
}
