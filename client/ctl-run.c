/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl spawn and exec: a command run in a process with chosen
 * PIDs, either created for it (spawn) or a reservation of the same user
 * claimed by it (exec); pidrestorectl waits for it and exits with its
 * status, forwarding the signals a shell would send to its job. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "kernel.h"

/* Exec errors the way env(1) reports them; anything else is ours. */
static int run_exit_status(int r)
{
	switch (-r) {
	case ENOENT:
		return EXIT_NOT_FOUND;
	case EACCES:
	case ENOEXEC:
	case ETXTBSY:
	case ELOOP:
	case ENAMETOOLONG:
	case ENOTDIR:
	case EISDIR:
	case E2BIG:
	case ELIBBAD:
		return EXIT_CANNOT_EXECUTE;
	default:
		return EXIT_SPAWN_FAILED;
	}
}

static int exit_status_of(const pidrestore_event *ev)
{
	if (ev->signal > 0)
		return 128 + ev->signal;
	if (ev->exit_code >= 0)
		return ev->exit_code & 0xff;
	fprintf(stderr, "pidrestorectl: pidrestored did not say how process %d ended\n",
		ev->n_pids ? (int)ev->pids[0] : 0);
	return EXIT_SPAWN_FAILED;
}

/* The started process, with --json: at once with --no-wait, else once it
 * ended, with how. */
static void print_started_json(const struct options *o, const pidrestore_process *p, const pidrestore_event *ended)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "id");
	json_uint(&j, p->id);
	json_key(&j, "pids");
	json_pids(&j, p->pids, p->n_pids);
	if (ended) {
		json_key(&j, "exit_code");
		if (ended->signal > 0 || ended->exit_code < 0)
			json_null(&j);
		else
			json_int(&j, ended->exit_code);
		json_key(&j, "signal");
		if (ended->signal > 0)
			json_int(&j, ended->signal);
		else
			json_null(&j);
		json_key(&j, "core_dumped");
		json_bool(&j, ended->core_dumped);
	}
	json_object_end(&j);
	json_finish(&j);
}

/* Sends sig on to the process: through its pidfd when there is one, else
 * through the daemon, which holds one (so that a reused PID is never hit). */
