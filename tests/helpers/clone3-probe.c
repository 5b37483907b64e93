/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clone3-probe: asks the kernel whether PIDs are free, the way a third party
 * would take them: clone3() with set_tid = [PID] (one level).
 *
 *   clone3-probe [--pidns /proc/N/ns/pid] PID...
 *
 * With --pidns it first joins that pid namespace for its children, so PID
 * applies there; otherwise in its own. For every PID it prints one line,
 * "PID ok" when a child got that PID (the child exits at once and is reaped)
 * or "PID ENAME" with the errno name of the failed clone3 (EEXIST: in use).
 * Needs root (CAP_SYS_ADMIN over the namespace's owner).
 *
 * Exit status: 0 when every probe ran, 1 on a local error, 2 on a usage
 * error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"

/* Returns the child's PID (> 0, as seen here) or -errno. */
static long probe(pid_t pid)
{
	pid_t tid = pid;
	struct pr_clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long child;

	_Static_assert(sizeof(args) == 88, "struct clone_args of 5.7+ is 88 bytes");
	child = pr_clone3(&args);
	if (child < 0)
		return -errno;
	if (child == 0)
		_exit(0);
	if (waitpid((pid_t)child, NULL, 0) < 0)
		return -errno;
	return child;
}

/* Set once the pid namespace for children was switched. LeakSanitizer's
 * check at exit clones a task to stop this process's threads; that task
 * lands in the joined namespace, where it cannot see this process, and the
 * check never ends. Leak checks of this helper are then off. */
static int joined_pidns;

int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return joined_pidns;
}

static int join_pidns(const char *path)
{
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWPID) < 0)
		r = -errno;
	else
		joined_pidns = 1;
	close(fd);
	return r;
}

static int parse_pid(const char *s, pid_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, r;

	if (argc > 2 && strcmp(argv[1], "--pidns") == 0) {
		r = join_pidns(argv[2]);
		if (r < 0) {
			fprintf(stderr, "clone3-probe: cannot join %s: %s\n", argv[2], strerror(-r));
			return 1;
		}
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: clone3-probe [--pidns /proc/N/ns/pid] PID...\n");
		return 2;
	}
	for (; i < argc; i++) {
		pid_t pid;
		long child;

		if (parse_pid(argv[i], &pid) < 0) {
			fprintf(stderr, "clone3-probe: '%s' is not a PID\n", argv[i]);
			return 2;
		}
		child = probe(pid);
		if (child > 0) {
			printf("%d ok\n", (int)pid);
		} else {
			const char *name = strerrorname_np((int)-child);

			printf("%d %s\n", (int)pid, name ? name : "?");
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
