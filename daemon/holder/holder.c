/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestore-holder: the first program every process pidrestored creates runs.
 *
 * The daemon starts one copy as its spawner (spawner.c), which forks a
 * placeholder, as root and with the chosen PIDs, for every process asked
 * for. A placeholder takes on the requester's identity and namespaces as
 * holder-proto.h orders, reports READY and parks on its control socket until
 * it is told to exec the requester's program, or until the daemon goes away.
 * It links no libc: see sys.h. The setup is applied by setup.c, the exec
 * command carried out by exec.c. */
#include "holder-proto.h"
#include "holder.h"
#include "placeholder.h"
#include "sys.h"
#include "tree.h"

/* ------------------------------------------------------------------ entry */

__attribute__((noreturn, used)) void holder_main(void);

/* The kernel enters with %rsp at argc, 16-byte aligned; the call leaves the
 * 8-byte misalignment a C function expects on entry. argv and envp are not
 * needed: everything the holder learns comes from its control socket. */
__asm__(".text\n"
	".global _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call holder_main\n"
	"	hlt\n");

void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

/* ------------------------------------------------------------------ reports */

/* MSG_NOSIGNAL: with the daemon gone, a report must fail with EPIPE rather
 * than leave a SIGPIPE pending that would hit the program after exec. */
void report_send(int control_fd, uint32_t type, uint32_t step, int error)
{
	struct holder_report report = {
		.type = type,
		.step = step,
		.error = error < 0 ? -error : error,
	};

	sys_send(control_fd, &report, sizeof(report), SYS_MSG_NOSIGNAL);
}

/* ------------------------------------------------------------------ signals */

void signals_block_all(void)
{
	/* The kernel never blocks SIGKILL or SIGSTOP, so a parked holder can
	 * always be killed. */
	sys_rt_sigprocmask_set(~(uint64_t)0);
}

/* Ignored signals stay ignored across exec, and the daemon may ignore some
 * (SIGPIPE), so dispositions are put back to default explicitly: all but
 * those the starter says are at their default already. */
void signals_reset_dispositions(uint64_t already_default)
{
	const struct sys_sigaction dfl = { 0 };

	for (int sig = 1; sig <= SYS_NSIG; sig++)
		if (sig != SYS_SIGKILL && sig != SYS_SIGSTOP && !(already_default & ((uint64_t)1 << (sig - 1))))
			sys_rt_sigaction(sig, &dfl);
}

/* A signal that arrived while the holder was parked was addressed to a
 * placeholder, not to the program: a process fresh from fork+exec would have
 * none pending. Ignoring a pending signal discards it. */
void signals_unblock_fresh(void)
{
	const struct sys_sigaction ign = { .handler = (void *)1 };
	const struct sys_sigaction dfl = { 0 };
	uint64_t pending = 0;

	if (sys_rt_sigpending(&pending) == 0 && pending)
		for (int sig = 1; sig <= SYS_NSIG; sig++)
			if (pending & ((uint64_t)1 << (sig - 1))) {
				sys_rt_sigaction(sig, &ign);
				sys_rt_sigaction(sig, &dfl);
			}
	sys_rt_sigprocmask_set(0);
}

/* ------------------------------------------------------------------ packets */

/* The size of the next packet without taking it, retrying interrupted calls.
 * Returns the size, or a negative errno. *has_fds tells whether the packet
 * carries fds, which is what tells an empty packet from end of stream. */
long packet_peek(int control_fd, unsigned int flags, int *has_fds)
{
	for (;;) {
		struct sys_msghdr msg = { 0 };
		long n = sys_recvmsg(control_fd, &msg, SYS_MSG_PEEK | SYS_MSG_TRUNC | flags);

		if (n == -EINTR)
			continue;
		*has_fds = n >= 0 && (msg.flags & SYS_MSG_CTRUNC);
		return n;
	}
}

/* Takes the next packet and drops it (with any fds: without a control
 * buffer the kernel closes them). For when there is no room to read it. */
void packet_discard(int control_fd)
{
	struct sys_msghdr msg = { 0 };

	while (sys_recvmsg(control_fd, &msg, SYS_MSG_DONTWAIT) == -EINTR)
		;
}

long packet_send_with_fd(int sock, struct iovec *iov, size_t n_iov, int fd)
{
	union {
		unsigned char buf[SYS_CMSG_SPACE(sizeof(int))];
		size_t align;
	} control = { 0 };
	struct sys_msghdr msg = { .iov = iov, .iovlen = n_iov };
	long r;

	if (fd >= 0) {
		struct sys_cmsghdr *c = (struct sys_cmsghdr *)control.buf;

		c->len = SYS_CMSG_LEN(sizeof(int));
		c->level = SYS_SOL_SOCKET;
		c->type = SYS_SCM_RIGHTS;
		memcpy(SYS_CMSG_DATA(c), &fd, sizeof(int));
		msg.control = control.buf;
		msg.controllen = sizeof(control.buf);
	}
	do
		r = sys_sendmsg(sock, &msg, SYS_MSG_NOSIGNAL);
	while (r == -EINTR);
	return r;
}

size_t page_round(size_t n)
{
	return (n + SYS_PAGE_SIZE - 1) & ~(SYS_PAGE_SIZE - 1);
}

/* ------------------------------------------------------------------ main */

void holder_run(void)
{
	int control_fd = HOLDER_FD_CONTROL;
	uint32_t step = HOLDER_STEP_PROTOCOL;
	int r;

	/* Inherited to reach the holder; the program must not inherit it. */
	if (sys_fcntl(control_fd, F_SETFD, FD_CLOEXEC) < 0)
		sys_exit(127);
	/* A tree's builder is started as a placeholder is, with its build
	 * queued first. */
	tree_run_if_asked();

	r = setup_run(&step);
	if (r < 0) {
		report_send(control_fd, HOLDER_REPORT_SETUP_FAILED, step, r);
		sys_exit(127);
	}
	report_send(control_fd, HOLDER_REPORT_READY, HOLDER_STEP_NONE, 0);

	for (;;)
		command_run(&control_fd);
}

void holder_main(void)
{
	signals_block_all();
	spawner_run_if_asked();
	holder_run();
}
