/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives the built pidrestore-holder directly, playing the daemon's part:
 * queue a setup on a socketpair, start the holder with its fds where
 * holder-proto.h puts them, then check what the kernel says about it and how
 * it answers commands. Needs root; exits 77 (skip) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "holder-proto.h"

#ifndef HOLDER_BUILD_PATH
#error "HOLDER_BUILD_PATH must name the built pidrestore-holder"
#endif

#define REPORT_TIMEOUT_MS 5000
#define MAX_FDS_PER_MESSAGE 253 /* the kernel's SCM_MAX_FD */
#define BIT(cap) ((uint64_t)1 << (cap))

static int failures;

/* One line per check; program output quoted in the detail keeps to it. */
static void check(int ok, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("%s - ", ok ? "ok  " : "FAIL");
	for (const char *p = text; *p; p++)
		if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static void die(const char *what)
{
	fprintf(stderr, "test-holder: %s: %s\n", what, strerror(errno));
	exit(99);
}

/* ------------------------------------------------------------------ /proc */

/* The value of one "Name:\tvalue" line of /proc/PID/status, or "" if absent.
 * Valid until the next call. Lines can be long (Groups). */
static const char *status_field(pid_t pid, const char *name)
{
	static char *line;
	static size_t cap;
	char path[64];
	size_t name_len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return "";
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, name, name_len) || line[name_len] != ':')
			continue;
		char *v = line + name_len + 1;
		v += strspn(v, " \t");
		/* Groups ends with a space; compare without it. */
		size_t n = strcspn(v, "\n");
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		v[n] = '\0';
		fclose(f);
		return v;
	}
	fclose(f);
	return "";
}

static int fd_count(pid_t pid)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static int proc_link_equal(pid_t a, const char *what_a, pid_t b, const char *what_b)
{
	char pa[64], pb[64], la[256] = "", lb[256] = "";

	snprintf(pa, sizeof(pa), "/proc/%d/%s", (int)a, what_a);
	snprintf(pb, sizeof(pb), "/proc/%d/%s", (int)b, what_b);
	if (readlink(pa, la, sizeof(la) - 1) < 0 || readlink(pb, lb, sizeof(lb) - 1) < 0)
		return 0;
	return strcmp(la, lb) == 0;
}

static const char *proc_link(pid_t pid, const char *what)
{
	static char target[256];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	return target;
}

static long smaps_pss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int limits_line_has(pid_t pid, const char *name, const char *soft, const char *hard)
{
	char path[64], line[256], s[32], h[32];
	size_t name_len = strlen(name);
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, name_len) &&
		    sscanf(line + name_len, "%31s %31s", s, h) == 2) {
			found = !strcmp(s, soft) && !strcmp(h, hard);
			break;
		}
	fclose(f);
	return found;
}

static pid_t session_of(pid_t pid)
{
	char path[64], buf[512];
	int sid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		/* Fields after "(comm)": state ppid pgrp session. */
		char *p = strrchr(buf, ')');
		if (p)
			sscanf(p + 1, " %*c %*d %*d %d", &sid);
	}
	fclose(f);
	return sid;
}

static int alive(pid_t pid)
{
	return kill(pid, 0) == 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

static char *hex64(uint64_t v)
{
	static char buf[4][17];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, 17, "%016llx", (unsigned long long)v);
	return b;
}

/* ------------------------------------------------------------------ holders */

struct holder {
	pid_t pid;
	int sock; /* the daemon's end */
};

struct holder_spec {
	struct holder_setup setup;
	const uint32_t *groups;
	int root_fd;                  /* -1: "/" */
	int ns_fds[HOLDER_NS_COUNT];  /* used where setup.ns_mask says */
	const void *tail;             /* what follows the groups (seccomp filters) */
	size_t tail_len;
	size_t drop_bytes;            /* sent short by this much */
	int sndbuf;                   /* >0: room for packets this big */
};

static void spec_init(struct holder_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->setup.magic = HOLDER_PROTO_MAGIC;
	spec->setup.cap_last = CAP_LAST_CAP;
	spec->setup.cap_bnd = ~(uint64_t)0 >> (63 - CAP_LAST_CAP);
	spec->setup.umask = 022;
	spec->root_fd = -1;
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		spec->ns_fds[i] = -1;
}

/* In the forked child: put every fd where holder-proto.h says, close the
 * rest, exec the holder. Sources may sit at each other's targets, so all are
 * lifted above the range first. */
static void __attribute__((noreturn)) child_exec_holder(int control, int root,
							 const int ns_fds[HOLDER_NS_COUNT])
{
	int src[2 + HOLDER_NS_COUNT], dst[2 + HOLDER_NS_COUNT], n = 0;
	char *argv[] = { "pidrestore-holder", NULL };
	char *envp[] = { NULL };

	src[n] = control, dst[n++] = HOLDER_FD_CONTROL;
	src[n] = root, dst[n++] = HOLDER_FD_ROOT;
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (ns_fds[i] >= 0)
			src[n] = ns_fds[i], dst[n++] = HOLDER_FD_NS(i);
	for (int i = 0; i < n; i++)
		if ((src[i] = fcntl(src[i], F_DUPFD, 100)) < 0)
			_exit(125);
	for (int i = 0; i < n; i++)
		if (dup2(src[i], dst[i]) < 0)
			_exit(125);
	for (int fd = 0; fd < 100; fd++) {
		int keep = 0;
		for (int i = 0; i < n; i++)
			keep |= dst[i] == fd;
		if (!keep)
			close(fd);
	}
	close_range(100, ~0U, 0);
	execve(HOLDER_BUILD_PATH, argv, envp);
	_exit(126);
}

