/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl: the command line interface to pidrestored.
 *
 * pidrestorectl [OPTIONS...] VERB [ARGS...]; options may come before or after
 * the verb. spawn stops reading options at its command, so that the
 * command's own options stay its own. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctl.h"
#include "kernel.h"
#include "wire.h"

static const struct option long_options[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "json", optional_argument, NULL, OPT_JSON },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "pidns", required_argument, NULL, OPT_PIDNS },
	{ "new-pidns", no_argument, NULL, OPT_NEW_PIDNS },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "no-legend", no_argument, NULL, OPT_NO_LEGEND },
	{ "signal", required_argument, NULL, OPT_SIGNAL },
	{ "local", no_argument, NULL, OPT_LOCAL },
	{ "fd", required_argument, NULL, OPT_FD },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "no-pager", no_argument, NULL, OPT_NO_PAGER },
	{ "file", required_argument, NULL, OPT_FILE },
	{ 0 },
};

static const struct {
	unsigned int bit;
	const char *name;
} option_names[] = {
	{ SEEN_JSON, "--json" },
	{ SEEN_PID, "--pid" },
	{ SEEN_PIDNS, "--pidns" },
	{ SEEN_NEW_PIDNS, "--new-pidns" },
	{ SEEN_NO_WAIT, "--no-wait" },
	{ SEEN_TTL, "--ttl" },
	{ SEEN_ALL, "--all" },
	{ SEEN_CHECK, "--check" },
	{ SEEN_UID, "--uid" },
	{ SEEN_NO_LEGEND, "--no-legend" },
	{ SEEN_SIGNAL, "--signal" },
	{ SEEN_LOCAL, "--local" },
	{ SEEN_FD, "--fd" },
	{ SEEN_QUIET, "--quiet" },
	{ SEEN_FILE, "--file" },
};

