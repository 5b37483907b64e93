/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The builder of a process tree (tree-proto.h): reads the build, the
 * requester's credentials and the plan, takes on the requester's
 * namespaces as root, maps the barrier and clones the roots; and what every
 * process of the tree shares with it: cloning with a reported pidfd,
 * reports, the barrier, failing. */
#include "clone-args.h"
#include "holder-proto.h"
#include "placeholder.h"
#include "sys.h"
#include "tree.h"

#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#ifndef CLONE_NEWPID
#define CLONE_NEWPID 0x20000000
#endif
#define PIDFS_IOCTL_MAGIC 0xFF
#define PIDFD_GET_PID_NAMESPACE_IOCTL ((PIDFS_IOCTL_MAGIC << 8) | 5)
#define PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE_IOCTL ((PIDFS_IOCTL_MAGIC << 8) | 6)

struct tree_state tree;

/* ------------------------------------------------------------ reports */

void tree_report_send(uint32_t type, int proc, const int32_t *pids, uint32_t n_pids, int fd)
{
	struct tree_report rep = { .type = type, .proc = proc, .level = -1, .thread = -1, .n_pids = n_pids };
	struct iovec iov[2] = {
		{ .iov_base = &rep, .iov_len = sizeof(rep) },
		{ .iov_base = (void *)pids, .iov_len = (size_t)n_pids * sizeof(int32_t) },
	};

	packet_send_with_fd(HOLDER_FD_CONTROL, iov, n_pids ? 2 : 1, fd);
}

static void barrier_wake_all(void)
{
	struct tree_barrier *b = tree.barrier;

	sys_futex_wake(&b->forked);
	sys_futex_wake(&b->pgids);
	for (uint32_t g = 0; g < tree.v.plan->n_groups; g++)
		sys_futex_wake(&b->group[g]);
}

void tree_fail(int proc, uint32_t step, uint32_t setup_step, int level, int thread, int error)
{
	struct tree_report rep = {
		.type = TREE_REPORT_ERROR,
		.proc = proc,
		.step = step,
		.setup_step = setup_step,
		.level = level,
		.error = error < 0 ? -error : error,
		.thread = thread,
	};

	sys_send(HOLDER_FD_CONTROL, &rep, sizeof(rep), SYS_MSG_NOSIGNAL);
	if (tree.barrier) {
		__atomic_store_n(&tree.barrier->abort, 1, __ATOMIC_SEQ_CST);
		barrier_wake_all();
	}
	sys_exit(127);
}

/* ------------------------------------------------------------ the barrier */

/* priv never writes to the tree socket after the build's packets, so a
 * readable end of stream means it is gone. */
static int priv_gone(void)
{
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };

	return sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_PEEK | SYS_MSG_DONTWAIT) == 0;
}

void tree_barrier_wait(uint32_t *word, int want_zero)
{
	const struct sys_timespec tick = { .sec = 0, .nsec = 100 * 1000 * 1000 };

	for (;;) {
		uint32_t v = __atomic_load_n(word, __ATOMIC_SEQ_CST);

		if ((v == 0) == (want_zero != 0))
			return;
		if (__atomic_load_n(&tree.barrier->abort, __ATOMIC_SEQ_CST) || priv_gone())
			sys_exit(127);
		sys_futex_wait(word, v, &tick);
	}
}

void tree_barrier_count_down(uint32_t *word)
{
	if (__atomic_sub_fetch(word, 1, __ATOMIC_SEQ_CST) == 0)
		sys_futex_wake(word);
}

/* ------------------------------------------------------------ clones */

int tree_busy_level(const int32_t *ids, uint32_t n, uint64_t clone_flags)
{
	for (uint32_t k = 1; k <= n; k++) {
		struct pr_clone_args args = {
			.flags = clone_flags & CLONE_NEWPID,
			.exit_signal = SYS_SIGCHLD,
			.set_tid = (uint64_t)(uintptr_t)ids,
			.set_tid_size = k,
		};
		long pid = sys_clone3(&args, sizeof(args));

		if (pid == 0)
			sys_exit(0);
		if (pid == -EEXIST)
			return (int)k - 1;
		if (pid > 0)
			while (sys_wait4_all((int)pid) == -EINTR)
				;
	}
	return -1;
}

/* A child that joins the requester's user namespace and unshares a pid
 * namespace there, so that the namespace is the requester's (DESIGN §6).
 * It waits to be killed. */
__attribute__((noreturn)) static void pidns_maker(int write_fd)
{
	uint32_t never = 0;
	int r;

	sys_prctl(PR_SET_PDEATHSIG, SYS_SIGKILL, 0);
	r = sys_setns(HOLDER_FD_NS(HOLDER_NS_USER), CLONE_NEWUSER);
	if (r == 0)
		r = sys_unshare(CLONE_NEWPID);
	sys_write(write_fd, &r, sizeof(r));
	for (;;)
		sys_futex_wait(&never, 0, 0);
}