static int holder_start(const struct holder_spec *spec, struct holder *h)
{
	size_t groups_len = spec->setup.n_groups * sizeof(uint32_t);
	size_t len = sizeof(spec->setup) + groups_len + spec->tail_len;
	char *packet = malloc(len);
	size_t send_len = len - spec->drop_bytes;
	int sv[2], root = spec->root_fd;
	pid_t pid;

	if (!packet)
		die("malloc");
	memcpy(packet, &spec->setup, sizeof(spec->setup));
	if (spec->setup.n_groups)
		memcpy(packet + sizeof(spec->setup), spec->groups,
		       spec->setup.n_groups * sizeof(uint32_t));
	if (spec->tail_len)
		memcpy(packet + sizeof(spec->setup) + groups_len, spec->tail, spec->tail_len);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	if (spec->sndbuf > 0 &&
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &spec->sndbuf, sizeof(spec->sndbuf)) < 0)
		die("SO_SNDBUFFORCE");
	if (send(sv[0], packet, send_len, 0) != (ssize_t)send_len)
		die("send setup");
	free(packet);
	if (root < 0 && (root = open("/", O_PATH | O_CLOEXEC)) < 0)
		die("open /");

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child_exec_holder(sv[1], root, spec->ns_fds);
	close(sv[1]);
	if (root != spec->root_fd)
		close(root);
	h->pid = pid;
	h->sock = sv[0];
	return 0;
}

/* 1: a report arrived; 0: end of stream; -1: timeout or error. */
static int report_wait(struct holder *h, struct holder_report *rep, int timeout_ms)
{
	struct pollfd p = { .fd = h->sock, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(h->sock, rep, sizeof(*rep), 0);
	if (n == 0)
		return 0;
	return n == sizeof(*rep) ? 1 : -1;
}

static void holder_stop(struct holder *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

/* Waits up to timeout_ms for pid to exit; returns its wait status or -1. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

struct exec_spec {
	uint32_t type;          /* 0: HOLDER_CMD_EXEC */
	const char *path;
	const char *const *argv;
	const char *const *envp;
	int program_fd;         /* -1: none */
	int cwd_fd;             /* -1: none */
	unsigned int n_fds;
	const int *fds;
	const int32_t *targets;
	int extra_fd;           /* -1: none; sent beyond what the header says */
};

static void exec_spec_init(struct exec_spec *e, const char *path, const char *const *argv)
{
	static const char *const no_env[] = { NULL };

	memset(e, 0, sizeof(*e));
	e->path = path;
	e->argv = argv;
	e->envp = no_env;
	e->program_fd = e->cwd_fd = e->extra_fd = -1;
}

static size_t strings_size(const char *const *v, uint32_t *count)
{
	size_t n = 0;

	*count = 0;
	for (; v && *v; v++, (*count)++)
		n += strlen(*v) + 1;
	return n;
}

static void exec_send(struct holder *h, const struct exec_spec *e)
{
	struct holder_exec cmd = { .type = e->type ? e->type : HOLDER_CMD_EXEC };
	size_t argv_len = strings_size(e->argv, &cmd.argc);
	size_t envp_len = strings_size(e->envp, &cmd.envc);
	int fds[MAX_FDS_PER_MESSAGE], n = 0;
	size_t len;
	char *packet, *p;

	cmd.n_fds = e->n_fds;
	cmd.path_len = (uint32_t)strlen(e->path);
	cmd.strings_len = (uint32_t)(argv_len + envp_len);
	if (e->program_fd >= 0) {
		cmd.flags |= HOLDER_EXEC_PROGRAM_FD;
		fds[n++] = e->program_fd;
	}
	if (e->cwd_fd >= 0) {
		cmd.flags |= HOLDER_EXEC_CWD_FD;
		fds[n++] = e->cwd_fd;
	}
	for (unsigned int i = 0; i < e->n_fds; i++)
		fds[n++] = e->fds[i];
	if (e->extra_fd >= 0)
		fds[n++] = e->extra_fd;

	len = sizeof(cmd) + e->n_fds * sizeof(int32_t) + cmd.path_len + cmd.strings_len;
	p = packet = malloc(len);
	if (!packet)
		die("malloc");
	memcpy(p, &cmd, sizeof(cmd)), p += sizeof(cmd);
	/* targets is NULL without fds, and memcpy may not be given NULL. */
	if (e->n_fds > 0)
		memcpy(p, e->targets, e->n_fds * sizeof(int32_t)), p += e->n_fds * sizeof(int32_t);
	memcpy(p, e->path, cmd.path_len), p += cmd.path_len;
	for (const char *const *v = e->argv; v && *v; v++)
		p = stpcpy(p, *v) + 1;
	for (const char *const *v = e->envp; v && *v; v++)
		p = stpcpy(p, *v) + 1;

	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(fds))];
	} control;
	struct iovec iov = { .iov_base = packet, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(h->sock, &msg, 0) != (ssize_t)len)
		die("sendmsg exec");
	free(packet);
}

static int report_is(const struct holder_report *rep, uint32_t type, uint32_t step, int error)
{
	return rep->type == type && rep->step == step && rep->error == error;
}

/* Sends a command that must fail and checks the answer and that the holder
 * parks again with only its control socket. */
static void expect_exec_failure(struct holder *h, const struct exec_spec *e, uint32_t step,
				int error, const char *what)
{
	struct holder_report rep = { 0 };
	int r;

	exec_send(h, e);
	r = report_wait(h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_EXEC_FAILED, step, error),
	      "%s: EXEC_FAILED step %u errno %d (got %d: type %u step %u errno %d)", what,
	      step, error, r, rep.type, rep.step, rep.error);
	check(alive(h->pid) && fd_count(h->pid) == 1,
	      "%s: holder still parked with only its control socket (fds %d)", what,
	      fd_count(h->pid));
}

