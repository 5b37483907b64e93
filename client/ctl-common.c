/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctl.h"
#include "pidrestore-raw.h"

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pidrestorectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

void report_failure(const char *verb, const pidrestore *c, int r)
{
	const char *name = strerrorname_np(-r);
	const char *why = pidrestore_last_error(c);

	fprintf(stderr, "pidrestorectl: %s failed (%s): %s\n", verb, name ? name : "unknown error",
		why && why[0] ? why : strerror(-r));
}

int connect_daemon(const struct options *o, const char *verb, pidrestore **ret)
{
	int r = pidrestore_connect(o->socket_path, ret);

	if (r < 0)
		report_failure(verb, NULL, r);
	return r;
}

int parse_nonnegative(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT32_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

int parse_pid_list(const char *list, const char *from, pid_t *pids, size_t *ret_n)
{
	size_t n = 0;
	char *copy, *item, *save = NULL;
	int r = 0;

	copy = strdup(list);
	if (!copy) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return -ENOMEM;
	}
	if (list[0] == '\0' || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,")) {
		usage_error("empty PID in %s '%s'; write PIDs innermost first, separated by commas, e.g. 1,4242",
			    from, list);
		r = -EINVAL;
		goto out;
	}
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (n == PIDRESTORE_MAX_LEVELS) {
			usage_error("%s '%s' has more than %d PIDs; there are at most %d pid namespace levels",
				    from, list, PIDRESTORE_MAX_LEVELS, PIDRESTORE_MAX_LEVELS);
			r = -EINVAL;
			goto out;
		}
		if (parse_nonnegative(item, &pids[n]) < 0) {
			usage_error("invalid PID '%s' in %s '%s'; a PID is a number, 0 for any free one",
				    item, from, list);
			r = -EINVAL;
			goto out;
		}
		n++;
	}
	*ret_n = n;
out:
	free(copy);
	return r;
}

int open_pidns(const struct options *o, const char *verb, int *ret)
{
	*ret = -1;
	if (!o->pidns_path)
		return 0;
	*ret = open(o->pidns_path, O_RDONLY | O_CLOEXEC);
	if (*ret < 0) {
		int r = -errno;

		fprintf(stderr, "pidrestorectl: %s failed (%s): cannot open pid namespace %s: %s\n",
			verb, strerrorname_np(-r), o->pidns_path, strerror(-r));
		return r;
	}
	return 0;
}

void print_pids(FILE *f, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%d", i ? "," : "", (int)pids[i]);
}

void format_timespan(char *buf, size_t size, uint64_t usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		{ "d", 86400 * USEC_PER_SEC },
		{ "h", 3600 * USEC_PER_SEC },
		{ "min", 60 * USEC_PER_SEC },
		{ "s", USEC_PER_SEC },
	};
	size_t used = 0;

	if (usec < USEC_PER_SEC) {
		snprintf(buf, size, "%" PRIu64 "ms", usec / 1000);
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < size; i++) {
		uint64_t n = usec / units[i].usec;

		if (n == 0)
			continue;
		usec -= n * units[i].usec;
		used += (size_t)snprintf(buf + used, size - used, "%s%" PRIu64 "%s",
					 used ? " " : "", n, units[i].suffix);
	}
}

void json_start(struct json *j, const struct options *o)
{
	json_init(j, stdout, o->json_pretty);
}

int run_query(const struct options *o, const char *verb, Pidrestore__Request *req,
	      Pidrestore__Response__BodyCase expected,
	      void (*print)(const struct options *o, const Pidrestore__Response *resp))
{
	Pidrestore__ServerMessage *msg = NULL;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r;

	if (connect_daemon(o, verb, &c) < 0)
		return EXIT_FAILURE;
	r = pidrestore_raw_call(c, req, NULL, 0, expected, &msg);
	if (r < 0) {
		report_failure(verb, c, r);
		goto out;
	}
	print(o, msg->response);
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	pidrestore_raw_free(msg);
	pidrestore_disconnect(c);
	return status;
}

int parse_ids(char **args, size_t n, const char *noun, const char *hint, uint64_t **ret)
{
	uint64_t *ids = calloc(n ? n : 1, sizeof(*ids));

	if (!ids) {
		fprintf(stderr, "pidrestorectl: out of memory\n");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < n; i++) {
		char *end;

		errno = 0;
		ids[i] = strtoull(args[i], &end, 10);
		if (errno != 0 || end == args[i] || *end != '\0' || args[i][0] == '-') {
			free(ids);
			return usage_error("invalid %s '%s'; %s", noun, args[i], hint);
		}
	}
	*ret = ids;
	return 0;
}

/* Blocks sigs and returns a signalfd for them, so that they are read in the
 * loop instead of ending the process. */
int signalfd_for(const int *sigs, size_t n, int *ret)
{
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < n; i++)
		sigaddset(&mask, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	*ret = signalfd(-1, &mask, SFD_CLOEXEC);
	return *ret < 0 ? -errno : 0;
}

/* Reads one signal from a signalfd; 0 when none is pending. */
int read_signal(int sfd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sfd, &si, sizeof(si));

	return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

/* Waits until the socket or the signalfd is readable. */
int wait_readable(pidrestore *c, int sfd, bool *ret_signal)
{
	struct pollfd pfd[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = pidrestore_fd(c), .events = POLLIN },
	};

	if (poll(pfd, 2, -1) < 0)
		return errno == EINTR ? 0 : -errno;
	*ret_signal = pfd[0].revents & POLLIN;
	return 0;
}

void print_processes(const struct options *o, const pidrestore_process *procs, size_t n)
{
	int id_width = 2;

	if (o->json) {
		struct json j;

		json_start(&j, o);
		json_array_begin(&j);
		for (size_t i = 0; i < n; i++) {
			json_object_begin(&j);
			json_key(&j, "id");
			json_uint(&j, procs[i].id);
			json_key(&j, "pids");
			json_pids(&j, procs[i].pids, procs[i].n_pids);
			json_object_end(&j);
		}
		json_array_end(&j);
		json_finish(&j);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(NULL, 0, "%" PRIu64, procs[i].id);

		if (w > id_width)
			id_width = w;
	}
	if (!o->no_legend)
		printf("%-*s PIDS\n", id_width, "ID");
	for (size_t i = 0; i < n; i++) {
		printf("%-*" PRIu64 " ", id_width, procs[i].id);
		print_pids(stdout, procs[i].pids, procs[i].n_pids);
		putchar('\n');
	}
}
