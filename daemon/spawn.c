#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

long clone3_vm_call(struct pr_clone_args *args, size_t size, int (*fn)(void *), void *arg);

#define CHILD_STACK_SIZE (64 * 1024)

static int holder_fd = -1;
static void *child_stack;

/* The fds a holder starts with are staged at fixed numbers the daemon keeps
 * for them (pointing at /dev/null in between), above the holder's slots and
 * below every fd the daemon opens while it serves. The clone child shares
 * the daemon's fd table (CLONE_FILES) and takes a private copy of only the
 * fds below stage_end (close_range with CLOSE_RANGE_UNSHARE): a fork-like
 * clone would copy, and the child then close, one fd per reservation and a
 * dozen per connection, which made every clone slower the more reservations
 * were outstanding. */
static int stage_fd[HOLDER_FD_LAST + 1];  /* by holder slot; HOLDER_FD_CONTROL.. */
static int stage_null_fd = -1;
static unsigned int stage_end;            /* 0: the kernel cannot unshare a range */
static unsigned int cap_last;
static bool can_raise_limits;   /* CAP_SYS_RESOURCE: raise hard limits, lower oom_score_adj */
static int own_oom_score_adj;
static struct rlimit own_rlimits[HOLDER_RLIMIT_COUNT]; /* the daemon changes none after start */
static uint32_t own_rlimits_known;
/* Signals at their default disposition in the daemon, bit sig-1: a holder
 * inherits the others' SIG_IGN across exec and puts only those back. The
 * daemon ignores no further signal after start (server_run ignores SIGPIPE
 * before spawn_init). */
static uint64_t own_sig_default;
static uint64_t own_ns_inode[HOLDER_NS_COUNT];

static const char *const own_ns_paths[HOLDER_NS_COUNT] = {
	[HOLDER_NS_USER] = "/proc/self/ns/user", [HOLDER_NS_MNT] = "/proc/self/ns/mnt",
	[HOLDER_NS_NET] = "/proc/self/ns/net", [HOLDER_NS_IPC] = "/proc/self/ns/ipc",
	[HOLDER_NS_UTS] = "/proc/self/ns/uts", [HOLDER_NS_CGROUP] = "/proc/self/ns/cgroup",
	[HOLDER_NS_TIME] = "/proc/self/ns/time",
};

/* Above the holder's slots, so that installing a slot in the child can never
 * overwrite a staged source. */
static int fd_above_slots(int fd)
{
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, HOLDER_FD_LAST + 1);

	if (moved >= 0 && (unsigned int)moved + 1 > stage_end)
		stage_end = (unsigned int)moved + 1;
	return moved;
}

static int stage_init(struct why *why)
{
	int fd;

	stage_null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (stage_null_fd < 0)
		return why_set(why, errno, "cannot open /dev/null: %m");
	fd = fd_above_slots(holder_fd);
	if (fd < 0)
		return why_set(why, errno, "cannot move the holder program's fd: %m");
	close(holder_fd);
	holder_fd = fd;
	for (int t = HOLDER_FD_CONTROL; t <= HOLDER_FD_LAST; t++) {
		stage_fd[t] = fd_above_slots(stage_null_fd);
		if (stage_fd[t] < 0)
			return why_set(why, errno, "cannot reserve fds for the holder's start: %m");
	}
	/* CLOSE_RANGE_UNSHARE is 5.9+. Probed on a range with no fd in a table
	 * nobody shares, which copies nothing. */
	if (pr_close_range(~0U - 1, ~0U, CLOSE_RANGE_UNSHARE) < 0) {
		log_notice("this kernel cannot unshare part of an fd table (close_range CLOSE_RANGE_UNSHARE, Linux 5.9): every clone copies all of the daemon's fds");
		stage_end = 0;
	}
	return 0;
}

/* Puts the plan's sources at their staged numbers; returns the mask of
 * slots staged. */