static void print_help(void)
{
	printf("pidrestorectl [OPTIONS...] [VERB [ARGS...]]\n"
	       "\n"
	       "Create processes with chosen PIDs through pidrestored.\n"
	       "\n"
	       "Verbs:\n"
	       "  spawn --pid P[,P...] [--pidns PATH] [--new-pidns] [--fd FD[:TARGET]...]\n"
	       "        [--no-wait] -- CMD [ARGS...]\n"
	       "                        Run CMD with these PIDs (innermost namespace first),\n"
	       "                        this terminal's stdin/stdout/stderr, working directory\n"
	       "                        and environment; wait for it and exit with its status\n"
	       "  exec ID [--fd FD[:TARGET]...] [--no-wait] -- CMD [ARGS...]\n"
	       "                        Run CMD in reservation ID (yours, from another\n"
	       "                        pidrestorectl or program), as spawn runs it\n"
	       "  reserve P[,P...] [P[,P...]...] [--pidns PATH] [--new-pidns] [--ttl SEC]\n"
	       "                        Reserve one process per argument, all or nothing, and\n"
	       "                        hold them until Ctrl-C, SIGTERM or the TTL\n"
	       "  release ID...|--all [--uid USER]\n"
	       "                        Release reservations and print how many were released\n"
	       "  kill ID... [--signal SIG]\n"
	       "                        Send SIG (default TERM) to programs the daemon\n"
	       "                        started; reservations named are released\n"
	       "  status                Show the daemon's version, uptime, policy files,\n"
	       "                        kernel features and counters (the default verb)\n"
	       "  list [--all]          List reservations and running programs (yours; root:\n"
	       "                        everyone's); --all adds those that ended lately\n"
	       "  stats                 Requests by type and outcome, and spawn and reserve\n"
	       "                        latencies, since the daemon started\n"
	       "  policy                Show the policy in force (root: all of it; others: the\n"
	       "                        grants that name them)\n"
	       "  policy --check [--uid USER] --pid P[,P...] [--pidns PATH] [--new-pidns]\n"
	       "                        Say whether USER (default: you) may take these PIDs\n"
	       "                        and by which rule; exit 0 if allowed, 1 if not\n"
	       "  reload                Re-read the policy files (root only); a bad file is\n"
	       "                        refused and the policy in force stays\n"
	       "  check [--local]       Show what this kernel offers pidrestored and what it\n"
	       "                        does without each feature, as the daemon sees it (or\n"
	       "                        this process, when no daemon answers or with --local);\n"
	       "                        exit 0 if the daemon can work here, 1 if not\n"
	       "  tree --file TREE.json [--pidns PATH] [--ttl SEC]\n"
	       "                        Build the process tree TREE.json describes, all or\n"
	       "                        nothing, and hold it until Ctrl-C, SIGTERM or the TTL\n"
	       "  tree release ID       Release the nodes of tree ID not claimed yet\n"
	       "  help                  Show this help\n"
	       "\n"
	       "Options:\n"
	       "  -h --help             Show this help\n"
	       "     --version          Show the version\n"
	       "     --socket PATH      The daemon's socket (default: $%s, else\n"
	       "                        %s)\n"
	       "  -p --pid P[,P...]     spawn, policy --check: the PIDs, innermost namespace\n"
	       "                        first; 0 is any\n"
	       "     --pidns PATH       spawn, reserve, tree, policy --check: the target pid\n"
	       "                        namespace, a file like /proc/PID/ns/pid (default:\n"
	       "                        this process's)\n"
	       "     --new-pidns        spawn, reserve, policy --check: be pid 1 of a new pid\n"
	       "                        namespace below the target; the first PID must\n"
	       "                        then be 1\n"
	       "     --fd FD[:TARGET]   spawn, exec: give the command this fd of\n"
	       "                        pidrestorectl's as TARGET (default: the same number);\n"
	       "                        may be repeated\n"
	       "     --no-wait          spawn, exec: print the ID and PIDs and exit at once\n"
	       "     --ttl SEC          reserve, tree: release the reservations after SEC\n"
	       "                        seconds\n"
	       "     --all              release: all your reservations, over all your\n"
	       "                        connections (a running 'reserve' is told). list: also\n"
	       "                        programs that ended lately\n"
	       "     --signal SIG       kill: the signal, by name or number (default TERM)\n"
	       "     --check            policy: decide one request instead of listing rules\n"
	       "     --uid USER         policy --check: the user to decide for; release\n"
	       "                        --all: whose reservations. A name or uid as this\n"
	       "                        user namespace has them; another user than you\n"
	       "                        needs root\n"
	       "     --local            check: probe from this process, not the daemon\n"
	       "     --file TREE.json   tree: the JSON description of the tree\n"
	       "     --json=MODE        spawn, exec, reserve, status, list, stats, policy,\n"
	       "                        check, tree: print JSON; MODE is short (one line,\n"
	       "                        also --json alone), pretty, or off (tables, the\n"
	       "                        default)\n"
	       "  -j                    Like --json=pretty on a terminal, else --json=short\n"
	       "     --no-legend        spawn, exec, reserve, list, stats, policy --check,\n"
	       "                        check: no column headers and no summary lines\n"
	       "  -q --quiet            reserve, release, kill, reload: no messages of\n"
	       "                        progress or success; policy --check, check: print\n"
	       "                        nothing, the exit status is the answer\n"
	       "     --no-pager         Do not pipe status, list, stats, policy, check or\n"
	       "                        help into a pager on a terminal\n"
	       "\n"
	       "Exit status of spawn and exec: the command's, or 128+N if signal N killed\n"
	       "it; 125 if pidrestorectl or the daemon failed, 126 if the command cannot be\n"
	       "executed, 127 if it was not found. Other verbs: 0 on success, 1 on failure.\n"
	       "Usage errors: 2.\n",
	       PIDRESTORE_SOCKET_ENV, PIDRESTORE_DEFAULT_SOCKET);
}

/* ----------------------------------------------------------- arguments */

/* --fd FD or --fd FD:TARGET, added to o->fds. */
static int parse_fd_pass(const char *arg, struct options *o)
{
	struct fd_pass pass, *grown;
	char *copy = strdup(arg), *target;
	int r;

	if (!copy) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return -ENOMEM;
	}
	target = strchr(copy, ':');
	if (target)
		*target++ = '\0';
	r = parse_nonnegative(copy, &pass.fd);
	if (r == 0)
		r = parse_nonnegative(target ? target : copy, &pass.target);
	free(copy);
	if (r < 0) {
		usage_error("invalid --fd '%s'; give FD or FD:TARGET, e.g. --fd 3 or --fd 5:3", arg);
		return -EINVAL;
	}
	grown = realloc(o->fds, (o->n_fds + 1) * sizeof(*o->fds));
	if (!grown) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return -ENOMEM;
	}
	o->fds = grown;
	o->fds[o->n_fds++] = pass;
	return 0;
}