static char *read_all(int fd)
{
	static char buf[4096];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ namespace helpers */

struct ns_helper {
	pid_t pid;
	int release; /* closing it lets the helper exit */
};

/* A child that unshares flags and waits; for a user namespace the parent
 * writes its maps, as root may. */
static void ns_helper_start(struct ns_helper *nh, int flags, const char *map)
{
	int ready[2], release[2];
	char c;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(release, O_CLOEXEC) < 0)
		die("pipe");
	nh->pid = fork();
	if (nh->pid < 0)
		die("fork");
	if (nh->pid == 0) {
		if (unshare(flags) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		close(release[1]);
		while (read(release[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	if (read(ready[0], &c, 1) != 1)
		die("namespace helper");
	close(ready[0]);
	nh->release = release[1];

	if (map) {
		const char *files[] = { "uid_map", "gid_map" };
		for (int i = 0; i < 2; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)nh->pid, files[i]);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
				die(path);
			close(fd);
		}
	}
}

static int ns_helper_open(const struct ns_helper *nh, const char *ns)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)nh->pid, ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	return fd;
}

static void ns_helper_stop(struct ns_helper *nh)
{
	close(nh->release);
	waitpid(nh->pid, NULL, 0);
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		die(path);
	return fd;
}

/* ------------------------------------------------------------------ cases */

static char scratch_dir[] = "/tmp/test-holder-XXXXXX";

/* The main holder: identity, limits, namespaces, then failing commands, then
 * a real exec with an fd map whose received fds collide with its targets. */
static void test_identity_and_exec(void)
{
	static const uint32_t groups[] = { 1001 };
	const uint64_t bnd = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	struct ns_helper nh;
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r;

	ns_helper_start(&nh, CLONE_NEWUTS | CLONE_NEWNET, NULL);

	spec_init(&spec);
	spec.setup.uid = 1000;
	spec.setup.gid = 1000;
	spec.setup.n_groups = 1;
	spec.groups = groups;
	spec.setup.cap_bnd = bnd;
	spec.setup.umask = 027;
	spec.setup.flags = HOLDER_SETUP_NO_NEW_PRIVS | HOLDER_SETUP_SET_OOM_SCORE_ADJ;
	spec.setup.oom_score_adj = 345;
	spec.setup.rlimit_mask = 1u << RLIMIT_NOFILE;
	spec.setup.rlimits[RLIMIT_NOFILE].cur = 512;
	spec.setup.rlimits[RLIMIT_NOFILE].max = 1024;
	spec.setup.ns_mask = 1u << HOLDER_NS_MNT | 1u << HOLDER_NS_NET | 1u << HOLDER_NS_IPC |
			     1u << HOLDER_NS_UTS | 1u << HOLDER_NS_CGROUP | 1u << HOLDER_NS_TIME;
	spec.ns_fds[HOLDER_NS_MNT] = open_or_die("/proc/self/ns/mnt", O_RDONLY);
	spec.ns_fds[HOLDER_NS_NET] = ns_helper_open(&nh, "net");
	spec.ns_fds[HOLDER_NS_IPC] = open_or_die("/proc/self/ns/ipc", O_RDONLY);
	spec.ns_fds[HOLDER_NS_UTS] = ns_helper_open(&nh, "uts");
	spec.ns_fds[HOLDER_NS_CGROUP] = open_or_die("/proc/self/ns/cgroup", O_RDONLY);
	spec.ns_fds[HOLDER_NS_TIME] = open_or_die("/proc/self/ns/time", O_RDONLY);

	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY,
	      "setup: READY (got %d: type %u step %u errno %d)", r, rep.type, rep.step, rep.error);
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (spec.ns_fds[i] >= 0)
			close(spec.ns_fds[i]);
	if (r != 1 || rep.type != HOLDER_REPORT_READY) {
		holder_stop(&h);
		ns_helper_stop(&nh);
		return;
	}

	pid_t pid = h.pid;
	struct stat st;
	check(!strcmp(status_field(pid, "Uid"), "1000\t1000\t1000\t1000"), "Uid 1000 (%s)",
	      status_field(pid, "Uid"));
	check(!strcmp(status_field(pid, "Gid"), "1000\t1000\t1000\t1000"), "Gid 1000 (%s)",
	      status_field(pid, "Gid"));
	check(!strcmp(status_field(pid, "Groups"), "1001"), "Groups 1001 (%s)",
	      status_field(pid, "Groups"));
	check(!strcmp(status_field(pid, "CapEff"), hex64(0)), "CapEff 0 (%s)",
	      status_field(pid, "CapEff"));
	check(!strcmp(status_field(pid, "CapPrm"), hex64(0)), "CapPrm 0 (%s)",
	      status_field(pid, "CapPrm"));
	check(!strcmp(status_field(pid, "CapInh"), hex64(0)), "CapInh 0 (%s)",
	      status_field(pid, "CapInh"));
	check(!strcmp(status_field(pid, "CapBnd"), hex64(bnd)), "CapBnd %s (%s)", hex64(bnd),
	      status_field(pid, "CapBnd"));
	check(!strcmp(status_field(pid, "NoNewPrivs"), "1"), "NoNewPrivs 1 (%s)",
	      status_field(pid, "NoNewPrivs"));
	check(!strcmp(status_field(pid, "Umask"), "0027"), "Umask 0027 (%s)",
	      status_field(pid, "Umask"));
	check(!strcmp(status_field(pid, "SigIgn"), hex64(0)),
	      "no ignored signals though the starter ignored SIGPIPE (SigIgn %s)",
	      status_field(pid, "SigIgn"));
	check(!strcmp(status_field(pid, "SigBlk"), "fffffffffffbfeff"),
	      "every signal but SIGKILL/SIGSTOP blocked while parked (SigBlk %s)",
	      status_field(pid, "SigBlk"));
	/* The files of a non-dumpable process belong to root (all but the
	 * /proc/PID directory itself, which keeps showing the euid). */
	{
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		int ok = stat(path, &st) == 0 && st.st_uid == 0;
		check(ok, "non-dumpable: /proc/PID/environ owned by uid %d, not 1000",
		      (int)st.st_uid);
	}
	check(limits_line_has(pid, "Max open files", "512", "1024"), "RLIMIT_NOFILE 512/1024");
	check(session_of(pid) == pid, "session leader (sid %d)", (int)session_of(pid));
	{
		char path[64], buf[16] = "";
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) < 0)
				buf[0] = '\0';
			close(fd);
		}
		check(!strcmp(buf, "345\n"), "oom_score_adj 345 (%.*s)", (int)strcspn(buf, "\n"),
		      buf);
	}
	check(proc_link_equal(pid, "ns/uts", nh.pid, "ns/uts") &&
		      proc_link_equal(pid, "ns/net", nh.pid, "ns/net"),
	      "joined the given uts and net namespaces");
	check(proc_link_equal(pid, "ns/mnt", getpid(), "ns/mnt"), "joined the given mnt namespace");
	check(fd_count(pid) == 1, "only the control socket open while parked (fds %d)",
	      fd_count(pid));
	check(!strcmp(proc_link(pid, "cwd"), "/"), "cwd / (%s)", proc_link(pid, "cwd"));
	long pss = smaps_pss_kib(pid);
	check(pss > 0 && pss < 128, "parked Pss %ld KiB < 128 KiB", pss);

	/* Failing commands: each answered, each leaving the holder parked. */
	static const char *const argv_x[] = { "x", NULL };
	struct exec_spec e;
	char noexec[64];
	int pipe_fd[2];

	exec_spec_init(&e, "/nonexistent/program", argv_x);
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC, ENOENT, "missing path");

	snprintf(noexec, sizeof(noexec), "%s/data", scratch_dir);
	int fd = open(noexec, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10)
		die(noexec);
	close(fd);
	exec_spec_init(&e, noexec, argv_x);
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC, EACCES, "non-executable file");

	/* execvp order: EACCES found on the way wins over a later ENOENT. */
	static const char *const env_path[] = { "PATH=/nonexistent:/tmp/none", NULL };
	char path_env[128];
	const char *env_eacces[] = { path_env, NULL };
	snprintf(path_env, sizeof(path_env), "PATH=/nonexistent:%s:/nonexistent2", scratch_dir);
	exec_spec_init(&e, "data", argv_x);
	e.envp = env_eacces;
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC, EACCES, "PATH search finds only a non-executable");
	exec_spec_init(&e, "sh", argv_x);
	e.envp = env_path;
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC, ENOENT, "PATH search finds nothing");

	if (pipe2(pipe_fd, O_CLOEXEC) < 0)
		die("pipe");
	exec_spec_init(&e, "/bin/sh", argv_x);
	e.type = 99;
	e.extra_fd = pipe_fd[1];
	expect_exec_failure(&h, &e, HOLDER_STEP_PROTOCOL, EPROTO, "unknown command type (fd closed)");

	static const int32_t dup_targets[] = { 1, 1 };
	int two[] = { pipe_fd[1], pipe_fd[1] };
	exec_spec_init(&e, "/bin/sh", argv_x);
	e.n_fds = 2, e.fds = two, e.targets = dup_targets;
	expect_exec_failure(&h, &e, HOLDER_STEP_PROTOCOL, EPROTO, "duplicate targets");

	static const int32_t one_target[] = { 1 };
	exec_spec_init(&e, "/bin/sh", argv_x);
	e.n_fds = 1, e.fds = two, e.targets = one_target;
	e.extra_fd = pipe_fd[1];
	expect_exec_failure(&h, &e, HOLDER_STEP_PROTOCOL, EPROTO, "more fds than the header says");

	static const int32_t huge_target[] = { 1 << 30 };
	exec_spec_init(&e, "/bin/sh", argv_x);
	e.n_fds = 1, e.fds = two, e.targets = huge_target;
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC_FDS, EINVAL, "target beyond RLIMIT_NOFILE");
	close(pipe_fd[0]);
	close(pipe_fd[1]);

	/* The real exec. The holder receives the fds at 0, 1, 2 (its lowest
	 * free numbers): the first goes to 1 and the second sits at 1, so a
	 * naive dup2 order would lose it. */
	int out[2], side[2], in[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(side, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
		die("pipe");
	if (write(in[1], "hello\n", 6) != 6)
		die("write");
	close(in[1]);
	/* fd 1 carries the shell's own fd list; ls runs in a child so that it
	 * lists the shell's fds, not its own. */
	static const char *const argv_sh[] = {
		"sh", "-c", "read line; echo \"in=$line umask=$(umask)\" >&5; ls /proc/$$/fd; true",
		NULL
	};
	static const char *const env_sh[] = { "PATH=/usr/bin:/bin", NULL };
	static const int32_t targets[] = { 1, 5, 0 };
	int map[] = { side[1], out[1], in[0] };
	exec_spec_init(&e, "/bin/sh", argv_sh);
	e.envp = env_sh;
	e.n_fds = 3, e.fds = map, e.targets = targets;
	exec_send(&h, &e);
	close(out[1]);
	close(side[1]);
	close(in[0]);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 0, "exec /bin/sh: control socket reached end of stream (got %d: type %u errno %d)",
	      r, rep.type, rep.error);
	const char *text = read_all(out[0]);
	check(!strcmp(text, "in=hello umask=0027\n"),
	      "program read the mapped stdin, wrote to mapped fd 5 (%s)", text);
	text = read_all(side[0]);
	check(!strcmp(text, "0\n1\n5\n"), "program has exactly fds 0 1 5 (%s)", text);
	int status = wait_exit(h.pid, REPORT_TIMEOUT_MS);
	check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "program exited 0 (status %d)", status);
	h.pid = 0;
	close(out[0]);
	close(side[0]);
	holder_stop(&h);
	ns_helper_stop(&nh);
}

