#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "config.h"
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
#include "spawn.h"

static uint64_t start_usec;
static struct event_base *base;
static unsigned int exit_idle_sec;
static uint64_t idle_since_usec;
static const char *policy_path;

uint64_t server_start_usec(void)
{
	return start_usec;
}

const char *server_socket_path(void)
{
	return listener_path();
}

bool server_socket_activated(void)
{
	return listener_activated();
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	if (sig)
		log_info("received %s, stopping", strsignal((int)sig));
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping: releasing reservations");
	/* No new connections; the clients' pending requests fail as their
	 * connections close; placeholders go; running programs stay. */
	listener_close();
	conn_close_all();
	proc_shutdown();
	event_base_loopexit(base, NULL);
}

/* Socket activation makes an idle daemon cheap to stop: with no connection
 * and no reservation for exit_idle_sec, it exits and systemd starts it again
 * on the next connection. Running children do not keep it: nobody is
 * connected to hear of their exit. */
static void on_idle_check(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_usec();

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

/* A reload never leaves the daemon without a policy: a file that does not
 * parse is refused and the old policy stays in force. */
int server_reload_policy(struct why *why)
{
	struct policy policy;
	int r;

	r = config_load(policy_path, &policy, why);
	if (r < 0) {
		log_error("policy reload refused, the old policy stays in force: %s", why->text);
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

	server_reload_policy(&why);
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

size_t server_kernel_features(const char **names, size_t cap)
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

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* Every reservation holds a pidfd and a channel; the soft limit of
	 * 1024 would cap the daemon at a few hundred. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int server_run(const struct server_options *opts)
{
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL, *ev_watchdog = NULL, *ev_idle = NULL;
	struct request_limits limits = {
		.max_reservations = opts->max_reservations,
		.max_reservations_per_conn = opts->max_reservations_per_conn,
		.max_ttl_sec = opts->max_ttl_sec,
	};
	struct conn_limits conn_limits = {
		.max_connections = opts->max_connections,
		.max_connections_per_user = opts->max_connections_per_user,
		.requests_per_second = opts->max_requests_per_second,
		.idle_timeout_sec = opts->idle_timeout_sec,
	};
	struct why why = { 0 };
	uint64_t watchdog_usec = 0;
	struct policy policy;
	int r, status = EXIT_FAILURE;

	log_setup(opts->log_level);
	start_usec = now_usec();
	policy_path = opts->config_path;
	srandom((unsigned int)(getpid() ^ time(NULL)));
	/* Writes to a vanished client must be an error, not a signal. Children
	 * get SIG_DFL back before they run anything. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (fdreserve_init() < 0)
		log_warning("cannot keep fds in reserve: %m; a daemon out of fds may fail to tell a new connection so");
	conn_set_max_message_size(opts->max_message_size);
	/* After raise_fd_limit(): the connection limit follows the fd limit. */
	conn_set_limits(&conn_limits);

	if (geteuid() != 0)
		log_warning("running as uid %u, not root: only PIDs this uid could take itself will work", geteuid());
	if (nsref_init(&why) < 0 || spawn_init(opts->holder_path, &why) < 0) {
		log_error("%s", why.text);
		goto out;
	}
	peer_init_cgroup_root();
	probe_kernel_features();
	if (!peer_cgroup2_available())
		log_notice("no cgroup v2 hierarchy mounted: children stay in the daemon's cgroups");
	if (config_load(policy_path, &policy, &why) < 0) {
		log_error("%s", why.text);
		goto out;
	}
	policy_install(&policy);
	log_info("policy from %s: %zu grants", policy_path, current_policy.n_grants);
	request_set_limits(&limits);

	base = event_base_new();
	if (!base) {
		log_error("cannot create the event loop");
		goto out;
	}
	proc_init(base);
	r = listener_open(opts->socket_path, &why);
	if (r < 0) {
		log_error("%s", why.text);
		goto out;
	}
	if (listener_start(base) < 0) {
		log_error("cannot watch the listening socket");
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

	log_info("serving on %s%s (pid %d)", listener_path(), listener_activated() ? " (socket activation)" : "", getpid());
	sd_notifyf(0, "READY=1\nSTATUS=Serving on %s\nMAINPID=%d", listener_path(), getpid());
	event_base_dispatch(base);
	status = EXIT_SUCCESS;
	log_info("stopped");
out:
	listener_close();
	conn_close_all();
	proc_shutdown();
	spawn_shutdown();
	fdreserve_close();
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
