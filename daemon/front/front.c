/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "client.h"
#include "confine.h"
#include "fdreserve.h"
#include "front.h"
#include "listener.h"
#include "log.h"

static struct event_base *base;
static struct chan *priv_chan;
static struct event *priv_gone_ev;
static int exit_status = EXIT_SUCCESS;

static int to_priv(uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds)
{
	return chan_send(priv_chan, type, conn, body, len, fds, n_fds);
}

static void stop(void)
{
	listener_close();
	client_close_all();
	event_base_loopexit(base, NULL);
}

/* A body of the size its type has, or the packet is dropped: priv built
 * it, and a wrong size is a bug worth a log line, not a guess. */
static bool body_is(const struct priv_header *h, size_t len, size_t size)
{
	if (len == size)
		return true;
	log_error("priv sent a message of type %u with %zu bytes, not %zu; ignoring it", h->type, len, size);
	return false;
}

static void on_priv_packet(const struct priv_header *h, const uint8_t *body, size_t len, struct wire_packet *pkt,
			   void *data)
{
	union {
		struct priv_conn_accepted accepted;
		struct priv_refusal refusal;
		struct priv_conn_state state;
	} u;

	switch (h->type) {
	case PRIV_MSG_CONN_ACCEPTED:
		if (body_is(h, len, sizeof(u.accepted))) {
			memcpy(&u.accepted, body, sizeof(u.accepted));
			client_accepted(h->conn, &u.accepted);
		}
		break;
	case PRIV_MSG_CONN_REFUSED:
		if (body_is(h, len, sizeof(u.refusal))) {
			memcpy(&u.refusal, body, sizeof(u.refusal));
			client_refused(h->conn, &u.refusal);
		}
		break;
	case PRIV_MSG_CONN_STATE:
		if (body_is(h, len, sizeof(u.state))) {
			memcpy(&u.state, body, sizeof(u.state));
			client_state(h->conn, &u.state);
		}
		break;
	case PRIV_MSG_SEND:
		if (pkt->fds_truncated) {
			struct why why;

			/* A reply without the pidfds it names is no reply. */
			fdreserve_why(&why);
			client_fail(h->conn, &why);
		} else if (len >= sizeof(u.state)) {
			memcpy(&u.state, body, sizeof(u.state));
			client_state(h->conn, &u.state);
			client_deliver(h->conn, body + sizeof(u.state), len - sizeof(u.state), pkt->fds, pkt->n_fds);
		} else {
			log_error("priv sent a message of %zu bytes, too short to hold a connection's state; ignoring it", len);
		}
		break;
	case PRIV_MSG_STOP:
		log_debug("priv says stop");
		stop();
		break;
	default:
		log_error("priv sent a message of unknown type %u; ignoring it", h->type);
		break;
	}
	wire_close_fds(pkt, 0);
}

static void on_priv_gone(evutil_socket_t fd, short what, void *arg)
{
	stop();
}

/* From inside the channel's handlers, or from a send in the middle of
 * serving a client: the stop comes from the loop, once that is done. */
static void on_priv_closed(const char *why, void *data)
{
	log_error("front: the privileged process is gone (%s); stopping", why);
	exit_status = EXIT_FAILURE;
	event_active(priv_gone_ev, 0, 0);
}

static void on_accept(struct event_base *b, int fd)
{
	client_new(b, fd);
}

int front_run(const struct front_options *opts, int chan_fd)
{
	static const struct client_ops ops = { .to_priv = to_priv };
	struct why why = { 0 };
	int status = EXIT_FAILURE;

	/* Stopping is priv's to decide: it tells front once the reservations
	 * are dealt with. A signal from the service manager to every process
	 * of the service must not cut that short. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base) {
		log_error("front: cannot create the event loop");
		goto out;
	}
	priv_gone_ev = event_new(base, -1, 0, on_priv_gone, NULL);
	if (!priv_gone_ev || chan_new(base, chan_fd, on_priv_packet, on_priv_closed, NULL, &priv_chan) < 0) {
		close(chan_fd);
		log_error("front: cannot watch the channel to priv");
		goto out;
	}
	client_init(&ops);
	client_set_max_message_size(opts->max_message_size);
	client_set_limits(&opts->limits);
	if (fdreserve_init() < 0)
		log_warning("front cannot keep fds in reserve: %m; out of fds, it may fail to tell a new connection so");
	if (listener_start(base, on_accept, client_refuse) < 0) {
		log_error("front: cannot watch the listening socket");
		goto out;
	}
	if (confine_front(opts->uid, opts->gid, &why) < 0) {
		log_error("%s", why.text);
		goto out;
	}
	if (to_priv(PRIV_MSG_FRONT_READY, 0, NULL, 0, NULL, 0) < 0)
		goto out;
	event_base_dispatch(base);
	status = exit_status;
out:
	listener_close();
	client_close_all();
	chan_free(priv_chan);
	fdreserve_close();
	if (priv_gone_ev)
		event_free(priv_gone_ev);
	if (base)
		event_base_free(base);
	return status;
}