/* Program by fd, working directory by fd, and a PATH search that succeeds. */
static void test_exec_by_fd_and_path(void)
{
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int out[2], r;

	for (int variant = 0; variant < 2; variant++) {
		spec_init(&spec);
		spec.setup.uid = spec.setup.gid = 1000;
		holder_start(&spec, &h);
		r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
		if (r != 1 || rep.type != HOLDER_REPORT_READY) {
			check(0, "setup for exec variant %d: READY", variant);
			holder_stop(&h);
			continue;
		}

		static const char *const argv_sh[] = { "sh", "-c", "pwd; echo $0", NULL };
		static const char *const env_path[] = { "PATH=/nonexistent:/usr/bin", NULL };
		static const int32_t targets[] = { 1 };
		struct exec_spec e;
		int program = -1, cwd = -1;

		if (pipe2(out, O_CLOEXEC) < 0)
			die("pipe");
		if (variant == 0) {
			program = open_or_die("/bin/sh", O_RDONLY);
			cwd = open_or_die(scratch_dir, O_RDONLY | O_DIRECTORY);
			exec_spec_init(&e, "", argv_sh);
			e.program_fd = program;
			e.cwd_fd = cwd;
		} else {
			exec_spec_init(&e, "sh", argv_sh);
			e.envp = env_path;
			/* Meant for the placeholder: must not reach the program. */
			kill(h.pid, SIGTERM);
		}
		e.n_fds = 1, e.fds = &out[1], e.targets = targets;
		exec_send(&h, &e);
		close(out[1]);
		if (program >= 0)
			close(program);
		if (cwd >= 0)
			close(cwd);
		r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
		const char *text = read_all(out[0]);
		char want[128];
		snprintf(want, sizeof(want), "%s\nsh\n", variant == 0 ? scratch_dir : "/");
		check(r == 0 && !strcmp(text, want), "%s: ran (got %d, output %s)",
		      variant == 0 ? "exec by program fd with a cwd fd"
				   : "PATH search, with a SIGTERM left pending while parked",
		      r, text);
		close(out[0]);
		int status = wait_exit(h.pid, REPORT_TIMEOUT_MS);
		check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: program exited 0 (status %d)", variant == 0 ? "program fd" : "PATH search",
		      status);
		h.pid = 0;
		holder_stop(&h);
	}
}

