/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "priv-proto.h"
#include "seccomp-copy.h"

struct conn {
	uint64_t number;
	struct peer peer;
	uint32_t version;
	unsigned int reservations;
	unsigned int running;
	unsigned int unanswered;     /* requests received, not yet answered */
	bool told_busy;              /* what front was last told */
	uint32_t told_version;
	bool state_dirty;            /* in the dirty list */
	TAILQ_ENTRY(conn) dirty_link;
	TAILQ_ENTRY(conn) link;
	TAILQ_ENTRY(conn) bucket_link;
};

#define CONN_BUCKETS 1024u
/* How long a change of a connection's state waits for a message that
 * carries it before it goes on its own: a client that goes on talking has
 * it carried by its next answer, and front is not woken for it alone
 * (after every exit of a spawned program, say). front needs it only for the
 * idle timeout, which counts in seconds. */
#define CONN_STATE_DELAY_USEC 20000

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static TAILQ_HEAD(conn_bucket, conn) buckets[CONN_BUCKETS];
static unsigned int n_conns;
static size_t max_message_size = 64 * 1024;
static struct conn_ops ops;
static TAILQ_HEAD(, conn) dirty = TAILQ_HEAD_INITIALIZER(dirty);
static struct event *flush_ev;
static uint8_t *tx_buf;
static size_t tx_cap;

static void on_flush_states(evutil_socket_t fd, short what, void *arg);

void conn_init(const struct conn_ops *o)
{
	ops = *o;
	for (size_t i = 0; i < CONN_BUCKETS; i++)
		TAILQ_INIT(&buckets[i]);
	if (!flush_ev && ops.base)
		flush_ev = evtimer_new(ops.base, on_flush_states, NULL);
}

void conn_set_max_message_size(size_t size)
{
	max_message_size = size;
}

size_t conn_max_message_size(void)
{
	return max_message_size;
}

unsigned int conn_count(void)
{
	return n_conns;
}

/* front closes idle connections, and must know which hold something. What
 * it was last told goes with every message to the connection; a change no
 * message carries is sent on its own CONN_STATE_DELAY_USEC later, unless a
 * message carried it meanwhile. A connection with a request unanswered
 * gets no message of its own: the answer carries the change for free, and
 * front, which never closes a connection waiting for an answer, is woken
 * once instead of twice. */
static struct priv_conn_state state_of(const struct conn *c)
{
	return (struct priv_conn_state){ .version = c->version, .reservations = c->reservations, .running = c->running };
}

static bool state_busy(const struct priv_conn_state *s)
{
	return s->reservations > 0 || s->running > 0;
}

static void state_told(struct conn *c, const struct priv_conn_state *s)
{
	c->told_busy = state_busy(s);
	c->told_version = s->version;
}

static void state_changed(struct conn *c)
{
	if (c->state_dirty)
		return;
	c->state_dirty = true;
	TAILQ_INSERT_TAIL(&dirty, c, dirty_link);
	if (flush_ev && !evtimer_pending(flush_ev, NULL)) {
		const struct timeval delay = { 0, CONN_STATE_DELAY_USEC };

		evtimer_add(flush_ev, &delay);
	}
}

static void on_flush_states(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&dirty))) {
		struct priv_conn_state s = state_of(c);

		TAILQ_REMOVE(&dirty, c, dirty_link);
		c->state_dirty = false;
		if (c->unanswered > 0)
			continue;
		if (state_busy(&s) == c->told_busy && s.version == c->told_version)
			continue;
		state_told(c, &s);
		ops.send(PRIV_MSG_CONN_STATE, c->number, &s, sizeof(s), NULL, 0);
	}
}

unsigned int conn_reservations(const struct conn *c)
{
	return c->reservations;
}

void conn_add_reservations(struct conn *c, int delta)
{
	c->reservations = (unsigned int)((int)c->reservations + delta);
	state_changed(c);
}

void conn_add_running(struct conn *c, int delta)
{
	c->running = (unsigned int)((int)c->running + delta);
	state_changed(c);
}

const struct peer *conn_peer(const struct conn *c)
{
	return &c->peer;
}

int conn_copy_seccomp(struct conn *c, struct why *why)
{
	struct seccomp_set *set;
	int r = seccomp_copy(c->peer.pid, c->peer.pidfd, c->peer.status_fd, &set, why);

	if (r < 0) {
		log_info("connection %llu (uid %u, pid %d): %s", (unsigned long long)c->number, c->peer.uid, c->peer.pid,
			 why->text);
		return r;
	}
	seccomp_set_unref(c->peer.seccomp);
	c->peer.seccomp = set;
	return 0;
}

struct event_base *conn_event_base(const struct conn *c)
{
	return ops.base;
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
	state_changed(c);
}

struct conn *conn_find(uint64_t number)
{
	struct conn *c;

	TAILQ_FOREACH(c, &buckets[number % CONN_BUCKETS], bucket_link)
		if (c->number == number)
			return c;
	return NULL;
}

int conn_open(uint64_t number, int sock, struct conn **ret, struct why *why)
{
	struct conn *c;
	int r;

	if (number == 0 || conn_find(number))
		return why_set(why, EPROTO, "the daemon's front named connection %llu twice; this is a bug in pidrestored",
			       (unsigned long long)number);
	c = calloc(1, sizeof(*c));
	if (!c)
		return why_set(why, ENOMEM, "the daemon is out of memory");
	c->number = number;
	r = peer_capture(sock, &c->peer, why);
	if (r < 0) {
		/* What was captured before the refusal goes too. */
		peer_release(&c->peer);
		free(c);
		return r;
	}
	TAILQ_INSERT_TAIL(&conns, c, link);
	TAILQ_INSERT_TAIL(&buckets[number % CONN_BUCKETS], c, bucket_link);
	n_conns++;
	log_debug("connection %llu: uid %u gid %u pid %d%s", (unsigned long long)c->number, c->peer.uid, c->peer.gid,
		  c->peer.pid, c->peer.pidfd_from_socket ? "" : " (pid pinned after connect)");
	*ret = c;
	return 0;
}

void conn_free(struct conn *c)
{
	ops.closing(c);
	if (c->state_dirty)
		TAILQ_REMOVE(&dirty, c, dirty_link);
	TAILQ_REMOVE(&conns, c, link);
	TAILQ_REMOVE(&buckets[c->number % CONN_BUCKETS], c, bucket_link);
	n_conns--;
	peer_release(&c->peer);
	free(c);
}

int conn_send(struct conn *c, const Pidrestore__ServerMessage *msg, const int *fds, size_t n_fds)
{
	size_t len;

	if (!c)
		return -EPIPE;
	struct priv_conn_state s = state_of(c);

	len = sizeof(s) + pidrestore__server_message__get_packed_size(msg);
	if (len > tx_cap) {
		uint8_t *b = realloc(tx_buf, len);

		if (!b)
			return -ENOMEM;
		tx_buf = b;
		tx_cap = len;
	}
	memcpy(tx_buf, &s, sizeof(s));
	pidrestore__server_message__pack(msg, tx_buf + sizeof(s));
	state_told(c, &s);
	return ops.send(PRIV_MSG_SEND, c->number, tx_buf, len, fds, n_fds);
}

void conn_request_received(struct conn *c)
{
	c->unanswered++;
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
	if (c && c->unanswered > 0)
		c->unanswered--;
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

void conn_close_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&conns)))
		conn_free(c);
	free(tx_buf);
	tx_buf = NULL;
	tx_cap = 0;
	if (flush_ev) {
		event_free(flush_ev);
		flush_ev = NULL;
	}
}
