/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The spawner: one long-lived copy of pidrestore-holder that makes the
 * daemon's clone3() calls (holder-proto.h). Its children are placeholders
 * that never exec'd: a fork of these few pages is cheaper than an exec,
 * and carries nothing but the holder program. */
#include "clone-args.h"
#include "holder-proto.h"
#include "holder.h"
#include "placeholder.h"
#include "sys.h"

#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif

/* The pid namespace, the cgroup, and one fd per holder slot. */
#define SPAWNER_MAX_FDS (2 + HOLDER_FD_LAST + 1)

/* What one request brought, by role. */
struct spawner_fds {
	int all[SPAWNER_MAX_FDS];
	unsigned int n;
	int pidns;
	int cgroup;
	int slot[HOLDER_FD_LAST + 1];
};

/* Every fd number up to the holder's last slot stays taken (by /dev/null
 * where nothing else is), so that received fds land above the slots and a
 * child can fill its slots in any order without overwriting a source. */
static int fill_low_fds(void)
{
	int null_fd = sys_openat(AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0)
		return null_fd;
	for (int t = 0; t <= HOLDER_FD_LAST; t++)
		if (t != SPAWNER_FD_CONTROL && t != SPAWNER_FD_OWN_PIDNS && t != null_fd &&
		    sys_dup3(null_fd, t, O_CLOEXEC) < 0)
			return -EBADF;
	if (null_fd > HOLDER_FD_LAST)
		sys_close(null_fd);
	return 0;
}

/* The result, and pidfd when it is one (>= 0), which is then closed. */
static void reply_send(int64_t result, int pidfd)
{
	struct spawner_reply reply = { .result = result };
	struct iovec iov = { .iov_base = &reply, .iov_len = sizeof(reply) };

	packet_send_with_fd(SPAWNER_FD_CONTROL, &iov, 1, pidfd);
	if (pidfd >= 0)
		sys_close(pidfd);
}

static void fds_close(struct spawner_fds *fds)
{
	for (unsigned int i = 0; i < fds->n; i++)
		sys_close(fds->all[i]);
	fds->n = 0;
}

/* Assigns the received fds to their roles; -EPROTO if their count does not
 * match what the request announces. */
static int fds_assign(const struct spawner_request *req, struct spawner_fds *fds)
{
	unsigned int next = 0, want = 0;

	want += (req->flags & SPAWNER_IN_PIDNS) != 0;
	want += (req->flags & SPAWNER_INTO_CGROUP) != 0;
	for (int t = 0; t <= HOLDER_FD_LAST; t++)
		want += (req->slot_mask >> t) & 1;
	if (want != fds->n)
		return -EPROTO;
	fds->pidns = req->flags & SPAWNER_IN_PIDNS ? fds->all[next++] : -1;
	fds->cgroup = req->flags & SPAWNER_INTO_CGROUP ? fds->all[next++] : -1;
	for (int t = 0; t <= HOLDER_FD_LAST; t++)
		fds->slot[t] = (req->slot_mask >> t) & 1 ? fds->all[next++] : -1;
	return 0;
}

/* Returns the size of the request read, 0 at end of stream, or -errno. */
static long request_receive(struct spawner_request *req, struct spawner_fds *fds)
{
	union {
		unsigned char buf[SYS_CMSG_SPACE(SPAWNER_MAX_FDS * sizeof(int))];
		size_t align;
	} control;
	struct iovec iov = { .iov_base = req, .iov_len = sizeof(*req) };
	struct sys_msghdr msg = {
		.iov = &iov, .iovlen = 1, .control = control.buf, .controllen = sizeof(control.buf),
	};
	long n;

	do
		n = sys_recvmsg(SPAWNER_FD_CONTROL, &msg, SYS_MSG_CMSG_CLOEXEC);
	while (n == -EINTR);
	fds->n = n > 0 ? sys_cmsg_fds(&msg, fds->all, 0, SPAWNER_MAX_FDS) : 0;
	if (n <= 0)
		return n;
	if ((msg.flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC)) || (size_t)n != sizeof(*req) ||
	    req->n_pids > SPAWNER_MAX_PIDS || (req->slot_mask & ~((2u << HOLDER_FD_LAST) - (1u << HOLDER_FD_CONTROL))) ||
	    ((req->flags & (SPAWNER_PROBE | SPAWNER_OPEN_PIDFD)) && req->slot_mask) ||
	    ((req->flags & SPAWNER_OPEN_PIDFD) && (req->flags != SPAWNER_OPEN_PIDFD || req->n_pids != 1)) ||
	    ((req->flags & SPAWNER_PIDNS_HELPER) &&
	     ((req->flags & ~(SPAWNER_PIDNS_HELPER | SPAWNER_IN_PIDNS)) || req->n_pids != 0 ||
	      (req->slot_mask & ~(1u << HOLDER_FD_NS(HOLDER_NS_USER))) != 1u << HOLDER_FD_CONTROL)))
		return -EPROTO;
	return fds_assign(req, fds) < 0 ? -EPROTO : n;
}

/* In the child: the slots get their fds, everything else closes, and the
 * child carries on as the placeholder or the namespace helper. */