static int parse_options(int argc, char **argv, const char *optstring, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, optstring, long_options, NULL)) >= 0) {
		switch (c) {
		case OPT_HELP:
			print_help();
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("pidrestorectl %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		case OPT_SOCKET:
			if (optarg[0] == '\0')
				return usage_error("--socket needs a path, e.g. --socket %s", PIDRESTORE_DEFAULT_SOCKET);
			o->socket_path = optarg;
			break;
		case OPT_JSON:
			if (!optarg || strcmp(optarg, "short") == 0)
				o->json_pretty = false;
			else if (strcmp(optarg, "pretty") == 0)
				o->json_pretty = true;
			else if (strcmp(optarg, "off") != 0)
				return usage_error("invalid --json=%s; use --json=short (one line), --json=pretty or --json=off", optarg);
			o->json = !optarg || strcmp(optarg, "off") != 0;
			o->seen |= SEEN_JSON;
			break;
		case OPT_JSON_AUTO:
			/* As systemd's tools: indented for a person, one line for a program. */
			o->json = true;
			o->json_pretty = isatty(STDOUT_FILENO);
			o->seen |= SEEN_JSON;
			break;
		case OPT_QUIET:
			o->quiet = true;
			o->seen |= SEEN_QUIET;
			break;
		case OPT_NO_PAGER:
			o->no_pager = true;
			break;
		case OPT_FD:
			if (parse_fd_pass(optarg, o) < 0)
				return EXIT_USAGE;
			o->seen |= SEEN_FD;
			break;
		case OPT_PID:
			o->pid_list = optarg;
			o->seen |= SEEN_PID;
			break;
		case OPT_PIDNS:
			o->pidns_path = optarg;
			o->seen |= SEEN_PIDNS;
			break;
		case OPT_NEW_PIDNS:
			o->new_pidns = true;
			o->seen |= SEEN_NEW_PIDNS;
			break;
		case OPT_NO_WAIT:
			o->no_wait = true;
			o->seen |= SEEN_NO_WAIT;
			break;
		case OPT_TTL: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' || v > UINT32_MAX)
				return usage_error("invalid --ttl '%s'; give whole seconds, e.g. --ttl 60", optarg);
			o->ttl_sec = (unsigned int)v;
			o->seen |= SEEN_TTL;
			break;
		}
		case OPT_ALL:
			o->all = true;
			o->seen |= SEEN_ALL;
			break;
		case OPT_LOCAL:
			o->local = true;
			o->seen |= SEEN_LOCAL;
			break;
		case OPT_FILE:
			o->file = optarg;
			o->seen |= SEEN_FILE;
			break;
		case OPT_NO_LEGEND:
			o->no_legend = true;
			o->seen |= SEEN_NO_LEGEND;
			break;
		case OPT_SIGNAL:
			if (parse_signal(optarg, &o->signal) < 0)
				return usage_error("invalid --signal '%s'; give a name or number, e.g. --signal KILL or --signal 9", optarg);
			o->seen |= SEEN_SIGNAL;
			break;
		case OPT_CHECK:
			o->check = true;
			o->seen |= SEEN_CHECK;
			break;
		case OPT_UID: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || optarg[0] == '-' || v >= UINT32_MAX) {
				struct passwd *pw = getpwnam(optarg);

				if (!pw)
					return usage_error("invalid --uid '%s': neither a numeric uid nor a known user name", optarg);
				v = pw->pw_uid;
			}
			o->uid = (uid_t)v;
			o->seen |= SEEN_UID;
			break;
		}
		default:
			/* getopt has said what was wrong. */
			fprintf(stderr, "See 'pidrestorectl --help'.\n");
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- reserve */

