/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel feature probes of probe.h. None changes the caller: children
 * exit at once and are reaped here, namespaces are created by children, and
 * the one setns() joins the caller's own UTS namespace again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "kernel.h"
#include "probe.h"

/* The PID the set_tid probe asks for in its new pid namespace: one the
 * namespace's first processes would not get by themselves, and below the
 * smallest pid_max there is (301). */
#define SET_TID_PROBE_PID 200

static const struct probe_feature_info feature_info[PROBE_N_FEATURES] = {
	[PROBE_CLONE3_SET_TID] = {
		"clone3-set-tid", true, true,
		"nothing works: every process pidrestored creates gets its PIDs from clone3() with set_tid (Linux 5.5)",
	},
	[PROBE_CLONE_PIDFD] = {
		"CLONE_PIDFD", true, true,
		"nothing works: pidrestored creates every process with CLONE_PIDFD (every kernel with clone3 set_tid has it)",
	},
	[PROBE_CLONE_INTO_CGROUP] = {
		"CLONE_INTO_CGROUP", false, true,
		"with cgroup v2 mounted, every clone fails with EINVAL (Linux 5.5 and 5.6): pidrestored asks for the requester's cgroup whenever it can open it; without cgroup v2, children stay in the daemon's cgroup",
	},
	[PROBE_SETNS_PIDFD] = {
		"setns-pidfd", false, true,
		"nothing changes: pidrestored and its placeholders enter namespaces through /proc/PID/ns files",
	},
	[PROBE_CAP_CHECKPOINT_RESTORE] = {
		"CAP_CHECKPOINT_RESTORE", false, true,
		"pidrestored needs CAP_SYS_ADMIN over every pid namespace it sets PIDs in (root has it)",
	},
	[PROBE_SO_PEERPIDFD] = {
		"SO_PEERPIDFD", false, true,
		"pidrestored pins each requester with pidfd_open() of the pid SO_PEERCRED gives, and checks after reading its /proc entries that the process is still alive",
	},
	[PROBE_PIDFD_GET_INFO] = {
		"PIDFD_GET_INFO", false, true,
		"nothing changes: pidrestored reads credentials from /proc/PID/status and a child's PIDs from its pidfd's fdinfo",
	},
	[PROBE_PIDFD_GET_PID_NAMESPACE] = {
		"PIDFD_GET_PID_NAMESPACE", false, true,
		"a pidfd naming the target pid namespace is resolved through /proc and re-checked; a new pid namespace for a requester in another user namespace fails with ENOSYS (that needs PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE of the same release, 6.11)",
	},
	[PROBE_CGROUP2] = {
		"cgroup2", false, false,
		"children stay in the daemon's cgroup instead of the requester's, and count against the service's limits",
	},
	[PROBE_PID_MAX] = {
		"pid_max", false, false,
		"pidrestored assumes 32768 and refuses PIDs at or above it in its own pid namespace",
	},
	[PROBE_CGROUP_V1] = {
		"cgroup-v1", false, true,
		"no cgroup v1 hierarchy is mounted: a child joins the requester's cgroup v2 only, which is all there is",
	},
	[PROBE_SECCOMP_GET_FILTER] = {
		"PTRACE_SECCOMP_GET_FILTER", false, true,
		"a requester under a seccomp filter (the default of Docker, Podman and systemd-nspawn containers) is refused: pidrestored cannot read its filters to give them to its processes",
	},
};

const struct probe_feature_info *probe_feature_info(enum probe_feature f)
{
	return &feature_info[f];
}

bool probe_detail_is_unknown(const char *detail)
{
	return strncmp(detail, PROBE_UNKNOWN_PREFIX, strlen(PROBE_UNKNOWN_PREFIX)) == 0;
}

__attribute__((format(printf, 3, 4)))
static void result(struct probe_result *ret, bool available, const char *fmt, ...)
{
	va_list ap;

	ret->available = available;
	va_start(ap, fmt);
	vsnprintf(ret->detail, sizeof(ret->detail), fmt, ap);
	va_end(ap);
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "an unknown error";
}

static bool has_capability(int cap)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &header, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

static bool may_set_pids(void)
{
	return has_capability(PR_CAP_SYS_ADMIN) || has_capability(PR_CAP_CHECKPOINT_RESTORE);
}

