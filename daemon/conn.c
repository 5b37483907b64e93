#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <event2/event.h>

#include "conn.h"
#include "fdreserve.h"
#include "log.h"
#include "proc.h"
#include "quota.h"
#include "request.h"
#include "wire.h"

#define USEC_PER_SEC 1000000ull
/* Output a peer may leave unread before the daemon gives up on it: bytes
 * (each message also counts its bookkeeping) and fds (pidfds of replies,
 * taken from the daemon's own fd limit). The kernel's socket buffer holds a
 * few hundred messages before anything is queued here. */
#define CONN_MAX_QUEUED_BYTES (1024u * 1024)
#define CONN_MAX_QUEUED_FDS 1024u
/* Unread output over all connections: past it, the connection with the most
 * unread output is closed, so that many slow readers cannot add up. */
#define CONN_MAX_QUEUED_TOTAL (64u * 1024 * 1024)
/* Unread output freed since the heap was last trimmed: past this much, the
 * free pages go back to the kernel, so that a flood of slow readers does not
 * leave the daemon at its high-water mark. */
#define CONN_TRIM_AFTER_BYTES (8u * 1024 * 1024)
/* A client says Hello right after it connects; one that does not within
 * this many seconds (or the idle timeout, if shorter) is closed. */
#define CONN_HELLO_TIMEOUT_SEC 10u
/* Connections root may open beyond --max-connections, so that the
 * administrator can still look when users filled the daemon. */
#define CONN_ROOT_RESERVE 16u
/* The fds a connection keeps: its socket, and the requester's pidfd, its
 * namespaces, its pid namespace, root directory and cgroup (peer_capture()). */
#define CONN_FDS (5u + HOLDER_NS_COUNT)
/* Refusals are logged at notice level at most this often; the others at
 * debug level, so that a flood of connections does not flood the log. */
#define CONN_REFUSAL_LOG_USEC (10 * USEC_PER_SEC)
/* Packets handled per wakeup, so one busy client cannot starve the rest.
 * One: a client mostly waits for each answer before it asks again, and a
 * second read would only come back empty, a system call per request for
 * nothing; what a client has queued is read on the next wakeups, which the
 * level-triggered event brings at once. */
#define CONN_PACKETS_PER_WAKEUP 1

struct outmsg {
	TAILQ_ENTRY(outmsg) link;
	size_t len;
	uint8_t *buf;
	size_t n_fds;
	int fds[];
};

