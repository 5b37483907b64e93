/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestore-bench: what creating a process with a chosen PID costs through
 * pidrestored, against the same work done in-process by root, measured in
 * one run on one machine.
 *
 * Modules: bench-stats.c (clocks, samples, repetitions), bench-pids.c (free
 * PIDs, CPU pinning), bench-kernel.c (the in-process floors and the
 * ns_last_pid method), bench-daemon.c (a private pidrestored, its memory,
 * cold start), bench-client.c (the rows measured through libpidrestore),
 * bench-main.c (options, order of the rows, the tables). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pidrestore.h"

/* ------------------------------------------------------------ stats */

#define BENCH_MAX_REPS 32

uint64_t bench_now_ns(void);

/* Latencies of one repetition, in nanoseconds. */
struct samples {
	uint64_t *ns;
	size_t n, cap;
};

int samples_init(struct samples *s, size_t cap);
void samples_free(struct samples *s);
void samples_reset(struct samples *s);
/* Drops the sample when full: callers size cap for the run. */
void samples_add(struct samples *s, uint64_t ns);
/* The q-quantile (0..1) in microseconds; sorts the samples. NaN if empty. */
double samples_quantile_us(struct samples *s, double q);

/* One figure over the repetitions: its median and its spread. */
struct figure {
	double median, min, max;
	bool valid;
};

struct figure figure_of(const double *values, size_t n);

/* What one repetition of a timed row measured. */
struct rep {
	double p50_us, p99_us, per_sec;
};

/* Fills a rep from the samples of count operations that took wall_ns. */
void rep_from_samples(struct rep *r, struct samples *s, size_t count, uint64_t wall_ns);

/* ------------------------------------------------------------ pids, cpus, /proc */

/* Hands out PIDs from [lo, hi) that no process, process group or session
 * uses now. */
struct pid_pool {
	pid_t lo, hi, next;
	uint8_t *used;          /* bit per PID: a process group's or session's ID */
};

/* Reads a small file whole (NUL-terminated); its length or -errno. */
ssize_t read_text_file(const char *path, char *buf, size_t size);

int pid_pool_init(struct pid_pool *pool, pid_t lo, pid_t hi);
void pid_pool_free(struct pid_pool *pool);
/* n free PIDs; -ENOSPC when the range has too few left. */
int pid_pool_take(struct pid_pool *pool, pid_t *pids, size_t n);
pid_t pid_max_read(void);

/* Affinity of pid (0: this process) to one CPU, or to every CPU when cpu < 0. */
int cpu_pin(pid_t pid, int cpu);
/* The same for pid and each of its children. */
int cpu_pin_family(pid_t pid, int cpu);
int cpu_count(void);

/* ------------------------------------------------------------ kernel floors */

/* clone3(set_tid = pid, CLONE_PIDFD), the child _exit(0)s or execs argv,
 * the parent reaps it. Returns 0 or -errno (-EEXIST: pid was taken). */
int floor_clone(pid_t pid, char *const *argv, char *const *envp);

/* The ns_last_pid method, in a pid namespace of its own so that the host's
 * ns_last_pid is left alone: write P-1, fork, check the child got P, reap.
 * With noisy set, one other process forks in a loop in the same namespace
 * meanwhile. Runs iterations of it; wrong counts the children that got
 * another PID than the one asked for. */
int ns_last_pid_run(size_t iterations, bool noisy, struct samples *s, uint64_t *wall_ns, size_t *wrong);

/* The least a server must do for a reserve and a release: a forked process
 * that clone3()s a parked child on request, passes its pidfd back, and on
 * release kills, reaps and answers (bench-minimal.c). */
struct minimal_server {
	pid_t pid;
	int sock;
};
int minimal_server_start(struct minimal_server *ms);
void minimal_server_stop(struct minimal_server *ms);
/* One reserve of pid and its release. Returns 0 or -errno. */
int minimal_server_cycle(struct minimal_server *ms, pid_t pid);

/* ------------------------------------------------------------ the daemon */

struct bench_daemon {
	pid_t pid;
	char dir[64];
	char socket[128];
	char log[128];
};

struct bench_paths {
	const char *daemon;
	const char *holder;
};

/* Starts pidrestored on a socket in a fresh temp dir and waits until it
 * answers. extra_args: more options, NULL-terminated, or NULL. */
int daemon_start(struct bench_daemon *d, const struct bench_paths *paths, const char *const *extra_args);
/* SIGTERM, and waits for it to exit; removes its temp dir. */
void daemon_stop(struct bench_daemon *d);

/* Resident set of a process (VmRSS) and the Pss of its whole address space
 * (smaps_rollup), in KiB; negative errno on failure. */
long proc_rss_kib(pid_t pid);
long proc_pss_kib(pid_t pid);

/* Time from connecting to systemd-socket-activate's socket to the daemon's
 * first reply, the daemon started by that connection. -ENOENT when
 * systemd-socket-activate is not installed. */
int cold_start_once(const struct bench_paths *paths, uint64_t *ns);

/* ------------------------------------------------------------ client rows */

int client_connect(const struct bench_daemon *d, pidrestore **ret);

/* Reserves pids[i % n_pids] one at a time, getting the pidfd, and releases
 * it, iterations times; samples each reserve+release. */
int client_reserve_cycle(pidrestore *c, const pid_t *pids, size_t n_pids, size_t iterations,
			 struct samples *s, uint64_t *wall_ns);

/* Spawns argv[0] with pids[i % n_pids] and waits for its exit event. */
int client_spawn_cycle(pidrestore *c, const pid_t *pids, size_t n_pids, char *const *argv,
		       char *const *envp, size_t iterations, struct samples *s, uint64_t *wall_ns);

/* n clients, each on its own connection in its own process, run reserve
 * cycles for duration_ns; pids holds per_client PIDs for each. */
struct concurrency_result {
	struct rep rep;
	double fairness;        /* the fewest cycles of one client / the mean */
	uint64_t total;
};
int client_concurrency(const struct bench_daemon *d, size_t n_clients, const pid_t *pids, size_t per_client,
		       uint64_t duration_ns, struct concurrency_result *ret);

/* Reserves n PIDs (one request, or one request each) and releases them
 * afterwards; *ns is the time of the reserving alone. */
int client_reserve_batch(pidrestore *c, const pid_t *pids, size_t n, bool one_request, uint64_t *ns);

/* Reserves n PIDs in requests of at most chunk and keeps them. */
int client_hold(pidrestore *c, const pid_t *pids, size_t n, size_t chunk);
int client_release_all(pidrestore *c);