/* Marks the reservation an event is about as gone; returns how many remain. */
static size_t forget_reservation(const struct options *o, const pidrestore_event *ev, uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ids[i] != ev->id)
			continue;
		if (o->quiet)
			;
		else if (ev->type == PIDRESTORE_EVENT_RELEASED && ev->signal)
			fprintf(stderr, "Reservation %" PRIu64 " was released by a kill (SIG%s) from uid %u (pid %d).\n",
				ev->id, sigabbrev_np(ev->signal) ? sigabbrev_np(ev->signal) : "?",
				(unsigned int)userns_uid_from_daemon(ev->by_uid), (int)ev->by_pid);
		else if (ev->type == PIDRESTORE_EVENT_RELEASED)
			fprintf(stderr, "Reservation %" PRIu64 " was released by uid %u (pid %d).\n", ev->id,
				(unsigned int)userns_uid_from_daemon(ev->by_uid), (int)ev->by_pid);
		else if (ev->type == PIDRESTORE_EVENT_CLAIMED)
			fprintf(stderr, "Reservation %" PRIu64 " was claimed by uid %u (pid %d); its program runs there.\n",
				ev->id, (unsigned int)userns_uid_from_daemon(ev->by_uid), (int)ev->by_pid);
		else
			fprintf(stderr, "Reservation %" PRIu64 " %s.\n", ev->id,
				ev->type == PIDRESTORE_EVENT_EXPIRED ? "expired" : "ended");
		ids[i] = ids[--n];
		break;
	}
	return n;
}

/* Holds the reservations until a signal or until all have expired; then
 * releases what is left. */
int hold_reservations(const struct options *o, pidrestore *c, uint64_t *ids, size_t n)
{
	static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
	int sfd = -1, status = EXIT_FAILURE, r;

	r = signalfd_for(stop_signals, sizeof(stop_signals) / sizeof(stop_signals[0]), &sfd);
	if (r < 0) {
		fprintf(stderr, "pidrestorectl: reserve failed (%s): cannot set up signal handling: %s\n",
			strerrorname_np(-r), strerror(-r));
		goto out;
	}
	if (!o->quiet)
		fprintf(stderr, "Holding %zu reservation%s; press Ctrl-C to release.\n", n, n == 1 ? "" : "s");
	while (n > 0) {
		pidrestore_event ev;
		bool have_signal = false;

		r = pidrestore_wait_event(c, 0, &ev);
		if (r < 0) {
			report_failure("reserve", c, r);
			goto out;
		}
		if (r > 0) {
			n = forget_reservation(o, &ev, ids, n);
			continue;
		}
		r = wait_readable(c, sfd, &have_signal);
		if (r < 0) {
			fprintf(stderr, "pidrestorectl: reserve failed (%s): cannot wait: %s\n",
				strerrorname_np(-r), strerror(-r));
			goto out;
		}
		if (have_signal && read_signal(sfd) > 0)
			break;
	}
	if (n > 0) {
		/* All of this connection's: one may have been released by id from
		 * elsewhere, and naming it would fail the whole request. */
		r = pidrestore_release(c, NULL, 0);
		if (r < 0) {
			report_failure("release", c, r);
			goto out;
		}
		if (!o->quiet)
			fprintf(stderr, "Released %d reservation%s.\n", r, r == 1 ? "" : "s");
	}
	status = EXIT_SUCCESS;
out:
	if (sfd >= 0)
		close(sfd);
	return status;
}

static int verb_reserve(const struct options *o, char **args, size_t n_args)
{
	pidrestore_target *targets = NULL;
	pidrestore_process *procs = NULL;
	pid_t (*pids)[PIDRESTORE_MAX_LEVELS] = NULL;
	uint64_t *ids = NULL;
	pidrestore *c = NULL;
	int pidns_fd = -1, status = EXIT_FAILURE, r;

	if (n_args == 0)
		return usage_error("reserve needs at least one PID list; e.g. pidrestorectl reserve 4242 4243,300");
	targets = calloc(n_args, sizeof(*targets));
	procs = calloc(n_args, sizeof(*procs));
	pids = calloc(n_args, sizeof(*pids));
	ids = calloc(n_args, sizeof(*ids));
	if (!targets || !procs || !pids || !ids) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n_args; i++) {
		if (parse_pid_list(args[i], "argument", pids[i], &targets[i].n_pids) < 0) {
			status = EXIT_USAGE;
			goto out;
		}
		targets[i].pids = pids[i];
		targets[i].flags = o->new_pidns ? PIDRESTORE_NEW_PIDNS : 0;
	}
	if (open_pidns(o, "reserve", &pidns_fd) < 0)
		goto out;
	for (size_t i = 0; i < n_args; i++)
		targets[i].pidns_fd = pidns_fd;
	if (connect_daemon(o, "reserve", &c) < 0)
		goto out;

	r = pidrestore_reserve(c, targets, n_args, o->ttl_sec, procs);
	if (r < 0) {
		report_failure("reserve", c, r);
		goto out;
	}
	for (size_t i = 0; i < n_args; i++) {
		ids[i] = procs[i].id;
		if (procs[i].pidfd >= 0)
			close(procs[i].pidfd);
	}
	print_processes(o, procs, n_args);
	/* A script reading the table must see it while the reservations are held. */
	if (fflush(stdout) != 0) {
		fprintf(stderr, "pidrestorectl: reserve failed: cannot write the reservations: %m\n");
		goto out;
	}
	status = hold_reservations(o, c, ids, n_args);
