/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-reap: what a claimed node of a tree runs to reap its zombie child,
 * as the restored program would.
 *
 *   tree-reap PID [CMD ARGS...]
 *
 * Waits for child PID (only that one; a shell would reap every child it
 * has) and prints "reaped PID code=N" or "reaped PID signal=N" in one
 * write, then executes CMD, so that the process lives on with its other
 * children. Exit status 0, or 1 when PID is no child of its. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	siginfo_t si = { 0 };
	char line[64];
	int len;

	if (argc < 2) {
		fprintf(stderr, "usage: tree-reap PID [CMD ARGS...]\n");
		return 2;
	}
	if (waitid(P_PID, (id_t)atoi(argv[1]), &si, WEXITED) < 0) {
		fprintf(stderr, "tree-reap: cannot reap %s: %m\n", argv[1]);
		return 1;
	}
	len = snprintf(line, sizeof(line), "reaped %d %s=%d\n", si.si_pid, si.si_code == CLD_EXITED ? "code" : "signal",
		       si.si_status);
	if (write(STDOUT_FILENO, line, (size_t)len) != len)
		return 1;
	if (argc > 2) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "tree-reap: cannot execute %s: %m\n", argv[2]);
		return 1;
	}
	return 0;
}