/* One number from a /proc/sys file; 0 or -errno. */
static int read_sysctl_long(const char *path, long *ret)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld", ret) != 1)
		r = -EIO;
	fclose(f);
	return r;
}

/* Where the cgroup v2 hierarchy is mounted in the caller's mount namespace. */
static int find_cgroup2_mount(char *buf, size_t size)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f)))
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			snprintf(buf, size, "%s", m->mnt_dir);
			r = 0;
			break;
		}
	endmntent(f);
	return r;
}

/* The caller's cgroup v2 directory, opened; its path relative to the
 * hierarchy in rel. */
static int open_own_cgroup(char *rel, size_t size)
{
	char mount[PATH_MAX], line[PATH_MAX], path[2 * PATH_MAX];
	FILE *f;
	int r;

	r = find_cgroup2_mount(mount, sizeof(mount));
	if (r < 0)
		return r;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	r = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(rel, size, "%s", line + 3);
			snprintf(path, sizeof(path), "%s%s", mount, line + 3);
			r = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (r < 0)
				r = -errno;
			break;
		}
	fclose(f);
	return r;
}

/* clone3 with a child that exits at once; 0 or -errno. */
static int clone3_and_reap(struct pr_clone_args *args)
{
	long pid;

	args->exit_signal = SIGCHLD;
	pid = pr_clone3(args);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(0);
	while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* ------------------------------------------------------------ set_tid */

enum set_tid_step { STEP_USERNS, STEP_PIDNS, STEP_INIT, STEP_CLONE, STEP_DONE };

struct set_tid_report {
	enum set_tid_step step;
	int err;
	pid_t got;
};

/* The new pid namespace's init: asks for SET_TID_PROBE_PID. */
static void set_tid_init(int report_fd)
{
	struct set_tid_report rep = { .step = STEP_CLONE };
	pid_t tid = SET_TID_PROBE_PID;
	struct pr_clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long pid = pr_clone3(&args);

	if (pid == 0)
		_exit(0);
	if (pid < 0) {
		rep.err = errno;
	} else {
		rep.step = STEP_DONE;
		rep.got = (pid_t)pid;
		waitpid((pid_t)pid, NULL, 0);
	}
	(void)!write(report_fd, &rep, sizeof(rep));
	_exit(0);
}

/* Makes the namespaces and their init; a failure is reported here. */
static void set_tid_child(int report_fd, bool new_userns)
{
	struct set_tid_report rep = { 0 };
	pid_t init;

	/* A copy of the caller's memory that nobody else may read. */
	prctl(PR_SET_DUMPABLE, 0);
	if (unshare(CLONE_NEWPID | (new_userns ? CLONE_NEWUSER : 0)) < 0) {
		rep.step = new_userns ? STEP_USERNS : STEP_PIDNS;
		rep.err = errno;
		goto report;
	}
	init = fork();
	if (init == 0)
		set_tid_init(report_fd);
	if (init < 0) {
		rep.step = STEP_INIT;
		rep.err = errno;
		goto report;
	}
	waitpid(init, NULL, 0);
	_exit(0);
report:
	(void)!write(report_fd, &rep, sizeof(rep));
	_exit(0);
}

static void explain_set_tid(const struct set_tid_report *rep, bool new_userns, struct probe_result *ret)
{
	const char *where = new_userns ? "a new user+pid namespace" : "a new pid namespace";

	switch (rep->step) {
	case STEP_DONE:
		if (rep->got != SET_TID_PROBE_PID)
			result(ret, false, "the kernel ignored set_tid: the child got PID %d, not %d", rep->got, SET_TID_PROBE_PID);
		else
			result(ret, true, "%sa child got PID %d in %s", new_userns ? "unprivileged: " : "",
			       SET_TID_PROBE_PID, where);
		break;
	case STEP_CLONE:
		if (rep->err == ENOSYS)
			result(ret, false, "there is no clone3() (Linux 5.3)");
		else if (rep->err == EINVAL || rep->err == E2BIG)
			result(ret, false, "clone3() refused set_tid with %s (Linux 5.5)", errno_name(rep->err));
		else
			result(ret, false, PROBE_UNKNOWN_PREFIX "clone3() with set_tid failed in %s with %s",
			       where, errno_name(rep->err));
		break;
	case STEP_USERNS:
		result(ret, false, PROBE_UNKNOWN_PREFIX "needs privilege (the prober lacks CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, and a user namespace to probe in: %s)",
		       errno_name(rep->err));
		break;
	case STEP_PIDNS:
	case STEP_INIT:
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot create %s to probe in (%s)", where, errno_name(rep->err));
		break;
	}
}

/* In a new pid namespace, so that no PID of the caller's namespace is
 * taken even for a moment; without privilege, in a new user namespace too,
 * which says whether the kernel has set_tid but not whether the caller may
 * use it. */
static void probe_set_tid(struct probe_result *ret)
{
	bool new_userns = !may_set_pids();
	struct set_tid_report rep;
	int pipefd[2];
	pid_t child;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot create a pipe: %s", errno_name(errno));
		return;
	}
	child = fork();
	if (child == 0) {
		close(pipefd[0]);
		set_tid_child(pipefd[1], new_userns);
	}
	close(pipefd[1]);
	if (child < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot fork: %s", errno_name(errno));
		close(pipefd[0]);
		return;
	}
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	n = read(pipefd[0], &rep, sizeof(rep));
	close(pipefd[0]);
	if (n != (ssize_t)sizeof(rep))
		result(ret, false, PROBE_UNKNOWN_PREFIX "the probe's child ended without a report");
	else
		explain_set_tid(&rep, new_userns, ret);
}