struct conn {
	int fd;
	uint64_t number;
	struct event *read_ev;
	struct event *write_ev;
	struct event *timer_ev;      /* the Hello deadline, then the idle check */
	struct event *resume_ev;     /* reading again after the rate limit */
	struct peer peer;
	uint32_t version;
	unsigned int reservations;
	unsigned int running;
	uint64_t last_request_usec;  /* or when it connected */
	struct quota_bucket requests;
	bool throttle_logged;
	bool dead;
	TAILQ_HEAD(, outmsg) out;
	size_t out_bytes;            /* with each message's bookkeeping */
	size_t out_fds;
	TAILQ_ENTRY(conn) link;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned int n_conns;
static uint64_t next_number = 1;
static size_t max_message_size = 64 * 1024;
static uint8_t *rx_buf;
static struct conn_limits limits;
static size_t queued_total;
static size_t freed_since_trim;

/* Lowers max_connections to half of the fd limit's worth of connections: the
 * other half is for reservations (one fd each) and the daemon's own work. */
static unsigned int connections_fds_allow(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	n = rl.rlim_cur / 2 / CONN_FDS;
	n = n > CONN_ROOT_RESERVE ? n - CONN_ROOT_RESERVE : 1;
	return n > 0xffffffffu ? 0 : (unsigned int)n;
}

void conn_set_limits(const struct conn_limits *l)
{
	unsigned int allowed = connections_fds_allow();
	struct rlimit rl = { 0 };

	limits = *l;
	if (allowed > 0 && (limits.max_connections == 0 || limits.max_connections > allowed)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		log_notice("serving at most %u connections (--max-connections %u): each keeps %u fds open, and the fd limit of %llu leaves half of it to reservations; raise LimitNOFILE= to serve more",
			   allowed, limits.max_connections, CONN_FDS, (unsigned long long)rl.rlim_cur);
		limits.max_connections = allowed;
	}
}

void conn_set_max_message_size(size_t size)
{
	max_message_size = size;
	free(rx_buf);
	rx_buf = NULL;
}

size_t conn_max_message_size(void)
{
	return max_message_size;
}

unsigned int conn_count(void)
{
	return n_conns;
}

unsigned int conn_reservations(const struct conn *c)
{
	return c->reservations;
}

void conn_add_reservations(struct conn *c, int delta)
{
	c->reservations = (unsigned int)((int)c->reservations + delta);
}

void conn_add_running(struct conn *c, int delta)
{
	c->running = (unsigned int)((int)c->running + delta);
}

const struct peer *conn_peer(const struct conn *c)
{
	return &c->peer;
}

struct event_base *conn_event_base(const struct conn *c)
{
	return event_get_base(c->read_ev);
}

uint64_t conn_number(const struct conn *c)
{
	return c->number;
}

uint32_t conn_version(const struct conn *c)
{
	return c->version;
}

void conn_set_version(struct conn *c, uint32_t version)
{
	c->version = version;
}

static void outmsg_free(struct outmsg *m)
{
	for (size_t i = 0; i < m->n_fds; i++)
		close(m->fds[i]);
	free(m->buf);
	free(m);
}

/* What a queued message costs the daemon, as counted against the limits:
 * its two allocations, with what malloc adds to each. */
#define MALLOC_OVERHEAD 16u
static size_t outmsg_cost(size_t len, size_t n_fds)
{
	return len + sizeof(struct outmsg) + n_fds * sizeof(int) + 2 * MALLOC_OVERHEAD;
}

static void outmsg_dequeue(struct conn *c, struct outmsg *m)
{
	size_t cost = outmsg_cost(m->len, m->n_fds);

	TAILQ_REMOVE(&c->out, m, link);
	c->out_bytes -= cost;
	c->out_fds -= m->n_fds;
	queued_total -= cost;
	freed_since_trim += cost;
	outmsg_free(m);
}

static void trim_heap(void)
{
	if (freed_since_trim < CONN_TRIM_AFTER_BYTES)
		return;
	freed_since_trim = 0;
	malloc_trim(0);
}

static void drop_output(struct conn *c)
{
	struct outmsg *m;

	while ((m = TAILQ_FIRST(&c->out)))
		outmsg_dequeue(c, m);
	trim_heap();
}

/* Stops serving c; the read event sees the shutdown and frees it, so that a
 * connection is only ever freed from its own read handler. What it had
 * queued goes at once: nobody will read it. */
static void conn_kill(struct conn *c, int priority, const char *why)
{
	if (c->dead)
		return;
	log_msg(priority, "connection %llu (uid %u pid %d): closing: %s", (unsigned long long)c->number, c->peer.uid,
		c->peer.pid, why);
	c->dead = true;
	drop_output(c);
	event_del(c->write_ev);
	shutdown(c->fd, SHUT_RDWR);
	event_active(c->read_ev, EV_READ, 0);
}

/* Closes c with a last word: an error response with id 0, which answers no
 * request, read by the client as the reason the connection went. */
static void conn_close_telling(struct conn *c, const struct why *why)
{
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->peer.uid, c->peer.pid, why->text);
	conn_respond_error(c, 0, why);
	conn_kill(c, LOG_DEBUG, why->text);
}

/* A packet cannot be larger than the socket's send buffer (the reply to a
 * reserve of 10,000 processes may be): make room for one of len bytes. */