out:
	pidrestore_disconnect(c);
	if (pidns_fd >= 0)
		close(pidns_fd);
	free(ids);
	free(pids);
	free(procs);
	free(targets);
	return status;
}

/* ------------------------------------------------------------- release */

static int verb_release(const struct options *o, char **args, size_t n_args)
{
	uid_t daemon_uid = 0;
	uint64_t *ids = NULL;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r;

	if (o->all && n_args > 0)
		return usage_error("give reservation IDs or --all, not both");
	if ((o->seen & SEEN_UID) && !o->all)
		return usage_error("--uid goes with --all; e.g. pidrestorectl release --all --uid 1000");
	if (!o->all && n_args == 0)
		return usage_error("release needs reservation IDs or --all; e.g. pidrestorectl release 3 4");
	if ((o->seen & SEEN_UID) && userns_uid_to_daemon(o->uid, &daemon_uid) < 0)
		return usage_error("--uid %u has no mapping in this user namespace (see /proc/self/uid_map), "
				   "so it owns no reservation; give a uid that the map has", (unsigned int)o->uid);
	if (n_args > 0) {
		status = parse_ids(args, n_args, "reservation ID", "IDs are the numbers reserve printed", &ids);
		if (status != 0)
			return status;
		status = EXIT_FAILURE;
	}
	if (connect_daemon(o, "release", &c) < 0)
		goto out;
	if (o->all)
		r = pidrestore_release_user(c, o->seen & SEEN_UID ? daemon_uid : PIDRESTORE_UID_SELF);
	else
		r = pidrestore_release(c, ids, n_args);
	if (r < 0) {
		report_failure("release", c, r);
		goto out;
	}
	if (!o->quiet)
		printf("Released %d reservation%s.\n", r, r == 1 ? "" : "s");
	if (!o->all && (size_t)r < n_args) {
		fprintf(stderr, "pidrestorectl: %zu of the %zu reservations were not released: "
			"they do not exist or are not yours\n", n_args - (size_t)r, n_args);
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	pidrestore_disconnect(c);
	free(ids);
	return status;
}

/* -------------------------------------------------------------- status */

static void print_status_json(const struct options *o, const Pidrestore__StatusReply *s)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "daemon_version");
	json_string(&j, s->daemon_version);
	json_key(&j, "daemon_pid");
	json_uint(&j, s->daemon_pid);
	if (s->has_front_pid) {
		json_key(&j, "front_pid");
		json_uint(&j, s->front_pid);
	}
	if (s->has_spawner_pid) {
		json_key(&j, "spawner_pid");
		json_uint(&j, s->spawner_pid);
	}
	json_key(&j, "protocol_version");
	json_uint(&j, s->protocol_version);
	json_key(&j, "uptime_usec");
	json_uint(&j, s->uptime_usec);
	json_key(&j, "socket");
	json_string(&j, s->socket_path);
	json_key(&j, "socket_activated");
	json_bool(&j, s->socket_activated);
	json_key(&j, "policy_files");
	json_array_begin(&j);
	for (size_t i = 0; i < s->n_policy_files; i++)
		json_string(&j, s->policy_files[i]);
	json_array_end(&j);
	json_key(&j, "kernel_features");
	json_array_begin(&j);
	for (size_t i = 0; i < s->n_kernel_features; i++)
		json_string(&j, s->kernel_features[i]);
	json_array_end(&j);
	json_key(&j, "connections");
	json_uint(&j, s->connections);
	json_key(&j, "reservations");
	json_uint(&j, s->reservations);
	json_key(&j, "running");
	json_uint(&j, s->running);
	json_key(&j, "spawns_total");
	json_uint(&j, s->spawns_total);
	json_key(&j, "reservations_total");
	json_uint(&j, s->reservations_total);
	json_key(&j, "your_reservations");
	json_uint(&j, s->uid_reservations);
	json_key(&j, "your_running");
	json_uint(&j, s->uid_running);
	json_object_end(&j);
	json_finish(&j);
}

