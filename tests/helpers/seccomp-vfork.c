/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-vfork: a requester under a seccomp filter whose main thread cannot
 * stop while another thread asks for a spawn: the main thread waits in
 * vfork() for a child that sleeps, which only a fatal signal interrupts.
 *
 *   seccomp-vfork SOCKET PID SECONDS
 *
 * Installs an allow-all filter (with no_new_privs), connects, and from a
 * second thread spawns /bin/true with PID while the main thread is held in
 * vfork() for SECONDS. Prints "ok" or "error=ENAME message=TEXT", then, once
 * the vfork child is gone, "resumed" (the main thread was not left stopped
 * or traced).
 *
 * Exit status: 0 when the spawn succeeded, 3 when the daemon refused it, 1
 * on a local error, 2 on a usage error. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "pidrestore.h"

struct request {
	pidrestore *c;
	pid_t pid;
	int result;
	char message[512];
};

static void *spawn_thread(void *arg)
{
	struct request *req = arg;
	char *argv[] = { "/bin/true", NULL };
	pidrestore_target target = { .pids = &req->pid, .n_pids = 1, .pidns_fd = -1 };
	pidrestore_command cmd = { .path = argv[0], .program_fd = -1, .argv = argv, .cwd_fd = -1 };
	pidrestore_process proc;

	/* Let the main thread get into vfork() first. */
	usleep(200000);
	req->result = pidrestore_spawn(req->c, &target, &cmd, &proc);
	if (req->result < 0)
		snprintf(req->message, sizeof(req->message), "%s", pidrestore_last_error(req->c));
	else if (proc.pidfd >= 0)
		close(proc.pidfd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	struct request req = { 0 };
	pthread_t thread;
	unsigned int seconds;
	pid_t child;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: seccomp-vfork SOCKET PID SECONDS\n");
		return 2;
	}
	req.pid = (pid_t)atoi(argv[2]);
	seconds = (unsigned int)atoi(argv[3]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "seccomp-vfork: cannot install the filter: %s\n", strerror(errno));
		return 1;
	}
	r = pidrestore_connect(argv[1], &req.c);
	if (r < 0) {
		fprintf(stderr, "seccomp-vfork: cannot connect: %s\n", strerror(-r));
		return 1;
	}
	r = pthread_create(&thread, NULL, spawn_thread, &req);
	if (r != 0) {
		fprintf(stderr, "seccomp-vfork: pthread_create: %s\n", strerror(r));
		return 1;
	}
	child = vfork();
	if (child == 0) {
		struct timespec t = { .tv_sec = seconds };

		/* Only system calls: the parent's memory is shared. */
		nanosleep(&t, NULL);
		_exit(0);
	}
	pthread_join(thread, NULL);
	if (req.result < 0) {
		const char *name = strerrorname_np(-req.result);

		printf("error=%s message=%s\n", name ? name : "?", req.message);
	} else {
		printf("ok\n");
	}
	printf("resumed\n");
	pidrestore_disconnect(req.c);
	return req.result < 0 ? 3 : 0;
}