static int grow_send_buffer(int fd, size_t len)
{
	int size = len < (size_t)INT_MAX / 2 ? (int)len * 2 : INT_MAX;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		return -errno;
	return 0;
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct outmsg *m;

	while ((m = TAILQ_FIRST(&c->out))) {
		int r = wire_send(c->fd, m->buf, m->len, m->fds, m->n_fds);

		if (r == -EMSGSIZE && grow_send_buffer(c->fd, m->len) == 0)
			r = wire_send(c->fd, m->buf, m->len, m->fds, m->n_fds);

		if (r == -EAGAIN)
			return;
		if (r < 0) {
			conn_kill(c, LOG_DEBUG, "send failed");
			return;
		}
		outmsg_dequeue(c, m);
	}
	event_del(c->write_ev);
	trim_heap();
}

/* The connection with the most unread output; cost is what c is about to
 * add to its own. */
static struct conn *largest_queue(struct conn *c, size_t cost)
{
	struct conn *worst = c, *o;

	TAILQ_FOREACH(o, &conns, link)
		if (!o->dead && o->out_bytes > worst->out_bytes + (worst == c ? cost : 0))
			worst = o;
	return worst;
}

/* Makes room for cost more bytes of c's output, or closes c: returns
 * -ENOBUFS then. */
static int queue_make_room(struct conn *c, size_t cost, size_t n_fds)
{
	char text[256];

	if (!TAILQ_EMPTY(&c->out) &&
	    (c->out_bytes + cost > CONN_MAX_QUEUED_BYTES || c->out_fds + n_fds > CONN_MAX_QUEUED_FDS)) {
		snprintf(text, sizeof(text), "the client does not read its replies: %zu bytes and %zu fds of them wait, the limit is %u bytes or %u fds",
			 c->out_bytes + cost, c->out_fds + n_fds, CONN_MAX_QUEUED_BYTES, CONN_MAX_QUEUED_FDS);
		conn_kill(c, LOG_INFO, text);
		return -ENOBUFS;
	}
	while (queued_total + cost > CONN_MAX_QUEUED_TOTAL) {
		struct conn *worst = largest_queue(c, cost);

		snprintf(text, sizeof(text), "the clients leave %zu bytes of replies unread, more than the daemon keeps (%u); this one has the most (%zu)",
			 queued_total + cost, CONN_MAX_QUEUED_TOTAL, worst->out_bytes + (worst == c ? cost : 0));
		conn_kill(worst, LOG_INFO, text);
		if (worst == c)
			return -ENOBUFS;
	}
	return 0;
}

static int queue_packet(struct conn *c, uint8_t *buf, size_t len, const int *fds, size_t n_fds)
{
	size_t cost = outmsg_cost(len, n_fds);
	struct outmsg *m;
	int r;

	r = queue_make_room(c, cost, n_fds);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m) + n_fds * sizeof(int));
	if (!m)
		return -ENOMEM;
	m->buf = buf;
	m->len = len;
	/* The caller's fds may be closed before the peer reads: keep copies. */
	for (size_t i = 0; i < n_fds; i++) {
		m->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (m->fds[i] < 0) {
			r = -errno;
			m->buf = NULL;
			outmsg_free(m);
			return r;
		}
		m->n_fds++;
	}
	TAILQ_INSERT_TAIL(&c->out, m, link);
	c->out_bytes += cost;
	c->out_fds += n_fds;
	queued_total += cost;
	event_add(c->write_ev, NULL);
	return 0;
}