static void print_status_table(const Pidrestore__StatusReply *s)
{
	char uptime[64];

	format_timespan(uptime, sizeof(uptime), s->uptime_usec);
	printf("    Daemon version: %s\n", s->daemon_version && s->daemon_version[0] ? s->daemon_version : "unknown");
	if (s->has_daemon_pid)
		printf("        Daemon PID: %" PRIu32 "\n", s->daemon_pid);
	if (s->has_front_pid)
		printf("         Front PID: %" PRIu32 " (serves the socket, unprivileged)\n", s->front_pid);
	if (s->has_spawner_pid)
		printf("       Spawner PID: %" PRIu32 "\n", s->spawner_pid);
	printf("  Protocol version: %" PRIu32 "\n", s->protocol_version);
	printf("            Uptime: %s\n", uptime);
	printf("            Socket: %s\n", s->socket_path && s->socket_path[0] ? s->socket_path : "unknown");
	printf("        Activation: %s\n", s->socket_activated ? "socket (systemd)" : "started directly");
	printf("            Policy: ");
	if (s->n_policy_files == 0)
		printf("no file (the defaults: no grants)\n");
	for (size_t i = 0; i < s->n_policy_files; i++)
		printf("%s%s\n", i ? "                    " : "", s->policy_files[i]);
	printf("   Kernel features:");
	for (size_t i = 0; i < s->n_kernel_features; i++)
		printf(" %s", s->kernel_features[i]);
	printf("%s\n", s->n_kernel_features ? "" : " (not reported)");
	printf("       Connections: %" PRIu32 "\n", s->connections);
	printf("      Reservations: %" PRIu32 " (yours: %" PRIu32 ")\n", s->reservations, s->uid_reservations);
	printf("           Running: %" PRIu32 " (yours: %" PRIu32 ")\n", s->running, s->uid_running);
	printf("      Spawns total: %" PRIu64 "\n", s->spawns_total);
	printf("Reservations total: %" PRIu64 "\n", s->reservations_total);
}

static void print_status(const struct options *o, const Pidrestore__Response *resp)
{
	if (o->json)
		print_status_json(o, resp->status);
	else
		print_status_table(resp->status);
}

static int verb_status(const struct options *o, char **args, size_t n_args)
{
	Pidrestore__Request req = PIDRESTORE__REQUEST__INIT;
	Pidrestore__StatusRequest status = PIDRESTORE__STATUS_REQUEST__INIT;

	if (n_args > 0)
		return usage_error("status takes no arguments; try pidrestorectl status --json");
	req.body_case = PIDRESTORE__REQUEST__BODY_STATUS;
	req.status = &status;
	return run_query(o, "status", &req, PIDRESTORE__RESPONSE__BODY_STATUS, print_status);
}

static int verb_help(const struct options *o, char **args, size_t n_args)
{
	print_help();
	return EXIT_SUCCESS;
}

/* ---------------------------------------------------------------- main */

#define TABLE (SEEN_JSON | SEEN_NO_LEGEND)

