/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holder-proto.h"
#include "kernel.h"
#include "log.h"
#include "spawn.h"
#include "spawn-internal.h"
#include "wire.h"

static int holder_fd = -1;
static int spawner_fd = -1;       /* the daemon's end of the spawner's channel */
static pid_t spawner_pid = -1;
struct spawn_self spawn_self;

static const char *const own_ns_paths[HOLDER_NS_COUNT] = {
	[HOLDER_NS_USER] = "/proc/self/ns/user", [HOLDER_NS_MNT] = "/proc/self/ns/mnt",
	[HOLDER_NS_NET] = "/proc/self/ns/net", [HOLDER_NS_IPC] = "/proc/self/ns/ipc",
	[HOLDER_NS_UTS] = "/proc/self/ns/uts", [HOLDER_NS_CGROUP] = "/proc/self/ns/cgroup",
	[HOLDER_NS_TIME] = "/proc/self/ns/time",
};

/* ------------------------------------------------------------ the spawner */

/* In the forked child: the spawner's fds are its channel and the daemon's
 * pid namespace at fixed numbers, and /dev/null as stdio; every other fd of
 * the daemon is close-on-exec. execve of /proc/self/fd/N rather than
 * execveat, which tools that trace the daemon may not know. */
static void spawner_exec(int channel_fd)
{
	char path[64];
	char *const argv[] = { (char *)"pidrestore-holder", NULL };
	char *const envp[] = { NULL };
	int channel = fcntl(channel_fd, F_DUPFD_CLOEXEC, SPAWNER_FD_OWN_PIDNS + 1);
	int pidns = fcntl(nsref_own_pidns_fd(), F_DUPFD_CLOEXEC, SPAWNER_FD_OWN_PIDNS + 1);
	int program = fcntl(holder_fd, F_DUPFD_CLOEXEC, SPAWNER_FD_OWN_PIDNS + 1);
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Each source moved above the fixed numbers first: any of them may sit
	 * at one. */
	if (channel < 0 || pidns < 0 || program < 0 || null_fd < 0 ||
	    dup2(channel, SPAWNER_FD_CONTROL) < 0 || dup2(pidns, SPAWNER_FD_OWN_PIDNS) < 0)
		_exit(127);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(null_fd, fd) < 0)
			_exit(127);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", program);
	execve(path, argv, envp);
	_exit(127);
}

/* The holder program in its spawner role. A plain fork of the daemon: it
 * runs once at start, and again only if a spawner died. */
static int spawner_start(struct why *why)
{
	const struct spawner_hello hello = { .magic = SPAWNER_PROTO_MAGIC };
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return why_set(why, errno, "cannot create the spawner's channel: %m");
	if (send(sv[0], &hello, sizeof(hello), MSG_NOSIGNAL) < 0) {
		why_set(why, errno, "cannot queue the spawner's hello: %m");
		goto fail;
	}
	pid = fork();
	if (pid == 0)
		spawner_exec(sv[1]);
	if (pid < 0) {
		why_set(why, errno, "cannot start the spawner: %m");
		goto fail;
	}
	close(sv[1]);
	spawner_fd = sv[0];
	spawner_pid = pid;
	return 0;
fail:
	close(sv[0]);
	close(sv[1]);
	return -why->err;
}

/* A spawner that ended but had not exited yet when it was let go: reaped
 * when the daemon next looks, or by init once the daemon is gone. The
 * daemon never waits for a process. */
static pid_t stale_spawner_pid = -1;

static void reap_stale_spawner(void)
{
	if (stale_spawner_pid > 0 && waitpid(stale_spawner_pid, NULL, WNOHANG | __WALL) != 0)
		stale_spawner_pid = -1;
}

static void spawner_let_go(void)
{
	reap_stale_spawner();
	if (spawner_pid > 0 && waitpid(spawner_pid, NULL, WNOHANG | __WALL) == 0)
		stale_spawner_pid = spawner_pid;
	spawner_pid = -1;
}

static void spawner_stop(void)
{
	if (spawner_pid > 0)
		kill(spawner_pid, SIGKILL);
	close_fdp(&spawner_fd);
	spawner_let_go();
}

/* One request to the spawner. fds: the pid namespace, the cgroup and the
 * slots, as req announces them. Returns the new process's PID in the
 * daemon's pid namespace (or 0), or -errno; the pidfd it sent in *ret_pidfd
 * when ret_pidfd is set, else closed. */
