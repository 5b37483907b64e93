/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exit-status.h"
#include "kernel.h"

static void from_wait_status(int status, pid_t pid, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	si->si_signo = SIGCHLD;
	si->si_pid = pid;
	if (WIFEXITED(status)) {
		si->si_code = CLD_EXITED;
		si->si_status = WEXITSTATUS(status);
	} else {
		si->si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
		si->si_status = WTERMSIG(status);
	}
}

/* 1 with *status once the process was reaped, 0 before, -errno when the
 * kernel cannot say (before 6.15). */
static int reaped_status(int pidfd, int *status)
{
	struct pr_pidfd_info info = { .mask = PR_PIDFD_INFO_EXIT };

	if (ioctl(pidfd, PR_PIDFD_GET_INFO, &info) < 0)
		return errno == ESRCH ? -ENOSYS : -errno;
	if (!(info.mask & PR_PIDFD_INFO_EXIT))
		return 0;
	*status = (int)info.spare0[0];
	return 1;
}

/* The state and exit code fields of /proc/PID/stat: after the command,
 * which may hold any byte, the state is the first field and the exit code
 * the last. */
static int zombie_status(pid_t pid, int *status)
{
	char path[32], buf[1024], state;
	const char *end, *last;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	end = strrchr(buf, ')');
	if (!end || sscanf(end + 1, " %c", &state) != 1)
		return -EIO;
	if (state != 'Z')
		return -EAGAIN;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	last = strrchr(end, ' ');
	if (!last || sscanf(last + 1, "%d", status) != 1)
		return -EIO;
	return 0;
}

int exit_status_of_nonchild(int pidfd, pid_t pid, siginfo_t *si)
{
	int status, r;

	r = reaped_status(pidfd, &status);
	if (r == 0) {
		/* Not reaped: the PID is still the zombie's while it is read. */
		r = zombie_status(pid, &status);
		if (r == -EAGAIN)
			return r;
		if (r < 0 || reaped_status(pidfd, &status) < 0)
			return r < 0 ? r : -ENOSYS;
		r = 1;
	}
	if (r < 0)
		return r;
	from_wait_status(status, pid, si);
	return 0;
}
