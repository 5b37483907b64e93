/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

ssize_t read_text_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	return n;
}

pid_t pid_max_read(void)
{
	char buf[32];
	ssize_t n = read_text_file("/proc/sys/kernel/pid_max", buf, sizeof(buf));

	return n < 0 ? (pid_t)n : (pid_t)atol(buf);
}

static void mark_used(struct pid_pool *pool, long id)
{
	if (id >= pool->lo && id < pool->hi)
		pool->used[(id - pool->lo) / 8] |= (uint8_t)(1u << ((id - pool->lo) % 8));
}

static bool is_marked(const struct pid_pool *pool, pid_t id)
{
	return pool->used[(id - pool->lo) / 8] & (1u << ((id - pool->lo) % 8));
}

/* A session whose leader has exited keeps its ID busy (clone3 says EEXIST)
 * with no /proc entry and no process group of that ID: only the members'
 * stat lines tell. */
static int mark_sessions(struct pid_pool *pool)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;

	if (!proc)
		return -errno;
	while ((e = readdir(proc))) {
		char path[300], buf[1024];
		const char *after;
		long pgrp, session;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (read_text_file(path, buf, sizeof(buf)) < 0)
			continue;
		/* "PID (COMM) STATE PPID PGRP SESSION ...": COMM may hold anything. */
		after = strrchr(buf, ')');
		if (after && sscanf(after, ") %*c %*d %ld %ld", &pgrp, &session) == 2) {
			mark_used(pool, pgrp);
			mark_used(pool, session);
		}
	}
	closedir(proc);
	return 0;
}

int pid_pool_init(struct pid_pool *pool, pid_t lo, pid_t hi)
{
	pid_t max = pid_max_read();

	if (max < 0)
		return max;
	if (lo < 2 || hi <= lo || hi > max)
		return -ERANGE;
	pool->lo = pool->next = lo;
	pool->hi = hi;
	pool->used = calloc((size_t)(hi - lo) / 8 + 1, 1);
	if (!pool->used)
		return -ENOMEM;
	return mark_sessions(pool);
}

void pid_pool_free(struct pid_pool *pool)
{
	free(pool->used);
	pool->used = NULL;
}

static bool pid_is_free(const struct pid_pool *pool, pid_t pid)
{
	char path[32];

	if (is_marked(pool, pid))
		return false;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK) == 0)
		return false;
	return kill(-pid, 0) < 0 && errno == ESRCH;
}

int pid_pool_take(struct pid_pool *pool, pid_t *pids, size_t n)
{
	size_t got = 0;

	while (got < n && pool->next < pool->hi) {
		pid_t p = pool->next++;

		if (pid_is_free(pool, p))
			pids[got++] = p;
	}
	return got == n ? 0 : -ENOSPC;
}

int cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

int cpu_pin_family(pid_t pid, int cpu)
{
	char path[64];
	FILE *f;
	int r = cpu_pin(pid, cpu);
	long child;

	/* The daemon's spawner makes every clone and placeholders inherit its
	 * affinity: it is pinned with the daemon. */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "re");
	if (!f)
		return r;
	while (r == 0 && fscanf(f, "%ld", &child) == 1) {
		r = cpu_pin((pid_t)child, cpu);
		/* A placeholder may be gone already. */
		if (r == -ESRCH)
			r = 0;
	}
	fclose(f);
	return r;
}

int cpu_pin(pid_t pid, int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
	} else {
		for (long i = 0; i < n && i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	return sched_setaffinity(pid, sizeof(set), &set) < 0 ? -errno : 0;
}
