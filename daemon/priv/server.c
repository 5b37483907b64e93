/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "cgroup1.h"
#include "seccomp-copy.h"
#include "chan.h"
#include "conffile.h"
#include "kernel.h"
#include "conn.h"
#include "fdreserve.h"
#include "listener.h"
#include "log.h"
#include "nsref.h"
#include "peer.h"
#include "proc.h"
#include "request.h"
#include "server.h"
#include "tree.h"
#include "spawn.h"

static uint64_t start_usec;
static struct event_base *base;
static unsigned int exit_idle_sec;
static uint64_t idle_since_usec;
static const char *policy_path;
static struct chan *front_chan;
static int front_pidfd = -1;
static bool front_gone;
static bool stopping;
static pid_t front_pid_now = -1;

static pid_t front_pid_get(void)
{
	return front_gone ? -1 : front_pid_now;
}
static struct event *front_exit_ev;
static struct event *front_gone_ev;
static int exit_status = EXIT_SUCCESS;
static bool policy_path_named;

static void on_released(void *data)
{
	event_base_loopexit(base, NULL);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	if (stopping) {
		/* A second signal: no more waiting for placeholders. */
		if (sig)
			log_info("received %s again, stopping now", strsignal((int)sig));
		event_base_loopexit(base, NULL);
		return;
	}
	stopping = true;
	if (sig)
		log_info("received %s, stopping", strsignal((int)sig));
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping: releasing reservations");
	/* No new connections; the clients' pending requests fail as their
	 * connections close; placeholders go, and the loop runs on until
	 * they are reaped; running programs stay. */
	if (front_chan && !front_gone) {
		chan_send(front_chan, PRIV_MSG_STOP, 0, NULL, 0, NULL, 0);
		chan_flush(front_chan);
	}
	conn_close_all();
	proc_stop_then(on_released, NULL);
}

/* Socket activation makes an idle daemon cheap to stop: with no connection
 * and no reservation for exit_idle_sec, it exits and systemd starts it again
 * on the next connection. Running children do not keep it: nobody is
 * connected to hear of their exit. */
static void on_idle_check(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_usec();

	if (stopping)
		return;
	if (conn_count() > 0 || proc_outstanding() > 0) {
		idle_since_usec = 0;
		return;
	}
	if (idle_since_usec == 0) {
		idle_since_usec = now;
		return;
	}
	if (now - idle_since_usec >= (uint64_t)exit_idle_sec * 1000000u) {
		log_info("idle for %u s, exiting", exit_idle_sec);
		on_stop(0, 0, NULL);
	}
}

/* The policy in force; request.c holds a copy of this struct, so the grants
 * it points to are freed only after a new policy has replaced it there. */
static struct policy current_policy;

static void policy_install(struct policy *policy)
{
	struct policy old = current_policy;

	current_policy = *policy;
	request_set_policy(&current_policy);
	policy_free(&old);
}

int server_load_policy(const char *path, bool named, struct policy *policy, struct why *why)
{
	return named ? config_load_named(path, policy, why) : config_load(path, policy, why);
}

/* A reload never leaves the daemon without a policy: a file that does not
 * parse is refused and the old policy stays in force. */
/* A reload never leaves the daemon without a policy. */
static int reload_policy(struct why *why)
{
	struct policy policy;
	int r;

	r = server_load_policy(policy_path, policy_path_named, &policy, why);
	if (r < 0) {
		char status[sizeof(why->text)];

		log_error("policy reload refused, the old policy stays in force: %s", why->text);
		/* `systemctl status` shows it until the next reload: one line. */
		snprintf(status, sizeof(status), "%s", why->text);
		for (char *p = status; *p; p++)
			if (*p == '\n')
				*p = ' ';
		sd_notifyf(0, "STATUS=Serving on %s with the old policy; reload refused: %s", listener_path(), status);
		return r;
	}
	policy_install(&policy);
	log_info("policy reloaded: %zu grants from %zu files (%s and its drop-ins)", current_policy.n_grants,
		 current_policy.n_files, policy_path);
	sd_notifyf(0, "STATUS=Serving on %s; policy reloaded: %zu grants", listener_path(), current_policy.n_grants);
	return 0;
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct why why = { 0 };

	reload_policy(&why);
}