static void forward_signal(pidrestore *c, const pidrestore_process *p, int sig)
{
	const char *name = sigabbrev_np(sig) ? sigabbrev_np(sig) : "a signal";
	int r;

	if (p->pidfd >= 0) {
		if (pr_pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
			fprintf(stderr, "pidrestorectl: cannot forward SIG%s to process %" PRIu64 ": %m\n", name, p->id);
		return;
	}
	r = pidrestore_kill(c, &p->id, 1, sig);
	/* It may have ended meanwhile; its event is on the way. */
	if (r < 0 && r != -ESRCH)
		fprintf(stderr, "pidrestorectl: cannot forward SIG%s to process %" PRIu64 ": %s\n", name, p->id,
			pidrestore_last_error(c)[0] ? pidrestore_last_error(c) : strerror(-r));
}

/* Forwards signals to the process until pidrestored reports its end. */
static int wait_for_exit(const struct options *o, const char *verb, pidrestore *c, const pidrestore_process *p,
			 int sfd)
{
	for (;;) {
		pidrestore_event ev;
		bool have_signal = false;
		int r;

		/* Drains what the request queued before polling the socket. */
		r = pidrestore_wait_event(c, 0, &ev);
		if (r < 0) {
			report_failure(verb, c, r);
			fprintf(stderr, "pidrestorectl: process %" PRIu64 " may still be running\n", p->id);
			return EXIT_SPAWN_FAILED;
		}
		if (r > 0) {
			if (ev.type != PIDRESTORE_EVENT_EXITED || ev.id != p->id)
				continue;
			if (o->json) {
				print_started_json(o, p, &ev);
				if (fflush(stdout) != 0)
					return EXIT_SPAWN_FAILED;
			}
			return exit_status_of(&ev);
		}
		r = wait_readable(c, sfd, &have_signal);
		if (r < 0) {
			fprintf(stderr, "pidrestorectl: cannot wait for process %" PRIu64 ": %s\n", p->id, strerror(-r));
			return EXIT_SPAWN_FAILED;
		}
		if (have_signal) {
			int sig = read_signal(sfd);

			if (sig > 0)
				forward_signal(c, p, sig);
		}
	}
}

/* The fds the command gets: pidrestorectl's stdin, stdout and stderr that
 * are open, each as itself unless an --fd names that number, and the --fd
 * ones. *ret has room for 3 + n_fds pairs; free it. */
static int build_fd_map(const struct options *o, int (**ret)[2], size_t *ret_n)
{
	int (*map)[2] = calloc(3 + o->n_fds, sizeof(*map));
	size_t n = 0;

	if (!map) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < o->n_fds; i++) {
		if (fcntl(o->fds[i].fd, F_GETFD) < 0) {
			free(map);
			return usage_error("--fd %d: fd %d is not open in pidrestorectl; open it where pidrestorectl is "
					   "started, e.g. pidrestorectl exec 7 --fd 3 -- CMD 3<FILE",
					   o->fds[i].fd, o->fds[i].fd);
		}
		for (size_t k = 0; k < i; k++)
			if (o->fds[k].target == o->fds[i].target) {
				free(map);
				return usage_error("--fd gives the program's fd %d twice; each fd of the program can "
						   "come from one --fd only", o->fds[i].target);
			}
	}
	for (int fd = 0; fd <= 2; fd++) {
		bool named = false;

		for (size_t i = 0; i < o->n_fds; i++)
			named |= o->fds[i].target == fd;
		if (!named && fcntl(fd, F_GETFD) >= 0) {
			map[n][0] = map[n][1] = fd;
			n++;
		}
	}
	for (size_t i = 0; i < o->n_fds; i++) {
		map[n][0] = o->fds[i].fd;
		map[n][1] = o->fds[i].target;
		n++;
	}
	*ret = map;
	*ret_n = n;
	return 0;
}

/* The command, as pidrestorectl runs: this working directory and
 * environment, the fds of build_fd_map. */
struct run_command {
	pidrestore_command cmd;
	int (*fd_map)[2];
};

static int run_command_init(const struct options *o, const char *verb, char **args, struct run_command *rc)
{
	int r;

	*rc = (struct run_command){ .cmd = { .program_fd = -1, .cwd_fd = -1 } };
	r = build_fd_map(o, &rc->fd_map, &rc->cmd.n_fd_map);
	if (r != 0)
		return r;
	rc->cmd.fd_map = (const int(*)[2])rc->fd_map;
	rc->cmd.path = args[0];
	rc->cmd.argv = args;
	rc->cmd.cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rc->cmd.cwd_fd < 0) {
		fprintf(stderr, "pidrestorectl: %s failed (%s): cannot open the working directory: %m\n", verb,
			strerrorname_np(errno));
		return EXIT_SPAWN_FAILED;
	}
	return 0;
}

static void run_command_done(struct run_command *rc)
{
	if (rc->cmd.cwd_fd >= 0)
		close(rc->cmd.cwd_fd);
	free(rc->fd_map);
}

/* What both verbs do once the process runs: print it and leave (--no-wait),
 * or wait for it. sfd is the signalfd set up before it started. */
static int after_start(const struct options *o, const char *verb, pidrestore *c, const pidrestore_process *p, int sfd)
{
	if (!o->no_wait)
		return wait_for_exit(o, verb, c, p, sfd);
	if (o->json)
		print_started_json(o, p, NULL);
	else
		print_processes(o, p, 1);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_SPAWN_FAILED;
}

static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* Blocked before the process exists, so that no signal meant for it is lost
 * between its creation and the wait loop. */
static int forward_signals_from_now(const struct options *o, const char *verb, int *sfd)
{
	int r;

	*sfd = -1;
	if (o->no_wait)
		return 0;
	r = signalfd_for(forwarded_signals, sizeof(forwarded_signals) / sizeof(forwarded_signals[0]), sfd);
	if (r < 0)
		fprintf(stderr, "pidrestorectl: %s failed (%s): cannot set up signal forwarding: %s\n", verb,
			strerrorname_np(-r), strerror(-r));
	return r;
}

