/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn-pidfd: a libpidrestore client that checks what a spawn hands back.
 *
 *   spawn-pidfd --socket PATH --pid P[,P...] [--new-pidns] [--gate] -- CMD [ARGS...]
 *   spawn-pidfd --socket PATH status
 *
 * spawn: runs CMD (with this program's stdio and environment) with the given
 * PIDs and prints, one per line:
 *   pids=P0,P1,...        the PIDs the daemon reports, innermost first
 *   fdinfo_pid=N          the Pid: line of /proc/self/fdinfo/<pidfd>
 *   fdinfo_nspid=A B ...  its NSpid: line
 *   signal0=0             pidfd_send_signal(pidfd, 0) before the exit: 0 or -errno
 *   event_pids=...        the PIDs in the exit event for this process
 *   exit=N signal=S       the exit event
 *   pidfd_readable=1      the pidfd polled readable (the process ended)
 * With --gate, CMD's stdin is a pipe that is closed only after the checks on
 * the running process: a CMD that reads its stdin to the end before exiting
 * is still there to be checked.
 * On a refused spawn it prints "error=ENAME message=TEXT" and exits 3.
 *
 * status: prints the daemon's status as key=value lines.
 *
 * Exit status: 0 when everything above was obtained, 1 on a local or protocol
 * error, 2 on a usage error, 3 when the daemon refused the spawn. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pidrestore.h"

#define EVENT_TIMEOUT_MS 20000

static int pidfd_signal0(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return -errno;
	return 0;
}

/* Copies the value of the "key:" line of /proc/self/fdinfo/fd into buf. */
static int fdinfo_field(int fd, const char *key, char *buf, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		v = line + klen + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		for (char *t = v; *t; t++)
			if (*t == '\t')
				*t = ' ';
		snprintf(buf, size, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static void print_pids(const char *key, const pid_t *pids, size_t n)
{
	printf("%s=", key);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("\n");
}

static int parse_pids(const char *s, pid_t *pids, size_t max, size_t *n)
{
	char *copy = strdup(s), *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	*n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v;

		errno = 0;
		v = strtol(tok, &end, 10);
		if (errno || *end || v < INT_MIN || v > INT_MAX || *n >= max) {
			r = -EINVAL;
			break;
		}
		pids[(*n)++] = (pid_t)v;
	}
	free(copy);
	return r < 0 ? r : (*n ? 0 : -EINVAL);
}

static int do_status(pidrestore *c)
{
	pidrestore_status st;
	int r = pidrestore_get_status(c, &st);

	if (r < 0) {
		fprintf(stderr, "spawn-pidfd: status: %s: %s\n", strerror(-r), pidrestore_last_error(c));
		return 1;
	}
	printf("daemon_version=%s\n", st.daemon_version);
	printf("protocol_version=%u\n", st.protocol_version);
	printf("connections=%u\n", st.connections);
	printf("reservations=%u\n", st.reservations);
	printf("running=%u\n", st.running);
	printf("socket_activated=%d\n", st.socket_activated ? 1 : 0);
	printf("socket_path=%s\n", st.socket_path);
	return 0;
}

static int do_spawn(pidrestore *c, const pid_t *pids, size_t n_pids, unsigned int flags,
		    int gate, char **cmdv)
{
	int stdio_map[3][2] = { { 0, 0 }, { 1, 1 }, { 2, 2 } };
	int gate_fds[2] = { -1, -1 };
	pidrestore_target target = {
		.pids = pids, .n_pids = n_pids, .pidns_fd = -1, .flags = flags,
	};
	pidrestore_command cmd = {
		.path = cmdv[0], .program_fd = -1, .argv = cmdv, .envp = NULL,
		.fd_map = (const int (*)[2])stdio_map, .n_fd_map = 3, .cwd_fd = -1,
	};
	pidrestore_process proc;
	pidrestore_event ev;
	struct pollfd p;
	char buf[256];
	int r;

	if (gate) {
		if (pipe2(gate_fds, O_CLOEXEC) < 0) {
			perror("spawn-pidfd: pipe2");
			return 1;
		}
		stdio_map[0][0] = gate_fds[0];
	}
	r = pidrestore_spawn(c, &target, &cmd, &proc);
	if (gate_fds[0] >= 0)
		close(gate_fds[0]);
	if (r < 0) {
		const char *name = strerrorname_np(-r);

		printf("error=%s message=%s\n", name ? name : "?", pidrestore_last_error(c));
		if (gate_fds[1] >= 0)
			close(gate_fds[1]);
		return 3;
	}
	print_pids("pids", proc.pids, proc.n_pids);
	if (proc.pidfd < 0) {
		printf("pidfd=none\n");
		if (gate_fds[1] >= 0)
			close(gate_fds[1]);
		return 1;
	}
	if (fdinfo_field(proc.pidfd, "Pid", buf, sizeof(buf)) == 0)
		printf("fdinfo_pid=%s\n", buf);
	if (fdinfo_field(proc.pidfd, "NSpid", buf, sizeof(buf)) == 0)
		printf("fdinfo_nspid=%s\n", buf);
	printf("signal0=%d\n", pidfd_signal0(proc.pidfd));
	fflush(stdout);
	if (gate_fds[1] >= 0)
		close(gate_fds[1]);

	for (;;) {
		r = pidrestore_wait_event(c, EVENT_TIMEOUT_MS, &ev);
		if (r < 0) {
			fprintf(stderr, "spawn-pidfd: wait_event: %s\n", strerror(-r));
			return 1;
		}
		if (r == 0) {
			printf("exit=timeout\n");
			return 1;
		}
		if (ev.type == PIDRESTORE_EVENT_EXITED && ev.id == proc.id)
			break;
	}
	print_pids("event_pids", ev.pids, ev.n_pids);
	printf("exit=%d signal=%d\n", ev.exit_code, ev.signal);
	p = (struct pollfd){ .fd = proc.pidfd, .events = POLLIN };
	r = poll(&p, 1, 5000);
	printf("pidfd_readable=%d\n", r == 1 && (p.revents & POLLIN) ? 1 : 0);
	close(proc.pidfd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: spawn-pidfd --socket PATH --pid P[,P...] [--new-pidns] [--gate] -- CMD [ARGS...]\n"
		"       spawn-pidfd --socket PATH status\n");
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL, *pid_list = NULL;
	pid_t pids[PIDRESTORE_MAX_LEVELS + 8];
	unsigned int flags = 0;
	size_t n_pids = 0;
	int gate = 0;
	pidrestore *c;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			socket_path = argv[++i];
		else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
			pid_list = argv[++i];
		else if (strcmp(argv[i], "--new-pidns") == 0)
			flags |= PIDRESTORE_NEW_PIDNS;
		else if (strcmp(argv[i], "--gate") == 0)
			gate = 1;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (!socket_path) {
		usage();
		return 2;
	}
	if (i < argc && strcmp(argv[i], "status") == 0 && i + 1 == argc && !pid_list) {
		r = pidrestore_connect(socket_path, &c);
		if (r < 0) {
			fprintf(stderr, "spawn-pidfd: connect: %s\n", strerror(-r));
			return 1;
		}
		r = do_status(c);
		pidrestore_disconnect(c);
		return r;
	}
	if (!pid_list || i >= argc ||
	    parse_pids(pid_list, pids, sizeof(pids) / sizeof(pids[0]), &n_pids) < 0) {
		usage();
		return 2;
	}
	r = pidrestore_connect(socket_path, &c);
	if (r < 0) {
		fprintf(stderr, "spawn-pidfd: connect: %s\n", strerror(-r));
		return 1;
	}
	r = do_spawn(c, pids, n_pids, flags, gate, argv + i);
	pidrestore_disconnect(c);
	fflush(stdout);
	return r;
}