int conn_send(struct conn *c, const Pidrestore__ServerMessage *msg, const int *fds, size_t n_fds)
{
	size_t len;
	uint8_t *buf;
	int r;

	if (!c || c->dead)
		return -EPIPE;
	len = pidrestore__server_message__get_packed_size(msg);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	pidrestore__server_message__pack(msg, buf);

	if (TAILQ_EMPTY(&c->out)) {
		r = wire_send(c->fd, buf, len, fds, n_fds);
		if (r == -EMSGSIZE && grow_send_buffer(c->fd, len) == 0)
			r = wire_send(c->fd, buf, len, fds, n_fds);
		if (r != -EAGAIN) {
			free(buf);
			if (r < 0)
				conn_kill(c, LOG_DEBUG, "send failed");
			return r;
		}
	}
	r = queue_packet(c, buf, len, fds, n_fds);
	if (r < 0) {
		free(buf);
		conn_kill(c, LOG_WARNING, "cannot queue a reply");
	}
	return r;
}

int conn_respond(struct conn *c, uint64_t id, Pidrestore__Response *resp, const int *fds, size_t n_fds)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;

	resp->id = id;
	if (n_fds) {
		resp->has_fd_count = 1;
		resp->fd_count = (uint32_t)n_fds;
	}
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = resp;
	return conn_send(c, &msg, fds, n_fds);
}

int conn_respond_error(struct conn *c, uint64_t id, const struct why *why)
{
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;

	resp.has_error = 1;
	resp.error = why->err ? why->err : EIO;
	resp.message = (char *)why->text;
	return conn_respond(c, id, &resp, NULL, 0);
}

static void reject_packet(struct conn *c, struct wire_packet *pkt, const struct why *why_in)
{
	const struct why *why = why_in;

	wire_close_fds(pkt, 0);
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->peer.uid, c->peer.pid, why->text);
	conn_respond_error(c, 0, why);
}

static void timer_arm(struct conn *c, uint64_t usec)
{
	struct timeval tv = { .tv_sec = (time_t)(usec / USEC_PER_SEC), .tv_usec = (suseconds_t)(usec % USEC_PER_SEC) };

	evtimer_add(c->timer_ev, &tv);
}

static uint64_t hello_timeout_usec(void)
{
	unsigned int sec = CONN_HELLO_TIMEOUT_SEC;

	if (limits.idle_timeout_sec > 0 && limits.idle_timeout_sec < sec)
		sec = limits.idle_timeout_sec;
	return sec * USEC_PER_SEC;
}

/* First the Hello deadline, then the idle check. The idle time is measured
 * from the last request, which the read handler notes, so that a request
 * costs no timer update; the timer checks back when the time could be up. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t idle_usec = limits.idle_timeout_sec * USEC_PER_SEC, now = now_usec(), quiet;
	struct why why;

	if (c->dead)
		return;
	if (c->version == 0) {
		why_set(&why, ETIMEDOUT, "no Hello within %llu s of connecting; pidrestored closed the connection (a client says Hello first)",
			(unsigned long long)(hello_timeout_usec() / USEC_PER_SEC));
		conn_close_telling(c, &why);
		return;
	}
	if (idle_usec == 0)
		return;
	/* Closing would release what it holds: it is busy, whatever it sends. */
	if (c->reservations > 0 || c->running > 0) {
		timer_arm(c, idle_usec);
		return;
	}
	quiet = now - c->last_request_usec;
	if (quiet < idle_usec) {
		timer_arm(c, idle_usec - quiet);
		return;
	}
	why_set(&why, ETIMEDOUT, "the connection was idle for %u s (--idle-timeout) with no reservation and no running program; pidrestored closed it; connect again",
		limits.idle_timeout_sec);
	conn_close_telling(c, &why);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!c->dead)
		event_add(c->read_ev, NULL);
}

/* The per-connection rate limit: past it, the daemon stops reading the
 * connection until the budget has refilled. Nothing is refused or lost; the
 * requests wait in the socket, and the client, answered more slowly, sends
 * more slowly. */
