/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floors: what root pays to do it in-process, without the daemon. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "kernel.h"

int floor_clone(pid_t pid, char *const *argv, char *const *envp)
{
	int pidfd = -1, r;
	struct pr_clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&pid,
		.set_tid_size = 1,
	};
	siginfo_t si = { 0 };
	long child;

	child = pr_clone3(&args);
	if (child == 0) {
		/* Raw system calls only: this child of a raw clone3 must not
		 * trust libc's idea of which thread it is. */
		if (argv)
			syscall(SYS_execve, argv[0], argv, envp);
		syscall(SYS_exit_group, argv ? 127 : 0);
	}
	if (child < 0)
		return -errno;
	r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 ? -errno : 0;
	close(pidfd);
	if (r == 0 && child != pid)
		r = -EREMCHG; /* set_tid ignored: clone_args too short for this kernel */
	if (r == 0 && (si.si_code != CLD_EXITED || si.si_status != 0))
		r = -ECHILD;
	return r;
}

/* ------------------------------------------------------------ ns_last_pid */

struct nslp_shared {
	int error;
	size_t wrong;
	uint64_t wall_ns;
	size_t n;
	uint64_t ns[];
};

/* Forks as fast as it can, the "one other process" of the race; the kernel
 * reaps its children (SIGCHLD ignored), so it never stops to wait. */
static void noise_loop(int ready_fd)
{
	signal(SIGCHLD, SIG_IGN);
	(void)!write(ready_fd, "x", 1);
	close(ready_fd);
	for (;;)
		if (fork() == 0)
			_exit(0);
}

/* Runs as PID 1 of its own pid namespace; writes its figures to sh. */
static int nslp_measure(struct nslp_shared *sh, size_t iterations, bool noisy)
{
	int fd = -1, pipefd[2] = { -1, -1 }, r = 0;
	pid_t noise = -1;
	uint64_t start;
	char c;

	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (noisy) {
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			r = -errno;
			goto out;
		}
		noise = fork();
		if (noise == 0) {
			close(pipefd[0]);
			noise_loop(pipefd[1]);
		}
		if (noise < 0) {
			r = -errno;
			goto out;
		}
		close(pipefd[1]);
		pipefd[1] = -1;
		if (read(pipefd[0], &c, 1) != 1) {
			r = -EIO;
			goto out;
		}
	}
	start = bench_now_ns();
	for (size_t i = 0; i < iterations; i++) {
		/* Far apart, so that the noise's own children never sit on the
		 * next target. */
		pid_t want = 100000 + (pid_t)(i % 100) * 1000, got;
		char text[16];
		int len = snprintf(text, sizeof(text), "%d", want - 1);
		uint64_t t0 = bench_now_ns();

		if (pwrite(fd, text, (size_t)len, 0) != len) {
			r = -errno;
			goto out;
		}
		got = fork();
		if (got == 0)
			_exit(0);
		if (got < 0) {
			r = -errno;
			goto out;
		}
		waitpid(got, NULL, 0);
		sh->ns[sh->n++] = bench_now_ns() - t0;
		if (got != want)
			sh->wrong++;
	}
	sh->wall_ns = bench_now_ns() - start;
out:
	if (noise > 0) {
		kill(noise, SIGKILL);
		waitpid(noise, NULL, 0);
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	close(fd);
	return r;
}

/* Forked: enters a new pid namespace and forks its PID 1 to measure. */
static void nslp_helper(struct nslp_shared *sh, size_t iterations, bool noisy)
{
	int status = 0;
	pid_t init;

	if (unshare(CLONE_NEWPID) < 0) {
		sh->error = -errno;
		_exit(1);
	}
	init = fork();
	if (init == 0) {
		sh->error = nslp_measure(sh, iterations, noisy);
		_exit(0);
	}
	if (init < 0 || waitpid(init, &status, 0) < 0) {
		sh->error = -errno;
		_exit(1);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int ns_last_pid_run(size_t iterations, bool noisy, struct samples *s, uint64_t *wall_ns, size_t *wrong)
{
	size_t size = sizeof(struct nslp_shared) + iterations * sizeof(uint64_t);
	struct nslp_shared *sh;
	int status = 0, r;
	pid_t helper;

	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	helper = fork();
	if (helper == 0)
		nslp_helper(sh, iterations, noisy);
	if (helper < 0) {
		r = -errno;
		goto out;
	}
	if (waitpid(helper, &status, 0) < 0) {
		r = -errno;
		goto out;
	}
	r = sh->error;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		r = -ECHILD;
	if (r == 0) {
		for (size_t i = 0; i < sh->n; i++)
			samples_add(s, sh->ns[i]);
		*wall_ns = sh->wall_ns;
		*wrong = sh->wrong;
	}
out:
	munmap(sh, size);
	return r;
}