/* The biggest setup (HOLDER_MAX_GROUPS groups) and a ~256 KiB command:
 * both handled, and the holder is back to a few pages afterwards. */
static void test_large_packets(void)
{
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	uint32_t *groups = calloc(HOLDER_MAX_GROUPS, sizeof(uint32_t));
	int r, size = 1 << 20;

	if (!groups)
		die("calloc");
	for (uint32_t i = 0; i < HOLDER_MAX_GROUPS; i++)
		groups[i] = 200000 + i;
	spec_init(&spec);
	spec.setup.uid = spec.setup.gid = 1000;
	spec.setup.n_groups = HOLDER_MAX_GROUPS;
	spec.groups = groups;
	spec.sndbuf = size;
	holder_start(&spec, &h);
	free(groups);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY,
	      "%d supplementary groups: READY (got %d: type %u step %u errno %d)",
	      HOLDER_MAX_GROUPS, r, rep.type, rep.step, rep.error);
	const char *g = status_field(h.pid, "Groups");
	check(!strncmp(g, "200000 200001 ", 14) && strstr(g, " 265535"),
	      "all %d groups set", HOLDER_MAX_GROUPS);

	size_t big_len = 250 * 1024;
	char *big = malloc(big_len + 8);
	if (!big)
		die("malloc");
	memcpy(big, "BIG=", 4);
	memset(big + 4, 'x', big_len - 4);
	big[big_len] = '\0';
	const char *env_big[] = { big, "PATH=/bin", NULL };
	static const char *const argv_x[] = { "x", NULL };
	struct exec_spec e;
	exec_spec_init(&e, "/nonexistent/program", argv_x);
	e.envp = env_big;
	expect_exec_failure(&h, &e, HOLDER_STEP_EXEC, ENOENT, "250 KiB command");
	free(big);
	long pss = smaps_pss_kib(h.pid);
	check(pss > 0 && pss < 128, "Pss back to %ld KiB after the big packets", pss);
	holder_stop(&h);
}

static void test_daemon_gone(void)
{
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r, status;

	spec_init(&spec);
	spec.setup.uid = spec.setup.gid = 1000;
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY, "second holder: READY");
	kill(h.pid, SIGTERM);
	kill(h.pid, SIGINT);
	kill(h.pid, SIGHUP);
	usleep(50000);
	check(alive(h.pid), "parked holder survives SIGTERM, SIGINT, SIGHUP (blocked)");
	close(h.sock);
	h.sock = -1;
	status = wait_exit(h.pid, 1000);
	check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "daemon end closed: parked holder exits 0 within a second (status %d)", status);
	if (status >= 0)
		h.pid = 0;
	holder_stop(&h);
}

static void test_bad_setup(void)
{
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r, status;

	spec_init(&spec);
	spec.setup.magic = HOLDER_PROTO_MAGIC ^ 0xff;
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_SETUP_FAILED, HOLDER_STEP_PROTOCOL, EPROTO),
	      "bad magic: SETUP_FAILED step PROTOCOL EPROTO (got %d: type %u step %u errno %d)",
	      r, rep.type, rep.step, rep.error);
	status = wait_exit(h.pid, REPORT_TIMEOUT_MS);
	check(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127,
	      "bad magic: holder exits 127 (status %d)", status);
	if (status >= 0)
		h.pid = 0;
	holder_stop(&h);

	/* A packet shorter than its group count says. */
	static const uint32_t short_groups[] = { 5, 6 };
	spec_init(&spec);
	spec.setup.n_groups = 2;
	spec.groups = short_groups;
	spec.drop_bytes = sizeof(uint32_t);
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_SETUP_FAILED, HOLDER_STEP_PROTOCOL, EPROTO),
	      "group count beyond the packet: SETUP_FAILED step PROTOCOL EPROTO");
	holder_stop(&h);

	static const uint32_t groups[] = { 5, 6 };
	spec_init(&spec);
	spec.setup.n_groups = 2;
	spec.groups = groups;
	spec.setup.cap_last = 64; /* no kernel has a capability 64 */
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_SETUP_FAILED, HOLDER_STEP_PROTOCOL, EPROTO),
	      "cap_last out of range: SETUP_FAILED step PROTOCOL EPROTO");
	holder_stop(&h);

	spec_init(&spec);
	spec.setup.uid = spec.setup.gid = 1000;
	spec.setup.ns_mask = 1u << HOLDER_NS_NET;
	spec.ns_fds[HOLDER_NS_NET] = open_or_die("/proc/self/ns/uts", O_RDONLY);
	holder_start(&spec, &h);
	close(spec.ns_fds[HOLDER_NS_NET]);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_SETUP_FAILED, HOLDER_STEP_SETNS_NET, EINVAL),
	      "a uts fd in the net slot: SETUP_FAILED step SETNS_NET EINVAL (got type %u step %u errno %d)",
	      rep.type, rep.step, rep.error);
	holder_stop(&h);
}

/* One filter as a setup carries it: unshare() fails with EPERM. */
struct one_filter {
	struct holder_filter head;
	struct sock_filter insns[4];
};

static void one_filter_init(struct one_filter *f)
{
	struct sock_filter insns[4] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	f->head = (struct holder_filter){ .n_insns = 4 };
	memcpy(f->insns, insns, sizeof(insns));
}

/* A setup whose filters the holder must refuse: SETUP_FAILED with step and
 * error. */