/* Points the caller's pid namespace for children at a new one the
 * requester's user namespace owns. Returns the fd of the caller's own pid
 * namespace (to come back to) or -errno; *maker is the maker's PID, to
 * kill and reap. */
static int pidns_enter_new(int *maker)
{
	struct pr_clone_args args = { .exit_signal = SYS_SIGCHLD };
	int pipe_fds[2], own = -1, ns = -1, self = -1, r = 0, answer = -EPROTO;
	long pid;

	*maker = -1;
	if (sys_pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -EMFILE;
	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0)
		pidns_maker(pipe_fds[1]);
	sys_close(pipe_fds[1]);
	if (pid < 0) {
		sys_close(pipe_fds[0]);
		return (int)pid;
	}
	*maker = (int)pid;
	if (sys_read(pipe_fds[0], &answer, sizeof(answer)) != sizeof(answer))
		answer = -ECHILD;
	sys_close(pipe_fds[0]);
	if (answer < 0)
		return answer;
	r = self = sys_pidfd_open(sys_getpid());
	if (r >= 0)
		r = own = sys_ioctl(self, PIDFD_GET_PID_NAMESPACE_IOCTL, 0);
	if (r >= 0) {
		int maker_fd = sys_pidfd_open((int)pid);

		r = maker_fd;
		if (maker_fd >= 0) {
			r = ns = sys_ioctl(maker_fd, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE_IOCTL, 0);
			sys_close(maker_fd);
		}
	}
	if (r >= 0)
		r = sys_setns(ns, CLONE_NEWPID);
	if (self >= 0)
		sys_close(self);
	if (ns >= 0)
		sys_close(ns);
	if (r < 0) {
		if (own >= 0)
			sys_close(own);
		return r;
	}
	return own;
}

static void pidns_leave(int own, int maker)
{
	if (own >= 0) {
		/* Every later clone would land in the new namespace. */
		if (sys_setns(own, CLONE_NEWPID) < 0)
			sys_exit(127);
		sys_close(own);
	}
	if (maker > 0) {
		sys_kill(maker, SYS_SIGKILL);
		while (sys_wait4_all(maker) == -EINTR)
			;
	}
}

void tree_clone(int child)
{
	const struct tree_proc *c = &tree.v.procs[child];
	struct pr_clone_args args = { .flags = CLONE_PIDFD, .exit_signal = SYS_SIGCHLD };
	int pidfd = -1, own = -1, maker = -1;
	int32_t got;
	uint32_t at;
	long pid;

	if (c->flags & TREE_PROC_CLONE_PARENT) {
		args.flags |= CLONE_PARENT;
		args.exit_signal = 0;
		tree.expected_ppid = sys_getppid();
	} else {
		tree.expected_ppid = sys_getpid();
	}
	if (c->flags & TREE_PROC_NEW_PIDNS) {
		/* Its parent is outside its namespace. */
		tree.expected_ppid = 0;
		if (!tree.in_user_ns) {
			args.flags |= CLONE_NEWPID;
		} else {
			own = pidns_enter_new(&maker);
			if (own < 0) {
				pidns_leave(-1, maker);
				tree_fail(child, TREE_STEP_PIDNS, 0, 0, -1, own);
			}
		}
	}
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	if (c->n_set_tid) {
		args.set_tid = (uint64_t)(uintptr_t)c->pids;
		args.set_tid_size = c->n_set_tid;
	}
	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0)
		tree_proc_run(child);
	pidns_leave(own, maker);
	if (pid < 0)
		tree_fail(child, TREE_STEP_CLONE, 0,
			  pid == -EEXIST ? tree_busy_level(c->pids, c->n_set_tid, args.flags) : -1, -1, (int)pid);
	/* The level the creator sees: its child's own, or one further out for
	 * the first process of a new namespace. */
	at = (c->flags & TREE_PROC_NEW_PIDNS) ? 1 : 0;
	got = (int32_t)pid;
	if (at < c->n_set_tid && got != c->pids[at]) {
		sys_kill((int)pid, SYS_SIGKILL);
		tree_fail(child, TREE_STEP_PID, 0, (int)at, -1, -EEXIST);
	}
	tree_report_send(TREE_REPORT_PIDFD, child, &got, 1, pidfd);
	sys_close(pidfd);
}

/* ------------------------------------------------------------ the builder */

/* Receives the next packet into a fresh mapping of its size. Returns the
 * mapping or NULL with *err. */
static void *packet_take(unsigned long *map_len, long *len, int *err)
{
	int has_fds = 0;
	long n = packet_peek(HOLDER_FD_CONTROL, SYS_MSG_DONTWAIT, &has_fds);
	void *buf;

	*err = -EPROTO;
	if (n <= 0 || has_fds)
		return 0;
	*map_len = page_round((size_t)n);
	buf = sys_mmap_anon(*map_len);
	if (sys_mmap_failed(buf)) {
		*err = (int)(long)buf;
		return 0;
	}
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)n };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };

	do
		*len = sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_DONTWAIT);
	while (*len == -EINTR);
	if (*len != n || (msg.flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC))) {
		sys_munmap(buf, *map_len);
		return 0;
	}
	return buf;
}

