/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives the built pidrestore-holder as a tree builder (tree-proto.h),
 * playing priv's part: queue the build, the credentials and a plan on a
 * tree socket, start the builder, collect pidfds and READY reports, and on
 * a failure or at the deadline kill everything and prove every PID free.
 * Builds the reference tree of TREES.md §9 and checks it from /proc; then
 * the same tree with one L1 PID taken, and with a process stopped mid-build.
 * Runs in a pid and mount namespace of its own (it is their init), so the
 * PIDs it names are its own. Needs root; exits 77 (skip) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "check.h"
#include "clone-args.h"
#include "holder-proto.h"
#include "tree-ref.h"

#ifndef HOLDER_BUILD_PATH
#error "HOLDER_BUILD_PATH must name the built pidrestore-holder"
#endif

#define NOBODY 65534
/* The requester's user namespace maps its 0.. to these host ids. */
#define USERNS_BASE 200000

/* Whom the tree's processes become: with a user namespace, root in it
 * with every capability there; without, nobody with none. */
struct identity {
	int userns_fd;            /* -1: the daemon's user namespace */
	unsigned int host_uid;    /* as /proc shows it here */
	const char *cap_eff;
	uint32_t thread_levels;   /* explicit TID levels; 0: all */
};

static struct identity who = { .userns_fd = -1, .host_uid = NOBODY, .cap_eff = "0000000000000000" };

struct build {
	const struct ref_plan *ref;
	int sock;
	pid_t builder;
	int pidfd[REF_MAX_PROCS];
	int control[REF_MAX_PROCS];
	int ready_ids[REF_MAX_PROCS][8];
	unsigned int n_ready;
	int built;
	struct tree_report error;
	int failed;
	int stop_proc;            /* SIGSTOP this proc when its pidfd arrives; -1: none */
};

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ priv's part */

static void builder_exec(int sock)
{
	char *argv[] = { "pidrestore-holder", NULL };
	char *envp[] = { NULL };
	int fd = fcntl(sock, F_DUPFD, 100);
	int userns = who.userns_fd >= 0 ? fcntl(who.userns_fd, F_DUPFD, 100) : -1;

	if (fd < 0 || dup2(fd, HOLDER_FD_CONTROL) != HOLDER_FD_CONTROL)
		_exit(125);
	if (userns >= 0 && dup2(userns, HOLDER_FD_NS(HOLDER_NS_USER)) < 0)
		_exit(125);
	close_range(0, HOLDER_FD_CONTROL - 1, 0);
	close_range(HOLDER_FD_CONTROL + 1, HOLDER_FD_NS(HOLDER_NS_USER) - 1, 0);
	close_range(userns >= 0 ? HOLDER_FD_NS(HOLDER_NS_USER) + 1 : HOLDER_FD_CONTROL + 1, ~0U, 0);
	execve(HOLDER_BUILD_PATH, argv, envp);
	_exit(126);
}

static void build_start(struct build *b, const struct ref_plan *ref, size_t drop_bytes)
{
	struct holder_setup setup = {
		.magic = HOLDER_PROTO_MAGIC,
		.uid = NOBODY,
		.gid = NOBODY,
		.umask = 022,
		.cap_last = CAP_LAST_CAP,
		.sig_default = ~(uint64_t)0,
	};
	struct tree_build hello = { .magic = TREE_BUILD_MAGIC };
	int sv[2], size = 4 << 20;
	size_t len;
	void *plan = ref_serialize(ref, &len);

	if (who.userns_fd >= 0) {
		setup.uid = setup.gid = 0;
		setup.ns_mask = 1u << HOLDER_NS_USER;
		setup.cap_bnd = setup.cap_prm = setup.cap_eff = ~(uint64_t)0 >> (63 - CAP_LAST_CAP);
	}

	memset(b, 0, sizeof(*b));
	b->ref = ref;
	b->stop_proc = -1;
	for (int i = 0; i < REF_MAX_PROCS; i++)
		b->pidfd[i] = b->control[i] = -1;
	hello.plan_len = (uint32_t)len;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		die("tree socket");
	if (send(sv[0], &hello, sizeof(hello), 0) != sizeof(hello) ||
	    send(sv[0], &setup, sizeof(setup), 0) != sizeof(setup) ||
	    send(sv[0], plan, len - drop_bytes, 0) != (ssize_t)(len - drop_bytes))
		die("queue build");
	free(plan);
	b->builder = fork();
	if (b->builder < 0)
		die("fork");
	if (b->builder == 0)
		builder_exec(sv[1]);
	close(sv[1]);
	b->sock = sv[0];
}

