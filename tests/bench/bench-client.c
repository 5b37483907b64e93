/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rows measured through libpidrestore, as a program would use it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* Longest wait for one exit event; a spawn of /bin/true takes milliseconds. */
#define EVENT_TIMEOUT_MS 10000

static int report(pidrestore *c, const char *what, int r)
{
	fprintf(stderr, "pidrestore-bench: %s failed: %s (%s)\n", what, strerror(-r),
		pidrestore_last_error(c));
	return r;
}

int client_connect(const struct bench_daemon *d, pidrestore **ret)
{
	int r = pidrestore_connect(d->socket, ret);

	return r < 0 ? report(NULL, "connect", r) : 0;
}

static pidrestore_target target_of(const pid_t *pid)
{
	return (pidrestore_target){ .pids = pid, .n_pids = 1, .pidns_fd = -1 };
}

/* The reply names the PID asked for, or the daemon did something else. */
static int check_pid(const pidrestore_process *p, pid_t want)
{
	if (p->n_pids < 1 || p->pids[0] != want) {
		fprintf(stderr, "pidrestore-bench: asked for pid %d, got %d\n", want, p->n_pids ? p->pids[0] : 0);
		return -EREMCHG;
	}
	return 0;
}

static int reserve_release_one(pidrestore *c, pid_t pid)
{
	pidrestore_target t = target_of(&pid);
	pidrestore_process p;
	int r;

	r = pidrestore_reserve(c, &t, 1, 0, &p);
	if (r < 0)
		return report(c, "reserve", r);
	if (p.pidfd >= 0)
		close(p.pidfd);
	r = check_pid(&p, pid);
	if (r < 0)
		return r;
	r = pidrestore_release(c, &p.id, 1);
	if (r < 0)
		return report(c, "release", r);
	return r == 1 ? 0 : -ESRCH;
}

int client_reserve_cycle(pidrestore *c, const pid_t *pids, size_t n_pids, size_t iterations,
			 struct samples *s, uint64_t *wall_ns)
{
	uint64_t start = bench_now_ns();

	for (size_t i = 0; i < iterations; i++) {
		uint64_t t0 = bench_now_ns();
		int r = reserve_release_one(c, pids[i % n_pids]);

		if (r < 0)
			return r;
		samples_add(s, bench_now_ns() - t0);
	}
	*wall_ns = bench_now_ns() - start;
	return 0;
}