long spawn_spawner_call(const struct spawner_request *req, const int *fds, size_t n_fds, int *ret_pidfd)
{
	struct spawner_reply reply;
	struct wire_packet pkt;
	int r;

	reap_stale_spawner();
	r = wire_send(spawner_fd, req, sizeof(*req), fds, n_fds);
	if (r == -EPIPE || r == -ECONNRESET || r == -EBADF) {
		/* It died before this request: nothing was done, ask a new one. */
		struct why why = { 0 };

		log_warning("the spawner (pid %d) is gone; starting another", spawner_pid);
		spawner_stop();
		if (spawner_start(&why) < 0) {
			log_error("%s", why.text);
			return -EIO;
		}
		r = wire_send(spawner_fd, req, sizeof(*req), fds, n_fds);
	}
	if (r < 0)
		return r;
	do
		r = wire_recv(spawner_fd, &reply, sizeof(reply), &pkt);
	while (r == -EINTR);
	if (r <= 0 || pkt.len != sizeof(reply) || pkt.truncated || pkt.n_fds > 1) {
		if (r > 0)
			wire_close_fds(&pkt, 0);
		/* It died during the request: whatever it made is the daemon's
		 * child with a channel nobody reads, and ends at once. */
		log_error("the spawner (pid %d) ended during a request; starting another", spawner_pid);
		spawner_stop();
		return -EIO;
	}
	if (ret_pidfd)
		*ret_pidfd = pkt.n_fds ? pkt.fds[0] : -1;
	else
		wire_close_fds(&pkt, 0);
	return (long)reply.result;
}

int spawn_child_pidfd(pid_t pid)
{
	struct spawner_request req = { .flags = SPAWNER_OPEN_PIDFD, .n_pids = 1, .pids = { pid } };
	int pidfd = pr_pidfd_open(pid, 0);
	long r;

	if (pidfd >= 0 || errno != ENOSYS)
		return pidfd >= 0 ? pidfd : -errno;
	/* Hidden from the daemon (valgrind 3.19 knows no pidfd_open), not
	 * from the spawner. */
	r = spawn_spawner_call(&req, NULL, 0, &pidfd);
	if (r < 0)
		return (int)r;
	return pidfd >= 0 ? pidfd : -EIO;
}

/* Whether clone3() takes CLONE_INTO_CGROUP (5.7): given a directory that is
 * no cgroup, a kernel that knows the flag answers EBADF. */
static void spawner_probe_cgroup(void)
{
	struct spawner_request req = { .flags = SPAWNER_PROBE | SPAWNER_INTO_CGROUP };
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	long r;

	if (root < 0)
		return;
	r = spawn_spawner_call(&req, &root, 1, NULL);
	close(root);
	spawn_self.can_clone_into_cgroup = r == -EBADF;
	if (!spawn_self.can_clone_into_cgroup)
		log_notice("clone3() does not take CLONE_INTO_CGROUP here (%s; Linux 5.7): children start in the daemon's cgroup",
			   strerror((int)(r < 0 ? -r : EINVAL)));
}

/* Raw rt_sigaction, to see also the signals libc keeps to itself. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static uint64_t signals_at_default(void)
{
	uint64_t mask = 0;

	for (int sig = 1; sig <= 64; sig++) {
		struct kernel_sigaction old;

		/* A handler counts as default: exec resets it. */
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) == 0 && old.handler != SIG_IGN)
			mask |= (uint64_t)1 << (sig - 1);
	}
	return mask;
}

int spawn_init(const char *holder_path, struct why *why)
{
	char buf[32];
	struct stat st;
	int r;

	holder_fd = open(holder_path, O_PATH | O_CLOEXEC);
	if (holder_fd < 0)
		return why_set(why, errno, "cannot open the holder program %s: %m; pass --holder PATH", holder_path);
	if (fstat(holder_fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
		return why_set(why, EACCES, "the holder program %s is not an executable file", holder_path);
	spawn_self.cap_last = 40;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0)
		spawn_self.cap_last = (unsigned int)atoi(buf);
	{
		char status[8192];
		const char *v;

		if (read_file_at(AT_FDCWD, "/proc/self/status", status, sizeof(status)) > 0 &&
		    (v = proc_status_field(status, "CapEff")))
			spawn_self.can_raise_limits = strtoull(v, NULL, 16) & (1ULL << CAP_SYS_RESOURCE);
		if (!spawn_self.can_raise_limits)
			log_notice("the daemon lacks CAP_SYS_RESOURCE: children get a requester's resource limits and oom_score_adj only as far as the daemon's own allow");
	}
	if (read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, sizeof(buf)) > 0)
		spawn_self.oom_score_adj = atoi(buf);
	for (int i = 0; i < HOLDER_RLIMIT_COUNT; i++)
		if (getrlimit(i, &spawn_self.rlimits[i]) == 0)
			spawn_self.rlimits_known |= 1u << i;
	spawn_self.sig_default = signals_at_default();
	for (int i = 0; i < HOLDER_NS_COUNT; i++) {
		int fd = open(own_ns_paths[i], O_RDONLY | O_CLOEXEC);

		spawn_self.ns_inode[i] = fd >= 0 ? fd_inode(fd) : 0;
		if (fd >= 0)
			close(fd);
	}
	r = spawner_start(why);
	if (r < 0)
		return r;
	spawner_probe_cgroup();
	return 0;
}

pid_t spawn_spawner_pid(void)
{
	return spawner_pid;
}

void spawn_shutdown(void)
{
	/* At end of stream the spawner exits; its children are on their own
	 * channels. */
	close_fdp(&spawner_fd);
	spawner_let_go();
}