static void report_take(struct build *b)
{
	union {
		struct tree_report rep;
		unsigned char bytes[sizeof(struct tree_report) + 64 * sizeof(int32_t)];
	} u;
	union {
		unsigned char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &u, .iov_len = sizeof(u) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n = recvmsg(b->sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int fd = -1;

	if (n < (ssize_t)sizeof(u.rep))
		return;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	switch (u.rep.type) {
	case TREE_REPORT_PIDFD:
		if (u.rep.proc >= 0 && u.rep.proc < REF_MAX_PROCS && b->pidfd[u.rep.proc] < 0) {
			b->pidfd[u.rep.proc] = fd;
			if (u.rep.proc == b->stop_proc)
				kill(REF_L1_BASE + b->ref->l2[u.rep.proc], SIGSTOP);
			return;
		}
		break;
	case TREE_REPORT_READY:
		if (u.rep.proc >= 0 && u.rep.proc < REF_MAX_PROCS && b->control[u.rep.proc] < 0) {
			b->control[u.rep.proc] = fd;
			for (uint32_t k = 0; k < u.rep.n_pids && k < 8; k++)
				b->ready_ids[u.rep.proc][k] = u.rep.pids[k];
			b->n_ready++;
			return;
		}
		break;
	case TREE_REPORT_ERROR:
		if (!b->failed) {
			b->error = u.rep;
			b->failed = 1;
		}
		break;
	case TREE_REPORT_BUILT:
		b->built = 1;
		break;
	}
	if (fd >= 0)
		close(fd);
}

static unsigned int live_count(const struct ref_plan *ref)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < ref->head.n_procs; i++)
		n += ref->procs[i].kind == TREE_PROC_LIVE;
	return n;
}

/* Every zombie's pidfd is readable: it has exited. */
static int zombies_done(const struct build *b)
{
	for (uint32_t i = 0; i < b->ref->head.n_procs; i++) {
		struct pollfd p = { .fd = b->pidfd[i], .events = POLLIN };

		if (b->ref->procs[i].kind == TREE_PROC_ZOMBIE && (p.fd < 0 || poll(&p, 1, 0) != 1))
			return 0;
	}
	return 1;
}

/* Reaps what is exited among the test's children (the roots, the builder,
 * and, as init of its namespace, every orphan), ghosts' zombies excepted. */
static void reap_some(void)
{
	while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
		;
}

/* Returns 0 when the tree is up, or the error (ETIMEDOUT at the deadline). */
static int build_wait(struct build *b, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = b->sock, .events = POLLIN };
		long left = deadline - now_ms();

		if (b->failed)
			return b->error.error;
		if (b->built && b->n_ready == live_count(b->ref) && zombies_done(b))
			return 0;
		if (left <= 0)
			return ETIMEDOUT;
		if (poll(&p, 1, left > 50 ? 50 : (int)left) > 0)
			report_take(b);
	}
}

/* TREES §7: kill everything held, roots first, and wait until each is
 * gone. Returns the count that did not go. */
static int build_rollback(struct build *b)
{
	long deadline = now_ms() + 5000;
	int left;

	/* Reports already queued bring pidfds too. */
	while (1) {
		struct pollfd p = { .fd = b->sock, .events = POLLIN };

		if (poll(&p, 1, 0) != 1 || (p.revents & POLLHUP))
			break;
		report_take(b);
	}
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < b->ref->head.n_procs; i++)
			if (b->pidfd[i] >= 0 && (b->ref->procs[i].creator < 0) == (pass == 0))
				syscall(SYS_pidfd_send_signal, b->pidfd[i], SIGKILL, NULL, 0);
	kill(b->builder, SIGKILL);
	do {
		left = 0;
		reap_some();
		for (uint32_t i = 0; i < b->ref->head.n_procs; i++)
			if (kill(REF_L1_BASE + b->ref->l2[i], 0) == 0)
				left++;
		if (left)
			usleep(10000);
	} while (left && now_ms() < deadline);
	return left;
}

static void build_close(struct build *b)
{
	for (int i = 0; i < REF_MAX_PROCS; i++) {
		if (b->pidfd[i] >= 0)
			close(b->pidfd[i]);
		if (b->control[i] >= 0)
			close(b->control[i]);
	}
	close(b->sock);
}

