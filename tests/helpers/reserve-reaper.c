/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reserve-reaper: runs a command as a child subreaper, so that processes
 * orphaned below it (a killed daemon's children) are reaped here and vanish
 * from /proc, whatever PID 1 of the machine does with orphans.
 *
 *   reserve-reaper CMD [ARGS...]
 *
 * Prints "child=PID" once CMD was started, then reaps every descendant that
 * is reparented to it, and exits when none is left: with CMD's exit status,
 * or 128+N if signal N killed CMD. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int status = 0, ws;
	pid_t child, p;

	if (argc < 2) {
		fprintf(stderr, "usage: reserve-reaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "reserve-reaper: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return 1;
	}
	child = fork();
	if (child < 0) {
		fprintf(stderr, "reserve-reaper: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "reserve-reaper: cannot execute %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	printf("child=%d\n", (int)child);
	fflush(stdout);
	for (;;) {
		p = waitpid(-1, &ws, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (p == child)
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	}
	return status;
}