static bool take_request_token(struct conn *c, uint64_t now)
{
	uint64_t retry_usec;
	struct timeval tv;

	if (limits.requests_per_second == 0 ||
	    quota_bucket_take(&c->requests, limits.requests_per_second, 1, now, &retry_usec) == 0)
		return true;
	if (!c->throttle_logged) {
		log_info("connection %llu (uid %u pid %d) sends more than %u requests a second (--max-requests-per-second): reading it more slowly",
			 (unsigned long long)c->number, c->peer.uid, c->peer.pid, limits.requests_per_second);
		c->throttle_logged = true;
	}
	tv.tv_sec = (time_t)(retry_usec / USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(retry_usec % USEC_PER_SEC);
	event_del(c->read_ev);
	evtimer_add(c->resume_ev, &tv);
	return false;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t now = now_usec();

	if (!rx_buf && !(rx_buf = malloc(max_message_size))) {
		log_error("out of memory for the receive buffer");
		return;
	}
	/* A bounded batch per wakeup: the event is level-triggered, so what
	 * is left is read on the next one, after the other clients. */
	for (int i = 0; i < CONN_PACKETS_PER_WAKEUP && !c->dead; i++) {
		struct wire_packet pkt;
		int r;

		if (!take_request_token(c, now))
			return;
		r = wire_recv(c->fd, rx_buf, max_message_size, &pkt);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			/* End of stream or a receive error: the client is gone. */
			wire_close_fds(&pkt, 0);
			conn_free(c);
			return;
		}
		c->last_request_usec = now;
		if (pkt.truncated) {
			struct why why;

			why_set(&why, EMSGSIZE, "the request has %zu bytes, more than the daemon's limit of %zu; send smaller requests (e.g. fewer processes per reserve)",
				pkt.len, max_message_size);
			reject_packet(c, &pkt, &why);
			continue;
		}
		if (pkt.fds_truncated) {
			struct why why;

			/* The kernel drops the fds the daemon has no room for. */
			if (!fdreserve_explain(&why))
				why_set(&why, EPROTO, "the request carried more fds than one packet can hold (%zu received, at most %d)",
					pkt.n_fds, WIRE_MAX_FDS);
			reject_packet(c, &pkt, &why);
			continue;
		}
		request_handle(c, rx_buf, pkt.len, &pkt);
	}
	if (c->dead)
		conn_free(c);
}

/* Answers a connection the daemon will not serve and lets it go: one packet,
 * an error response with id 0 that the client reads as the answer to its
 * Hello, even after the daemon closed its end. */
static void send_refusal(int fd, const struct why *why)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	uint8_t buf[1024];

	resp.has_error = 1;
	resp.error = why->err;
	resp.message = (char *)why->text;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	if (pidrestore__server_message__get_packed_size(&msg) <= sizeof(buf))
		wire_send(fd, buf, pidrestore__server_message__pack(&msg, buf), NULL, 0);
}

/* During a flood of connections one refusal in a while says what happens at
 * notice level; the rest go to debug. */
static void log_refusal(uid_t uid, pid_t pid, const struct why *why)
{
	static uint64_t next_usec;
	static unsigned int quiet;
	uint64_t now = now_usec();

	if (now < next_usec) {
		quiet++;
		log_debug("refusing a connection of uid %u (pid %d): %s", uid, pid, why->text);
		return;
	}
	if (quiet > 0)
		log_notice("refusing a connection of uid %u (pid %d): %s (%u refused since the last such line are logged at debug level)",
			   uid, pid, why->text, quiet);
	else
		log_notice("refusing a connection of uid %u (pid %d): %s", uid, pid, why->text);
	next_usec = now + CONN_REFUSAL_LOG_USEC;
	quiet = 0;
}

/* Whether uid may open one more connection, counted against responsible
 * (peer.h). Its own limit is checked first: that is the one the user can
 * do something about. */