static void filters_refused(const struct one_filter *filters, size_t len, uint32_t n, uint32_t step, int err,
			    const char *what)
{
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r;

	spec_init(&spec);
	spec.setup.uid = spec.setup.gid = 1000;
	spec.setup.n_filters = n;
	spec.tail = filters;
	spec.tail_len = len;
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && report_is(&rep, HOLDER_REPORT_SETUP_FAILED, step, err),
	      "%s: SETUP_FAILED step %u errno %d (got %d: type %u step %u errno %d)", what, step, err, r, rep.type,
	      rep.step, rep.error);
	holder_stop(&h);
}

/* The requester's seccomp filters, installed last: by a holder that drops
 * to uid 1000 without no_new_privs (it keeps CAP_SYS_ADMIN just for that),
 * which ends with exactly the capabilities the setup says. */
static void test_seccomp_filters(void)
{
	struct one_filter filters[2];
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r;

	one_filter_init(&filters[0]);
	one_filter_init(&filters[1]);
	spec_init(&spec);
	spec.setup.uid = spec.setup.gid = 1000;
	spec.setup.n_filters = 2;
	spec.tail = filters;
	spec.tail_len = sizeof(filters);
	holder_start(&spec, &h);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY, "two filters, no no_new_privs: READY (got %d: type %u step %u errno %d)",
	      r, rep.type, rep.step, rep.error);
	if (r == 1 && rep.type == HOLDER_REPORT_READY) {
		check(!strcmp(status_field(h.pid, "Seccomp"), "2"), "filters: Seccomp 2 (%s)", status_field(h.pid, "Seccomp"));
		check(!strcmp(status_field(h.pid, "Seccomp_filters"), "2"), "filters: Seccomp_filters 2 (%s)",
		      status_field(h.pid, "Seccomp_filters"));
		check(!strcmp(status_field(h.pid, "NoNewPrivs"), "0"), "filters: NoNewPrivs 0 (%s)",
		      status_field(h.pid, "NoNewPrivs"));
		check(!strcmp(status_field(h.pid, "CapEff"), hex64(0)) && !strcmp(status_field(h.pid, "CapPrm"), hex64(0)),
		      "filters: CAP_SYS_ADMIN is gone again (CapEff %s CapPrm %s)", status_field(h.pid, "CapEff"),
		      status_field(h.pid, "CapPrm"));
	}
	holder_stop(&h);

	filters_refused(filters, sizeof(filters) - 8, 2, HOLDER_STEP_PROTOCOL, EPROTO, "a filter cut short");
	filters_refused(filters, sizeof(filters), 1, HOLDER_STEP_PROTOCOL, EPROTO, "more bytes than filters");
	filters[1].head.n_insns = 0;
	filters_refused(filters, sizeof(filters), 2, HOLDER_STEP_PROTOCOL, EPROTO, "a filter of no instruction");
	one_filter_init(&filters[1]);
	filters[1].head.flags = 1; /* SECCOMP_FILTER_FLAG_TSYNC: not the requester's to pass on */
	filters_refused(filters, sizeof(filters), 2, HOLDER_STEP_PROTOCOL, EPROTO, "a filter flag other than LOG");
	one_filter_init(&filters[1]);
	filters[1].insns[3] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096);
	filters_refused(filters, sizeof(filters), 2, HOLDER_STEP_SECCOMP, EINVAL, "a filter the kernel refuses");
}

/* Joining a user namespace: ids are the namespace's, capabilities are what
 * the setup says, and the bounding set still holds inside it. */
static void test_user_namespace(void)
{
	const uint64_t caps = BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_ADMIN);
	const uint64_t bnd = caps | BIT(CAP_SETUID) | BIT(CAP_SETGID);
	static const uint32_t groups[] = { 100005 };
	struct ns_helper nh;
	struct holder_spec spec;
	struct holder h;
	struct holder_report rep = { 0 };
	int r;

	ns_helper_start(&nh, CLONE_NEWUSER, "0 100000 65536\n");

	spec_init(&spec);
	spec.setup.uid = 0;
	spec.setup.gid = 0;
	spec.setup.n_groups = 1;
	spec.groups = groups;
	spec.setup.cap_bnd = bnd;
	spec.setup.cap_prm = caps;
	spec.setup.cap_eff = caps;
	spec.setup.cap_inh = BIT(CAP_NET_ADMIN);
	spec.setup.cap_amb = BIT(CAP_NET_ADMIN);
	spec.setup.flags = HOLDER_SETUP_CHROOT;
	spec.root_fd = open_or_die(scratch_dir, O_PATH | O_DIRECTORY);
	spec.setup.ns_mask = 1u << HOLDER_NS_USER;
	spec.ns_fds[HOLDER_NS_USER] = ns_helper_open(&nh, "user");

	holder_start(&spec, &h);
	close(spec.ns_fds[HOLDER_NS_USER]);
	close(spec.root_fd);
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY,
	      "user namespace: READY (got %d: type %u step %u errno %d)", r, rep.type, rep.step,
	      rep.error);
	if (r == 1 && rep.type == HOLDER_REPORT_READY) {
		pid_t pid = h.pid;
		check(!strcmp(status_field(pid, "Uid"), "100000\t100000\t100000\t100000"),
		      "user namespace: Uid 100000 seen from outside (%s)", status_field(pid, "Uid"));
		check(!strcmp(status_field(pid, "Gid"), "100000\t100000\t100000\t100000"),
		      "user namespace: Gid 100000 (%s)", status_field(pid, "Gid"));
		check(!strcmp(status_field(pid, "Groups"), "100005"),
		      "user namespace: Groups 100005 (%s)", status_field(pid, "Groups"));
		check(!strcmp(status_field(pid, "CapEff"), hex64(caps)), "user namespace: CapEff %s (%s)",
		      hex64(caps), status_field(pid, "CapEff"));
		check(!strcmp(status_field(pid, "CapPrm"), hex64(caps)), "user namespace: CapPrm %s (%s)",
		      hex64(caps), status_field(pid, "CapPrm"));
		check(!strcmp(status_field(pid, "CapAmb"), hex64(BIT(CAP_NET_ADMIN))),
		      "user namespace: CapAmb %s (%s)", hex64(BIT(CAP_NET_ADMIN)),
		      status_field(pid, "CapAmb"));
		check(!strcmp(status_field(pid, "CapBnd"), hex64(bnd)),
		      "user namespace: CapBnd %s survives joining (%s)", hex64(bnd),
		      status_field(pid, "CapBnd"));
		check(proc_link_equal(pid, "ns/user", nh.pid, "ns/user"),
		      "user namespace: joined the helper's");
		check(!strcmp(proc_link(pid, "root"), scratch_dir), "chroot: root is %s (%s)",
		      scratch_dir, proc_link(pid, "root"));
	}
	holder_stop(&h);
	ns_helper_stop(&nh);
}

