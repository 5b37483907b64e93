/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidns-init: a reservation that is pid 1 of a new pid namespace, with a
 * spawned program inside that namespace, and then an end for the
 * reservation. A killed pid 1 makes the kernel kill its namespace and
 * finishes exiting only once the program, the daemon's child, is reaped.
 *
 *   pidns-init --socket PATH kill|release|ttl|hold
 *
 * Prints, one per line:
 *   reserved id=ID pids=P0,P1,...     the placeholder (pid 1 innermost)
 *   spawned id=ID pids=P0,P1,...      /bin/sleep in the placeholder's namespace
 *   kill: ended n=N ms=T              pidrestore_kill(SIGKILL) of the reservation
 *   release: ended n=N ms=T           pidrestore_release() of it
 *   ttl: ended ms=T                   its ExpiredEvent (a TTL of 1 s)
 *   hold: holding                     then waits for end of input
 *   exited id=ID signal=S ms=T        the program's ExitEvent
 * T counts from the start of that step. A refusal prints "error ENAME
 * MESSAGE" and exits 3; anything else missing exits 1. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.h"

#define EVENT_TIMEOUT_MS 10000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_pids(const char *what, uint64_t id, const pid_t *pids, size_t n)
{
	printf("%s id=%llu pids=", what, (unsigned long long)id);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("\n");
	fflush(stdout);
}

static int refused(pidrestore *c, int r)
{
	const char *name = strerrorname_np(-r);

	printf("error %s %s\n", name ? name : "?", pidrestore_last_error(c));
	return 3;
}

/* Events seen so far, in whatever order they came. */
static pidrestore_event seen[8];
static size_t n_seen;

/* The event of type for id, or 0 on timeout. */
static int wait_event(pidrestore *c, pidrestore_event_type type, uint64_t id, pidrestore_event *ev)
{
	long deadline = now_ms() + EVENT_TIMEOUT_MS;

	for (;;) {
		long left = deadline - now_ms();
		int r;

		for (size_t i = 0; i < n_seen; i++)
			if (seen[i].type == type && seen[i].id == id) {
				*ev = seen[i];
				return 1;
			}
		if (left <= 0)
			return 0;
		r = pidrestore_wait_event(c, (int)left, ev);
		if (r <= 0)
			return r;
		if (n_seen < sizeof(seen) / sizeof(seen[0]))
			seen[n_seen++] = *ev;
	}
}

int main(int argc, char **argv)
{
	const pid_t one = 1;
	char *sleep_argv[] = { "sleep", "1000", NULL };
	pidrestore_target placeholder = { .pids = &one, .n_pids = 1, .pidns_fd = -1, .flags = PIDRESTORE_NEW_PIDNS };
	pidrestore_command cmd = { .path = "/bin/sleep", .program_fd = -1, .argv = sleep_argv, .cwd_fd = -1 };
	pidrestore_process res, prog;
	pidrestore_event ev;
	const char *action;
	pidrestore *c;
	long start;
	int r;

	if (argc != 4 || strcmp(argv[1], "--socket") != 0) {
		fprintf(stderr, "usage: pidns-init --socket PATH kill|release|ttl|hold\n");
		return 2;
	}
	action = argv[3];
	r = pidrestore_connect(argv[2], &c);
	if (r < 0) {
		fprintf(stderr, "pidns-init: connect: %s\n", pidrestore_last_error(NULL));
		return 1;
	}
	r = pidrestore_reserve(c, &placeholder, 1, strcmp(action, "ttl") == 0 ? 1 : 0, &res);
	if (r < 0)
		return refused(c, r);
	print_pids("reserved", res.id, res.pids, res.n_pids);

	/* Its pidfd names its pid namespace: the new one. */
	pidrestore_target inside = { .pids = NULL, .n_pids = 0, .pidns_fd = res.pidfd };
	r = pidrestore_spawn(c, &inside, &cmd, &prog);
	if (r < 0)
		return refused(c, r);
	print_pids("spawned", prog.id, prog.pids, prog.n_pids);

	start = now_ms();
	if (strcmp(action, "kill") == 0) {
		r = pidrestore_kill(c, &res.id, 1, SIGKILL);
		if (r < 0)
			return refused(c, r);
		printf("kill: ended n=%d ms=%ld\n", r, now_ms() - start);
	} else if (strcmp(action, "release") == 0) {
		r = pidrestore_release(c, &res.id, 1);
		if (r < 0)
			return refused(c, r);
		printf("release: ended n=%d ms=%ld\n", r, now_ms() - start);
	} else if (strcmp(action, "ttl") == 0) {
		if (wait_event(c, PIDRESTORE_EVENT_EXPIRED, res.id, &ev) <= 0) {
			printf("ttl: no ExpiredEvent within %d ms\n", EVENT_TIMEOUT_MS);
			return 1;
		}
		printf("ttl: ended ms=%ld\n", now_ms() - start);
	} else {
		char buf[64];

		printf("hold: holding\n");
		fflush(stdout);
		while (fgets(buf, sizeof(buf), stdin))
			;
		return 0;
	}
	fflush(stdout);

	start = now_ms();
	if (wait_event(c, PIDRESTORE_EVENT_EXITED, prog.id, &ev) <= 0) {
		printf("no ExitEvent for the program within %d ms\n", EVENT_TIMEOUT_MS);
		return 1;
	}
	printf("exited id=%llu signal=%d ms=%ld\n", (unsigned long long)ev.id, ev.signal, now_ms() - start);
	pidrestore_disconnect(c);
	return 0;
}