/* A root clone3(set_tid) of each PID of the plan succeeds: all are free. */
static int pids_free(const struct ref_plan *ref)
{
	int busy = 0;

	for (uint32_t i = 0; i < ref->head.n_procs; i++) {
		pid_t want = REF_L1_BASE + ref->l2[i];
		struct pr_clone_args args = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1 };
		long pid = syscall(SYS_clone3, &args, sizeof(args));

		if (pid == 0)
			_exit(0);
		if (pid < 0)
			busy++;
		else
			waitpid((pid_t)pid, NULL, __WALL);
	}
	return busy == 0;
}

/* ------------------------------------------------------------ checks */

static const char *status_line(pid_t pid, const char *name, char *out, size_t size)
{
	char path[64], line[512];
	size_t len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	out[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			char *v = line + len + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(out, size, "%s", v);
			break;
		}
	fclose(f);
	return out;
}

/* The TID here of process pid's thread whose innermost TID is inner. */
static pid_t tid_here(pid_t pid, pid_t inner)
{
	char path[64], nspid[128];
	struct dirent *e;
	pid_t found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char *last;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		status_line(atoi(e->d_name), "NSpid", nspid, sizeof(nspid));
		last = strrchr(nspid, '\t');
		if (last && atoi(last + 1) == inner)
			found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

static void expect_field(pid_t pid, const char *name, const char *want, int l2)
{
	char got[256];

	status_line(pid, name, got, sizeof(got));
	CHECK(!strcmp(got, want), "L2 %d: %s is \"%s\" (want \"%s\")", l2, name, got, want);
}

/* The session and group (L1, L2) of L2 pid l2 as TREES §9 gives them. */
static void ref_ids(int l2, int *sid, int *pgid)
{
	*sid = 1, *pgid = 1;
	if (l2 == 10 || (l2 >= 12 && l2 <= 16))
		*sid = *pgid = 10;
	else if (l2 >= 50 && l2 <= 54)
		*sid = 10, *pgid = 50;
	else if (l2 >= 21 && l2 <= 28)
		*sid = *pgid = 20;
	else if ((l2 >= 30 && l2 <= 38) || l2 == 60)
		*pgid = 30;
	else if (l2 >= 41 && l2 <= 48)
		*pgid = 40;
}

static void check_reference(const struct build *b, const int *idx_of)
{
	const struct ref_plan *ref = b->ref;
	char want[128];

	for (uint32_t i = 0; i < ref->head.n_procs; i++) {
		const struct tree_proc *p = &ref->procs[i];
		int l2 = ref->l2[i], sid, pgid, parent_l2;
		pid_t pid = REF_L1_BASE + l2;
		struct pollfd pf = { .fd = b->pidfd[i], .events = POLLIN };

		if (p->kind == TREE_PROC_GHOST) {
			CHECK(kill(pid, 0) < 0 && errno == ESRCH, "ghost %d is gone", l2);
			CHECK(!pids_free(&(struct ref_plan){ .head.n_procs = 1, .l2 = { l2 } }),
			      "ghost PID %d is still taken (EEXIST to a root clone3)", l2);
			continue;
		}
		ref_ids(l2, &sid, &pgid);
		parent_l2 = p->creator < 0 ? 0 : ref->l2[p->creator];
		if (p->flags & TREE_PROC_CLONE_PARENT && p->creator >= 0)
			parent_l2 = ref->l2[ref->procs[p->creator].creator];
		snprintf(want, sizeof(want), "%d", parent_l2 ? REF_L1_BASE + parent_l2 : 1);
		expect_field(pid, "PPid", l2 == 1 ? "1" : want, l2);
		snprintf(want, sizeof(want), "%d\t%d", pid, l2);
		expect_field(pid, "NSpid", want, l2);
		snprintf(want, sizeof(want), "%d\t%d", REF_L1_BASE + sid, sid);
		expect_field(pid, "NSsid", want, l2);
		snprintf(want, sizeof(want), "%d\t%d", REF_L1_BASE + pgid, pgid);
		expect_field(pid, "NSpgid", want, l2);
		/* READY comes just before it parks: a moment to get there. */
		for (int k = 0; k < 100 && strcmp(status_line(pid, "State", want, sizeof(want)), "R (running)") == 0; k++)
			usleep(1000);
		expect_field(pid, "State", p->kind == TREE_PROC_ZOMBIE ? "Z (zombie)" : "S (sleeping)", l2);
		snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", who.host_uid, who.host_uid, who.host_uid, who.host_uid);
		expect_field(pid, "Uid", want, l2);
		expect_field(pid, "Gid", want, l2);
		CHECK(b->pidfd[i] >= 0 && poll(&pf, 1, 0) == (p->kind == TREE_PROC_ZOMBIE),
		      "L2 %d: a pidfd, readable only for a zombie", l2);
		if (p->kind != TREE_PROC_LIVE)
			continue;
		expect_field(pid, "CapEff", who.cap_eff, l2);
		expect_field(pid, "CapBnd", who.cap_eff, l2);
		snprintf(want, sizeof(want), "%u", p->n_threads + 1);
		expect_field(pid, "Threads", want, l2);
		CHECK(b->ready_ids[i][0] == l2, "L2 %d: READY names it %d", l2, b->ready_ids[i][0]);
		for (uint32_t t = 0; t < p->n_threads; t++) {
			const struct tree_thread *th = &ref->threads[p->first_thread + t];
			char task[96];
			pid_t tid = th->n_set_tid > 1 ? th->tids[1] : tid_here(pid, th->tids[0]);

			snprintf(task, sizeof(task), "/proc/%d/task/%d", pid, tid);
			CHECK(access(task, F_OK) == 0, "L2 %d: thread %d exists", l2, tid);
			snprintf(want, sizeof(want), "%d\t%d", tid, th->tids[0]);
			expect_field(tid, "NSpid", want, th->tids[0]);
			snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", who.host_uid, who.host_uid, who.host_uid, who.host_uid);
			expect_field(tid, "Uid", want, th->tids[0]);
			expect_field(tid, "CapEff", who.cap_eff, th->tids[0]);
			CHECK(b->ready_ids[i][t + 1] == th->tids[0], "L2 %d: READY names thread %d", l2, th->tids[0]);
		}
	}
	(void)idx_of;
}

/* kill(-40, SIGUSR1) reaches exactly 41-48, where it stays pending. */
static void check_group_signal(void)
{
	char got[64];

	CHECK(kill(-(REF_L1_BASE + 40), SIGUSR1) == 0, "group 40 can be signalled");
	for (int l2 = 41; l2 <= 48; l2++) {
		status_line(REF_L1_BASE + l2, "ShdPnd", got, sizeof(got));
		CHECK(!strcmp(got, "0000000000000200"), "L2 %d: SIGUSR1 pending (%s)", l2, got);
	}
	status_line(REF_L1_BASE + 30, "ShdPnd", got, sizeof(got));
	/* Its zombie child 60 left a SIGCHLD pending. */
	CHECK(!(strtoull(got, NULL, 16) & (1u << (SIGUSR1 - 1))), "L2 30 (another group): no SIGUSR1 (%s)", got);
}

/* Processes with an L1 PID in the tree's range. */
static int tree_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		int pid = atoi(e->d_name);

		n += pid >= REF_L1_BASE && pid < REF_L1_BASE + 100;
	}
	if (d)
		closedir(d);
	return n;
}