int verb_spawn(const struct options *o, char **args, size_t n_args)
{
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	pidrestore_target target = { .pids = pids, .pidns_fd = -1 };
	struct run_command rc = { .cmd = { .cwd_fd = -1 } };
	pidrestore_process p = { .pidfd = -1 };
	pidrestore *c = NULL;
	int sfd = -1, status = EXIT_SPAWN_FAILED, r;

	if (!o->pid_list)
		return usage_error("--pid is required; e.g. pidrestorectl spawn --pid 4242 -- sleep 10");
	if (n_args == 0)
		return usage_error("spawn needs a command to run; e.g. pidrestorectl spawn --pid 4242 -- sleep 10");
	if (parse_pid_list(o->pid_list, "--pid", pids, &target.n_pids) < 0)
		return EXIT_USAGE;
	if (o->new_pidns)
		target.flags |= PIDRESTORE_NEW_PIDNS;
	/* Before anything of ours is open: the --fd numbers are the caller's. */
	r = run_command_init(o, "spawn", args, &rc);
	if (r != 0) {
		status = r;
		goto out;
	}
	if (open_pidns(o, "spawn", &target.pidns_fd) < 0)
		goto out;
	if (connect_daemon(o, "spawn", &c) < 0)
		goto out;
	if (forward_signals_from_now(o, "spawn", &sfd) < 0)
		goto out;
	r = pidrestore_spawn(c, &target, &rc.cmd, &p);
	if (r < 0) {
		report_failure("spawn", c, r);
		status = run_exit_status(r);
		goto out;
	}
	status = after_start(o, "spawn", c, &p, sfd);
out:
	if (p.pidfd >= 0)
		close(p.pidfd);
	if (sfd >= 0)
		close(sfd);
	run_command_done(&rc);
	if (target.pidns_fd >= 0)
		close(target.pidns_fd);
	pidrestore_disconnect(c);
	return status;
}

/* The PIDs of one of the caller's reservations, as the daemon lists them;
 * none if it is not listed (the exec request then says why). */
static void reservation_pids(pidrestore *c, pidrestore_process *p)
{
	pidrestore_entry *entries = NULL;
	size_t n = 0;

	if (pidrestore_list(c, 0, &entries, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (entries[i].id == p->id) {
			p->n_pids = entries[i].n_pids;
			memcpy(p->pids, entries[i].pids, entries[i].n_pids * sizeof(p->pids[0]));
			p->pidns_inode = entries[i].pidns_inode;
		}
	free(entries);
}

int verb_exec(const struct options *o, char **args, size_t n_args)
{
	struct run_command rc = { .cmd = { .cwd_fd = -1 } };
	pidrestore_process p = { .pidfd = -1 };
	uint64_t *id = NULL;
	pidrestore *c = NULL;
	int sfd = -1, status, r;

	if (n_args < 2)
		return usage_error("exec needs a reservation ID and a command; e.g. pidrestorectl exec 7 -- myprog --restore");
	status = parse_ids(args, 1, "reservation ID", "IDs are the numbers reserve printed", &id);
	if (status != 0)
		return status;
	p.id = *id;
	free(id);
	status = EXIT_SPAWN_FAILED;
	r = run_command_init(o, "exec", args + 1, &rc);
	if (r != 0) {
		status = r;
		goto out;
	}
	if (connect_daemon(o, "exec", &c) < 0)
		goto out;
	reservation_pids(c, &p);
	if (forward_signals_from_now(o, "exec", &sfd) < 0)
		goto out;
	r = pidrestore_exec(c, p.id, &rc.cmd);
	if (r < 0) {
		report_failure("exec", c, r);
		status = run_exit_status(r);
		goto out;
	}
	status = after_start(o, "exec", c, &p, sfd);
out:
	if (sfd >= 0)
		close(sfd);
	run_command_done(&rc);
	pidrestore_disconnect(c);
	return status;
}