/* ------------------------------------------------------------ clone3 flags */

static void probe_clone_pidfd(struct probe_result *ret)
{
	int pidfd = -1;
	struct pr_clone_args args = { .flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd };
	int r = clone3_and_reap(&args);

	if (r == 0 && pidfd >= 0)
		result(ret, true, "clone3() gave a pidfd of its child");
	else if (r == 0)
		result(ret, false, "clone3() accepted CLONE_PIDFD but gave no pidfd");
	else if (r == -ENOSYS)
		result(ret, false, "there is no clone3() (Linux 5.3)");
	else if (r == -EINVAL)
		result(ret, false, "clone3() refused CLONE_PIDFD with EINVAL");
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "clone3() failed with %s", errno_name(-r));
	if (pidfd >= 0)
		close(pidfd);
}

static void probe_clone_into_cgroup(struct probe_result *ret)
{
	char cgroup[PATH_MAX] = "";
	struct pr_clone_args args = { .flags = CLONE_INTO_CGROUP };
	int fd = open_own_cgroup(cgroup, sizeof(cgroup));
	bool own = fd >= 0;
	int r;

	/* Without a cgroup to go to, a directory that is none: a kernel that
	 * knows the flag says EBADF, and nothing is created. */
	if (!own)
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot open /: %s", errno_name(errno));
		return;
	}
	args.cgroup = (uint64_t)fd;
	r = clone3_and_reap(&args);
	close(fd);
	if (r == -ENOSYS)
		result(ret, false, "there is no clone3() (Linux 5.3)");
	else if (r == -EINVAL || r == -E2BIG)
		result(ret, false, "clone3() refused CLONE_INTO_CGROUP with %s (Linux 5.7)", errno_name(-r));
	else if (own && r == 0)
		result(ret, true, "a child was created in cgroup %s", cgroup);
	else if (own)
		result(ret, true, "known, but a child may not go to cgroup %s (%s)", cgroup, errno_name(-r));
	else if (r == -EBADF)
		result(ret, true, "the kernel knows it (no cgroup v2 directory to try it in)");
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "clone3() with CLONE_INTO_CGROUP failed with %s", errno_name(-r));
}

/* ------------------------------------------------------------ pidfds */

static int open_own_pidfd(struct probe_result *ret)
{
	int pidfd = pr_pidfd_open(getpid(), 0);

	if (pidfd >= 0)
		return pidfd;
	if (errno == ENOSYS)
		result(ret, false, "there is no pidfd_open() (Linux 5.3)");
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot open the prober's pidfd: %s", errno_name(errno));
	return -1;
}

static void probe_setns_pidfd(struct probe_result *ret)
{
	int pidfd = open_own_pidfd(ret);

	if (pidfd < 0)
		return;
	/* Its own UTS namespace: joined again, nothing changes. */
	if (setns(pidfd, CLONE_NEWUTS) == 0)
		result(ret, true, "setns() took the prober's pidfd");
	else if (errno == EPERM)
		result(ret, true, "setns() takes pidfds (the prober got EPERM)");
	else if (errno == EINVAL || errno == EBADF)
		result(ret, false, "setns() refused a pidfd with %s (Linux 5.8)", errno_name(errno));
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "setns() with a pidfd failed with %s", errno_name(errno));
	close(pidfd);
}

