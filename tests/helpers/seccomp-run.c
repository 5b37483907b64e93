/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-run: runs a command under a seccomp filter that allows every
 * system call, so that the command is "filtered" (Seccomp: 2) and nothing
 * else about it changes.
 *
 *   seccomp-run CMD [ARGS...] */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

int main(int argc, char **argv)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };

	if (argc < 2) {
		fprintf(stderr, "usage: seccomp-run CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "seccomp-run: cannot install the filter: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "seccomp-run: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