/* Probed once at start: SO_PEERPIDFD (6.5+) on a socket pair of our own. */
static bool have_peer_pidfd;

static void probe_kernel_features(void)
{
	int sv[2], pidfd = -1;
	socklen_t len = sizeof(pidfd);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	have_peer_pidfd = getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0;
	if (pidfd >= 0)
		close(pidfd);
	close(sv[0]);
	close(sv[1]);
}

/* The kernel features the daemon uses here ("clone3-set-tid",
 * "SO_PEERPIDFD", ...): at most cap names, returns how many. */
static size_t kernel_features(const char **names, size_t cap)
{
	const char *all[8];
	size_t n = 0;

	/* Without these two the daemon does not start. */
	all[n++] = "clone3-set-tid";
	all[n++] = "CLONE_PIDFD";
	if (peer_cgroup2_available())
		all[n++] = "CLONE_INTO_CGROUP";
	if (have_peer_pidfd)
		all[n++] = "SO_PEERPIDFD";
	for (size_t i = 0; i < n && i < cap; i++)
		names[i] = all[i];
	return n < cap ? n : cap;
}

/* ------------------------------------------------------------ front */

static int to_front(uint32_t type, uint64_t conn, const void *body, size_t len, const int *fds, size_t n_fds)
{
	return front_chan && !front_gone ? chan_send(front_chan, type, conn, body, len, fds, n_fds) : -EPIPE;
}

static void conn_closing(struct conn *c)
{
	request_conn_closed(c);
	proc_conn_closed(c);
}

/* The requester behind a connection front accepted, captured from the
 * socket itself (DESIGN §2: nothing of it comes from front). */
static void open_conn(uint64_t number, struct wire_packet *pkt)
{
	struct priv_refusal refusal = { 0 };
	struct why why = { 0 };
	struct conn *c;

	if (pkt->n_fds != 1) {
		log_error("front passed a connection with %zu fds, not 1; refusing it", pkt->n_fds);
		why_set(&why, EPROTO, "pidrestored could not take the connection; try again");
	} else if (conn_open(number, pkt->fds[0], &c, &why) == 0) {
		const struct peer *peer = conn_peer(c);
		struct priv_conn_accepted a = { .uid = peer->uid, .responsible_uid = peer->responsible_uid, .pid = peer->pid };

		to_front(PRIV_MSG_CONN_ACCEPTED, number, &a, sizeof(a), NULL, 0);
		return;
	} else {
		/* Looked at while what the capture opened is still open: a
		 * capture that ran out of fds reads as "the requester has
		 * exited". */
		fdreserve_explain(&why);
		log_info("refusing a connection: %s", why.text);
	}
	refusal.error = why.err;
	snprintf(refusal.text, sizeof(refusal.text), "%s", why.text);
	to_front(PRIV_MSG_CONN_REFUSED, number, &refusal, sizeof(refusal), NULL, 0);
}

/* priv had no room for the fds a packet carried: the connection or the
 * request fails, saying why; nothing else does. */
static void fds_dropped(const struct priv_header *h, const uint8_t *body, size_t len)
{
	struct priv_refusal refusal = { 0 };
	struct priv_request r;
	struct why why;
	struct conn *c;

	fdreserve_why(&why);
	log_warning("%s", why.text);
	if (h->type == PRIV_MSG_CONN_OPEN) {
		refusal.error = why.err;
		snprintf(refusal.text, sizeof(refusal.text), "%s", why.text);
		to_front(PRIV_MSG_CONN_REFUSED, h->conn, &refusal, sizeof(refusal), NULL, 0);
	} else if (h->type == PRIV_MSG_REQUEST && len >= sizeof(r) && (c = conn_find(h->conn))) {
		memcpy(&r, body, sizeof(r));
		conn_respond_error(c, r.id, &why);
	}
}

