/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* flood-client: many connections and many requests at once, on the raw wire
 * protocol, to test the daemon's limits against floods.
 *
 *   flood-client SOCKET connect N [HOLD_SECONDS]
 *   flood-client SOCKET flood N REQUESTS [WINDOW [SECONDS]]
 *   flood-client SOCKET idle SECONDS [no-hello]
 *   flood-client SOCKET deaf REQUESTS [N]
 *   flood-client SOCKET latency SECONDS [STOPFILE]
 *
 * connect: opens N connections one after the other and says Hello on each;
 * prints "accepted A refused R", then one line per distinct refusal,
 * "refusal COUNT name=ENAME message=TEXT", then "holding" and keeps the
 * accepted connections open for HOLD_SECONDS (default 0) before it exits.
 *
 * flood: rounds of: connect as above, send REQUESTS Status requests spread
 * over the accepted connections, at most WINDOW (default 8) unanswered on
 * each, read every answer, close them all; again until SECONDS (default 0)
 * have passed, at least once. Prints "flooding" once the first round's
 * connections are open, and "round K accepted A" for each round; at the end
 * "rounds K", the connect lines (over all rounds), and "replies R errors E
 * closed C seconds S" (errors: answers with an error; closed: connections
 * the daemon closed). Exits 0 when every request got an answer.
 *
 * idle: one connection, with a Hello unless "no-hello"; waits up to SECONDS
 * for the daemon to close it without sending anything, then prints "closed
 * after S s" and the daemon's last word, "word name=ENAME message=TEXT",
 * if it sent one; or "open after SECONDS s".
 *
 * deaf: N connections (default 1), one after the other, each sending REQUESTS
 * Status requests after its Hello, and reading none of the answers; a second
 * after the last, prints "sent S closed K": the requests sent in all, and
 * how many of the connections the daemon has closed.
 *
 * latency: one connection, Status requests one after the other, each sent
 * once the last was answered, for up to SECONDS or until the file STOPFILE
 * exists; prints "measuring" once connected, then "samples N p50_us A
 * p99_us B max_us C": the round trips' times in microseconds.
 *
 * Exit status: 0 when it ran as printed, 1 on a local error or an unanswered
 * request, 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.pb-c.h"
#include "wire.h"

#define ANSWER_TIMEOUT_MS 30000
#define BUF_SIZE (256 * 1024)
#define MAX_REFUSAL_KINDS 16

static uint8_t buf[BUF_SIZE];

struct link {
	int fd;
	uint64_t next_id;
	unsigned int unanswered;
	bool closed;
};

struct refusal {
	char *text;
	int err;
	unsigned int count;
};

static struct refusal refusals[MAX_REFUSAL_KINDS];
static size_t n_refusal_kinds;

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int send_status(struct link *l)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest st = PIDRESTORE__STATUS_REQUEST__INIT;
	uint8_t packet[64];

	req.id = l->next_id++;
	req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
	req.status = &st;
	return wire_send(l->fd, packet, pidrestore__request__pack(&req, packet), NULL, 0);
}

static int send_hello(struct link *l)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__Hello h = PIDRESTORE__HELLO__INIT;
	uint8_t packet[128];

	h.min_version = PIDRESTORE_PROTOCOL_MIN_VERSION;
	h.max_version = PIDRESTORE_PROTOCOL_VERSION;
	h.client = (char *)"flood-client";
	req.id = l->next_id++;
	req.body_case = PIDRESTORE__REQUEST__BODY_HELLO;
	req.hello = &h;
	return wire_send(l->fd, packet, pidrestore__request__pack(&req, packet), NULL, 0);
}

/* Reads one packet within timeout_ms. Returns 1 with *ret (a response or an
 * event), 0 when the daemon closed the connection, -ETIMEDOUT, or -errno. */
static int read_message(int fd, int timeout_ms, Pidrestore__ServerMessage **ret)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct wire_packet pkt;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	r = wire_recv(fd, buf, sizeof(buf), &pkt);
	/* Reported once, when the daemon closed with our packet unread, ahead
	 * of what it sent before (a refusal). */
	if (r == -ECONNRESET)
		r = wire_recv(fd, buf, sizeof(buf), &pkt);
	if (r == 0 || r == -ECONNRESET)
		return 0;
	if (r < 0)
		return r;
	wire_close_fds(&pkt, 0);
	if (pkt.truncated)
		return -EMSGSIZE;
	*ret = pidrestore__server_message__unpack(NULL, pkt.len, buf);
	return *ret ? 1 : -EBADMSG;
}