static int check_room(uid_t uid, uid_t responsible, struct why *why)
{
	unsigned int mine = quota_connections(responsible);
	unsigned int most = limits.max_connections;
	char whose[128] = "";

	if (responsible != uid)
		snprintf(whose, sizeof(whose), " (with those of the uids of the user namespaces it owns: uid %u is one)", uid);
	if (limits.max_connections_per_user > 0 && mine >= limits.max_connections_per_user)
		return why_set(why, ENOSPC, "uid %u already has %u connections to pidrestored%s, the limit per user (--max-connections-per-user %u); close connections it no longer needs, or ask the administrator to raise the limit",
			       responsible, mine, whose, limits.max_connections_per_user);
	if (most > 0 && uid == 0)
		most += CONN_ROOT_RESERVE;
	if (most > 0 && n_conns >= most)
		return why_set(why, ENOSPC, "pidrestored already serves %u connections, its limit (--max-connections %u%s); close connections that are no longer needed, or ask the administrator to raise the limit",
			       n_conns, limits.max_connections, uid == 0 ? ", and a reserve for root" : "");
	return 0;
}

void conn_refuse(int fd, const struct why *why)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	log_refusal(cred.uid, cred.pid, why);
	send_refusal(fd, why);
	close(fd);
}

static void conn_release(struct conn *c)
{
	if (c->read_ev)
		event_free(c->read_ev);
	if (c->write_ev)
		event_free(c->write_ev);
	if (c->timer_ev)
		event_free(c->timer_ev);
	if (c->resume_ev)
		event_free(c->resume_ev);
	peer_release(&c->peer);
	close(c->fd);
	free(c);
}

int conn_new(struct event_base *base, int fd, struct conn **ret)
{
	struct conn *c = NULL;
	struct why why = { 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t responsible;
	int r;

	/* Limits first, from the socket alone: a refused connection costs no
	 * more than this. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	responsible = peer_responsible_uid(cred.pid, cred.uid);
	r = check_room(cred.uid, responsible, &why);
	if (r < 0) {
		log_refusal(cred.uid, cred.pid, &why);
		send_refusal(fd, &why);
		close(fd);
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->number = next_number++;
	c->last_request_usec = now_usec();
	TAILQ_INIT(&c->out);
	r = peer_capture(fd, &c->peer, &why);
	/* The first look went by PID; the capture, pinned, decides. */
	if (r == 0 && c->peer.responsible_uid != responsible)
		r = check_room(c->peer.uid, c->peer.responsible_uid, &why);
	/* Looked at while what the capture opened is still open: a capture
	 * that ran out of fds reads as "the requester has exited". */
	if (r < 0 && fdreserve_explain(&why))
		r = -EMFILE;
	if (r < 0) {
		log_info("refusing a connection: %s", why.text);
		/* Answer the Hello the client is about to send, then go. */
		send_refusal(fd, &why);
		conn_release(c);
		return r;
	}
	c->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->write_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->timer_ev = evtimer_new(base, on_timer, c);
	c->resume_ev = evtimer_new(base, on_resume, c);
	if (!c->read_ev || !c->write_ev || !c->timer_ev || !c->resume_ev || event_add(c->read_ev, NULL) < 0 ||
	    quota_add_connection(c->peer.responsible_uid, 1) < 0) {
		conn_release(c);
		return -ENOMEM;
	}
	timer_arm(c, hello_timeout_usec());
	TAILQ_INSERT_TAIL(&conns, c, link);
	n_conns++;
	log_debug("connection %llu: uid %u gid %u pid %d%s", (unsigned long long)c->number,
		  c->peer.uid, c->peer.gid, c->peer.pid, c->peer.pidfd_from_socket ? "" : " (pid pinned after connect)");
	*ret = c;
	return 0;
}

void conn_free(struct conn *c)
{
	request_conn_closed(c);
	proc_conn_closed(c);
	drop_output(c);
	quota_add_connection(c->peer.responsible_uid, -1);
	TAILQ_REMOVE(&conns, c, link);
	n_conns--;
	conn_release(c);
}

void conn_close_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)))
		conn_free(c);
	free(rx_buf);
	rx_buf = NULL;
}
