/* raw-request: speaks the wire protocol directly, without libpidrestore, so
 * that tests can send what a well-behaved client never would.
 *
 *   raw-request SOCKET hello
 *   raw-request SOCKET garbage
 *   raw-request SOCKET oversize BYTES
 *   raw-request SOCKET fds N FILE [FD_COUNT]
 *   raw-request SOCKET spawn [--new-pidns] PID[,PID...]
 *
 * Every mode first exchanges a valid Hello, then sends its packet and prints
 * what came back: "reply error=N name=ENAME message=TEXT" for a response,
 * "closed" when the daemon ended the connection, or "timeout". "hello" only
 * prints "hello version=N".
 *
 * With --no-hello, the Hello is skipped (the bad packet comes first).
 *
 * With --daemon-pid PID (before SOCKET), it then counts, while its own
 * connection is still open, the daemon's fds that refer to FILE (mode fds) and
 * prints "daemon_file_fds=N"; it waits up to 3 s for the count to reach 0.
 *
 * Exit status: 0 when the exchange happened as printed, 1 on a local error,
 * 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "pidrestore.pb-c.h"
#include "wire.h"

#define REPLY_TIMEOUT_MS 10000
#define RECV_CAP (1024 * 1024)
/* For packets the daemon cannot decode: it cannot know their id either. */
#define ANY_ID UINT64_MAX

static int send_request(int sock, const Pidrestore__Request *req, const int *fds, size_t n_fds)
{
	size_t len = pidrestore__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		return -ENOMEM;
	pidrestore__request__pack(req, buf);
	r = wire_send(sock, buf, len, fds, n_fds);
	free(buf);
	return r;
}

/* Waits for the response to request id (or any, ANY_ID), skipping events.
 * Returns 1 with *ret set (free with pidrestore__server_message__free_unpacked),
 * 0 when the connection was closed, -ETIMEDOUT, or -errno. */
static int recv_response(int sock, uint64_t id, Pidrestore__ServerMessage **ret)
{
	static uint8_t buf[RECV_CAP];

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct wire_packet pkt;
		Pidrestore__ServerMessage *m;
		int r;

		r = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = wire_recv(sock, buf, sizeof(buf), &pkt);
		if (r == -ECONNRESET || r == 0)
			return 0;
		if (r < 0)
			return r;
		wire_close_fds(&pkt, 0);
		if (pkt.truncated)
			return -EMSGSIZE;
		m = pidrestore__server_message__unpack(NULL, pkt.len, buf);
		if (!m)
			return -EBADMSG;
		if (m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE && (id == ANY_ID || m->response->id == id)) {
			*ret = m;
			return 1;
		}
		pidrestore__server_message__free_unpacked(m, NULL);
	}
}

static int hello(int sock, uint32_t *version)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	Pidrestore__ServerMessage *m = NULL;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)"raw-request";
	req.id = 1;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = send_request(sock, &req, NULL, 0);
	if (r < 0)
		return r;
	r = recv_response(sock, 1, &m);
	if (r <= 0)
		return r ? r : -ECONNRESET;
	if (m->response->error != 0 || m->response->body_case != PIDRESTORE__RESPONSE__BODY_HELLO)
		r = -EPROTO;
	else
		*version = m->response->hello->version;
	pidrestore__server_message__free_unpacked(m, NULL);
	return r < 0 ? r : 0;
}

static void print_reply(const Pidrestore__ServerMessage *m)
{
	const Pidrestore__Response *resp = m->response;
	const char *name = resp->error > 0 ? strerrorname_np(resp->error) : NULL;

	printf("reply error=%d name=%s message=%s\n", resp->error, name ? name : "-",
	       resp->message ? resp->message : "");
}

/* Prints the outcome of the request with this id. Returns 0 or -errno. */
static int report_outcome(int sock, uint64_t id)
{
	Pidrestore__ServerMessage *m = NULL;
	int r = recv_response(sock, id, &m);

	if (r == -ETIMEDOUT) {
		printf("timeout\n");
		return 0;
	}
	if (r < 0)
		return r;
	if (r == 0) {
		printf("closed\n");
		return 0;
	}
	print_reply(m);
	pidrestore__server_message__free_unpacked(m, NULL);
	return 0;
}

/* Number of the fds of process pid whose target is the file (dev, ino). */
static int count_fds_on(pid_t pid, dev_t dev, ino_t ino)
{
	char dir[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && st.st_dev == dev && st.st_ino == ino)
			n++;
	}
	closedir(d);
	return n;
}

static int parse_int(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int mode_garbage(int sock)
{
	/* Not a valid protobuf encoding: field 0 is reserved, wire type 7 does
	 * not exist, and a length runs past the end. */
	static const uint8_t junk[] = {
		0x00, 0x07, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x0f, 0x52, 0x7f, 0xde, 0xad, 0xbe, 0xef, 0x0a, 0x80, 0x80, 0x80, 0x80,
	};
	int r = wire_send(sock, junk, sizeof(junk), NULL, 0);

	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	return report_outcome(sock, ANY_ID);
}

/* A Hello whose client string pads the packet to exactly 'size' bytes: valid
 * except for its size. */
static int mode_oversize(int sock, size_t size)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	size_t pad = size > 64 ? size - 64 : 1;
	char *s;
	int r;

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	req.id = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	for (;;) {
		size_t len;

		s = malloc(pad + 1);
		if (!s)
			return -ENOMEM;
		memset(s, 'x', pad);
		s[pad] = '\0';
		h.client = s;
		len = pidrestore__request__get_packed_size(&req);
		if (len >= size || pad >= size)
			break;
		free(s);
		pad += size - len;
	}
	r = send_request(sock, &req, NULL, 0);
	free(s);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	return report_outcome(sock, ANY_ID);
}

