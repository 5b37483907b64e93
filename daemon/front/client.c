/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <event2/event.h>

#include "client.h"
#include "holder-proto.h"
#include "decode.h"
#include "fdreserve.h"
#include "log.h"
#include "outq.h"
#include "privmsg.h"
#include "quota.h"
#include "rxbuf.h"
#include "tree-front.h"
#include "wire.h"
#include "pidrestore.pb-c.h"

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
/* A client says Hello right after it connects; one that does not within
 * this many seconds (or the idle timeout, if shorter) is closed. */
#define CONN_HELLO_TIMEOUT_SEC 10u
/* Connections root may open beyond --max-connections, so that the
 * administrator can still look when users filled the daemon. */
#define CONN_ROOT_RESERVE 16u
/* The fds a connection costs: its socket in front, and in priv the
 * requester's pidfd, its status file, its namespaces, its pid namespace,
 * root directory and cgroup (peer_capture()). Both processes have the same
 * fd limit, and priv's share decides. */
#define CONN_FDS (6u + HOLDER_NS_COUNT)
/* Refusals are logged at notice level at most this often; the others at
 * debug level, so that a flood of connections does not flood the log. */
#define CONN_REFUSAL_LOG_USEC (10 * USEC_PER_SEC)
/* Packets handled per wakeup, so one busy client cannot starve the rest.
 * One: a client mostly waits for each answer before it asks again, and a
 * second read would only come back empty, a system call per request for
 * nothing; what a client has queued is read on the next wakeups, which the
 * level-triggered event brings at once. */
#define CONN_PACKETS_PER_WAKEUP 1

struct client {
	int fd;
	uint64_t number;
	struct event *read_ev;
	struct event *write_ev;
	struct event *timer_ev;      /* the Hello deadline, then the idle check */
	struct event *resume_ev;     /* reading again after the rate limit */
	uid_t uid;                   /* SO_PEERCRED's, for log lines */
	pid_t pid;
	uid_t responsible_uid;       /* priv's word: connections count against it */
	bool counted;                /* counted in quota_add_connection() */
	uint32_t version;            /* priv's word */
	bool busy;                   /* priv's word: it holds reservations or programs */
	uint64_t last_request_usec;  /* or when it connected */
	struct quota_bucket requests;
	bool throttle_logged;
	bool dead;
	struct outq out;             /* replies the client has not read yet */
	TAILQ_ENTRY(client) link;
	TAILQ_ENTRY(client) bucket_link;
};

static TAILQ_HEAD(, client) clients = TAILQ_HEAD_INITIALIZER(clients);
/* By number, for what priv says of a connection. */
#define CLIENT_BUCKETS 1024u
static TAILQ_HEAD(client_bucket, client) buckets[CLIENT_BUCKETS];
static struct client_ops ops;
static unsigned int n_clients;
static uint64_t next_number = 1;
static size_t max_message_size = 64 * 1024;
static struct rxbuf rx;         /* shared: each packet is handled as it comes */
static uint8_t *fwd_buf;         /* a request's record for priv */
static size_t fwd_cap;
static struct client_limits limits;

void client_init(const struct client_ops *o)
{
	ops = *o;
	for (size_t i = 0; i < CLIENT_BUCKETS; i++)
		TAILQ_INIT(&buckets[i]);
}

static struct client *client_find(uint64_t number)
{
	struct client *c;

	TAILQ_FOREACH(c, &buckets[number % CLIENT_BUCKETS], bucket_link)
		if (c->number == number)
			return c->dead ? NULL : c;
	return NULL;
}

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

void client_set_limits(const struct client_limits *l)
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

void client_set_max_message_size(size_t size)
{
	max_message_size = size;
	rxbuf_free(&rx);
}

/* The receive buffer: a tree request may be larger than the others. */
static size_t rx_size(void)
{
	return max_message_size > TREE_MAX_MESSAGE ? max_message_size : TREE_MAX_MESSAGE;
}

unsigned int client_count(void)
{
	return n_clients;
}

static int respond_error(struct client *c, uint64_t id, const struct why *why);

/* Stops serving c; the read event sees the shutdown and frees it, so that a
 * connection is only ever freed from its own read handler. What it had
 * queued goes at once: nobody will read it. */
