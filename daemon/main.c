/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestored: creates processes with chosen PIDs for unprivileged callers. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conffile.h"
#include "priv-proto.h"
#include "front/front.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "wire.h"

#define FRONT_DEFAULT_USER "pidrestore"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: pidrestored [OPTIONS]\n"
		"\n"
		"Creates processes with chosen PIDs (clone3 with set_tid) for unprivileged\n"
		"callers, under policy, and hands back a pidfd.\n"
		"\n"
		"  -s, --socket PATH            listen on PATH (default %s);\n"
		"                               ignored when the service manager passes a socket\n"
		"  -c, --config PATH            the policy file (default %s); drop-ins are\n"
		"                               read from PATH.d/*.conf\n"
		"      --holder PATH            the placeholder program (default %s if it\n"
		"                               exists, else holder/pidrestore-holder beside this\n"
		"                               program, as in a build tree)\n"
		"      --user NAME              the system user the unprivileged half, which\n"
		"                               serves the socket, runs as (default %s)\n"
		"      --max-message-size BYTES largest request accepted (default 65536)\n"
		"      --max-reservations N     outstanding reservations over all clients (default 65536)\n"
		"      --max-reservations-per-connection N\n"
		"                               outstanding reservations per connection (default 16384)\n"
		"      --max-ttl SECONDS        cap on a reservation's lifetime; also applied to\n"
		"                               reservations that ask for none (default: no cap)\n"
		"      --exit-idle SECONDS      exit after this long with no connection and no\n"
		"                               reservation (for socket activation; default: never)\n"
		"      --max-connections N      connections over all clients (default 4096, lowered\n"
		"                               to what the fd limit holds; 0: only the fd limit)\n"
		"      --max-connections-per-user N\n"
		"                               connections per user, root too, counting the uids a\n"
		"                               user maps into its user namespaces (default 256;\n"
		"                               0: no limit)\n"
		"      --max-requests-per-second N\n"
		"                               per connection; past it the daemon reads the\n"
		"                               connection more slowly (default 20000; 0: no limit)\n"
		"      --idle-timeout SECONDS   close a connection that sent nothing for this long\n"
		"                               and holds no reservation and no running program\n"
		"                               (default 300; 0: never)\n"
		"      --log-level LEVEL        err, warning, notice, info (default) or debug\n"
		"      --check-config           read the policy files, say what they grant or what is\n"
		"                               wrong (FILE:LINE), and exit 0 or 1 without serving\n"
		"  -h, --help                   show this help\n"
		"      --version                show the version\n",
		PIDRESTORE_DEFAULT_SOCKET, CONFIG_DEFAULT_PATH, HOLDER_PATH, FRONT_DEFAULT_USER);
}

static int parse_count(const char *s, unsigned int *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end || errno || v > 0xffffffffUL)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* Without --holder: the installed holder, or else the one a build tree has
 * beside the daemon (daemon/pidrestored, daemon/holder/pidrestore-holder), so
 * that a daemon run from its build tree needs no option. The installed one
 * comes first: an installed daemon never picks a program up from beside a
 * copy of itself. Fills buf and returns 0, or -ENOENT after saying what was
 * tried. */
static int find_holder(char *buf, size_t size)
{
	static const char beside[] = "holder/pidrestore-holder";
	char exe[4096];
	ssize_t len;
	char *slash;

	if (access(HOLDER_PATH, F_OK) == 0) {
		snprintf(buf, size, "%s", HOLDER_PATH);
		return 0;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		slash = strrchr(exe, '/');
		if (slash && (size_t)(slash - exe) + 1 + sizeof(beside) <= size) {
			snprintf(buf, size, "%.*s/%s", (int)(slash - exe), exe, beside);
			if (access(buf, F_OK) == 0)
				return 0;
			fprintf(stderr, "pidrestored: no holder program: neither %s (installed) nor %s (beside this daemon) exists; pass --holder PATH\n",
				HOLDER_PATH, buf);
			return -ENOENT;
		}
	}
	fprintf(stderr, "pidrestored: no holder program: %s does not exist; pass --holder PATH\n", HOLDER_PATH);
	return -ENOENT;
}

