/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* restore-pid: run a program as a chosen PID, through pidrestored.
 *
 *   restore-pid PID PROGRAM [ARGS...]
 *
 * Build it with
 *   cc restore-pid.c $(pkg-config --cflags --libs libpidrestore)
 */
#include <pidrestore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	/* The program gets our stdin, stdout and stderr. */
	static const int stdio_map[3][2] = {
		{ 0, 0 }, { 1, 1 }, { 2, 2 },
	};
	pidrestore *c = NULL;
	pidrestore_process p = { .pidfd = -1 };
	pidrestore_event ev;
	pid_t pid;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PID PROGRAM [ARGS...]\n",
			argv[0]);
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);

	/* One PID: the namespace of this process, the default. */
	pidrestore_target target = {
		.pids = &pid, .n_pids = 1, .pidns_fd = -1,
	};
	pidrestore_command cmd = {
		.path = argv[2], .program_fd = -1, .argv = argv + 2,
		.fd_map = stdio_map, .n_fd_map = 3, .cwd_fd = -1,
	};

	r = pidrestore_connect(NULL, &c);
	if (r < 0) {
		fprintf(stderr, "restore-pid: %s\n",
			pidrestore_last_error(NULL));
		return 1;
	}
	r = pidrestore_spawn(c, &target, &cmd, &p);
	if (r < 0) {
		/* EEXIST: the PID is in use; EPERM: not allowed */
		fprintf(stderr, "restore-pid: %s (%s)\n",
			pidrestore_last_error(c), strerror(-r));
		goto out;
	}
	fprintf(stderr, "restore-pid: %s runs as pid %d\n",
		argv[2], (int)p.pids[0]);

	/* The daemon reports the end of its processes as events. */
	do
		r = pidrestore_wait_event(c, -1, &ev);
	while (r > 0 && !(ev.type == PIDRESTORE_EVENT_EXITED &&
			  ev.id == p.id));
	if (r < 0) {
		fprintf(stderr, "restore-pid: %s\n",
			pidrestore_last_error(c));
		goto out;
	}
	if (ev.signal > 0)
		r = 128 + ev.signal;
	else
		r = ev.exit_code;
out:
	if (p.pidfd >= 0)
		close(p.pidfd);
	pidrestore_disconnect(c);
	return r < 0 ? 1 : r;
}
