/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel.h"
#include "raw-fds.h"

int raw_parse_long(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* A pidfd of a child that has exited; reaped or left a zombie. The child
 * is pinned by the pidfd before it exits, so the pidfd cannot name another
 * process that took its PID. */
static int dead_child_pidfd(struct raw_fds *set, bool reap)
{
	siginfo_t info;
	int go[2], pidfd, r = 0;
	pid_t child;
	char c = 0;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		r = -errno;
		close(go[0]);
		close(go[1]);
		return r;
	}
	if (child == 0) {
		close(go[1]);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	pidfd = pr_pidfd_open(child, 0);
	if (pidfd < 0)
		r = -errno;
	close(go[1]);
	/* WNOWAIT: waits for the exit but leaves the zombie. */
	if (waitid(P_PID, (id_t)child, &info, WEXITED | (reap ? 0 : WNOWAIT)) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		if (pidfd >= 0)
			close(pidfd);
		if (!reap)
			waitpid(child, NULL, 0);
		return r;
	}
	if (!reap)
		set->zombie[set->n_zombies++] = child;
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	return pidfd;
}

static int make_fd(struct raw_fds *set, const char *kind)
{
	long v;
	int fd, pair[2];

	if (strncmp(kind, "file:", 5) == 0) {
		fd = open(kind + 5, O_RDONLY | O_CLOEXEC);
	} else if (strcmp(kind, "socket") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
			return -errno;
		close(pair[1]);
		fd = pair[0];
	} else if (strcmp(kind, "eventfd") == 0) {
		fd = eventfd(0, EFD_CLOEXEC);
	} else if (strcmp(kind, "pidfd:zombie") == 0) {
		return dead_child_pidfd(set, false);
	} else if (strcmp(kind, "pidfd:reaped") == 0) {
		return dead_child_pidfd(set, true);
	} else if (strncmp(kind, "pidfd:", 6) == 0) {
		if (raw_parse_long(kind + 6, 1, INT_MAX, &v) < 0)
			return -EINVAL;
		fd = pr_pidfd_open((pid_t)v, 0);
		if (fd >= 0)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	} else if (strncmp(kind, "inherit:", 8) == 0) {
		if (raw_parse_long(kind + 8, 0, INT_MAX, &v) < 0)
			return -EINVAL;
		fd = fcntl((int)v, F_DUPFD_CLOEXEC, 3);
	} else {
		return -EINVAL;
	}
	return fd < 0 ? -errno : fd;
}

int raw_fds_add(struct raw_fds *set, const char *spec)
{
	const char *star = strchr(spec, '*');
	long copies = 1;
	int fd;

	if (star) {
		char count[16];

		if ((size_t)(star - spec) >= sizeof(count))
			return -EINVAL;
		memcpy(count, spec, (size_t)(star - spec));
		count[star - spec] = '\0';
		if (raw_parse_long(count, 1, WIRE_MAX_FDS, &copies) < 0)
			return -EINVAL;
		spec = star + 1;
	}
	if (set->n + (size_t)copies > WIRE_MAX_FDS)
		return -E2BIG;
	fd = make_fd(set, spec);
	if (fd < 0)
		return fd;
	set->fd[set->n++] = fd;
	for (long i = 1; i < copies; i++) {
		int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		if (copy < 0)
			return -errno;
		set->fd[set->n++] = copy;
	}
	return 0;
}

void raw_fds_close(struct raw_fds *set)
{
	for (size_t i = 0; i < set->n; i++)
		close(set->fd[i]);
	set->n = 0;
	for (size_t i = 0; i < set->n_zombies; i++)
		waitpid(set->zombie[i], NULL, 0);
	set->n_zombies = 0;
}

/* Whether an earlier fd of the set refers to the same file as fd i. */
static bool seen_before(const struct raw_fds *set, size_t i, const struct stat *st)
{
	for (size_t j = 0; j < i; j++) {
		struct stat other;

		if (fstat(set->fd[j], &other) == 0 && other.st_dev == st->st_dev && other.st_ino == st->st_ino)
			return true;
	}
	return false;
}

static int count_fds_on(pid_t pid, dev_t dev, ino_t ino)
{
	char dir[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && st.st_dev == dev && st.st_ino == ino)
			n++;
	}
	closedir(d);
	return n;
}

int raw_fds_held_by(const struct raw_fds *set, pid_t pid)
{
	int total = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct stat st;
		int n;

		if (fstat(set->fd[i], &st) < 0)
			return -errno;
		if (seen_before(set, i, &st))
			continue;
		n = count_fds_on(pid, st.st_dev, st.st_ino);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}
