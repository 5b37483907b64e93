/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-reap: what a claimed node of a tree runs to reap its zombie child,
 * as the restored program would.
 *
 *   tree-reap PID
 *
 * Waits for child PID (only that one) and prints "reaped PID code=N" or
 * "reaped PID signal=N" in one write. Exit status 0, or 1 when PID is no
 * child of its. */
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

	if (argc != 2) {
		fprintf(stderr, "usage: tree-reap PID\n");
		return 2;
	}
	if (waitid(P_PID, (id_t)atoi(argv[1]), &si, WEXITED) < 0) {
		fprintf(stderr, "tree-reap: cannot reap %s: %m\n", argv[1]);
		return 1;
	}
	len = snprintf(line, sizeof(line), "reaped %d %s=%d\n", si.si_pid, si.si_code == CLD_EXITED ? "code" : "signal",
		       si.si_status);
	return write(STDOUT_FILENO, line, (size_t)len) == len ? 0 : 1;
}