static void client_kill(struct client *c, int priority, const char *why)
{
	if (c->dead)
		return;
	log_msg(priority, "connection %llu (uid %u pid %d): closing: %s", (unsigned long long)c->number, c->uid, c->pid, why);
	c->dead = true;
	outq_clear(&c->out);
	event_del(c->write_ev);
	shutdown(c->fd, SHUT_RDWR);
	event_active(c->read_ev, EV_READ, 0);
}

/* Closes c with a last word: an error response with id 0, which answers no
 * request, read by the client as the reason the connection went. */
static void client_close_telling(struct client *c, const struct why *why)
{
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->uid, c->pid, why->text);
	respond_error(c, 0, why);
	client_kill(c, LOG_DEBUG, why->text);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	int r = outq_send(&c->out, c->fd);

	if (r == -EAGAIN)
		return;
	if (r < 0) {
		client_kill(c, LOG_DEBUG, "send failed");
		return;
	}
	event_del(c->write_ev);
}

/* The connection with the most unread output; cost is what c is about to
 * add to its own. */
static struct client *largest_queue(struct client *c, size_t cost)
{
	struct client *worst = c, *o;

	TAILQ_FOREACH(o, &clients, link)
		if (!o->dead && o->out.bytes > worst->out.bytes + (worst == c ? cost : 0))
			worst = o;
	return worst;
}

/* Makes room for cost more bytes of c's output, or closes c: returns
 * -ENOBUFS then. */
static int queue_make_room(struct client *c, size_t cost, size_t n_fds)
{
	char text[256];

	if (!outq_empty(&c->out) &&
	    (c->out.bytes + cost > CONN_MAX_QUEUED_BYTES || c->out.fds + n_fds > CONN_MAX_QUEUED_FDS)) {
		snprintf(text, sizeof(text), "the client does not read its replies: %zu bytes and %zu fds of them wait, the limit is %u bytes or %u fds",
			 c->out.bytes + cost, c->out.fds + n_fds, CONN_MAX_QUEUED_BYTES, CONN_MAX_QUEUED_FDS);
		client_kill(c, LOG_INFO, text);
		return -ENOBUFS;
	}
	while (outq_total() + cost > CONN_MAX_QUEUED_TOTAL) {
		struct client *worst = largest_queue(c, cost);

		snprintf(text, sizeof(text), "the clients leave %zu bytes of replies unread, more than the daemon keeps (%u); this one has the most (%zu)",
			 outq_total() + cost, CONN_MAX_QUEUED_TOTAL, worst->out.bytes + (worst == c ? cost : 0));
		client_kill(worst, LOG_INFO, text);
		if (worst == c)
			return -ENOBUFS;
	}
	return 0;
}

/* Queues a packet priv packed, or front itself; buf and fds stay the
 * caller's. */
static int client_send_packet(struct client *c, const uint8_t *buf, size_t len, const int *fds, size_t n_fds)
{
	int r;

	if (!c || c->dead)
		return -EPIPE;
	if (outq_empty(&c->out)) {
		r = outq_send_packet(c->fd, buf, len, fds, n_fds);
		if (r != -EAGAIN) {
			if (r < 0)
				client_kill(c, LOG_DEBUG, "send failed");
			return r;
		}
	}
	r = queue_make_room(c, outq_cost(len, n_fds), n_fds);
	if (r < 0)
		return r;
	r = outq_push(&c->out, buf, len, fds, n_fds);
	if (r < 0) {
		client_kill(c, LOG_WARNING, "cannot queue a reply");
		return r;
	}
	event_add(c->write_ev, NULL);
	return 0;
}

/* An error response from front itself: to a request it could not decode,
 * or the last word of a connection it closes. */
static int respond_error(struct client *c, uint64_t id, const struct why *why)
{
	Pidrestore__ServerMessage msg = PIDRESTORE__SERVER_MESSAGE__INIT;
	Pidrestore__Response resp = PIDRESTORE__RESPONSE__INIT;
	uint8_t buf[1024];
	size_t len;

	resp.id = id;
	resp.has_error = 1;
	resp.error = why->err ? why->err : EIO;
	resp.message = (char *)why->text;
	msg.kind_case = PIDRESTORE__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	len = pidrestore__server_message__get_packed_size(&msg);
	if (len > sizeof(buf))
		return -EMSGSIZE;
	return client_send_packet(c, buf, pidrestore__server_message__pack(&msg, buf), NULL, 0);
}

