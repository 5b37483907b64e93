/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-claim: claims nodes of a held tree at once with
 * pidrestore_tree_claim_all(), for the shell tests.
 *
 *   tree-claim SOCKET TREE_ID NODE[,NODE...] REPORT
 *
 * Each node runs /bin/sh, which appends "node N pid P sid S pgid G" (its
 * own view: $$ and /proc/self/stat) to REPORT and sleeps. Prints "claimed
 * N", or "error=ENAME MESSAGE" and exits 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pidrestore.h"

#define MAX_CLAIMS 64

static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL:
		return "EINVAL";
	case EPERM:
		return "EPERM";
	case ESRCH:
		return "ESRCH";
	case EBUSY:
		return "EBUSY";
	case ENOENT:
		return "ENOENT";
	default:
		return "other";
	}
}

int main(int argc, char **argv)
{
	static char scripts[MAX_CLAIMS][512];
	static char *argvs[MAX_CLAIMS][4];
	pidrestore_command cmds[MAX_CLAIMS];
	pidrestore_tree_claim claims[MAX_CLAIMS];
	pidrestore *c = NULL;
	size_t n = 0;
	char *list, *tok, *save = NULL;
	int r;

	if (argc != 5) {
		fprintf(stderr, "usage: tree-claim SOCKET TREE_ID NODE[,NODE...] REPORT\n");
		return 2;
	}
	list = argv[3];
	for (tok = strtok_r(list, ",", &save); tok && n < MAX_CLAIMS; tok = strtok_r(NULL, ",", &save), n++) {
		int node = atoi(tok);

		snprintf(scripts[n], sizeof(scripts[n]),
			 "read -r _ _ _ _ g s _ </proc/self/stat; echo \"node %d pid $$ sid $s pgid $g\" >>'%s'; exec sleep 1000",
			 node, argv[4]);
		argvs[n][0] = "sh";
		argvs[n][1] = "-c";
		argvs[n][2] = scripts[n];
		argvs[n][3] = NULL;
		cmds[n] = (pidrestore_command){ .path = "/bin/sh", .program_fd = -1, .argv = argvs[n], .cwd_fd = -1 };
		claims[n] = (pidrestore_tree_claim){ .node = node, .cmd = &cmds[n] };
	}
	r = pidrestore_connect(argv[1], &c);
	if (r < 0) {
		printf("error=%s %s\n", errno_name(-r), pidrestore_last_error(NULL));
		return 1;
	}
	r = pidrestore_tree_claim_all(c, strtoull(argv[2], NULL, 10), claims, n);
	if (r < 0)
		printf("error=%s %s\n", errno_name(-r), pidrestore_last_error(c));
	else
		printf("claimed %d\n", r);
	pidrestore_disconnect(c);
	return r < 0 ? 1 : 0;
}