static void on_front_packet(const struct priv_header *h, const uint8_t *body, size_t len, struct wire_packet *pkt,
			    void *data)
{
	struct conn *c;

	if (pkt->fds_truncated) {
		fds_dropped(h, body, len);
		wire_close_fds(pkt, 0);
		return;
	}
	switch (h->type) {
	case PRIV_MSG_FRONT_READY:
		log_info("serving on %s%s (pid %d)", listener_path(), listener_activated() ? " (socket activation)" : "",
			 getpid());
		sd_notifyf(0, "READY=1\nSTATUS=Serving on %s\nMAINPID=%d", listener_path(), getpid());
		break;
	case PRIV_MSG_CONN_OPEN:
		open_conn(h->conn, pkt);
		break;
	case PRIV_MSG_CONN_CLOSE:
		c = conn_find(h->conn);
		if (c)
			conn_free(c);
		break;
	case PRIV_MSG_REQUEST:
		c = conn_find(h->conn);
		if (c) {
			/* Takes the fds, whatever happens. */
			request_handle(c, body, len, pkt);
			return;
		}
		/* front closed the connection meanwhile. */
		break;
	default:
		log_error("front sent a message of unknown type %u; ignoring it", h->type);
		break;
	}
	wire_close_fds(pkt, 0);
}

static void on_front_gone(evutil_socket_t fd, short what, void *arg)
{
	on_stop(0, 0, NULL);
}

/* The channel is closed for good, but freed only at the end: this runs
 * from inside its own handlers, or from a send in the middle of answering
 * a request, so the stop comes from the loop, once that is done. */
static void on_front_closed(const char *why, void *data)
{
	if (front_gone)
		return;
	front_gone = true;
	/* It goes when told to stop, or dies by PDEATHSIG with priv. */
	if (stopping)
		return;
	log_error("the unprivileged front process is gone (%s); stopping", why);
	exit_status = EXIT_FAILURE;
	event_active(front_gone_ev, 0, 0);
}