/* ------------------------------------------------------------------ spawner */

struct spawner {
	pid_t pid;
	int sock;
};

static void spawner_start(struct spawner *sp)
{
	const struct spawner_hello hello = { .magic = SPAWNER_PROTO_MAGIC };
	int no_ns[HOLDER_NS_COUNT], sv[2], pidns;

	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		no_ns[i] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	if (send(sv[0], &hello, sizeof(hello), 0) != sizeof(hello))
		die("send hello");
	pidns = open_or_die("/proc/self/ns/pid", O_RDONLY);
	sp->pid = fork();
	if (sp->pid < 0)
		die("fork");
	/* Its pid namespace sits where a holder's root would. */
	if (sp->pid == 0)
		child_exec_holder(sv[1], pidns, no_ns);
	close(sv[1]);
	close(pidns);
	sp->sock = sv[0];
}

/* One request; the reply's result, and its fd (or -1) in *fd. */
static int64_t spawner_ask(struct spawner *sp, const struct spawner_request *req, const int *fds, size_t n_fds,
			   int *fd)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control = { 0 };
	struct spawner_reply reply = { .result = -EIO };
	struct iovec iov = { .iov_base = (void *)req, .iov_len = sizeof(*req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd p = { .fd = sp->sock, .events = POLLIN };
	struct cmsghdr *c;

	if (n_fds) {
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	if (sendmsg(sp->sock, &msg, 0) < 0)
		die("send request");
	*fd = -1;
	if (poll(&p, 1, REPORT_TIMEOUT_MS) != 1)
		return -ETIMEDOUT;
	iov = (struct iovec){ .iov_base = &reply, .iov_len = sizeof(reply) };
	msg = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			       .msg_controllen = sizeof(control.buf) };
	if (recvmsg(sp->sock, &msg, MSG_CMSG_CLOEXEC) != sizeof(reply))
		return -EIO;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return reply.result;
}

static uint64_t inode_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* The inode of what an nsfs ioctl gives of ns, or 0. */
static uint64_t ns_ioctl_inode(int ns, unsigned long request)
{
	int fd = ioctl(ns, request, 0);
	uint64_t ino;

	if (fd < 0)
		return 0;
	ino = inode_of(fd);
	close(fd);
	return ino;
}

#define TEST_NS_GET_USERNS _IO(0xb7, 0x1)
#define TEST_NS_GET_PARENT _IO(0xb7, 0x2)
#define TEST_PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE _IO(0xFF, 6)

/* The spawner's namespace helper: it makes a pid namespace owned by the
 * user namespace it is given, answers at once, carries nothing but its
 * channel, ignores every signal but SIGKILL and SIGSTOP, is the spawner's
 * child (reaped without anyone waiting) and goes at end of stream. Probes
 * are the spawner's own too. */
static void test_spawner_pidns_helper(void)
{
	struct spawner_request req = {
		.flags = SPAWNER_PIDNS_HELPER,
		.slot_mask = 1u << HOLDER_FD_CONTROL | 1u << HOLDER_FD_NS(HOLDER_NS_USER),
	};
	struct holder h = { .pid = 0, .sock = -1 };
	struct holder_report rep = { 0 };
	struct spawner sp;
	struct ns_helper nh;
	int hv[2], fds[2], userns, own_pidns, pidfd = -1, nsfd, r;
	int64_t result;
	bool started;

	ns_helper_start(&nh, CLONE_NEWUSER, "0 100000 65536\n");
	userns = ns_helper_open(&nh, "user");
	own_pidns = open_or_die("/proc/self/ns/pid", O_RDONLY);
	spawner_start(&sp);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0)
		die("socketpair");
	fds[0] = hv[1];
	fds[1] = userns;
	result = spawner_ask(&sp, &req, fds, 2, &pidfd);
	close(hv[1]);
	/* Anything else is no PID: nothing is signalled below. */
	started = result > 0 && result <= 4194304 && pidfd >= 0;
	check(started, "pidns helper: started, with a pidfd (result %lld)", (long long)result);
	h.pid = started ? (pid_t)result : 0;
	h.sock = hv[0];
	r = report_wait(&h, &rep, REPORT_TIMEOUT_MS);
	check(r == 1 && rep.type == HOLDER_REPORT_READY, "pidns helper: READY (got %d: type %u step %u errno %d)", r,
	      rep.type, rep.step, rep.error);
	nsfd = started ? ioctl(pidfd, TEST_PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0) : -1;
	check(nsfd >= 0, "pidns helper: its namespace for children can be taken (%s)", nsfd < 0 ? strerror(errno) : "ok");
	if (nsfd >= 0) {
		check(inode_of(nsfd) != inode_of(own_pidns), "pidns helper: the namespace is a new one");
		check(ns_ioctl_inode(nsfd, TEST_NS_GET_PARENT) == inode_of(own_pidns),
		      "pidns helper: below the pid namespace it was started in");
		check(ns_ioctl_inode(nsfd, TEST_NS_GET_USERNS) == inode_of(userns),
		      "pidns helper: owned by the user namespace it was given");
		close(nsfd);
	}
	if (started) {
		pid_t pid = (pid_t)result;

		check(strtol(status_field(pid, "PPid"), NULL, 10) == sp.pid, "pidns helper: the spawner's child (PPid %s)",
		      status_field(pid, "PPid"));
		check(fd_count(pid) == 1, "pidns helper: only its channel open (%d fds)", fd_count(pid));
		const uint64_t hup_term = (uint64_t)1 << (SIGHUP - 1) | (uint64_t)1 << (SIGTERM - 1);

		check((strtoull(status_field(pid, "SigBlk"), NULL, 16) & hup_term) == hup_term,
		      "pidns helper: SIGHUP and SIGTERM blocked (SigBlk %s)", status_field(pid, "SigBlk"));
		check(!strcmp(status_field(pid, "SigCgt"), "0000000000000000"), "pidns helper: no signal handler (SigCgt %s)",
		      status_field(pid, "SigCgt"));
		check(proc_link_equal(pid, "ns/user", nh.pid, "ns/user"), "pidns helper: in the given user namespace");
		check(!strcmp(proc_link(pid, "exe"), HOLDER_BUILD_PATH), "pidns helper: runs the holder program (%s)",
		      proc_link(pid, "exe"));
		kill(pid, SIGHUP);
		kill(pid, SIGTERM);
		usleep(50000);
		check(kill(pid, 0) == 0, "pidns helper: survives SIGHUP and SIGTERM");
		check(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "pidns helper: not its starter's child");
	}
	close(hv[0]);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		check(poll(&p, 1, 1000) == 1, "pidns helper: exits at end of stream");
		close(pidfd);
	}

	/* A probe exits at once and is nobody's to reap but the spawner's. */
	{
		struct spawner_request probe = { .flags = SPAWNER_PROBE };
		int fd;

		result = spawner_ask(&sp, &probe, NULL, 0, &fd);
		check(result > 0 && result <= 4194304 && fd < 0, "probe: made, no pidfd (result %lld)", (long long)result);
		check(result > 0 && result <= 4194304 && waitpid((pid_t)result, NULL, WNOHANG) < 0 && errno == ECHILD,
		      "probe: the spawner's child, not its starter's");
	}
	/* One with a PID is gone by the time it is answered: its PID is free
	 * for the clone the daemon makes next. */
	{
		struct spawner_request probe = { .flags = SPAWNER_PROBE, .n_pids = 1 };
		pid_t free_pid = 0;
		int fd;

		for (pid_t p = 30000 + getpid() % 1000; p < 32000 && !free_pid; p++)
			if (kill(p, 0) < 0 && errno == ESRCH)
				free_pid = p;
		probe.pids[0] = free_pid;
		result = spawner_ask(&sp, &probe, NULL, 0, &fd);
		check(result == free_pid && kill(free_pid, 0) < 0 && errno == ESRCH,
		      "probe with pid %d: gone when answered (result %lld)", (int)free_pid, (long long)result);
	}
	/* A helper request that names PIDs is refused. */
	{
		struct spawner_request bad = req;
		int fd;

		bad.n_pids = 1;
		bad.pids[0] = 1;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0)
			die("socketpair");
		fds[0] = hv[1];
		result = spawner_ask(&sp, &bad, fds, 2, &fd);
		check(result == -EPROTO, "pidns helper with PIDs: refused (result %lld)", (long long)result);
		if (fd >= 0)
			close(fd);
		close(hv[0]);
		close(hv[1]);
	}
	/* Without the user namespace slot the helper joins none: the
	 * namespace is the spawner's user namespace's, below the pid namespace
	 * the helper started in (a requester of the daemon's user namespace in
	 * a pid namespace that is not the daemon's). */
	{
		struct spawner_request own = { .flags = SPAWNER_PIDNS_HELPER, .slot_mask = 1u << HOLDER_FD_CONTROL };
		struct holder oh = { .pid = 0, .sock = -1 };
		int own_userns = open_or_die("/proc/self/ns/user", O_RDONLY), fd = -1;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0)
			die("socketpair");
		fds[0] = hv[1];
		result = spawner_ask(&sp, &own, fds, 1, &fd);
		close(hv[1]);
		check(result > 0 && result <= 4194304 && fd >= 0,
		      "pidns helper, no user namespace: started, with a pidfd (result %lld)", (long long)result);
		oh.pid = result > 0 && result <= 4194304 ? (pid_t)result : 0;
		oh.sock = hv[0];
		r = report_wait(&oh, &rep, REPORT_TIMEOUT_MS);
		check(r == 1 && rep.type == HOLDER_REPORT_READY, "pidns helper, no user namespace: READY (got %d: type %u step %u errno %d)",
		      r, rep.type, rep.step, rep.error);
		nsfd = fd >= 0 ? ioctl(fd, TEST_PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0) : -1;
		check(nsfd >= 0 && inode_of(nsfd) != inode_of(own_pidns) &&
		      ns_ioctl_inode(nsfd, TEST_NS_GET_PARENT) == inode_of(own_pidns) &&
		      ns_ioctl_inode(nsfd, TEST_NS_GET_USERNS) == inode_of(own_userns),
		      "pidns helper, no user namespace: a new pid namespace below its own, of its own user namespace");
		if (nsfd >= 0)
			close(nsfd);
		close(hv[0]);
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			check(poll(&p, 1, 1000) == 1, "pidns helper, no user namespace: exits at end of stream");
			close(fd);
		}
		close(own_userns);

		/* No slot but these two. */
		own.slot_mask |= 1u << HOLDER_FD_ROOT;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0)
			die("socketpair");
		fds[0] = hv[1];
		fds[1] = own_pidns;
		fd = -1;
		result = spawner_ask(&sp, &own, fds, 2, &fd);
		check(result == -EPROTO, "pidns helper with a root directory slot: refused (result %lld)", (long long)result);
		if (fd >= 0)
			close(fd);
		close(hv[0]);
		close(hv[1]);
	}

	close(sp.sock);
	check(wait_exit(sp.pid, 1000) >= 0, "spawner: exits at end of stream");
	close(userns);
	close(own_pidns);
	ns_helper_stop(&nh);
}

int main(void)
{
	char data[128];

	if (geteuid() != 0) {
		printf("SKIP: test-holder needs root\n");
		return 77;
	}
	if (access(HOLDER_BUILD_PATH, X_OK) < 0) {
		printf("SKIP: %s not built\n", HOLDER_BUILD_PATH);
		return 77;
	}
	/* A daemon may ignore SIGPIPE; the holder must not pass that on. */
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(scratch_dir) || chmod(scratch_dir, 0755) < 0)
		die("mkdtemp");

	test_identity_and_exec();
	test_exec_by_fd_and_path();
	test_large_packets();
	test_daemon_gone();
	test_bad_setup();
	test_seccomp_filters();
	test_user_namespace();
	test_spawner_pidns_helper();

	snprintf(data, sizeof(data), "%s/data", scratch_dir);
	unlink(data);
	rmdir(scratch_dir);
	printf("%s: %d failure%s\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
