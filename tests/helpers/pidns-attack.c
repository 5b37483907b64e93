/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidns-attack: a requester that signals whatever the daemon puts in its
 * namespaces while it asks for new pid namespaces. Run as root of its own
 * user and pid namespace (unshare -Urpf --mount-proc), so that it may set
 * ns_last_pid there and predict the PID of the first process the daemon
 * starts in it, which for --new-pidns is the process that makes the new
 * namespace.
 *
 *   pidns-attack --socket PATH --signal HUP|TERM|STOP --rounds N
 *
 * A child sends the signal to PID BASE+1 of the namespace, over and over,
 * while the parent, round after round, sets ns_last_pid to BASE and spawns
 * /bin/true as pid 1 of a new pid namespace, and waits for its exit.
 * With STOP, the rounds end after the first spawn that fails (a stopped
 * helper fails only its own request). Prints "round I error ENAME MESSAGE"
 * for each failed spawn, then "spawned=S failed=F max_ms=M".
 * Exit status: 0 when every round was answered, 1 otherwise, 2 on a usage
 * error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.h"

#define BASE 100
#define EVENT_TIMEOUT_MS 5000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_last_pid(pid_t pid)
{
	char text[16];
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	int ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, text, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -EIO;
}

static void __attribute__((noreturn)) signaller(int sig)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		kill(BASE + 1, sig);
}

int main(int argc, char **argv)
{
	const pid_t one = 1;
	char *true_argv[] = { "true", NULL };
	pidrestore_target target = { .pids = &one, .n_pids = 1, .pidns_fd = -1, .flags = PIDRESTORE_NEW_PIDNS };
	pidrestore_command cmd = { .path = "/bin/true", .program_fd = -1, .argv = true_argv, .cwd_fd = -1 };
	long rounds, max_ms = 0;
	unsigned long spawned = 0, failed = 0;
	int sig, r;
	pidrestore *c;
	pid_t child;

	if (argc != 7 || strcmp(argv[1], "--socket") || strcmp(argv[3], "--signal") || strcmp(argv[5], "--rounds")) {
		fprintf(stderr, "usage: pidns-attack --socket PATH --signal HUP|TERM|STOP --rounds N\n");
		return 2;
	}
	sig = !strcmp(argv[4], "HUP") ? SIGHUP : !strcmp(argv[4], "TERM") ? SIGTERM : !strcmp(argv[4], "STOP") ? SIGSTOP : 0;
	rounds = strtol(argv[6], NULL, 10);
	if (!sig || rounds <= 0) {
		fprintf(stderr, "pidns-attack: bad signal or round count\n");
		return 2;
	}
	r = pidrestore_connect(argv[2], &c);
	if (r < 0) {
		fprintf(stderr, "pidns-attack: connect: %s\n", pidrestore_last_error(NULL));
		return 1;
	}
	/* Forked first: it must not take the PID it signals. */
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		signaller(sig);
	if (set_last_pid(BASE) < 0) {
		fprintf(stderr, "pidns-attack: cannot write ns_last_pid: run it as root of its own pid namespace\n");
		kill(child, SIGKILL);
		return 2;
	}

	for (long i = 0; i < rounds; i++) {
		pidrestore_process proc;
		pidrestore_event ev;
		long start;

		set_last_pid(BASE);
		start = now_ms();
		r = pidrestore_spawn(c, &target, &cmd, &proc);
		if (now_ms() - start > max_ms)
			max_ms = now_ms() - start;
		if (r < 0) {
			const char *name = strerrorname_np(-r);

			printf("round %ld error %s %s\n", i, name ? name : "?", pidrestore_last_error(c));
			failed++;
			if (r == -EPIPE || r == -ECONNRESET || sig == SIGSTOP)
				break;
			continue;
		}
		spawned++;
		if (proc.pidfd >= 0)
			close(proc.pidfd);
		/* Its PIDs are free again before the next round. */
		while ((r = pidrestore_wait_event(c, EVENT_TIMEOUT_MS, &ev)) > 0)
			if (ev.type == PIDRESTORE_EVENT_EXITED && ev.id == proc.id)
				break;
		if (r <= 0) {
			printf("round %ld: no exit event\n", i);
			failed++;
			break;
		}
	}
	kill(child, SIGKILL);
	printf("spawned=%lu failed=%lu max_ms=%ld\n", spawned, failed, max_ms);
	pidrestore_disconnect(c);
	return spawned + failed == (unsigned long)rounds || (sig == SIGSTOP && failed == 1) ? 0 : 1;
}