static void reject_packet(struct client *c, struct wire_packet *pkt, uint64_t id, const struct why *why)
{
	wire_close_fds(pkt, 0);
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->uid, c->pid, why->text);
	respond_error(c, id, why);
}

static void timer_arm(struct client *c, uint64_t usec)
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
	struct client *c = arg;
	uint64_t idle_usec = limits.idle_timeout_sec * USEC_PER_SEC, now = now_usec(), quiet;
	struct why why;

	if (c->dead)
		return;
	if (c->version == 0) {
		why_set(&why, ETIMEDOUT, "no Hello within %llu s of connecting; pidrestored closed the connection (a client says Hello first)",
			(unsigned long long)(hello_timeout_usec() / USEC_PER_SEC));
		client_close_telling(c, &why);
		return;
	}
	if (idle_usec == 0)
		return;
	/* Closing would release what it holds: it is busy, whatever it sends. */
	if (c->busy) {
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
	client_close_telling(c, &why);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (!c->dead)
		event_add(c->read_ev, NULL);
}

/* The per-connection rate limit: past it, the daemon stops reading the
 * connection until the budget has refilled. Nothing is refused or lost; the
 * requests wait in the socket, and the client, answered more slowly, sends
 * more slowly. */
static bool take_request_token(struct client *c, uint64_t now)
{
	uint64_t retry_usec;
	struct timeval tv;

	if (limits.requests_per_second == 0 ||
	    quota_bucket_take(&c->requests, limits.requests_per_second, 1, now, &retry_usec) == 0)
		return true;
	if (!c->throttle_logged) {
		log_info("connection %llu (uid %u pid %d) sends more than %u requests a second (--max-requests-per-second): reading it more slowly",
			 (unsigned long long)c->number, c->uid, c->pid, limits.requests_per_second);
		c->throttle_logged = true;
	}
	tv.tv_sec = (time_t)(retry_usec / USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(retry_usec % USEC_PER_SEC);
	event_del(c->read_ev);
	evtimer_add(c->resume_ev, &tv);
	return false;
}

/* A tree goes on as its plan (tree-front.h); a refusal names the node and
 * the level. */
static void forward_tree(struct client *c, const Pidrestore__Request *req, struct wire_packet *pkt)
{
	struct tree_fault f;
	uint8_t *rec = NULL, out[1024];
	long n = tree_front_record(req, pkt->n_fds, &rec, &f);
	size_t len;

	if (n >= 0 && ops.to_priv(PRIV_MSG_REQUEST, c->number, rec, (size_t)n, pkt->fds, pkt->n_fds) < 0)
		n = why_set(&f.why, EAGAIN, "the daemon could not pass the tree request on; try again");
	free(rec);
	wire_close_fds(pkt, 0);
	if (n >= 0)
		return;
	log_info("connection %llu (uid %u pid %d): %s", (unsigned long long)c->number, c->uid, c->pid, f.why.text);
	len = tree_front_error(req->id, &f, out, sizeof(out));
	if (len > 0)
		client_send_packet(c, out, len, NULL, 0);
}

/* decode -> validate here; the rest is priv's: the request goes on as a
 * fixed-layout record with its fds. */
static void forward_request(struct client *c, const uint8_t *buf, size_t len, struct wire_packet *pkt)
{
	Pidrestore__Request *req = NULL;
	struct why why = { 0 };
	size_t size;
	long n;
	int r;

	r = decode_request(buf, len, pkt->n_fds, &req, &why);
	if (len > max_message_size && (!req || req->body_case != PIDRESTORE__REQUEST__BODY_TREE)) {
		why_set(&why, EMSGSIZE, "the request has %zu bytes, more than the daemon's limit of %zu (a tree request may have %u); send smaller requests",
			len, max_message_size, TREE_MAX_MESSAGE);
		reject_packet(c, pkt, req ? req->id : 0, &why);
		goto out;
	}
	if (r < 0) {
		reject_packet(c, pkt, req ? req->id : 0, &why);
		goto out;
	}
	if (!privmsg_has_record(req)) {
		forward_tree(c, req, pkt);
		goto out;
	}
	size = privmsg_request_size(req);
	if (size > fwd_cap) {
		uint8_t *b = realloc(fwd_buf, size);

		if (!b) {
			why_set(&why, ENOMEM, "the daemon is out of memory");
			reject_packet(c, pkt, req->id, &why);
			goto out;
		}
		fwd_buf = b;
		fwd_cap = size;
	}
	n = privmsg_pack_request(req, pkt->n_fds, fwd_buf, fwd_cap);
	r = n < 0 ? (int)n : ops.to_priv(PRIV_MSG_REQUEST, c->number, fwd_buf, (size_t)n, pkt->fds, pkt->n_fds);
	if (r < 0) {
		if (r == -EMSGSIZE)
			why_set(&why, EMSGSIZE, "the request takes %zu bytes inside the daemon, more than it passes on; send fewer processes per request",
				size);
		else
			why_set(&why, EAGAIN, "the daemon could not pass the request on (%s); try again", strerror(-r));
		reject_packet(c, pkt, req->id, &why);
		goto out;
	}
	wire_close_fds(pkt, 0);
out:
	if (req)
		pidrestore__request__free_unpacked(req, NULL);
}

static void client_free(struct client *c);

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	uint64_t now = now_usec();

	if (!rx.data && rxbuf_init(&rx, rx_size()) < 0) {
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
		r = rxbuf_recv(&rx, c->fd, &pkt);
		if (r == -EAGAIN)
			return;
		if (r <= 0) {
			/* End of stream or a receive error: the client is gone. */
			wire_close_fds(&pkt, 0);
			client_free(c);
			return;
		}
		c->last_request_usec = now;
		if (pkt.truncated) {
			struct why why;

			why_set(&why, EMSGSIZE, "the request has %zu bytes, more than the daemon's limit of %zu (%zu for a tree request); send smaller requests (e.g. fewer processes per reserve)",
				pkt.len, max_message_size, rx_size());
			reject_packet(c, &pkt, 0, &why);
			continue;
		}
		if (pkt.fds_truncated) {
			struct why why;

			/* The kernel drops the fds the daemon has no room for. */
			if (!fdreserve_explain(&why))
				why_set(&why, EPROTO, "the request carried more fds than one packet can hold (%zu received, at most %d)",
					pkt.n_fds, WIRE_MAX_FDS);
			reject_packet(c, &pkt, 0, &why);
			continue;
		}
		forward_request(c, rx.data, pkt.len, &pkt);
	}
	if (c->dead)
		client_free(c);
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

/* Whether the daemon may serve one more connection at all. */
static int check_total_room(uid_t uid, struct why *why)
{
	unsigned int most = limits.max_connections;

	if (most > 0 && uid == 0)
		most += CONN_ROOT_RESERVE;
	if (most > 0 && n_clients >= most)
		return why_set(why, ENOSPC, "pidrestored already serves %u connections, its limit (--max-connections %u%s); close connections that are no longer needed, or ask the administrator to raise the limit",
			       n_clients, limits.max_connections, uid == 0 ? ", and a reserve for root" : "");
	return 0;
}

/* Whether the user responsible for a connection may open one more. */
static int check_user_room(const struct client *c, struct why *why)
{
	unsigned int mine = quota_connections(c->responsible_uid);

	char whose[128] = "";

	if (c->responsible_uid != c->uid)
		snprintf(whose, sizeof(whose), " (with those of the uids of the user namespaces it owns: uid %u is one)", c->uid);
	if (limits.max_connections_per_user > 0 && mine >= limits.max_connections_per_user)
		return why_set(why, ENOSPC, "uid %u already has %u connections to pidrestored%s, the limit per user (--max-connections-per-user %u); close connections it no longer needs, or ask the administrator to raise the limit",
			       c->responsible_uid, mine, whose, limits.max_connections_per_user);
	return 0;
}

void client_refuse(int fd, const struct why *why)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t len = sizeof(cred);

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	log_refusal(cred.uid, cred.pid, why);
	send_refusal(fd, why);
	close(fd);
}

