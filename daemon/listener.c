/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "fdreserve.h"
#include "listener.h"
#include "log.h"

static int listen_fd = -1;
static bool activated;
static bool bound_here;
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct event *accept_ev;
static struct event *resume_ev;
static struct event_base *listener_base;
static listener_accept_fn accept_fn;
static listener_refuse_fn refuse_fn;

const char *listener_path(void)
{
	return socket_path;
}

bool listener_activated(void)
{
	return activated;
}

static int mkdir_parents(const char *path)
{
	char dir[sizeof(socket_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

/* A socket file left by a daemon that died can be replaced; one that still
 * answers belongs to a running daemon. */
static int remove_stale_socket(const struct sockaddr_un *sa, struct why *why)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int r = 0;

	if (fd < 0)
		return why_set(why, errno, "socket: %m");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		r = why_set(why, EADDRINUSE, "another pidrestored already serves %s; stop it first or pass another --socket", sa->sun_path);
	else if (errno == ECONNREFUSED)
		unlink(sa->sun_path);
	close(fd);
	return r;
}

static int bind_socket(const char *path, struct why *why)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return why_set(why, ENAMETOOLONG, "socket path %s is too long (at most %zu bytes)", path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = mkdir_parents(path);
	if (r < 0)
		return why_set(why, -r, "cannot create the directory of %s: %s", path, strerror(-r));
	r = remove_stale_socket(&sa, why);
	if (r < 0)
		return r;
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return why_set(why, errno, "socket: %m");
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return why_set(why, errno, "cannot bind %s: %m", path);
	bound_here = true;
	/* Anyone may connect: who they are decides what they may do. */
	if (chmod(path, 0666) < 0)
		return why_set(why, errno, "cannot chmod %s: %m", path);
	if (listen(listen_fd, SOMAXCONN) < 0)
		return why_set(why, errno, "cannot listen on %s: %m", path);
	snprintf(socket_path, sizeof(socket_path), "%s", path);
	return 0;
}

int listener_open(const char *path, struct why *why)
{
	int n = sd_listen_fds(1);

	if (n < 0)
		return why_set(why, -n, "cannot read the sockets passed by the service manager: %s", strerror(-n));
	if (n == 0)
		return bind_socket(path, why);
	if (n > 1)
		return why_set(why, EINVAL, "the service manager passed %d sockets; pidrestored takes exactly one (ListenSequentialPacket=)", n);
	if (sd_is_socket(SD_LISTEN_FDS_START, AF_UNIX, SOCK_SEQPACKET, 1) <= 0)
		return why_set(why, EINVAL, "the passed socket is not a listening AF_UNIX SOCK_SEQPACKET socket; use ListenSequentialPacket=");
	listen_fd = SD_LISTEN_FDS_START;
	fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	activated = true;
	{
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);

		if (getsockname(listen_fd, (struct sockaddr *)&sa, &len) == 0 && len > sizeof(sa_family_t))
			snprintf(socket_path, sizeof(socket_path), "%s", sa.sun_path);
	}
	return 0;
}

/* While the daemon is out of fds it stops accepting for a moment at a time
 * rather than spin on a listening socket that stays readable; it says so
 * once when that starts and once when it ends. */
#define ACCEPT_PAUSE_USEC 250000
static uint64_t paused_since_usec;

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	event_add(accept_ev, NULL);
}

static void accept_pause(void)
{
	struct timeval tv = { .tv_usec = ACCEPT_PAUSE_USEC };

	if (paused_since_usec == 0) {
		log_warning("cannot accept connections: %m; pausing accepting until fds are free again (close connections or release reservations, or raise the fd limit, LimitNOFILE=)");
		paused_since_usec = now_usec();
	}
	event_del(accept_ev);
	evtimer_add(resume_ev, &tv);
}

/* Out of fds, the reserve's make room to tell one waiting client why,
 * rather than leave it waiting unanswered. errno is kept for the caller. */
static void refuse_out_of_fds(void)
{
	int saved = errno, cfd;
	struct why why;

	fdreserve_lend();
	cfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd >= 0) {
		fdreserve_why(&why);
		refuse_fn(cfd, &why);
	}
	fdreserve_refill();
	errno = saved;
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				refuse_out_of_fds();
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_pause();
			return;
		}
		if (paused_since_usec != 0) {
			log_notice("accepting connections again, after %.1f s",
				   (double)(now_usec() - paused_since_usec) / 1e6);
			paused_since_usec = 0;
		}
		accept_fn(listener_base, cfd);
	}
}

int listener_start(struct event_base *base, listener_accept_fn fn, listener_refuse_fn refuse)
{
	listener_base = base;
	accept_fn = fn;
	refuse_fn = refuse;
	accept_ev = event_new(base, listen_fd, EV_READ | EV_PERSIST, on_accept, NULL);
	resume_ev = evtimer_new(base, on_resume, NULL);
	if (!accept_ev || !resume_ev || event_add(accept_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void listener_close(void)
{
	if (accept_ev) {
		event_free(accept_ev);
		accept_ev = NULL;
	}
	if (resume_ev) {
		event_free(resume_ev);
		resume_ev = NULL;
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		listen_fd = -1;
	}
}

void listener_unlink(void)
{
	if (bound_here) {
		unlink(socket_path);
		bound_here = false;
	}
}