/* ------------------------------------------------------------ tests */

static void test_reference(void)
{
	struct ref_plan ref;
	int idx_of[100], r;
	struct build b;

	ref_build(&ref, idx_of);
	for (uint32_t t = 0; who.thread_levels && t < ref.head.n_threads; t++) {
		ref.threads[t].n_set_tid = who.thread_levels;
		ref.threads[t].tids[1] = 0;
	}
	build_start(&b, &ref, 0);
	r = build_wait(&b, 10000);
	CHECK(r == 0, "reference tree built (%s; failed proc %d step %u level %d)", strerror(r),
	      b.error.proc, b.error.step, b.error.level);
	reap_some();
	if (r == 0) {
		/* 48 nodes; the builder and ghosts are gone. */
		CHECK(tree_processes() == 48, "48 processes, no ghost, helper or builder (%d)", tree_processes());
		check_reference(&b, idx_of);
		check_group_signal();
	}
	CHECK(build_rollback(&b) == 0, "released tree: every process gone");
	build_close(&b);
	reap_some();
	CHECK(pids_free(&ref), "every PID of the tree is free again");
}

static void test_pid_taken(void)
{
	struct ref_plan ref;
	int idx_of[100], r;
	pid_t want = REF_L1_BASE + 31;
	struct pr_clone_args args = { .exit_signal = SIGCHLD, .set_tid = (uintptr_t)&want, .set_tid_size = 1 };
	struct build b;
	long squatter;

	ref_build(&ref, idx_of);
	squatter = syscall(SYS_clone3, &args, sizeof(args));
	if (squatter == 0) {
		pause();
		_exit(0);
	}
	CHECK(squatter == want, "L1 PID 7031 taken by the test");
	build_start(&b, &ref, 0);
	r = build_wait(&b, 10000);
	CHECK(r == EEXIST && b.error.type == TREE_REPORT_ERROR && b.error.proc == idx_of[31] &&
	      b.error.step == TREE_STEP_CLONE && b.error.level == 1,
	      "EEXIST names node %d (L2 31) at level 1 (got %s, proc %d, step %u, level %d)", idx_of[31],
	      strerror(r), b.error.proc, b.error.step, b.error.level);
	kill((pid_t)squatter, SIGKILL);
	waitpid((pid_t)squatter, NULL, 0);
	CHECK(build_rollback(&b) == 0, "rollback: every process gone");
	build_close(&b);
	reap_some();
	CHECK(pids_free(&ref), "every PID of the tree is free after the failure");
}