/* --check-config: what a start or a reload would make of the files. */
static int check_config(const char *path, bool named)
{
	struct policy policy;
	struct why why = { 0 };

	if (server_load_policy(path, named, &policy, &why) < 0) {
		fprintf(stderr, "pidrestored: %s\n", why.text);
		return EXIT_FAILURE;
	}
	printf("%s: %zu grant%s from %zu file%s", path, policy.n_grants, policy.n_grants == 1 ? "" : "s",
	       policy.n_files, policy.n_files == 1 ? "" : "s");
	for (size_t i = 0; i < policy.n_files; i++)
		printf("%s%s", i ? ", " : " (", policy.files[i]);
	printf("%s; own namespaces %s; ", policy.n_files ? ")" : "", policy.own_namespaces ? "on" : "off");
	if (policy.root_only_below > 0)
		printf("PIDs below %d for root only\n", policy.root_only_below);
	else
		printf("no PID floor\n");
	policy_free(&policy);
	return EXIT_SUCCESS;
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

/* The largest packet either side sends must fit the socket's send buffer:
 * past the default, only root may raise it. */
static void size_channel(int fd)
{
	int size = (int)PRIV_MAX_PACKET + 4096;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* Splits the daemon in two (DESIGN §2): the listening socket goes to front,
 * a child that confines itself as front_user; this process becomes priv.
 * What both need is settled before the fork: the socket (root may create
 * its directory), the fd limit, the user front runs as. */
static int start(const struct server_options *opts)
{
	struct front_options front = {
		.max_message_size = opts->max_message_size,
		.limits = {
			.max_connections = opts->max_connections,
			.max_connections_per_user = opts->max_connections_per_user,
			.requests_per_second = opts->max_requests_per_second,
			.idle_timeout_sec = opts->idle_timeout_sec,
		},
	};
	struct why why = { 0 };
	struct passwd *pw;
	pid_t parent = getpid(), pid;
	int sv[2];

	log_setup(opts->log_level);
	pw = getpwnam(opts->front_user);
	if (!pw) {
		log_error("the system user \"%s\" that pidrestored's unprivileged half runs as does not exist; create it (systemd-sysusers, or: useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin %s), or name another with --user",
			  opts->front_user, opts->front_user);
		return EXIT_FAILURE;
	}
	if (pw->pw_uid == 0) {
		log_error("--user %s is root; the unprivileged half must run as a user of its own", opts->front_user);
		return EXIT_FAILURE;
	}
	front.uid = pw->pw_uid;
	front.gid = pw->pw_gid;
	raise_fd_limit();
	if (listener_open(opts->socket_path, &why) < 0) {
		log_error("%s", why.text);
		return EXIT_FAILURE;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("cannot make the channel between the daemon's two processes: %m");
		listener_unlink();
		return EXIT_FAILURE;
	}
	size_channel(sv[0]);
	size_channel(sv[1]);
	pid = fork();
	if (pid < 0) {
		log_error("cannot start the daemon's unprivileged half: %m");
		listener_unlink();
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		/* front never outlives priv. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(EXIT_FAILURE);
		close(sv[0]);
		_exit(front_run(&front, sv[1]));
	}
	close(sv[1]);
	/* Only front accepts; priv keeps the socket's name. */
	listener_close();
	return server_run(opts, sv[0], pid);
}

int main(int argc, char **argv)
{
	enum { OPT_HOLDER = 256, OPT_USER, OPT_MAX_MESSAGE, OPT_LOG_LEVEL, OPT_VERSION, OPT_CHECK_CONFIG,
	       /* Options that take a whole number, in counts[] order. */
	       OPT_MAX_RES, OPT_MAX_RES_CONN, OPT_MAX_TTL, OPT_EXIT_IDLE, OPT_MAX_CONN, OPT_MAX_CONN_USER,
	       OPT_MAX_RATE, OPT_IDLE_TIMEOUT };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "holder", required_argument, NULL, OPT_HOLDER },
		{ "user", required_argument, NULL, OPT_USER },
		{ "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "max-reservations", required_argument, NULL, OPT_MAX_RES },
		{ "max-reservations-per-connection", required_argument, NULL, OPT_MAX_RES_CONN },
		{ "max-ttl", required_argument, NULL, OPT_MAX_TTL },
		{ "exit-idle", required_argument, NULL, OPT_EXIT_IDLE },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
		{ "max-connections-per-user", required_argument, NULL, OPT_MAX_CONN_USER },
		{ "max-requests-per-second", required_argument, NULL, OPT_MAX_RATE },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	struct server_options opts = {
		.socket_path = PIDRESTORE_DEFAULT_SOCKET,
		.holder_path = NULL,
		.config_path = CONFIG_DEFAULT_PATH,
		.front_user = FRONT_DEFAULT_USER,
		.max_message_size = 64 * 1024,
		.log_level = LOG_INFO,
		.max_reservations = 65536,
		.max_reservations_per_conn = 16384,
		.max_connections = 4096,
		.max_connections_per_user = 256,
		.max_requests_per_second = 20000,
		.idle_timeout_sec = 300,
	};
	unsigned int *const counts[] = {
		&opts.max_reservations, &opts.max_reservations_per_conn, &opts.max_ttl_sec, &opts.exit_idle_sec,
		&opts.max_connections, &opts.max_connections_per_user, &opts.max_requests_per_second,
		&opts.idle_timeout_sec,
	};
	char holder[4096];
	bool check_only = false;
	int c, index = 0;

	_Static_assert(sizeof(counts) / sizeof(counts[0]) == OPT_IDLE_TIMEOUT - OPT_MAX_RES + 1, "one count per option");

	while ((c = getopt_long(argc, argv, "s:c:h", options, &index)) >= 0) {
		switch (c) {
		case 's':
			opts.socket_path = optarg;
			break;
		case 'c':
			if (*optarg == '\0') {
				fprintf(stderr, "pidrestored: --config needs a path\n");
				return 2;
			}
			opts.config_path = optarg;
			opts.config_named = true;
			break;
		case OPT_HOLDER:
			opts.holder_path = optarg;
			break;
		case OPT_USER:
			opts.front_user = optarg;
			break;
		case OPT_MAX_MESSAGE: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*optarg == '\0' || *end || v < 1024 || v > 16 * 1024 * 1024) {
				fprintf(stderr, "pidrestored: --max-message-size must be a number of bytes from 1024 to 16777216, not \"%s\"\n", optarg);
				return 2;
			}
			opts.max_message_size = v;
			break;
		}
		case OPT_MAX_RES:
		case OPT_MAX_RES_CONN:
		case OPT_MAX_TTL:
		case OPT_EXIT_IDLE:
		case OPT_MAX_CONN:
		case OPT_MAX_CONN_USER:
		case OPT_MAX_RATE:
		case OPT_IDLE_TIMEOUT:
			if (parse_count(optarg, counts[c - OPT_MAX_RES]) < 0) {
				fprintf(stderr, "pidrestored: --%s takes a whole number, not \"%s\"\n", options[index].name, optarg);
				return 2;
			}
			break;
		case OPT_LOG_LEVEL:
			opts.log_level = log_level_from_string(optarg);
			if (opts.log_level < 0) {
				fprintf(stderr, "pidrestored: unknown log level \"%s\"; use err, warning, notice, info or debug\n", optarg);
				return 2;
			}
			break;
		case OPT_CHECK_CONFIG:
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("pidrestored %s (protocol %d)\n", PACKAGE_VERSION, PIDRESTORE_PROTOCOL_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'pidrestored --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pidrestored: unexpected argument \"%s\"; it takes options only (see --help)\n", argv[optind]);
		return 2;
	}
	if (check_only)
		return check_config(opts.config_path, opts.config_named);
	if (!opts.holder_path) {
		if (find_holder(holder, sizeof(holder)) < 0)
			return EXIT_FAILURE;
		opts.holder_path = holder;
	}
	return start(&opts);
}
