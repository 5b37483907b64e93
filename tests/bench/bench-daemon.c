/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private pidrestored for the benchmark: started from the build tree on a
 * socket in a temp dir, its policy file empty (root may take any PID), its
 * log in the temp dir at the default level, as an admin would run it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 10000

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int temp_dir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/pidrestore-bench.XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	/* Placeholders drop to the requester's uid; root's here. */
	chmod(dir, 0755);
	return 0;
}

/* An empty policy file: the defaults. A --config file must exist. */
static int write_empty_policy(char *path, size_t size, const char *dir)
{
	int fd;

	snprintf(path, size, "%s/pidrestored.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void remove_temp_dir(const char *dir, const char *const *files)
{
	for (; *files; files++) {
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", dir, *files);
		unlink(path);
	}
	rmdir(dir);
}

/* In the forked child: stdio to the log, then exec. Never returns. */
static void exec_logged(const char *log, char *const *argv)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	/* A benchmark killed midway must not leave its daemon behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot execute %s: %m\n", argv[0]);
	_exit(127);
}

static void print_log_tail(const char *log)
{
	char buf[4096];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf))
		lseek(fd, -(off_t)sizeof(buf), SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0) {
		fprintf(stderr, "--- %s (end) ---\n", log);
		fwrite(buf, 1, (size_t)n, stderr);
	}
}

/* Waits for pid to exit, SIGKILLing it after timeout_ms. */
static void stop_child(pid_t pid, int sig, long timeout_ms)
{
	kill(pid, sig);
	for (long waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_ms(10);
	}
	fprintf(stderr, "pidrestore-bench: process %d did not exit within %ld ms of signal %d; killing it\n",
		pid, timeout_ms, sig);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static const char *const daemon_files[] = { "daemon.log", "sock", "pidrestored.conf", NULL };

int daemon_start(struct bench_daemon *d, const struct bench_paths *paths, const char *const *extra_args)
{
	char config[128];
	const char *argv[32];
	size_t n = 0;
	int r;

	memset(d, 0, sizeof(*d));
	r = temp_dir(d->dir, sizeof(d->dir));
	if (r < 0)
		return r;
	snprintf(d->socket, sizeof(d->socket), "%s/sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
	/* No grants, so only root may take PIDs, which the benchmark is. */
	r = write_empty_policy(config, sizeof(config), d->dir);
	if (r < 0) {
		remove_temp_dir(d->dir, daemon_files);
		d->dir[0] = '\0';
		return r;
	}

	argv[n++] = paths->daemon;
	argv[n++] = "--socket";
	argv[n++] = d->socket;
	argv[n++] = "--holder";
	argv[n++] = paths->holder;
	argv[n++] = "--config";
	argv[n++] = config;
	for (size_t i = 0; extra_args && extra_args[i] && n < 31; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	d->pid = fork();
	if (d->pid == 0)
		exec_logged(d->log, (char *const *)argv);
	if (d->pid < 0) {
		r = -errno;
		goto fail;
	}
	for (long waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		pidrestore *c;

		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			fprintf(stderr, "pidrestore-bench: pidrestored exited at start\n");
			d->pid = 0;
			r = -ECHILD;
			goto fail;
		}
		if (access(d->socket, F_OK) == 0 && pidrestore_connect(d->socket, &c) == 0) {
			pidrestore_disconnect(c);
			return 0;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "pidrestore-bench: pidrestored did not answer on %s within %d ms\n", d->socket, START_TIMEOUT_MS);
	r = -ETIMEDOUT;
fail:
	print_log_tail(d->log);
	daemon_stop(d);
	return r;
}

void daemon_stop(struct bench_daemon *d)
{
	if (d->pid > 0)
		stop_child(d->pid, SIGTERM, STOP_TIMEOUT_MS);
	d->pid = 0;
	if (d->dir[0])
		remove_temp_dir(d->dir, daemon_files);
	d->dir[0] = '\0';
}

/* ------------------------------------------------------------ memory */

static long status_kib(pid_t pid, const char *file, const char *key)
{
	char path[64], buf[8192];
	size_t key_len = strlen(key);
	const char *line;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	n = read_text_file(path, buf, sizeof(buf));
	if (n < 0)
		return (long)n;
	for (line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, key_len) == 0 && line[key_len] == ':')
			return strtol(line + key_len + 1, NULL, 10);
	return -ENODATA;
}

long proc_rss_kib(pid_t pid)
{
	return status_kib(pid, "status", "VmRSS");
}

long proc_pss_kib(pid_t pid)
{
	return status_kib(pid, "smaps_rollup", "Pss");
}

/* ------------------------------------------------------------ cold start */

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, name);
		if (len > 0 && access(buf, X_OK) == 0)
			return true;
		p += len;
		if (*p == ':')
			p++;
	}
	return false;
}

/* Whether a listening AF_UNIX socket is bound at path, from /proc/net/unix
 * ("Num RefCount Protocol Flags Type St Inode Path", Flags 00010000 when it
 * listens): a connect to find out would start the daemon. */
static bool unix_listening(const char *path)
{
	size_t path_len = strlen(path);
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		size_t len = strcspn(line, "\n");
		unsigned long flags;

		if (len > path_len && line[len - path_len - 1] == ' ' &&
		    strncmp(line + len - path_len, path, path_len) == 0 &&
		    sscanf(line, "%*s %*s %*s %lx", &flags) == 1 && (flags & 0x10000))
			found = true;
	}
	free(line);
	fclose(f);
	return found;
}

static const char *const cold_files[] = { "activate.log", "sock", "pidrestored.conf", NULL };

int cold_start_once(const struct bench_paths *paths, uint64_t *ns)
{
	char dir[64], sock[128], log[128], config[128];
	pidrestore *c = NULL;
	uint64_t t0;
	pid_t pid;
	int r;

	if (!in_path("systemd-socket-activate"))
		return -ENOENT;
	r = temp_dir(dir, sizeof(dir));
	if (r < 0)
		return r;
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(log, sizeof(log), "%s/activate.log", dir);
	r = write_empty_policy(config, sizeof(config), dir);
	if (r < 0) {
		remove_temp_dir(dir, cold_files);
		return r;
	}

	pid = fork();
	if (pid == 0) {
		const char *argv[] = { "systemd-socket-activate", "--seqpacket", "-l", sock, "--",
				       paths->daemon, "--holder", paths->holder, "--config", config, NULL };

		exec_logged(log, (char *const *)argv);
	}
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	r = -ETIMEDOUT;
	for (long waited = 0; waited < START_TIMEOUT_MS; waited += 1) {
		if (unix_listening(sock)) {
			r = 0;
			break;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			pid = 0;
			r = -ECHILD;
			break;
		}
		sleep_ms(1);
	}
	if (r < 0) {
		fprintf(stderr, "pidrestore-bench: systemd-socket-activate did not listen on %s\n", sock);
		print_log_tail(log);
		goto out;
	}
	/* Nothing has accepted yet: the daemon starts on this connect. */
	t0 = bench_now_ns();
	r = pidrestore_connect(sock, &c);
	*ns = bench_now_ns() - t0;
	if (r < 0) {
		fprintf(stderr, "pidrestore-bench: no reply from the socket-activated daemon: %s\n",
			pidrestore_last_error(NULL));
		print_log_tail(log);
	}
	pidrestore_disconnect(c);
out:
	if (pid > 0)
		stop_child(pid, SIGTERM, STOP_TIMEOUT_MS);
	remove_temp_dir(dir, cold_files);
	return r;
}