static const struct verb verbs[] = {
	{ "spawn", verb_spawn, true, 0, SEEN_PID | SEEN_PIDNS | SEEN_NEW_PIDNS | SEEN_NO_WAIT | SEEN_FD | TABLE, false,
	  "pidrestorectl spawn --pid 4242 -- sleep 10" },
	{ "exec", verb_exec, true, 1, SEEN_NO_WAIT | SEEN_FD | TABLE, false, "pidrestorectl exec 7 -- myprog --restore" },
	{ "reserve", verb_reserve, false, 0, SEEN_PIDNS | SEEN_NEW_PIDNS | SEEN_TTL | SEEN_QUIET | TABLE, false,
	  "pidrestorectl reserve 4242 4243 --ttl 60" },
	{ "release", verb_release, false, 0, SEEN_ALL | SEEN_UID | SEEN_QUIET, false, "pidrestorectl release 3 4" },
	{ "status", verb_status, false, 0, SEEN_JSON, true, "pidrestorectl status --json" },
	{ "list", verb_list, false, 0, SEEN_ALL | TABLE, true, "pidrestorectl list --all" },
	{ "stats", verb_stats, false, 0, TABLE, true, "pidrestorectl stats --json" },
	{ "kill", verb_kill, false, 0, SEEN_SIGNAL | SEEN_QUIET, false, "pidrestorectl kill 7 --signal KILL" },
	{ "policy", verb_policy, false, 0, SEEN_CHECK | SEEN_UID | SEEN_PID | SEEN_PIDNS | SEEN_NEW_PIDNS | SEEN_QUIET | TABLE,
	  true, "pidrestorectl policy --check --uid 1000 --pid 4242" },
	{ "reload", verb_reload, false, 0, SEEN_QUIET, false, "pidrestorectl reload" },
	{ "check", verb_check, false, 0, SEEN_LOCAL | SEEN_QUIET | TABLE, true, "pidrestorectl check --local" },
	{ "tree", verb_tree, false, 0, SEEN_FILE | SEEN_PIDNS | SEEN_TTL | SEEN_QUIET | TABLE, false,
	  "pidrestorectl tree --file job.json" },
	{ "help", verb_help, false, 0, 0, true, "pidrestorectl help" },
};

static int check_options_apply(const struct verb *v, const struct options *o)
{
	for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++)
		if ((o->seen & option_names[i].bit) && !(v->allowed & option_names[i].bit))
			return usage_error("%s does not apply to %s; e.g. %s", option_names[i].name, v->name,
					   v->example);
	return 0;
}

/* Where a verb's own arguments start in argv (after the verb), parsed with
 * the program name in front so that getopt's messages name pidrestorectl.
 * Returns the verb's arguments (the leading ones first) in *ret, an array
 * to free. */
static int parse_verb_arguments(const struct verb *v, char *program, int n_after, char **after, struct options *o,
				char ***ret, size_t *ret_n)
{
	int argc = n_after + 1;
	const char *optstring = v->args_end_options ? "+hp:jq" : "hp:jq";
	char **rest, **args;
	size_t n_args = 0;
	int r;

	rest = calloc((size_t)argc + 1, sizeof(*rest));
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!rest || !args) {
		free(rest);
		free(args);
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return EXIT_FAILURE;
	}
	rest[0] = program;
	memcpy(rest + 1, after, sizeof(*rest) * (size_t)n_after);
	optind = 0;
	for (;;) {
		r = parse_options(argc, rest, optstring, o);
		if (r != 0)
			goto out;
		/* Stopped at an argument: a leading one is taken and options
		 * go on after it; '+' makes getopt stop there. */
		if (n_args >= v->leading_args || optind >= argc)
			break;
		args[n_args++] = rest[optind++];
		optstring = "+hp:jq";
	}
	memcpy(args + n_args, rest + optind, sizeof(*args) * (size_t)(argc - optind));
	n_args += (size_t)(argc - optind);
	*ret = args;
	*ret_n = n_args;
	args = NULL;
out:
	free(rest);
	free(args);
	return r;
}

int main(int argc, char **argv)
{
	struct options o = { .signal = SIGTERM };
	const struct verb *v = NULL;
	const char *verb;
	char **args = NULL;
	size_t n_args = 0;
	int n_after, r;

	/* Options before the verb; '+' stops at the verb. */
	r = parse_options(argc, argv, "+hp:jq", &o);
	if (r != 0)
		goto out;
	/* No verb: what the daemon is doing, as systemctl says without one. */
	verb = optind < argc ? argv[optind] : "status";
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verb, verbs[i].name) == 0)
			v = &verbs[i];
	if (!v) {
		r = usage_error("unknown verb '%s'; one of spawn, exec, reserve, release, kill, status, list, stats, policy, reload, check (see pidrestorectl --help)",
				verb);
		goto out;
	}
	n_after = optind < argc ? argc - optind - 1 : 0;
	r = parse_verb_arguments(v, argv[0], n_after, argv + argc - n_after, &o, &args, &n_args);
	if (r == 0)
		r = check_options_apply(v, &o);
	if (r == 0) {
		if (v->pages)
			pager_open(&o);
		r = v->run(&o, args, n_args);
		pager_close();
	}
out:
	free(args);
	free(o.fds);
	return r;
}