static void probe_pidfd_get_info(struct probe_result *ret)
{
	struct pr_pidfd_info info = { .mask = PR_PIDFD_INFO_PID | PR_PIDFD_INFO_CREDS };
	int pidfd = open_own_pidfd(ret);

	if (pidfd < 0)
		return;
	if (ioctl(pidfd, PR_PIDFD_GET_INFO, &info) == 0)
		result(ret, true, "the prober's pidfd says pid %u, euid %u", info.pid, info.euid);
	else if (errno == ENOTTY || errno == EINVAL)
		result(ret, false, "pidfds do not answer it: %s (Linux 6.13)", errno_name(errno));
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "PIDFD_GET_INFO failed with %s", errno_name(errno));
	close(pidfd);
}

static void probe_pidfd_get_pid_namespace(struct probe_result *ret)
{
	int pidfd = open_own_pidfd(ret);
	struct stat st;
	int nsfd;

	if (pidfd < 0)
		return;
	nsfd = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
	if (nsfd >= 0 && fstat(nsfd, &st) == 0)
		result(ret, true, "the prober's pidfd gave pid:[%llu]", (unsigned long long)st.st_ino);
	else if (nsfd >= 0)
		result(ret, true, "the prober's pidfd gave its pid namespace");
	else if (errno == ENOTTY || errno == EINVAL)
		result(ret, false, "pidfds do not answer it: %s (Linux 6.11)", errno_name(errno));
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "PIDFD_GET_PID_NAMESPACE failed with %s", errno_name(errno));
	if (nsfd >= 0)
		close(nsfd);
	close(pidfd);
}

static void probe_so_peerpidfd(struct probe_result *ret)
{
	int sv[2], pidfd = -1;
	socklen_t len = sizeof(pidfd);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot create a socket pair: %s", errno_name(errno));
		return;
	}
	if (getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0)
		result(ret, true, "a socket pair gave its peer's pidfd");
	else if (errno == ENOPROTOOPT)
		result(ret, false, "sockets do not answer it: ENOPROTOOPT (Linux 6.5)");
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "getsockopt(SO_PEERPIDFD) failed with %s", errno_name(errno));
	if (pidfd >= 0)
		close(pidfd);
	close(sv[0]);
	close(sv[1]);
}

/* ------------------------------------------------------------ the rest */

static void probe_cap_checkpoint_restore(struct probe_result *ret)
{
	const char *own;
	long last;
	int r = read_sysctl_long("/proc/sys/kernel/cap_last_cap", &last);

	if (r < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot read /proc/sys/kernel/cap_last_cap (%s)", errno_name(-r));
		return;
	}
	if (last < PR_CAP_CHECKPOINT_RESTORE) {
		result(ret, false, "cap_last_cap is %ld; it is %d from Linux 5.9", last, PR_CAP_CHECKPOINT_RESTORE);
		return;
	}
	if (has_capability(PR_CAP_CHECKPOINT_RESTORE))
		own = "the prober has it";
	else if (has_capability(PR_CAP_SYS_ADMIN))
		own = "the prober lacks it but has CAP_SYS_ADMIN";
	else
		own = "the prober lacks it and CAP_SYS_ADMIN";
	result(ret, true, "cap_last_cap %ld; %s", last, own);
}

static void probe_cgroup2(struct probe_result *ret)
{
	char mount[PATH_MAX];
	int r = find_cgroup2_mount(mount, sizeof(mount));

	if (r == 0)
		result(ret, true, "cgroup2 at %s", mount);
	else if (r == -ENOENT)
		result(ret, false, "no cgroup2 file system is mounted");
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot read /proc/self/mounts (%s)", errno_name(-r));
}

static void probe_pid_max(struct probe_result *ret)
{
	long pid_max;
	int r = read_sysctl_long("/proc/sys/kernel/pid_max", &pid_max);

	if (r == 0)
		result(ret, true, "pid_max %ld", pid_max);
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot read /proc/sys/kernel/pid_max (%s)", errno_name(-r));
}

