/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec-after-connect: connects to pidrestored, then becomes another program
 * (typically a set-user-ID one) while a child it forked keeps the
 * connection and talks over it, so that the daemon finds its requester with
 * an identity other than the one it connected with.
 *
 *   exec-after-connect SOCKET PID PROGRAM [ARG...]
 *
 * The connecting process execs PROGRAM; the connection stays open in the
 * child. Once the exec happened, the child prints "execed pid=N" (N: the
 * requester, which now runs PROGRAM) and only then says Hello; whoever runs
 * this may hold the daemon back until that line to be sure the daemon sees
 * the requester after its exec. It then prints the outcome of the Hello:
 *
 *   hello error=N name=ENAME message=TEXT    the daemon refused
 *   hello ok                                 it was accepted; then a reserve
 *                                            of host PID PID follows:
 *   reserved pid=P capeff=HEX uid=U          the placeholder's CapEff and
 *                                            effective uid
 *   reserve error=N name=ENAME message=TEXT
 *
 * and exits: 0 when the exchange happened as printed, 1 on a local error
 * (including an exec that failed), 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidrestore.pb-c.h"
#include "wire.h"

#define REPLY_TIMEOUT_MS 20000
#define RECV_CAP (64 * 1024)

static int send_request(int sock, Pidrestore__Request *req)
{
	uint8_t buf[1024];
	size_t len = pidrestore__request__get_packed_size(req);

	if (len > sizeof(buf))
		return -E2BIG;
	pidrestore__request__pack(req, buf);
	return wire_send(sock, buf, len, NULL, 0);
}

/* The response to id, or the daemon's refusal (id 0). Returns 1 with *ret
 * set, 0 when the connection closed, or -errno. */
static int recv_response(int sock, uint64_t id, Pidrestore__ServerMessage **ret)
{
	static uint8_t buf[RECV_CAP];
	bool reset = false;

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct wire_packet pkt;
		Pidrestore__ServerMessage *m;
		int r;

		r = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		r = wire_recv(sock, buf, sizeof(buf), &pkt);
		/* A daemon that closed with our Hello unread resets the
		 * connection, reported before its refusal still queued for
		 * us: read on once. */
		if (r == -ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (r == 0 || r == -ECONNRESET)
			return 0;
		if (r < 0)
			return r;
		wire_close_fds(&pkt, 0);
		m = pidrestore__server_message__unpack(NULL, pkt.len, buf);
		if (!m)
			return -EBADMSG;
		if (m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE &&
		    (m->response->id == id || m->response->id == 0)) {
			*ret = m;
			return 1;
		}
		pidrestore__server_message__free_unpacked(m, NULL);
	}
}

static void print_error(const char *what, const Pidrestore__Response *resp)
{
	const char *name = resp->error > 0 ? strerrorname_np(resp->error) : NULL;

	printf("%s error=%d name=%s message=%s\n", what, resp->error, name ? name : "-",
	       resp->message ? resp->message : "");
}

/* "Key:\tVALUE" of /proc/PID/status, tabs as spaces. */
static void status_field(pid_t pid, const char *key, char *out, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(out, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, size, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		break;
	}
	fclose(f);
}

static int hello(int sock)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	Pidrestore__ServerMessage *m = NULL;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)"exec-after-connect";
	req.id = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = send_request(sock, &req);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	r = recv_response(sock, 1, &m);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	if (m->response->error != 0) {
		print_error("hello", m->response);
		r = 1;
	} else {
		printf("hello ok\n");
		r = 0;
	}
	pidrestore__server_message__free_unpacked(m, NULL);
	return r;
}

static int reserve(int sock, int32_t pid)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__ReserveRequest rs = PIDRESTORE__RESERVE_REQUEST__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT, *ps_ptr = &ps;
	Pidrestore__ServerMessage *m = NULL;
	char capeff[64], uid[64];
	int r;

	ps.n_pids = 1;
	ps.pids = &pid;
	rs.n_processes = 1;
	rs.processes = &ps_ptr;
	req.id = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_RESERVE;
	req.reserve = &rs;
	r = send_request(sock, &req);
	if (r < 0)
		return r;
	r = recv_response(sock, 2, &m);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	if (m->response->error != 0) {
		print_error("reserve", m->response);
	} else {
		/* Read while the connection, and so the placeholder, lives. */
		status_field(pid, "CapEff", capeff, sizeof(capeff));
		status_field(pid, "Uid", uid, sizeof(uid));
		uid[strcspn(uid, " \t")] = '\0';
		printf("reserved pid=%d capeff=%s uid=%s\n", pid, capeff, uid);
	}
	pidrestore__server_message__free_unpacked(m, NULL);
	return 0;
}

/* The child's part: waits for the requester's exec, then talks. */
static int talk(int sock, int exec_pipe, pid_t requester, int32_t pid)
{
	int exec_errno = 0;
	ssize_t n;
	int r;

	/* The write end is close-on-exec in the requester: EOF means it
	 * execed, an errno that the exec failed. */
	do
		n = read(exec_pipe, &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		fprintf(stderr, "exec-after-connect: exec: %s\n", strerror(exec_errno));
		return 1;
	}
	printf("execed pid=%d\n", requester);
	fflush(stdout);
	r = hello(sock);
	if (r == 0)
		r = reserve(sock, pid);
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "exec-after-connect: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int exec_pipe[2], sock, exec_errno;
	pid_t requester = getpid(), child;
	char *end;
	long pid;

	if (argc < 4 || (pid = strtol(argv[2], &end, 10), *end != '\0' || pid <= 0 || pid > INT32_MAX)) {
		fprintf(stderr, "usage: exec-after-connect SOCKET PID PROGRAM [ARG...]\n");
		return 2;
	}
	sock = wire_connect(argv[1]);
	if (sock < 0) {
		fprintf(stderr, "exec-after-connect: connect %s: %s\n", argv[1], strerror(-sock));
		return 1;
	}
	if (pipe2(exec_pipe, O_CLOEXEC) < 0) {
		perror("exec-after-connect: pipe2");
		return 1;
	}
	fflush(stdout);
	child = fork();
	if (child < 0) {
		perror("exec-after-connect: fork");
		return 1;
	}
	if (child == 0) {
		close(exec_pipe[1]);
		_exit(talk(sock, exec_pipe[0], requester, (int32_t)pid));
	}
	/* The requester: the process that connected becomes PROGRAM. */
	close(exec_pipe[0]);
	close(sock);
	execv(argv[3], argv + 3);
	exec_errno = errno;
	if (write(exec_pipe[1], &exec_errno, sizeof(exec_errno)) < 0)
		perror("exec-after-connect: write");
	return 1;
}