static void note_refusal(const Pidrestore__Response *resp)
{
	const char *text = resp->message ? resp->message : "";

	for (size_t i = 0; i < n_refusal_kinds; i++)
		if (refusals[i].err == resp->error && strcmp(refusals[i].text, text) == 0) {
			refusals[i].count++;
			return;
		}
	if (n_refusal_kinds == MAX_REFUSAL_KINDS)
		return;
	refusals[n_refusal_kinds].text = strdup(text);
	refusals[n_refusal_kinds].err = resp->error;
	refusals[n_refusal_kinds].count = refusals[n_refusal_kinds].text ? 1 : 0;
	n_refusal_kinds++;
}

/* Connects and says Hello. Returns 1 when the daemon accepted, 0 when it
 * refused (noted), or -errno. */
static int link_open(const char *path, struct link *l)
{
	Pidrestore__ServerMessage *m = NULL;
	int r;

	*l = (struct link){ .next_id = 1 };
	l->fd = wire_connect(path);
	if (l->fd < 0)
		return l->fd;
	r = send_hello(l);
	/* A refused connection may be closed before the Hello gets there:
	 * the refusal waits to be read all the same. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		goto fail;
	r = read_message(l->fd, ANSWER_TIMEOUT_MS, &m);
	if (r <= 0) {
		r = r ? r : -ECONNRESET;
		goto fail;
	}
	if (m->kind_case != PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE) {
		r = -EPROTO;
		goto fail;
	}
	if (m->response->error != 0) {
		note_refusal(m->response);
		r = 0;
		goto fail;
	}
	pidrestore__server_message__free_unpacked(m, NULL);
	return 1;
fail:
	if (m)
		pidrestore__server_message__free_unpacked(m, NULL);
	close(l->fd);
	l->fd = -1;
	return r;
}

static size_t total_accepted, total_refused;

/* Opens n links; *accepted of them stay in links[]. */
static int open_links(const char *path, size_t n, struct link *links, size_t *accepted)
{
	*accepted = 0;
	for (size_t i = 0; i < n; i++) {
		int r = link_open(path, &links[*accepted]);

		if (r < 0) {
			fprintf(stderr, "flood-client: connection %zu: %s\n", i + 1, strerror(-r));
			return r;
		}
		if (r > 0)
			(*accepted)++;
		else
			total_refused++;
	}
	total_accepted += *accepted;
	return 0;
}

static void print_connections(void)
{
	printf("accepted %zu refused %zu\n", total_accepted, total_refused);
	for (size_t i = 0; i < n_refusal_kinds; i++) {
		const char *name = strerrorname_np(refusals[i].err);

		printf("refusal %u name=%s message=%s\n", refusals[i].count, name ? name : "-", refusals[i].text);
		free(refusals[i].text);
	}
	fflush(stdout);
}

static void close_links(struct link *links, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].fd >= 0)
			close(links[i].fd);
}

static int mode_connect(const char *path, size_t n, unsigned int hold_sec)
{
	struct link *links = calloc(n, sizeof(*links));
	size_t accepted = 0;
	int r;

	if (!links)
		return -ENOMEM;
	r = open_links(path, n, links, &accepted);
	if (r == 0) {
		struct timespec ts = { .tv_sec = hold_sec };

		print_connections();
		printf("holding\n");
		fflush(stdout);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	close_links(links, accepted);
	free(links);
	return r;
}

struct flood {
	struct link *links;
	size_t n_links;
	unsigned long total, sent, replies, errors, closed;
	unsigned int window;
};

/* Keeps link i's window full while requests are left to send. */
static int flood_refill(struct flood *f, struct link *l)
{
	while (!l->closed && l->unanswered < f->window && f->sent < f->total) {
		int r = send_status(l);

		if (r == -EPIPE || r == -ECONNRESET) {
			l->closed = true;
			f->closed++;
			return 0;
		}
		if (r < 0)
			return r;
		l->unanswered++;
		f->sent++;
	}
	return 0;
}

/* Reads what l has for us: one answer per packet. */
static int flood_read(struct flood *f, struct link *l)
{
	Pidrestore__ServerMessage *m = NULL;
	int r = read_message(l->fd, 0, &m);

	if (r == -ETIMEDOUT)
		return 0;
	if (r == 0) {
		l->closed = true;
		f->closed++;
		return 0;
	}
	if (r < 0)
		return r;
	if (m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE) {
		f->replies++;
		if (m->response->error != 0)
			f->errors++;
		l->unanswered--;
	}
	pidrestore__server_message__free_unpacked(m, NULL);
	return flood_refill(f, l);
}

static int flood_run(struct flood *f)
{
	struct epoll_event evs[64];
	unsigned long open_links = f->n_links;
	int ep = epoll_create1(EPOLL_CLOEXEC), r = 0;

	if (ep < 0)
		return -errno;
	for (size_t i = 0; i < f->n_links && r == 0; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->links[i] };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, f->links[i].fd, &ev) < 0)
			r = -errno;
		else
			r = flood_refill(f, &f->links[i]);
	}
	while (r == 0 && f->replies < f->total && open_links > f->closed) {
		int n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), ANSWER_TIMEOUT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0) {
			fprintf(stderr, "flood-client: no answer within %d ms\n", ANSWER_TIMEOUT_MS);
			break;
		}
		for (int i = 0; i < n && r == 0; i++) {
			struct link *l = evs[i].data.ptr;

			if (!l->closed)
				r = flood_read(f, l);
			if (l->closed)
				epoll_ctl(ep, EPOLL_CTL_DEL, l->fd, NULL);
		}
	}
	close(ep);
	return r;
}