/* A Status request, which takes no fds, carrying n fds of file. */
static int mode_fds(int sock, const char *file, size_t n, uint32_t fd_count)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest st = PIDRESTORE__STATUS_REQUEST__INIT;
	int fds[WIRE_MAX_FDS];
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		fds[i] = open(file, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			r = -errno;
			break;
		}
	}
	if (r == 0) {
		req.id = 2;
		req.has_fd_count = 1;
		req.fd_count = fd_count;
		req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
		req.status = &st;
		r = send_request(sock, &req, fds, n);
	}
	while (i > 0)
		close(fds[--i]);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	return report_outcome(sock, 2);
}

/* A spawn of /bin/true with the given PIDs, exactly as written (negative
 * ones, too many): what the daemon says about them, not the client. */
static int mode_spawn(int sock, const char *list, bool new_pidns)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__SpawnRequest sp = PIDRESTORE__SPAWN_REQUEST__INIT;
	Pidrestore__ProcessSpec ps = PIDRESTORE__PROCESS_SPEC__INIT;
	Pidrestore__ExecSpec ex = PIDRESTORE__EXEC_SPEC__INIT;
	ProtobufCBinaryData argv0 = { .len = 9, .data = (uint8_t *)"/bin/true" };
	int32_t pids[64];
	size_t n = 0;
	char *copy = strdup(list), *save = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v;

		if (n >= sizeof(pids) / sizeof(pids[0]) || parse_int(tok, INT32_MIN, INT32_MAX, &v) < 0) {
			free(copy);
			return -EINVAL;
		}
		pids[n++] = (int32_t)v;
	}
	free(copy);
	ps.n_pids = n;
	ps.pids = pids;
	if (new_pidns) {
		ps.has_new_pidns = 1;
		ps.new_pidns = 1;
	}
	ex.has_path = 1;
	ex.path = argv0;
	ex.n_argv = 1;
	ex.argv = &argv0;
	sp.process = &ps;
	sp.exec = &ex;
	req.id = 2;
	req.body_case = PIDRESTORE__REQUEST__BODY_SPAWN;
	req.spawn = &sp;
	r = send_request(sock, &req, NULL, 0);
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		return r;
	return report_outcome(sock, 2);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: raw-request [--no-hello] [--daemon-pid PID] SOCKET hello|garbage\n"
		"       raw-request [--daemon-pid PID] SOCKET oversize BYTES\n"
		"       raw-request [--daemon-pid PID] SOCKET fds N FILE [FD_COUNT]\n"
		"       raw-request [--daemon-pid PID] SOCKET spawn [--new-pidns] PID[,PID...]\n");
}

int main(int argc, char **argv)
{
	long daemon_pid = 0, v, fd_count;
	const char *file = NULL;
	uint32_t version = 0;
	bool no_hello = false;
	struct stat st;
	int sock = -1, r;

	for (;;) {
		if (argc > 2 && strcmp(argv[1], "--daemon-pid") == 0) {
			if (parse_int(argv[2], 1, INT_MAX, &daemon_pid) < 0) {
				usage();
				return 2;
			}
			argv += 2;
			argc -= 2;
		} else if (argc > 1 && strcmp(argv[1], "--no-hello") == 0) {
			no_hello = true;
			argv++;
			argc--;
		} else {
			break;
		}
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	sock = wire_connect(argv[1]);
	r = sock < 0 ? sock : 0;
	if (r < 0) {
		fprintf(stderr, "raw-request: connect %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	r = no_hello ? 0 : hello(sock, &version);
	if (r < 0) {
		fprintf(stderr, "raw-request: hello: %s\n", strerror(-r));
		return 1;
	}

	if (strcmp(argv[2], "hello") == 0) {
		printf("hello version=%u\n", version);
	} else if (strcmp(argv[2], "garbage") == 0) {
		r = mode_garbage(sock);
	} else if (strcmp(argv[2], "oversize") == 0 && argc == 4) {
		if (parse_int(argv[3], 1, 64 << 20, &v) < 0) {
			usage();
			return 2;
		}
		r = mode_oversize(sock, (size_t)v);
	} else if (strcmp(argv[2], "fds") == 0 && (argc == 5 || argc == 6)) {
		if (parse_int(argv[3], 1, WIRE_MAX_FDS, &v) < 0 ||
		    (argc == 6 && parse_int(argv[5], 0, UINT32_MAX, &fd_count) < 0)) {
			usage();
			return 2;
		}
		if (argc == 5)
			fd_count = v;
		file = argv[4];
		r = mode_fds(sock, file, (size_t)v, (uint32_t)fd_count);
	} else if (strcmp(argv[2], "spawn") == 0 && argc == 4) {
		r = mode_spawn(sock, argv[3], false);
	} else if (strcmp(argv[2], "spawn") == 0 && argc == 5 && strcmp(argv[3], "--new-pidns") == 0) {
		r = mode_spawn(sock, argv[4], true);
	} else {
		usage();
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "raw-request: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}

	if (daemon_pid > 0 && file) {
		int n = -1;

		if (stat(file, &st) < 0) {
			fprintf(stderr, "raw-request: stat %s: %s\n", file, strerror(errno));
			return 1;
		}
		/* The daemon may still be tearing down: give it a moment. */
		for (int i = 0; i < 30; i++) {
			struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

			n = count_fds_on((pid_t)daemon_pid, st.st_dev, st.st_ino);
			if (n <= 0)
				break;
			nanosleep(&ts, NULL);
		}
		if (n < 0) {
			fprintf(stderr, "raw-request: /proc/%ld/fd: %s\n", daemon_pid, strerror(-n));
			return 1;
		}
		printf("daemon_file_fds=%d\n", n);
	}
	fflush(stdout);
	close(sock);
	return 0;
}
