/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The namespace helper (holder-proto.h): a child of the spawner that makes an
 * empty pid namespace, owned by a requester's user namespace or below a pid
 * namespace that is not the daemon's, for the daemon to take through its
 * pidfd. It carries nothing but this program's pages,
 * keeps every signal blocked, and answers the daemon without ever waiting
 * for it: the requester may stop or kill it at any time, which costs only
 * the request it was made for. */
#include "holder-proto.h"
#include "holder.h"
#include "sys.h"

static void report(uint32_t type, uint32_t step, int error)
{
	struct holder_report rep = {
		.type = type,
		.step = step,
		.error = error < 0 ? -error : error,
	};

	sys_send(HOLDER_FD_CONTROL, &rep, sizeof(rep), SYS_MSG_NOSIGNAL | SYS_MSG_DONTWAIT);
}

void pidns_helper_run(int join_userns)
{
	uint32_t step = HOLDER_STEP_SETNS_USER;
	int r = 0;

	/* Without a user namespace to join, the namespace is the daemon's
	 * user namespace's: the helper is there only because the kernel lets
	 * a process create a pid namespace below its active one alone. */
	if (join_userns)
		r = sys_setns(HOLDER_FD_NS(HOLDER_NS_USER), CLONE_NEWUSER);
	if (r == 0) {
		step = HOLDER_STEP_NEW_PIDNS;
		r = sys_unshare(CLONE_NEWPID);
	}
	/* Joining the user namespace may have made it dumpable again (the
	 * kernel applies fs.suid_dumpable on a credential change): nobody in
	 * the requester's namespace may trace it or open its namespaces. */
	sys_prctl(PR_SET_DUMPABLE, 0, 0);
	if (join_userns)
		sys_close(HOLDER_FD_NS(HOLDER_NS_USER));
	if (r < 0)
		report(HOLDER_REPORT_SETUP_FAILED, step, r);
	else
		report(HOLDER_REPORT_READY, HOLDER_STEP_NONE, 0);
	/* Alive until the daemon has taken the namespace: end of stream. */
	for (;;) {
		char c;
		struct iovec iov = { .iov_base = &c, .iov_len = 1 };
		struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };
		long n = sys_recvmsg(HOLDER_FD_CONTROL, &msg, 0);

		if (n != -EINTR)
			sys_exit(r < 0 ? 127 : 0);
	}
}