static void client_release(struct client *c)
{
	if (c->read_ev)
		event_free(c->read_ev);
	if (c->write_ev)
		event_free(c->write_ev);
	if (c->timer_ev)
		event_free(c->timer_ev);
	if (c->resume_ev)
		event_free(c->resume_ev);
	close(c->fd);
	free(c);
}

int client_new(struct event_base *base, int fd)
{
	struct client *c = NULL;
	struct why why = { 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	/* The total first, from the socket alone: a refused connection costs
	 * no more than this. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = check_total_room(cred.uid, &why);
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
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->last_request_usec = now_usec();
	outq_init(&c->out);
	c->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->write_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	c->timer_ev = evtimer_new(base, on_timer, c);
	c->resume_ev = evtimer_new(base, on_resume, c);
	if (!c->read_ev || !c->write_ev || !c->timer_ev || !c->resume_ev) {
		client_release(c);
		return -ENOMEM;
	}
	/* priv captures the requester from the socket itself; reading starts
	 * once it has. */
	r = ops.to_priv(PRIV_MSG_CONN_OPEN, c->number, NULL, 0, &fd, 1);
	if (r < 0) {
		why_set(&why, EAGAIN, "pidrestored cannot take the connection now; try again");
		send_refusal(fd, &why);
		client_release(c);
		return r;
	}
	timer_arm(c, hello_timeout_usec());
	TAILQ_INSERT_TAIL(&clients, c, link);
	TAILQ_INSERT_TAIL(&buckets[c->number % CLIENT_BUCKETS], c, bucket_link);
	n_clients++;
	return 0;
}

/* Forgets c; tell_priv: priv still knows it. */
static void client_drop(struct client *c, bool tell_priv)
{
	if (tell_priv)
		ops.to_priv(PRIV_MSG_CONN_CLOSE, c->number, NULL, 0, NULL, 0);
	outq_clear(&c->out);
	if (c->counted)
		quota_add_connection(c->responsible_uid, -1);
	TAILQ_REMOVE(&clients, c, link);
	TAILQ_REMOVE(&buckets[c->number % CLIENT_BUCKETS], c, bucket_link);
	n_clients--;
	client_release(c);
}

static void client_free(struct client *c)
{
	client_drop(c, true);
}

void client_accepted(uint64_t number, const struct priv_conn_accepted *a)
{
	struct client *c = client_find(number);
	struct why why = { 0 };

	if (!c)
		return;
	c->responsible_uid = a->responsible_uid;
	if (check_user_room(c, &why) < 0 || quota_add_connection(c->responsible_uid, 1) < 0) {
		if (!why.err)
			why_set(&why, ENOMEM, "the daemon is out of memory");
		log_refusal(c->uid, c->pid, &why);
		send_refusal(c->fd, &why);
		client_drop(c, true);
		return;
	}
	c->counted = true;
	if (event_add(c->read_ev, NULL) < 0) {
		client_drop(c, true);
		return;
	}
	log_debug("connection %llu: uid %u pid %d (responsible uid %u)", (unsigned long long)c->number, c->uid, c->pid,
		  c->responsible_uid);
}

void client_refused(uint64_t number, const struct priv_refusal *refusal)
{
	struct client *c = client_find(number);
	struct why why = { .err = refusal->error };

	if (!c)
		return;
	snprintf(why.text, sizeof(why.text), "%.*s", (int)sizeof(refusal->text), refusal->text);
	/* Answer the Hello the client is about to send, then go. */
	send_refusal(c->fd, &why);
	client_drop(c, false);
}

void client_state(uint64_t number, const struct priv_conn_state *s)
{
	struct client *c = client_find(number);

	if (!c)
		return;
	c->version = s->version;
	c->busy = s->reservations > 0 || s->running > 0;
}

void client_fail(uint64_t number, const struct why *why)
{
	struct client *c = client_find(number);

	if (c)
		client_close_telling(c, why);
}

void client_deliver(uint64_t number, const uint8_t *buf, size_t len, const int *fds, size_t n_fds)
{
	struct client *c = client_find(number);

	if (c)
		client_send_packet(c, buf, len, fds, n_fds);
}

void client_close_all(void)
{
	struct client *c;

	while ((c = TAILQ_FIRST(&clients)))
		client_drop(c, false);
	rxbuf_free(&rx);
	free(fwd_buf);
	fwd_buf = NULL;
	fwd_cap = 0;
}