static int build_receive(void)
{
	struct tree_build build;
	struct iovec iov = { .iov_base = &build, .iov_len = sizeof(build) };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };
	unsigned long scratch_len;
	uint32_t *scratch;
	const char *what;
	long len;
	int err, bad;

	if (sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_DONTWAIT) != sizeof(build))
		return -EPROTO;
	tree.setup_map = packet_take(&tree.setup_map_len, &len, &err);
	if (!tree.setup_map)
		return err;
	if (setup_validate(tree.setup_map, (size_t)len) < 0)
		return -EPROTO;
	tree.setup = tree.setup_map;
	tree.groups = (const uint32_t *)(tree.setup + 1);
	/* Its setup comes without fds: no cgroup v1 hierarchy to join. */
	if (tree.setup->cgroup1_fds)
		return -EPROTO;
	tree.plan_map = packet_take(&tree.plan_map_len, &len, &err);
	if (!tree.plan_map)
		return err;
	if ((uint64_t)len != build.plan_len || (size_t)len < sizeof(struct tree_plan))
		return -EPROTO;
	scratch_len = page_round(tree_check_scratch_size(((const struct tree_plan *)tree.plan_map)->n_procs) + 1);
	scratch = sys_mmap_anon(scratch_len);
	if (sys_mmap_failed(scratch))
		return (int)(long)scratch;
	err = tree_plan_check(tree.plan_map, (size_t)len, scratch, &tree.v, &what, &bad);
	sys_munmap(scratch, scratch_len);
	return err;
}

/* Every signal but SIGKILL and SIGSTOP is blocked in the builder (holder_main):
 * a SIGTERM pending is delivered, at its default action, only here. */
static void builder_stop_point(void)
{
	sys_rt_sigprocmask_set(~((uint64_t)1 << (SYS_SIGTERM - 1)));
	sys_rt_sigprocmask_set(~(uint64_t)0);
}

__attribute__((noreturn)) static void builder_run(void)
{
	const struct tree_plan *plan;
	uint32_t step = HOLDER_STEP_NONE;
	void *map;
	int r;

	r = build_receive();
	if (r < 0)
		tree_fail(-1, TREE_STEP_PROTOCOL, 0, -1, -1, r);
	plan = tree.v.plan;
	tree.in_user_ns = (tree.setup->ns_mask & (1u << HOLDER_NS_USER)) != 0;
	signals_reset_dispositions(tree.setup->sig_default);
	/* setsid() here makes OUTER: the builder's session and group. */
	r = setup_process(tree.setup, NULL, &step);
	/* The builder stays root and is counted as root: its processes keep
	 * the requester's limit until each drops (tree-node.c). */
	if (r == 0 && (tree.setup->flags & HOLDER_SETUP_NPROC))
		r = sys_prlimit64(RLIMIT_NPROC_RESOURCE, &tree.setup->rlimits[RLIMIT_NPROC_RESOURCE]);
	if (r == 0 && !(tree.setup->flags & HOLDER_SETUP_CHROOT))
		r = sys_chdir("/");
	if (r < 0)
		tree_fail(-1, TREE_STEP_SETUP, step, -1, -1, r);
	if (plan->builder_n_set_tid && sys_getpid() != plan->builder_pids[0])
		tree_fail(-1, TREE_STEP_PID, 0, 0, -1, -EEXIST);

	tree.barrier_len = page_round(sizeof(struct tree_barrier) + (size_t)plan->n_groups * sizeof(uint32_t));
	map = sys_mmap_shared_anon(tree.barrier_len);
	if (sys_mmap_failed(map))
		tree_fail(-1, TREE_STEP_BARRIER, 0, -1, -1, (int)(long)map);
	tree.barrier = map;
	tree.barrier->forked = plan->n_procs;
	tree.barrier->pgids = plan->n_procs;
	/* Group 0 is OUTER, the builder's own, made by its setsid(). */
	if (plan->n_groups)
		tree.barrier->group[0] = (uint32_t)sys_getpgid(0);

	/* A root is the daemon's child, which no death signal ties to the
	 * builder: priv stops a build with SIGTERM, which ends the builder
	 * only here, between one root's clone and pidfd and the next. */
	builder_stop_point();
	for (uint32_t i = 0; i < plan->n_procs; i++)
		if (tree.v.procs[i].creator < 0) {
			tree_clone((int)i);
			builder_stop_point();
		}
	tree_report_send(TREE_REPORT_BUILT, -1, 0, 0, -1);
	sys_exit(0);
}

void tree_run_if_asked(void)
{
	struct tree_build build;
	struct iovec iov = { .iov_base = &build, .iov_len = sizeof(build) };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };
	long n;

	do
		n = sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_PEEK | SYS_MSG_TRUNC | SYS_MSG_DONTWAIT);
	while (n == -EINTR);
	if (n == sizeof(build) && build.magic == TREE_BUILD_MAGIC)
		builder_run();
}