/* The cgroup v1 hierarchies mounted at their root, by their controllers. */
static void probe_cgroup_v1(struct probe_result *ret)
{
	char list[200] = "";
	size_t used = 0;
	int n = 0;
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!f) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot read /proc/self/mounts (%s)", errno_name(errno));
		return;
	}
	while ((m = getmntent(f))) {
		char opts[256], *save = NULL;

		if (strcmp(m->mnt_type, "cgroup") != 0)
			continue;
		n++;
		snprintf(opts, sizeof(opts), "%s", m->mnt_opts);
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || (strchr(o, '=') && strncmp(o, "name=", 5) != 0) ||
			    strcmp(o, "relatime") == 0 || strncmp(o, "no", 2) == 0 || strcmp(o, "clone_children") == 0 ||
			    strcmp(o, "xattr") == 0)
				continue;
			if (used + strlen(o) + 3 < sizeof(list))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", o);
		}
	}
	endmntent(f);
	if (n == 0) {
		result(ret, false, "none mounted");
		return;
	}
	char v2[PATH_MAX];
	bool hybrid = find_cgroup2_mount(v2, sizeof(v2)) == 0;

	result(ret, true, "%s layout, %d hierarchies (%s); a child joins the requester's cgroup in each, pids.max checked first",
	       hybrid ? "hybrid" : "legacy", n, list);
}

/* Reads the filter of a traced child of its own that installed one. */
static void probe_seccomp_get_filter(struct probe_result *ret)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	int status, err;
	long n;
	pid_t child = fork();

	if (child < 0) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "cannot fork (%s)", errno_name(errno));
		return;
	}
	if (child == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	/* It stops at once; a second is plenty, and the daemon must not wait
	 * longer (a tool that traces the prober may keep it from stopping). */
	status = 0;
	for (int tries = 0; tries < 1000; tries++) {
		pid_t r = waitpid(child, &status, WNOHANG | WUNTRACED);

		if (r != 0)
			break;
		usleep(1000);
	}
	if (!WIFSTOPPED(status)) {
		result(ret, false, PROBE_UNKNOWN_PREFIX "the probe's child could not be traced under a filter");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return;
	}
	n = ptrace((enum __ptrace_request)0x420c /* PTRACE_SECCOMP_GET_FILTER */, child, NULL, NULL);
	err = errno;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (n == 1)
		result(ret, true, "a filter was read back; requesters under seccomp filters are served");
	else if (err == EIO || err == EINVAL)
		result(ret, false, "the kernel cannot read filters (%s; Linux 4.4 with CONFIG_CHECKPOINT_RESTORE)", errno_name(err));
	else
		result(ret, false, PROBE_UNKNOWN_PREFIX "the prober may not read filters (%s: it needs CAP_SYS_ADMIN and no seccomp filter of its own)",
		       errno_name(err));
}

void probe_feature(enum probe_feature f, struct probe_result *ret)
{
	static void (*const probes[PROBE_N_FEATURES])(struct probe_result *) = {
		[PROBE_CLONE3_SET_TID] = probe_set_tid,
		[PROBE_CLONE_PIDFD] = probe_clone_pidfd,
		[PROBE_CLONE_INTO_CGROUP] = probe_clone_into_cgroup,
		[PROBE_SETNS_PIDFD] = probe_setns_pidfd,
		[PROBE_CAP_CHECKPOINT_RESTORE] = probe_cap_checkpoint_restore,
		[PROBE_SO_PEERPIDFD] = probe_so_peerpidfd,
		[PROBE_PIDFD_GET_INFO] = probe_pidfd_get_info,
		[PROBE_PIDFD_GET_PID_NAMESPACE] = probe_pidfd_get_pid_namespace,
		[PROBE_CGROUP2] = probe_cgroup2,
		[PROBE_PID_MAX] = probe_pid_max,
		[PROBE_CGROUP_V1] = probe_cgroup_v1,
		[PROBE_SECCOMP_GET_FILTER] = probe_seccomp_get_filter,
	};

	probes[f](ret);
}

void probe_kernel_release(char *buf, size_t size)
{
	struct utsname u;

	if (uname(&u) == 0)
		snprintf(buf, size, "%s", u.release);
	else
		snprintf(buf, size, "unknown");
}
