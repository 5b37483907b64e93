/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-listen: the receiving end of sd_notify, for tests.
 *
 *   notify-listen PATH [SECONDS]
 *
 * Binds an AF_UNIX datagram socket at PATH (replacing a stale one) and prints
 * every line of every datagram it receives as "PID LINE", PID being the
 * sender's as the kernel reports it (SCM_CREDENTIALS). Output is flushed per
 * datagram. Exits 0 after SECONDS (default 120) or on SIGTERM/SIGINT. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_at(const char *path, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		goto fail;
	if (unlink(path) < 0 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	*ret = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

/* Prints one datagram, line by line. Returns 0 or -errno. */
static int print_datagram(int fd)
{
	char buf[4096 + 1];
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	long pid = -1;
	ssize_t n;

	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			pid = uc.pid;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			/* sd_pid_notify_with_fds; we keep none. */
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(rfd);
			}
		}
	}
	buf[n] = '\0';
	for (char *line = buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		printf("%ld %s\n", pid, line);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct timespec start, now;
	long seconds = 120;
	int fd = -1, r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: notify-listen PATH [SECONDS]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;

		seconds = strtol(argv[2], &end, 10);
		if (*end || seconds <= 0) {
			fprintf(stderr, "notify-listen: bad SECONDS: %s\n", argv[2]);
			return 2;
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	r = listen_at(argv[1], &fd);
	if (r < 0) {
		fprintf(stderr, "notify-listen: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left_ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left_ms = seconds * 1000 - ((now.tv_sec - start.tv_sec) * 1000 +
					    (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left_ms <= 0)
			break;
		r = poll(&p, 1, left_ms > 1000 ? 1000 : (int)left_ms);
		if (r < 0 && errno != EINTR) {
			perror("notify-listen: poll");
			return 1;
		}
		if (r > 0) {
			r = print_datagram(fd);
			if (r < 0 && r != -EINTR && r != -EAGAIN) {
				fprintf(stderr, "notify-listen: recvmsg: %s\n", strerror(-r));
				return 1;
			}
		}
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
