/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pager: output meant for a person, on a terminal, goes through
 * $PIDRESTORE_PAGER, else $PAGER, else less (as systemd's tools: LESS=FRSXMK,
 * so that a screenful is just printed), else more. A pager that cannot be
 * started does not lose the output: the child copies it through itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

static pid_t pager_pid = -1;

/* The pager child: stdin is the pipe. */
static void __attribute__((noreturn)) run_pager(const char *pager)
{
	char buf[4096];
	ssize_t n;

	setenv("LESS", "FRSXMK", 0);
	/* A command line goes to the shell; a bare name is tried and, when it
	 * is not there, the defaults after it. */
	if (pager && pager[strcspn(pager, " \t\n'\"\\$`|&;<>()*?[]~")] != '\0')
		execl("/bin/sh", "sh", "-c", pager, (char *)NULL);
	else if (pager)
		execlp(pager, pager, (char *)NULL);
	execlp("less", "less", (char *)NULL);
	execlp("more", "more", (char *)NULL);
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, (size_t)n) != n)
			break;
	_exit(n == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

void pager_open(const struct options *o)
{
	const char *pager = getenv("PIDRESTORE_PAGER");
	int pipefd[2];
	pid_t pid;

	if (o->no_pager || !isatty(STDOUT_FILENO))
		return;
	if (!pager)
		pager = getenv("PAGER");
	if (pager && (pager[0] == '\0' || strcmp(pager, "cat") == 0))
		return;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		if (dup2(pipefd[0], STDIN_FILENO) < 0)
			_exit(EXIT_FAILURE);
		/* Not only close-on-exec: the fallback copy runs without an
		 * exec and must see the end of the output. */
		close(pipefd[0]);
		close(pipefd[1]);
		run_pager(pager);
	}
	/* Without a pager nothing is lost: the output goes to the terminal. */
	if (dup2(pipefd[1], STDOUT_FILENO) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	} else
		pager_pid = pid;
	close(pipefd[0]);
	close(pipefd[1]);
}

void pager_close(void)
{
	if (pager_pid < 0)
		return;
	/* The pager sees the end of the output, and is left to the person. */
	fflush(stdout);
	close(STDOUT_FILENO);
	while (waitpid(pager_pid, NULL, 0) < 0 && errno == EINTR)
		;
	pager_pid = -1;
}