static int wait_exit(pidrestore *c, uint64_t id)
{
	for (;;) {
		pidrestore_event ev;
		int r = pidrestore_wait_event(c, EVENT_TIMEOUT_MS, &ev);

		if (r < 0)
			return report(c, "waiting for the exit event", r);
		if (r == 0) {
			fprintf(stderr, "pidrestore-bench: no exit event for process %llu within %d ms\n",
				(unsigned long long)id, EVENT_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		if (ev.type == PIDRESTORE_EVENT_EXITED && ev.id == id)
			return ev.exit_code == 0 ? 0 : -ECHILD;
	}
}

int client_spawn_cycle(pidrestore *c, const pid_t *pids, size_t n_pids, char *const *argv,
		       char *const *envp, size_t iterations, struct samples *s, uint64_t *wall_ns)
{
	/* Opened once: a program that spawns often would not reopen it. */
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	pidrestore_command cmd = {
		.path = argv[0], .program_fd = -1, .argv = argv, .envp = envp, .cwd_fd = root,
	};
	uint64_t start = bench_now_ns();
	int r = 0;

	if (root < 0)
		return -errno;
	for (size_t i = 0; i < iterations; i++) {
		pid_t pid = pids[i % n_pids];
		pidrestore_target t = target_of(&pid);
		pidrestore_process p;
		uint64_t t0 = bench_now_ns();

		r = pidrestore_spawn(c, &t, &cmd, &p);
		if (r < 0) {
			report(c, "spawn", r);
			break;
		}
		if (p.pidfd >= 0)
			close(p.pidfd);
		r = check_pid(&p, pid);
		if (r == 0)
			r = wait_exit(c, p.id);
		if (r < 0)
			break;
		samples_add(s, bench_now_ns() - t0);
	}
	*wall_ns = bench_now_ns() - start;
	close(root);
	return r;
}

/* ------------------------------------------------------------ concurrency */

struct client_slot {
	uint64_t count;
	uint64_t finish_ns;
	int error;
	size_t n_samples;
};

struct conc_shared {
	uint64_t end_ns;
	size_t n_clients, cap;
	struct client_slot slot[];
	/* then n_clients * cap samples */
};

static uint64_t *client_samples(struct conc_shared *sh, size_t i)
{
	return (uint64_t *)&sh->slot[sh->n_clients] + i * sh->cap;
}

/* One client process: connect, say ready, wait for go, cycle until the end. */
static int client_run(const struct bench_daemon *d, struct conc_shared *sh, size_t i,
		      const pid_t *pids, size_t n_pids, int ready_fd, int go_fd)
{
	struct client_slot *slot = &sh->slot[i];
	uint64_t *samples = client_samples(sh, i);
	pidrestore *c;
	char byte = 0;
	int r;

	r = client_connect(d, &c);
	if (write(ready_fd, "r", 1) != 1 && r == 0)
		r = -EIO;
	if (r < 0)
		return r;
	/* The parent closes its end to start everyone at once. */
	(void)!read(go_fd, &byte, 1);
	for (size_t k = 0; bench_now_ns() < sh->end_ns; k++) {
		uint64_t t0 = bench_now_ns();

		r = reserve_release_one(c, pids[k % n_pids]);
		if (r < 0)
			break;
		if (slot->n_samples < sh->cap)
			samples[slot->n_samples++] = bench_now_ns() - t0;
		slot->count++;
	}
	slot->finish_ns = bench_now_ns();
	pidrestore_disconnect(c);
	return r;
}

int client_concurrency(const struct bench_daemon *d, size_t n_clients, const pid_t *pids, size_t per_client,
		       uint64_t duration_ns, struct concurrency_result *ret)
{
	/* At most one cycle per 10 us per client is room enough. */
	size_t cap = (size_t)(duration_ns / 10000) + 1024;
	size_t size = sizeof(struct conc_shared) + n_clients * (sizeof(struct client_slot) + cap * sizeof(uint64_t));
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 }, r = 0;
	pid_t *children = calloc(n_clients, sizeof(*children));
	struct conc_shared *sh = MAP_FAILED;
	struct samples all = { 0 };
	uint64_t start = 0, last = 0, min_count = UINT64_MAX;
	size_t started = 0;

	memset(ret, 0, sizeof(*ret));
	if (!children)
		return -ENOMEM;
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	sh->n_clients = n_clients;
	sh->cap = cap;
	sh->end_ns = UINT64_MAX;
	for (; started < n_clients; started++) {
		pid_t child = fork();

		if (child == 0) {
			close(ready[0]);
			close(go[1]);
			sh->slot[started].error = client_run(d, sh, started, pids + started * per_client, per_client,
							     ready[1], go[0]);
			_exit(sh->slot[started].error < 0);
		}
		if (child < 0) {
			r = -errno;
			goto out;
		}
		children[started] = child;
	}
	close(ready[1]);
	ready[1] = -1;
	for (size_t i = 0; i < n_clients; i++) {
		char byte;

		if (read(ready[0], &byte, 1) != 1) {
			r = -EIO;
			goto out;
		}
	}
	start = bench_now_ns();
	sh->end_ns = start + duration_ns;
	close(go[1]);
	go[1] = -1;
out:
	if (go[1] >= 0) {
		/* Failed before the start: let the clients go at once. */
		sh->end_ns = 0;
		close(go[1]);
	}
	for (size_t i = 0; i < started; i++)
		waitpid(children[i], NULL, 0);
	if (r == 0 && samples_init(&all, n_clients * cap) < 0)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n_clients; i++) {
		const struct client_slot *slot = &sh->slot[i];

		if (slot->error < 0) {
			r = slot->error;
			break;
		}
		for (size_t k = 0; k < slot->n_samples; k++)
			samples_add(&all, client_samples(sh, i)[k]);
		if (slot->count < min_count)
			min_count = slot->count;
		if (slot->finish_ns > last)
			last = slot->finish_ns;
		ret->total += slot->count;
	}
	if (r == 0) {
		rep_from_samples(&ret->rep, &all, ret->total, last - start);
		ret->fairness = ret->total ? (double)min_count * (double)n_clients / (double)ret->total : 0;
	}
	samples_free(&all);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (sh != MAP_FAILED)
		munmap(sh, size);
	free(children);
	return r;
}

/* ------------------------------------------------------------ many at once */

static void close_pidfds(pidrestore_process *procs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (procs[i].pidfd >= 0)
			close(procs[i].pidfd);
}

static int reserve_chunks(pidrestore *c, const pid_t *pids, size_t n, size_t chunk, pidrestore_process *procs)
{
	pidrestore_target *targets = calloc(n ? n : 1, sizeof(*targets));
	int r = 0;

	if (!targets)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		targets[i] = target_of(&pids[i]);
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		r = pidrestore_reserve(c, targets + off, k, 0, procs + off);
		if (r < 0) {
			report(c, "reserve", r);
			break;
		}
		close_pidfds(procs + off, k);
		for (size_t i = 0; r == 0 && i < k; i++)
			r = check_pid(&procs[off + i], pids[off + i]);
		if (r < 0)
			break;
	}
	free(targets);
	return r;
}

int client_release_all(pidrestore *c)
{
	int r = pidrestore_release(c, NULL, 0);

	return r < 0 ? report(c, "release of all reservations", r) : r;
}

int client_reserve_batch(pidrestore *c, const pid_t *pids, size_t n, bool one_request, uint64_t *ns)
{
	pidrestore_process *procs = calloc(n ? n : 1, sizeof(*procs));
	uint64_t t0;
	int r;

	if (!procs)
		return -ENOMEM;
	t0 = bench_now_ns();
	r = reserve_chunks(c, pids, n, one_request ? n : 1, procs);
	*ns = bench_now_ns() - t0;
	free(procs);
	if (r == 0) {
		r = client_release_all(c);
		if (r >= 0)
			r = (size_t)r == n ? 0 : -ESRCH;
	} else {
		client_release_all(c);
	}
	return r;
}

int client_hold(pidrestore *c, const pid_t *pids, size_t n, size_t chunk)
{
	pidrestore_process *procs = calloc(n ? n : 1, sizeof(*procs));
	int r;

	if (!procs)
		return -ENOMEM;
	r = reserve_chunks(c, pids, n, chunk, procs);
	free(procs);
	return r;
}