__attribute__((noreturn)) static void child_become(const struct spawner_request *req, const struct spawner_fds *fds)
{
	const struct sys_sigaction dfl = { 0 };

	for (int t = 0; t <= HOLDER_FD_LAST; t++) {
		if (fds->slot[t] >= 0)
			sys_dup3(fds->slot[t], t, 0);
		else
			sys_close(t);
	}
	sys_close_range(HOLDER_FD_LAST + 1, ~0U, 0);
	if (req->flags & SPAWNER_PIDNS_HELPER)
		pidns_helper_run(fds->slot[HOLDER_FD_NS(HOLDER_NS_USER)] >= 0);
	/* The spawner's own SIGCHLD disposition, which the program must not
	 * inherit. */
	sys_rt_sigaction(SYS_SIGCHLD, &dfl);
	holder_run();
}

/* One clone3(). Returns the child's PID or -errno, and its pidfd in *pidfd
 * unless it is a probe; does not return in the child. Probes and helpers are
 * the spawner's own children, which the kernel reaps as they exit; holders
 * are the daemon's. */
static long spawn_one(const struct spawner_request *req, const struct spawner_fds *fds, int *pidfd)
{
	struct pr_clone_args args = { .flags = CLONE_PARENT };
	long pid, r;

	if (req->flags & (SPAWNER_PROBE | SPAWNER_PIDNS_HELPER)) {
		args.flags = 0;
		args.exit_signal = SYS_SIGCHLD;
	}
	if (!(req->flags & SPAWNER_PROBE)) {
		args.flags |= CLONE_PIDFD;
		args.pidfd = (uint64_t)(uintptr_t)pidfd;
	}
	if (req->flags & SPAWNER_NEWPID)
		args.flags |= CLONE_NEWPID;
	if (fds->cgroup >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)fds->cgroup;
	}
	if (req->n_pids > 0) {
		args.set_tid = (uint64_t)(uintptr_t)req->pids;
		args.set_tid_size = req->n_pids;
	}
	if (fds->pidns >= 0) {
		r = sys_setns(fds->pidns, CLONE_NEWPID);
		if (r < 0)
			return r;
	}
	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0) {
		if (req->flags & SPAWNER_PROBE)
			sys_exit(0);
		child_become(req, fds);
	}
	/* A probe holds its PIDs until it is gone, and the daemon asks again
	 * right after: wait for it, which is short, as it is root (no
	 * requester can stop it) and exits at once. Not for one that may be
	 * the first process of its namespace, its init: an init's exit waits
	 * for every other process of its namespace, which a requester may
	 * have put there. */
	if (pid > 0 && (req->flags & SPAWNER_PROBE) && req->n_pids > 0 && req->pids[0] != 1)
		while (sys_wait4_all((int)pid) == -EINTR)
			;
	/* Every later clone would land in the wrong namespace: better to end
	 * and be started again. */
	if (fds->pidns >= 0 && sys_setns(SPAWNER_FD_OWN_PIDNS, CLONE_NEWPID) < 0)
		sys_exit(1);
	return pid;
}

static int hello_pending(void)
{
	struct spawner_hello hello;
	struct iovec iov = { .iov_base = &hello, .iov_len = sizeof(hello) };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };
	long n;

	do
		n = sys_recvmsg(SPAWNER_FD_CONTROL, &msg, SYS_MSG_PEEK | SYS_MSG_TRUNC | SYS_MSG_DONTWAIT);
	while (n == -EINTR);
	if (n != sizeof(hello) || hello.magic != SPAWNER_PROTO_MAGIC)
		return 0;
	/* Taken only now that it is known to be ours. */
	sys_recvmsg(SPAWNER_FD_CONTROL, &msg, SYS_MSG_DONTWAIT);
	return 1;
}

void spawner_run_if_asked(void)
{
	const struct sys_sigaction ign = { .handler = (void *)1 };

	if (!hello_pending())
		return;
	/* Nobody may read or trace the process that clones as root. */
	sys_prctl(PR_SET_DUMPABLE, 0, 0);
	/* Its own children (probes, helpers) are reaped by the kernel as they
	 * exit: the spawner never waits for a process. */
	sys_rt_sigaction(SYS_SIGCHLD, &ign);
	/* Exec'd through /proc/self/fd/N, it would be called "N"; its
	 * children are placeholders and go by the program's name. */
	sys_prctl(PR_SET_NAME, (unsigned long)"pidrestore-holder", 0);
	if (fill_low_fds() < 0)
		sys_exit(1);
	for (;;) {
		struct spawner_request req;
		struct spawner_fds fds;
		long n = request_receive(&req, &fds);

		int pidfd = -1;
		long r;

		if (n == 0)
			sys_exit(0);
		if (n < 0 && n != -EPROTO)
			sys_exit(1);
		if (n == -EPROTO)
			r = -EPROTO;
		else if (req.flags & SPAWNER_OPEN_PIDFD)
			r = pidfd = sys_pidfd_open(req.pids[0]);
		else
			r = spawn_one(&req, &fds, &pidfd);
		/* Closed before the answer: the daemon reads the end of a holder's
		 * channel as its exec or its end, and must not wait for the
		 * spawner's copy to go. */
		fds_close(&fds);
		reply_send(r, pidfd);
	}
}