/* Rounds of: n connections, total requests over them, all closed; until
 * seconds have passed (at least one round). */
static int mode_flood(const char *path, size_t n, unsigned long total, unsigned int window, unsigned int seconds)
{
	struct flood f = { .total = total, .window = window };
	unsigned long rounds = 0, replies = 0, errors = 0, closed = 0;
	struct timespec t0;
	int r = 0;

	f.links = calloc(n, sizeof(*f.links));
	if (!f.links)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		r = open_links(path, n, f.links, &f.n_links);
		if (r == 0 && rounds == 0) {
			printf("flooding\n");
			fflush(stdout);
		}
		if (r == 0)
			printf("round %lu accepted %zu\n", rounds + 1, f.n_links);
		f.sent = f.replies = f.errors = f.closed = 0;
		if (r == 0 && f.n_links > 0)
			r = flood_run(&f);
		close_links(f.links, f.n_links);
		rounds++;
		replies += f.replies;
		errors += f.errors;
		closed += f.closed;
		if (r == 0 && f.replies != f.total)
			r = -EIO;
	} while (r == 0 && seconds_since(&t0) < seconds);
	printf("rounds %lu\n", rounds);
	print_connections();
	printf("replies %lu errors %lu closed %lu seconds %.2f\n", replies, errors, closed, seconds_since(&t0));
	free(f.links);
	return r;
}

static int mode_idle(const char *path, unsigned int seconds, bool hello)
{
	Pidrestore__ServerMessage *last = NULL, *m;
	struct timespec t0;
	struct link l = { .next_id = 1 };
	int r;

	l.fd = wire_connect(path);
	if (l.fd < 0)
		return l.fd;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (hello) {
		r = send_hello(&l);
		if (r >= 0)
			r = read_message(l.fd, ANSWER_TIMEOUT_MS, &m);
		if (r <= 0 || m->kind_case != PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE || m->response->error) {
			fprintf(stderr, "flood-client: the Hello was not answered\n");
			close(l.fd);
			return r < 0 ? r : -EPROTO;
		}
		pidrestore__server_message__free_unpacked(m, NULL);
	}
	for (;;) {
		int left = (int)(seconds * 1000 - seconds_since(&t0) * 1000);

		r = read_message(l.fd, left > 0 ? left : 0, &m);
		if (r != 1)
			break;
		if (last)
			pidrestore__server_message__free_unpacked(last, NULL);
		last = m;
	}
	if (r == -ETIMEDOUT) {
		printf("open after %u s\n", seconds);
		r = 0;
	} else if (r == 0) {
		printf("closed after %.1f s\n", seconds_since(&t0));
		if (last && last->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE) {
			const char *name = strerrorname_np(last->response->error);

			printf("word name=%s message=%s\n", name ? name : "-",
			       last->response->message ? last->response->message : "");
		}
	}
	if (last)
		pidrestore__server_message__free_unpacked(last, NULL);
	close(l.fd);
	return r;
}