/* front is this process's child: reaped when it exits, from its pidfd. */
static void on_front_exit(evutil_socket_t fd, short what, void *arg)
{
	siginfo_t si = { 0 };

	event_del(front_exit_ev);
	/* By PID: front is this process's child, its PID stays its own
	 * until this reaps it. */
	if (waitid(P_PID, (id_t)front_pid_now, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0 &&
	    !(si.si_code == CLD_EXITED && si.si_status == 0))
		log_error("the unprivileged front process %s %d", si.si_code == CLD_EXITED ? "exited with status" : "was killed by signal",
			  si.si_status);
	on_front_closed("it exited", NULL);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

int server_run(const struct server_options *opts, int chan_fd, pid_t front_pid)
{
	struct conn_ops conn_ops = { .send = to_front, .closing = conn_closing };
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL, *ev_watchdog = NULL, *ev_idle = NULL;
	struct request_limits limits = {
		.max_reservations = opts->max_reservations,
		.max_reservations_per_conn = opts->max_reservations_per_conn,
		.max_ttl_sec = opts->max_ttl_sec,
	};
	struct why why = { 0 };
	uint64_t watchdog_usec = 0;
	struct policy policy;
	int r, status = EXIT_FAILURE;

	start_usec = now_usec();
	policy_path = opts->config_path;
	policy_path_named = opts->config_named;
	srandom((unsigned int)(getpid() ^ time(NULL)));
	/* Writes to a vanished client must be an error, not a signal. Children
	 * get SIG_DFL back before they run anything. */
	signal(SIGPIPE, SIG_IGN);
	if (fdreserve_init() < 0)
		log_warning("cannot keep fds in reserve: %m; a daemon out of fds may fail to say so");

	conn_set_max_message_size(opts->max_message_size);

	if (geteuid() != 0)
		log_warning("running as uid %u, not root: only PIDs this uid could take itself will work", geteuid());
	if (nsref_init(&why) < 0 || spawn_init(opts->holder_path, &why) < 0) {
		log_error("%s", why.text);
		goto out;
	}
	peer_init_cgroup_root();
	cgroup1_init();
	probe_kernel_features();
	if (!peer_cgroup2_available())
		log_notice("no cgroup v2 hierarchy mounted: children stay in the daemon's cgroups");
	if (server_load_policy(policy_path, policy_path_named, &policy, &why) < 0) {
		log_error("%s", why.text);
		goto out;
	}
	policy_install(&policy);
	log_info("policy from %s: %zu grants", policy_path, current_policy.n_grants);
	request_set_limits(&limits);
	request_set_host(&(struct request_host){ .start_usec = start_usec, .reload_policy = reload_policy,
						  .kernel_features = kernel_features, .front_pid = front_pid_get });

	base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		goto out;
	}
	if (proc_init(base) < 0 || seccomp_copy_init(base) < 0) {
		log_error("cannot create the timers that watch processes: out of memory");
		goto out;
	}
	tree_init(base);
	conn_ops.base = base;
	conn_init(&conn_ops);
	front_gone_ev = event_new(base, -1, 0, on_front_gone, NULL);
	r = front_gone_ev ? chan_new(base, chan_fd, on_front_packet, on_front_closed, NULL, &front_chan) : -ENOMEM;
	if (r < 0) {
		log_error("cannot watch the channel to front");
		goto out;
	}
	chan_fd = -1;
	front_pid_now = front_pid;
	front_pidfd = spawn_child_pidfd(front_pid);
	front_exit_ev = front_pidfd >= 0 ? event_new(base, front_pidfd, EV_READ, on_front_exit, NULL) : NULL;
	if (!front_exit_ev || event_add(front_exit_ev, NULL) < 0) {
		log_error("cannot watch the front process: %m");
		goto out;
	}

	ev_term = evsignal_new(base, SIGTERM, on_stop, NULL);
	ev_int = evsignal_new(base, SIGINT, on_stop, NULL);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, NULL);
	if (!ev_term || !ev_int || !ev_hup || event_add(ev_term, NULL) < 0 || event_add(ev_int, NULL) < 0 ||
	    event_add(ev_hup, NULL) < 0) {
		log_error("cannot install signal handlers");
		goto out;
	}
	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) {
		struct timeval tv = { .tv_sec = (time_t)(watchdog_usec / 2 / 1000000), .tv_usec = (suseconds_t)(watchdog_usec / 2 % 1000000) };

		ev_watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
		if (ev_watchdog)
			event_add(ev_watchdog, &tv);
	}

	exit_idle_sec = opts->exit_idle_sec;
	if (exit_idle_sec > 0) {
		/* Checked once a second; idle time is measured from the first
		 * check that found nothing to do. */
		struct timeval tv = { .tv_sec = 1 };

		ev_idle = event_new(base, -1, EV_PERSIST, on_idle_check, NULL);
		if (!ev_idle || event_add(ev_idle, &tv) < 0) {
			log_error("cannot arm the idle timer");
			goto out;
		}
	}

	event_base_dispatch(base);
	status = exit_status;
	log_info("stopped");
out:
	if (chan_fd >= 0)
		close(chan_fd);
	if (front_chan && !front_gone && !stopping) {
		/* A start that failed: front must not serve without priv. */
		chan_send(front_chan, PRIV_MSG_STOP, 0, NULL, 0, NULL, 0);
		chan_flush(front_chan);
	}
	conn_close_all();
	tree_shutdown();
	proc_shutdown();
	seccomp_copy_shutdown();
	cgroup1_shutdown();
	spawn_shutdown();
	fdreserve_close();
	chan_free(front_chan);
	front_chan = NULL;
	if (front_exit_ev)
		event_free(front_exit_ev);
	if (front_gone_ev)
		event_free(front_gone_ev);
	close_fdp(&front_pidfd);
	listener_unlink();
	if (ev_watchdog)
		event_free(ev_watchdog);
	if (ev_idle)
		event_free(ev_idle);
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	if (base)
		event_base_free(base);
	policy_free(&current_policy);
	return status;
}
