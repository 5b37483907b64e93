/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree-claim: claims nodes of a held tree at once with
 * pidrestore_tree_claim_all(), for the shell tests.
 *
 *   tree-claim [--blob FILE [--single]] SOCKET TREE_ID NODE[,NODE...] REPORT
 *
 * Each node runs /bin/sh, which appends "node N pid P sid S pgid G" (its
 * own view: $$ and /proc/self/stat) to REPORT and sleeps. A node written
 * "Nb" runs the blob FILE (tests/helpers/tree-blob.c) instead, mapped at
 * BLOB_ADDRESS with REPORT at fd 1 and /dev/null at fd 0: it appends its
 * "blob pid=..." lines and exits. With --single, the one node given is
 * claimed by pidrestore_tree_claim_blob() rather than in a claim-all.
 * Prints "claimed N", or "error=ENAME MESSAGE" and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pidrestore.h"

#define MAX_CLAIMS 64
#define BLOB_ADDRESS 0x100000000000ULL

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

/* FILE in a memfd sealed as the daemon wants it, or -1. */
static int blob_memfd(const char *path)
{
	static char image[1 << 16];
	int in = open(path, O_RDONLY | O_CLOEXEC), fd = -1;
	ssize_t len = in >= 0 ? read(in, image, sizeof(image)) : -1;

	if (in >= 0)
		close(in);
	if (len > 0)
		fd = memfd_create("tree-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (write(fd, image, (size_t)len) != len ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static char scripts[MAX_CLAIMS][512];
	static char *argvs[MAX_CLAIMS][4];
	pidrestore_command cmds[MAX_CLAIMS];
	pidrestore_tree_claim claims[MAX_CLAIMS];
	const char *blob_path = NULL;
	bool single = false;
	pidrestore_blob blob = { .memfd = -1 };
	int map[2][2] = { { -1, 1 }, { -1, 0 } };
	pidrestore *c = NULL;
	size_t n = 0;
	char *list, *tok, *save = NULL;
	int a = 1, r;

	if (a + 1 < argc && !strcmp(argv[a], "--blob")) {
		blob_path = argv[a + 1];
		a += 2;
		if (a < argc && !strcmp(argv[a], "--single")) {
			single = true;
			a++;
		}
	}
	if (argc - a != 4) {
		fprintf(stderr, "usage: tree-claim [--blob FILE [--single]] SOCKET TREE_ID NODE[,NODE...] REPORT\n");
		return 2;
	}
	if (blob_path) {
		blob.memfd = blob_memfd(blob_path);
		map[0][0] = open(argv[a + 3], O_WRONLY | O_APPEND | O_CLOEXEC);
		map[1][0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (blob.memfd < 0 || map[0][0] < 0 || map[1][0] < 0) {
			fprintf(stderr, "tree-claim: cannot make the blob's memfd from %s or open %s: %m\n", blob_path,
				argv[a + 3]);
			return 2;
		}
		blob.address = blob.entry = BLOB_ADDRESS;
		blob.fd_map = (const int(*)[2])map;
		blob.n_fd_map = 2;
	}
	list = argv[a + 2];
	for (tok = strtok_r(list, ",", &save); tok && n < MAX_CLAIMS; tok = strtok_r(NULL, ",", &save), n++) {
		char *end;
		int node = (int)strtol(tok, &end, 10);

		if (*end == 'b' && blob_path) {
			claims[n] = (pidrestore_tree_claim){ .node = node, .blob = &blob };
			continue;
		}
		snprintf(scripts[n], sizeof(scripts[n]),
			 "read -r _ _ _ _ g s _ </proc/self/stat; echo \"node %d pid $$ sid $s pgid $g\" >>'%s'; exec sleep 1000",
			 node, argv[a + 3]);
		argvs[n][0] = "sh";
		argvs[n][1] = "-c";
		argvs[n][2] = scripts[n];
		argvs[n][3] = NULL;
		cmds[n] = (pidrestore_command){ .path = "/bin/sh", .program_fd = -1, .argv = argvs[n], .cwd_fd = -1 };
		claims[n] = (pidrestore_tree_claim){ .node = node, .cmd = &cmds[n] };
	}
	r = pidrestore_connect(argv[a], &c);
	if (r < 0) {
		printf("error=%s %s\n", errno_name(-r), pidrestore_last_error(NULL));
		return 1;
	}
	if (single && n == 1 && claims[0].blob) {
		r = pidrestore_tree_claim_blob(c, strtoull(argv[a + 1], NULL, 10), claims[0].node, &blob);
		r = r < 0 ? r : 1;
	} else {
		r = pidrestore_tree_claim_all(c, strtoull(argv[a + 1], NULL, 10), claims, n);
	}
	if (r < 0)
		printf("error=%s %s\n", errno_name(-r), pidrestore_last_error(c));
	else
		printf("claimed %d\n", r);
	pidrestore_disconnect(c);
	return r < 0 ? 1 : 0;
}