/* Whether the daemon has closed l (it shuts a connection down both ways). */
static bool link_hung_up(const struct link *l)
{
	struct pollfd p = { .fd = l->fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

static int mode_deaf(const char *path, unsigned long total, size_t n)
{
	struct link *links = calloc(n, sizeof(*links));
	unsigned long sent = 0;
	size_t n_links = 0, closed = 0;
	int r = 0;

	if (!links)
		return -ENOMEM;
	for (; n_links < n && r == 0; n_links++) {
		r = link_open(path, &links[n_links]);
		if (r == 0)
			r = -ECONNREFUSED;
		if (r < 0)
			break;
		r = 0;
		for (unsigned long i = 0; i < total && r == 0; i++, sent++)
			r = send_status(&links[n_links]);
		if (r == -EPIPE || r == -ECONNRESET)
			r = 0;
	}
	if (r == 0) {
		/* The daemon answers what it has read, then closes those
		 * that are over a limit. */
		struct timespec ts = { .tv_sec = 1 };

		nanosleep(&ts, NULL);
		for (size_t i = 0; i < n_links; i++)
			closed += link_hung_up(&links[i]);
		printf("sent %lu closed %zu\n", sent, closed);
	}
	close_links(links, n_links);
	free(links);
	return r;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Waits for the answer to the request just sent, past any event. */
static int await_answer(int fd)
{
	for (;;) {
		Pidrestore__ServerMessage *m = NULL;
		bool answer;
		int r = read_message(fd, ANSWER_TIMEOUT_MS, &m);

		if (r <= 0)
			return r ? r : -ECONNRESET;
		answer = m->kind_case == PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
		r = answer && m->response->error ? -(int)m->response->error : 0;
		pidrestore__server_message__free_unpacked(m, NULL);
		if (answer)
			return r;
	}
}

static int mode_latency(const char *path, unsigned int seconds, const char *stop_file)
{
	struct timespec t0, t1, start;
	uint64_t *samples = NULL;
	size_t n = 0, cap = 0;
	struct link l;
	int r;

	r = link_open(path, &l);
	if (r <= 0)
		return r ? r : -ECONNREFUSED;
	printf("measuring\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (seconds_since(&start) < seconds && !(stop_file && access(stop_file, F_OK) == 0)) {
		if (n == cap) {
			uint64_t *grown = realloc(samples, (cap = cap ? cap * 2 : 1024) * sizeof(*samples));

			if (!grown) {
				r = -ENOMEM;
				goto out;
			}
			samples = grown;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = send_status(&l);
		if (r == 0)
			r = await_answer(l.fd);
		if (r < 0)
			goto out;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		samples[n++] = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)) / 1000;
	}
	qsort(samples, n, sizeof(*samples), compare_u64);
	printf("samples %zu p50_us %llu p99_us %llu max_us %llu\n", n,
	       (unsigned long long)(n ? samples[n / 2] : 0), (unsigned long long)(n ? samples[n * 99 / 100] : 0),
	       (unsigned long long)(n ? samples[n - 1] : 0));
	r = 0;
out:
	free(samples);
	close(l.fd);
	return r;
}

static int parse_number(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flood-client SOCKET connect N [HOLD_SECONDS]\n"
		"       flood-client SOCKET flood N REQUESTS [WINDOW [SECONDS]]\n"
		"       flood-client SOCKET idle SECONDS [no-hello]\n"
		"       flood-client SOCKET deaf REQUESTS [N]\n"
		"       flood-client SOCKET latency SECONDS [STOPFILE]\n");
}

int main(int argc, char **argv)
{
	unsigned long a = 0, b = 0, c = 8, d = 0;
	struct rlimit rl;
	int r;

	if (argc < 4 || parse_number(argv[3], 1000000, &a) < 0 ||
	    (argc > 4 && strcmp(argv[2], "idle") != 0 && strcmp(argv[2], "latency") != 0 &&
	     parse_number(argv[4], ULONG_MAX, &b) < 0) ||
	    (argc > 5 && parse_number(argv[5], 1000, &c) < 0) || c == 0 ||
	    (argc > 6 && parse_number(argv[6], 3600, &d) < 0)) {
		usage();
		return 2;
	}
	/* One fd per connection held. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(argv[2], "connect") == 0 && argc <= 5)
		r = mode_connect(argv[1], a, (unsigned int)(b < UINT_MAX ? b : UINT_MAX));
	else if (strcmp(argv[2], "flood") == 0 && argc >= 5 && argc <= 7)
		r = mode_flood(argv[1], a, b, (unsigned int)c, (unsigned int)d);
	else if (strcmp(argv[2], "idle") == 0 && (argc == 4 || (argc == 5 && strcmp(argv[4], "no-hello") == 0)))
		r = mode_idle(argv[1], (unsigned int)a, argc == 4);
	else if (strcmp(argv[2], "latency") == 0 && (argc == 4 || argc == 5))
		r = mode_latency(argv[1], (unsigned int)a, argc == 5 ? argv[4] : NULL);
	else if (strcmp(argv[2], "deaf") == 0 && (argc == 4 || argc == 5))
		r = mode_deaf(argv[1], a, argc == 5 ? b : 1);
	else {
		usage();
		return 2;
	}
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "flood-client: %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	return 0;
}