static uint32_t stage_put(const int *src)
{
	uint32_t staged = 0;

	for (int t = HOLDER_FD_CONTROL; t <= HOLDER_FD_LAST; t++)
		if (src[t] >= 0 && dup3(src[t], stage_fd[t], O_CLOEXEC) >= 0)
			staged |= 1u << t;
	return staged;
}

static uint32_t stage_wanted(const int *src)
{
	uint32_t wanted = 0;

	for (int t = HOLDER_FD_CONTROL; t <= HOLDER_FD_LAST; t++)
		if (src[t] >= 0)
			wanted |= 1u << t;
	return wanted;
}

/* Points the staged numbers back at /dev/null: the daemon must not keep the
 * holder's end of its channel, or it would never see it close. */
static void stage_clear(uint32_t staged)
{
	for (int t = HOLDER_FD_CONTROL; t <= HOLDER_FD_LAST; t++)
		if (staged & (1u << t))
			dup3(stage_null_fd, stage_fd[t], O_CLOEXEC);
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
	r = stage_init(why);
	if (r < 0)
		return r;
	/* A CLONE_VM child runs on this stack until it has exec'd the holder;
	 * CLONE_VFORK keeps the daemon waiting meanwhile, so one stack serves
	 * every clone. */
	child_stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (child_stack == MAP_FAILED)
		return why_set(why, ENOMEM, "cannot allocate the clone stack: %m");
	cap_last = 40;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) > 0)
		cap_last = (unsigned int)atoi(buf);
	{
		char status[8192];
		const char *v;

		if (read_file_at(AT_FDCWD, "/proc/self/status", status, sizeof(status)) > 0 &&
		    (v = proc_status_field(status, "CapEff")))
			can_raise_limits = strtoull(v, NULL, 16) & (1ULL << CAP_SYS_RESOURCE);
		if (!can_raise_limits)
			log_notice("the daemon lacks CAP_SYS_RESOURCE: children get a requester's resource limits and oom_score_adj only as far as the daemon's own allow");
	}
	if (read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, sizeof(buf)) > 0)
		own_oom_score_adj = atoi(buf);
	for (int i = 0; i < HOLDER_RLIMIT_COUNT; i++)
		if (getrlimit(i, &own_rlimits[i]) == 0)
			own_rlimits_known |= 1u << i;
	own_sig_default = signals_at_default();
	for (int i = 0; i < HOLDER_NS_COUNT; i++) {
		int fd = open(own_ns_paths[i], O_RDONLY | O_CLOEXEC);

		own_ns_inode[i] = fd >= 0 ? fd_inode(fd) : 0;
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------ the child */

/* What the CLONE_VM child does before it becomes the holder. Prepared by
 * the daemon, read by the child: the child must not allocate or touch the
 * daemon's state, since it shares its memory. */
struct child_plan {
	unsigned int unshare_below;  /* its fd table is the daemon's: keep only the fds below */
	int holder_fd;
	int src[HOLDER_FD_LAST + 1]; /* index: fd number in the holder; -1: closed */
};

static char *const holder_argv[] = { (char *)"pidrestore-holder", NULL };
static char *const holder_envp[] = { NULL };

/* Runs in the CLONE_VM|CLONE_VFORK child, on child_stack, with every signal
 * blocked: raw system calls only, nothing instrumented. No signal handler of
 * the daemon's can run here: a blocked signal is never delivered, a fault
 * resets its handler to the default first, and exec resets them all. Every
 * source fd sits above the holder's slots (stage_init), so slots can be
 * filled in any order. */
__attribute__((no_sanitize("address", "undefined")))
static int holder_child(void *arg)
{
	const struct child_plan *plan = arg;
	struct holder_report report = { .type = HOLDER_REPORT_START_FAILED, .step = HOLDER_STEP_EXEC };
	long r;

	/* Until this succeeds every fd operation would act on the daemon's
	 * table: give up without one; the daemon sees the channel close. */
	if (plan->unshare_below && syscall(__NR_close_range, plan->unshare_below, ~0U, CLOSE_RANGE_UNSHARE) < 0)
		return 127;
	syscall(__NR_close_range, 0, HOLDER_FD_LAST, 0);
	for (int t = HOLDER_FD_CONTROL; t <= HOLDER_FD_LAST; t++)
		if (plan->src[t] >= 0)
			syscall(SYS_dup3, plan->src[t], t, 0);
	if (plan->holder_fd > HOLDER_FD_LAST + 1)
		syscall(__NR_close_range, HOLDER_FD_LAST + 1, plan->holder_fd - 1, 0);
	syscall(__NR_close_range, plan->holder_fd + 1, ~0U, 0);

	r = syscall(SYS_execveat, plan->holder_fd, "", holder_argv, holder_envp, AT_EMPTY_PATH);
	report.error = (int32_t)(r < 0 ? errno : EIO);
	syscall(SYS_write, HOLDER_FD_CONTROL, &report, sizeof(report));
	return 127;
}

__attribute__((no_sanitize("address", "undefined")))
static int exit_child(void *arg)
{
	return 0;
}

/* clone3 with the child running fn on child_stack. On architectures without
 * the assembly trampoline, a fork-like clone3 runs fn on a copy of the stack. */
static long clone3_run(struct pr_clone_args *args, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	args->flags |= CLONE_VM | CLONE_VFORK;
	args->stack = (uint64_t)(uintptr_t)child_stack;
	args->stack_size = CHILD_STACK_SIZE;
	return clone3_vm_call(args, sizeof(*args), fn, arg);
#else
	long r = pr_clone3(args);

	if (r == 0)
		_exit(fn(arg));
	return r < 0 ? -errno : r;
#endif
}

/* ------------------------------------------------------------ setup */

static uint32_t setup_ns_mask(const struct peer *peer)
{
	uint32_t mask = 0;

	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (peer->ns_fd[i] >= 0 && peer->ns_inode[i] != own_ns_inode[i])
			mask |= 1u << i;
	return mask;
}

static int queue_setup(int sock, const struct peer *peer)
{
	size_t len = sizeof(struct holder_setup) + peer->n_groups * sizeof(uint32_t);
	struct holder_setup *s = calloc(1, len);
	uint32_t *groups;
	int r = 0;

	if (!s)
		return -ENOMEM;
	s->magic = HOLDER_PROTO_MAGIC;
	s->flags = HOLDER_SETUP_CHROOT;
	/* Without CAP_SYS_RESOURCE the holder can raise oom_score_adj but not
	 * lower it below the daemon's. */
	if (peer->oom_score_adj != own_oom_score_adj && (can_raise_limits || peer->oom_score_adj > own_oom_score_adj))
		s->flags |= HOLDER_SETUP_SET_OOM_SCORE_ADJ;
	if (peer->no_new_privs)
		s->flags |= HOLDER_SETUP_NO_NEW_PRIVS;
	s->ns_mask = setup_ns_mask(peer);
	s->uid = peer->ns_uid;
	s->gid = peer->ns_gid;
	s->umask = peer->umask;
	s->oom_score_adj = peer->oom_score_adj;
	s->cap_last = cap_last;
	s->cap_bnd = peer->cap_bnd;
	s->cap_prm = peer->cap_prm;
	s->cap_eff = peer->cap_eff;
	s->cap_inh = peer->cap_inh;
	s->cap_amb = peer->cap_amb;
	s->sig_default = own_sig_default;
	for (int i = 0; i < HOLDER_RLIMIT_COUNT; i++) {
		const struct rlimit *own = &own_rlimits[i];

		if (!(peer->rlimit_mask & (1u << i)))
			continue;
		s->rlimits[i].cur = peer->rlimits[i].rlim_cur;
		s->rlimits[i].max = peer->rlimits[i].rlim_max;
		/* A hard limit above the daemon's own needs CAP_SYS_RESOURCE. */
		if (!can_raise_limits && (own_rlimits_known & (1u << i)) && s->rlimits[i].max > own->rlim_max) {
			s->rlimits[i].max = own->rlim_max;
			if (s->rlimits[i].cur > own->rlim_max)
				s->rlimits[i].cur = own->rlim_max;
		}
		/* The holder starts with the daemon's limits: set only what differs. */
		if (!(own_rlimits_known & (1u << i)) || s->rlimits[i].cur != own->rlim_cur ||
		    s->rlimits[i].max != own->rlim_max)
			s->rlimit_mask |= 1u << i;
	}
	s->n_groups = (uint32_t)peer->n_groups;
	groups = (uint32_t *)(s + 1);
	for (size_t i = 0; i < peer->n_groups; i++)
		groups[i] = peer->groups[i];

	if (len > 64 * 1024) {
		int size = (int)len * 2;

		setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	}
	if (send(sock, s, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		r = -errno;
	free(s);
	return r;
}

/* ------------------------------------------------------------ clone */

/* Runs one clone3 with the daemon's pid_for_children switched to pidns_fd
 * (when it is not the daemon's own), and always switched back. */
static long clone_in(int pidns_fd, uint64_t pidns_inode, struct pr_clone_args *args,
		     int (*fn)(void *), void *arg)
{
	bool switched = false;
	sigset_t all, old;
	long r;

	if (pidns_fd >= 0 && pidns_inode != nsref_own_pidns_inode()) {
		if (setns(pidns_fd, CLONE_NEWPID) < 0)
			return -errno;
		switched = true;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	r = clone3_run(args, fn, arg);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (switched && setns(nsref_own_pidns_fd(), CLONE_NEWPID) < 0) {
		/* Every later clone would land in the wrong namespace. */
		log_error("cannot return to the daemon's own pid namespace: %m; stopping");
		abort();
	}
	return r;
}

/* The kernel says only "EEXIST" for a whole set_tid; find the level by
 * trying each PID alone in its own namespace with a child that exits at once. */
static int find_busy_level(const struct nsref_chain *chain, const pid_t *pids, size_t n_pids)
{
	for (size_t i = 0; i < n_pids; i++) {
		const struct nsref_level *lv = &chain->level[i];
		struct pr_clone_args args = { .exit_signal = SIGCHLD };
		pid_t tid = pids[i];
		long r;

		/* A namespace the clone was to create has no PIDs in use. */
		if (lv->fd < 0)
			continue;

		args.set_tid = (uint64_t)(uintptr_t)&tid;
		args.set_tid_size = 1;
		r = clone_in(lv->fd, lv->inode, &args, exit_child, NULL);
		if (r == -EEXIST)
			return (int)i;
		if (r > 0)
			waitpid((pid_t)r, NULL, __WALL);
	}
	return -1;
}

static int explain_clone_error(long r, const struct nsref_chain *chain,
			       const pid_t *pids, size_t n_pids, int *busy_level, struct why *why)
{
	int err = (int)-r;

	switch (err) {
	case EEXIST: {
		int lv = find_busy_level(chain, pids, n_pids);

		*busy_level = lv;

		if (lv >= 0)
			return why_set(why, EEXIST, "pid %d is in use in pid namespace level %zu (pid:[%llu])",
				       pids[lv], chain->n - 1 - (size_t)lv, (unsigned long long)chain->level[lv].inode);
		return why_set(why, EEXIST, "one of the requested PIDs was in use (it was freed again before the daemon could tell which)");
	}
	case EINVAL:
		return why_set(why, EINVAL, "the kernel refused the PIDs: one is at or above its pid namespace's pid_max, or the target namespace cannot take it");
	case ENOMEM:
		return why_set(why, ESRCH, "pid namespace pid:[%llu] has no init process any more (it exited), so no process can be created in it",
			       (unsigned long long)chain->level[0].inode);
	case EAGAIN:
		return why_set(why, EAGAIN, "no process could be created: the requester's cgroup pids.max or the namespace's pid_max is reached; try again later");
	case EPERM:
		return why_set(why, EPERM, "the daemon itself lacks the privilege to set PIDs in these namespaces (it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over each)");
	case ENOSYS:
	case E2BIG:
		return why_set(why, ENOSYS, "clone3() with set_tid is not available: Linux 5.5 or later is needed (and tools that trace the daemon, such as valgrind 3.19, hide clone3)");
	default:
		return why_set(why, err, "clone3 failed: %s", strerror(err));
	}
}

/* PIDs of a process at every level from the daemon's namespace inward, from
 * the NSpid line of its pidfd's fdinfo. */
static int read_nspids(int pidfd, pid_t *pids, size_t *n)
{
	char path[64], buf[2048];
	const char *v;
	pid_t outer_first[PR_MAX_LEVELS];
	size_t count = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return -errno;
	v = proc_status_field(buf, "NSpid");
	if (!v)
		return -ENODATA;
	while (*v && *v != '\n' && count < PR_MAX_LEVELS) {
		char *end;
		long p = strtol(v, &end, 10);

		if (end == v)
			break;
		outer_first[count++] = (pid_t)p;
		v = end;
		while (*v == ' ' || *v == '\t')
			v++;
	}
	for (size_t i = 0; i < count; i++)
		pids[i] = outer_first[count - 1 - i];
	*n = count;
	return 0;
}

int spawn_holder(const struct peer *peer, const struct nsref_chain *chain, bool clone_newpid,
		 const pid_t *pids, size_t n_pids, struct spawn_result *ret, struct why *why)
{
	/* With CLONE_NEWPID the clone itself creates level 0: switch to level 1. */
	size_t first = clone_newpid ? 1 : 0;
	const struct nsref_level *where = &chain->level[first];
	struct pr_clone_args args = { .exit_signal = SIGCHLD };
	struct child_plan plan;
	int sv[2] = { -1, -1 }, pidfd = -1, src[HOLDER_FD_LAST + 1], r;
	uint32_t mask, staged = 0;
	long pid;

	memset(ret, 0, sizeof(*ret));
	ret->pidfd = ret->control_fd = -1;
	ret->busy_level = -1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return why_set(why, errno, "cannot create the holder channel: %m");
	r = queue_setup(sv[0], peer);
	if (r < 0) {
		why_set(why, -r, "cannot queue the holder's setup: %s", strerror(-r));
		goto fail;
	}

	for (int t = 0; t <= HOLDER_FD_LAST; t++)
		src[t] = -1;
	src[HOLDER_FD_CONTROL] = sv[1];
	src[HOLDER_FD_ROOT] = peer->root_fd;
	mask = setup_ns_mask(peer);
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (mask & (1u << i))
			src[HOLDER_FD_NS(i)] = peer->ns_fd[i];
	plan.holder_fd = holder_fd;
	plan.unshare_below = stage_end;
	staged = stage_put(src);
	for (int t = 0; t <= HOLDER_FD_LAST; t++)
		plan.src[t] = staged & (1u << t) ? stage_fd[t] : -1;
	if (staged != stage_wanted(src)) {
		r = why_set(why, errno, "cannot pass fds to the holder: %m");
		goto fail;
	}

	args.flags = CLONE_PIDFD | (clone_newpid ? CLONE_NEWPID : 0) | (stage_end ? CLONE_FILES : 0);
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	/* clone3 refuses a set_tid array of size 0: no PIDs, no array. */
	if (n_pids > 0) {
		args.set_tid = (uint64_t)(uintptr_t)pids;
		args.set_tid_size = n_pids;
	}
	if (peer->cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)peer->cgroup_fd;
	}

	pid = clone_in(where->fd, where->inode, &args, holder_child, &plan);
	stage_clear(staged);
	staged = 0;
	if (pid < 0) {
		r = explain_clone_error(pid, chain, pids, n_pids, &ret->busy_level, why);
		goto fail;
	}
	close_fdp(&sv[1]);

	ret->pid = (pid_t)pid;
	ret->pidfd = pidfd;
	ret->control_fd = sv[0];
	if (n_pids == chain->n) {
		/* Every level's PID was chosen: there is nothing to look up. */
		ret->n_pids = n_pids;
		memcpy(ret->pids, pids, n_pids * sizeof(pid_t));
	} else if (read_nspids(pidfd, ret->pids, &ret->n_pids) < 0) {
		/* fdinfo can only be missing if procfs is: report what is known. */
		ret->n_pids = n_pids;
		memcpy(ret->pids, pids, n_pids * sizeof(pid_t));
	}
	if (clone_newpid) {
		int nsfd = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);

		if (nsfd >= 0) {
			ret->pidns_inode = fd_inode(nsfd);
			close(nsfd);
		}
	} else {
		ret->pidns_inode = chain->level[0].inode;
	}
	return 0;

fail:
	stage_clear(staged);
	close_fdp(&sv[0]);
	close_fdp(&sv[1]);
	return r;
}

/* ------------------------------------------------------------ new pid namespaces */

int spawn_make_pidns(const struct peer *peer, int parent_pidns_fd, int *ret_fd, struct why *why)
{
	struct pr_clone_args args = { .flags = CLONE_PIDFD, .exit_signal = SIGCHLD };
	int sv[2], pidfd = -1, err = 0, nsfd, r;
	bool switched = false;
	long pid;

	/* One end each: the helper reports on sv[1] and then waits there for
	 * the daemon to close sv[0]. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return why_set(why, errno, "cannot create a socket pair: %m");
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;

	/* unshare(CLONE_NEWPID) makes a child of the caller's *active* pid
	 * namespace, so the helper must be born in the parent namespace. */
	if (fd_inode(parent_pidns_fd) != nsref_own_pidns_inode()) {
		if (setns(parent_pidns_fd, CLONE_NEWPID) < 0) {
			r = why_set(why, errno, "cannot enter the target pid namespace: %m");
			goto out;
		}
		switched = true;
	}
	pid = pr_clone3(&args);
	if (pid == 0) {
		/* The helper: a copy of the daemon that only makes system calls. */
		char c;

		prctl(PR_SET_DUMPABLE, 0);
		if (!peer->own_userns && setns(peer->userns_fd, CLONE_NEWUSER) < 0)
			err = errno;
		else if (unshare(CLONE_NEWPID) < 0)
			err = errno;
		close(sv[0]);
		(void)!write(sv[1], &err, sizeof(err));
		/* Wait for the daemon to take the namespace, then go. */
		(void)!read(sv[1], &c, 1);
		_exit(0);
	}
	if (pid < 0)
		err = errno;
	if (switched && setns(nsref_own_pidns_fd(), CLONE_NEWPID) < 0) {
		log_error("cannot return to the daemon's own pid namespace: %m; stopping");
		abort();
	}
	if (pid < 0) {
		r = why_set(why, err, "cannot start the namespace helper: %s", strerror(err));
		goto out;
	}
	close_fdp(&sv[1]);
	if (read(sv[0], &err, sizeof(err)) != sizeof(err))
		err = EIO;
	if (err) {
		r = why_set(why, err == EPERM ? EPERM : err,
			    "cannot create a pid namespace owned by your user namespace below pid:[%llu]: %s%s",
			    (unsigned long long)fd_inode(parent_pidns_fd), strerror(err),
			    err == EPERM ? " (the kernel requires the owner of a new pid namespace to be inside the owner of its parent)" : "");
		goto reap;
	}
	nsfd = ioctl(pidfd, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0);
	if (nsfd < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			r = why_set(why, ENOSYS, "this kernel cannot hand over an empty pid namespace (PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, Linux 6.11), which a new pid namespace owned by your user namespace needs");
		else
			r = why_set(why, errno, "cannot take the new pid namespace: %m");
		goto reap;
	}
	fcntl(nsfd, F_SETFD, FD_CLOEXEC);
	*ret_fd = nsfd;
	r = 0;
reap:
	pr_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	waitpid((pid_t)pid, NULL, __WALL);
out:
	close_fdp(&pidfd);
	close_fdp(&sv[0]);
	close_fdp(&sv[1]);
	return r;
}