static void test_stopped(void)
{
	struct ref_plan ref;
	int idx_of[100], r;
	struct build b;

	ref_build(&ref, idx_of);
	build_start(&b, &ref, 0);
	b.stop_proc = idx_of[30];
	r = build_wait(&b, 1500);
	CHECK(r == ETIMEDOUT, "a stopped process: the deadline passes (%s)", strerror(r));
	CHECK(build_rollback(&b) == 0, "rollback: every process gone");
	build_close(&b);
	reap_some();
	CHECK(pids_free(&ref), "every PID of the tree is free after the timeout");
}

static void test_bad_plan(void)
{
	struct ref_plan ref;
	int idx_of[100], r;
	struct build b;

	ref_build(&ref, idx_of);
	build_start(&b, &ref, 8);
	r = build_wait(&b, 3000);
	CHECK(r == EPROTO && b.error.step == TREE_STEP_PROTOCOL, "a short plan: EPROTO (%s)", strerror(r));
	CHECK(build_rollback(&b) == 0, "nothing left");
	build_close(&b);
	reap_some();
}

static bool fd_differs_from_self(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 && a.st_ino != b.st_ino;
}

/* A user namespace that maps 0..65535 to USERNS_BASE..: a child makes it
 * and waits; its fd stays open here. Returns the child. */
static pid_t userns_make(int *fd)
{
	int pipe_fds[2];
	char path[64], map[64], c;
	pid_t pid;

	if (pipe(pipe_fds) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pipe_fds[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		read(pipe_fds[0], &c, 1);
		_exit(0);
	}
	close(pipe_fds[0]);
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd >= 0 && fd_differs_from_self(*fd))
			break;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		usleep(10000);
	}
	snprintf(map, sizeof(map), "0 %d 65536", USERNS_BASE);
	for (const char *const *f = (const char *const[]){ "uid_map", "gid_map", NULL }; *f; f++) {
		FILE *m;

		snprintf(path, sizeof(path), "/proc/%d/%s", pid, *f);
		m = fopen(path, "we");
		if (!m || fputs(map, m) < 0 || fclose(m) != 0)
			die(path);
	}
	if (*fd < 0)
		die("user namespace");
	/* The child keeps the namespace alive until the write end closes. */
	return pid;
}

static void test_reference_userns(void)
{
	pid_t holder;
	int fd;

	holder = userns_make(&fd);
	/* Its threads are made once their process entered the user
	 * namespace, which owns L2 (made for it) but not L1: TIDs are chosen
	 * in L2 only. */
	who = (struct identity){ .userns_fd = fd, .host_uid = USERNS_BASE, .cap_eff = "000001ffffffffff",
				 .thread_levels = 1 };
	printf("# as root of a user namespace of its own\n");
	test_reference();
	who = (struct identity){ .userns_fd = -1, .host_uid = NOBODY, .cap_eff = "0000000000000000" };
	close(fd);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

static int run_in_namespace(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("proc", "/proc", "proc", 0, NULL) < 0)
		die("mount /proc");
	test_bad_plan();
	test_reference();
	test_reference_userns();
	test_pid_taken();
	test_stopped();
	return check_summary();
}

int main(void)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The namespaces are a child's: once the new namespace's init is gone,
	 * the process that made it can fork no more, and the leak check at
	 * its exit needs a task of its own. */
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pid_t init;

		if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
			die("unshare");
		init = fork();
		if (init < 0)
			die("fork");
		if (init == 0)
			_exit(run_in_namespace());
		if (waitpid(init, &status, 0) < 0)
			die("waitpid");
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 99);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}
