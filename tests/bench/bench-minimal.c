/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reference between the floor and the daemon: the least any server
 * must do for a reserve and a release over a socket, and nothing more. A
 * forked process answers "reserve PID" with clone3(set_tid, CLONE_PIDFD)
 * of a child that parks in pause() and the pidfd by SCM_RIGHTS, and
 * "release" with SIGKILL, waitid and an answer. No policy, no identity
 * for the child, no protocol encoding: what it costs over the floor is
 * what two round trips and a parked child cost. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "kernel.h"

struct minimal_msg {
	pid_t pid;       /* reserve: the PID asked for; release: 0 */
	int result;      /* in answers: 0 or -errno */
};

static long park_child(pid_t pid, int *pidfd)
{
	struct pr_clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&pid,
		.set_tid_size = 1,
	};
	long child = pr_clone3(&args);

	/* Raw system calls only in the child of a raw clone3. */
	if (child == 0)
		for (;;)
			syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
	return child < 0 ? -errno : child;
}

static int send_answer(int sock, int result, int fd)
{
	struct minimal_msg m = { .result = result };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The server: one parked child at a time, as the benchmark asks. */
static void __attribute__((noreturn)) serve(int sock)
{
	int pidfd = -1;

	for (;;) {
		struct minimal_msg m;
		ssize_t n = recv(sock, &m, sizeof(m), 0);

		if (n <= 0)
			break;
		if (m.pid > 0) {
			long child = park_child(m.pid, &pidfd);

			send_answer(sock, child < 0 ? (int)child : 0, child < 0 ? -1 : pidfd);
		} else if (pidfd >= 0) {
			siginfo_t si;

			pr_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
			waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
			close(pidfd);
			pidfd = -1;
			send_answer(sock, 0, -1);
		} else {
			send_answer(sock, -ESRCH, -1);
		}
	}
	_exit(0);
}

int minimal_server_start(struct minimal_server *ms)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ms->pid = fork();
	if (ms->pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serve(sv[1]);
	}
	close(sv[1]);
	if (ms->pid < 0) {
		close(sv[0]);
		return -errno;
	}
	ms->sock = sv[0];
	return 0;
}

void minimal_server_stop(struct minimal_server *ms)
{
	if (ms->pid <= 0)
		return;
	close(ms->sock);
	waitpid(ms->pid, NULL, 0);
	ms->pid = -1;
}

/* Reads an answer, and the fd it carries into *fd when fd is set. */
static int recv_answer(int sock, int *fd)
{
	struct minimal_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(m))
		return -EPROTO;
	cm = CMSG_FIRSTHDR(&msg);
	if (fd && cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return m.result;
}

int minimal_server_cycle(struct minimal_server *ms, pid_t pid)
{
	struct minimal_msg reserve = { .pid = pid }, release = { 0 };
	int pidfd = -1, r;

	if (send(ms->sock, &reserve, sizeof(reserve), MSG_NOSIGNAL) < 0)
		return -errno;
	r = recv_answer(ms->sock, &pidfd);
	if (r < 0)
		return r;
	if (pidfd < 0)
		return -EPROTO;
	close(pidfd);
	if (send(ms->sock, &release, sizeof(release), MSG_NOSIGNAL) < 0)
		return -errno;
	return recv_answer(ms->sock, NULL);
}
