/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reserve-client: one libpidrestore connection driven line by line, so that a
 * test can look at /proc between requests while the connection stays open.
 *
 *   reserve-client --socket PATH
 *
 * After connecting it prints "ready pid=N nspid=A B ..." (its getpid() and
 * the NSpid line of /proc/self/status), then reads commands from stdin, one
 * per line, and answers each with zero or more lines and a last line that
 * starts with "ok", "error" or "timeout":
 *
 *   reserve [ttl=S] SPEC...   SPEC is P0,P1,... innermost first (0: any free).
 *                             One line per process:
 *                               proc ID PIDS pidfd=N|none
 *                             where N is the Pid: line of the pidfd's fdinfo;
 *                             then "ok COUNT".
 *   exec ID SCRIPT...         claims ID running /bin/sh -c SCRIPT (the rest of
 *                             the line) with this program's stdio
 *   exec-path ID PATH         claims ID running PATH with no arguments
 *   release ID...             "ok N", N the number released
 *   release-all               the same for this connection's reservations
 *   release-user UID|self     the same for every reservation of UID, over all
 *                             of its connections
 *   kill SIG ID...            "ok N signalled=S released=R"
 *   events N MS               waits up to MS milliseconds in all for N events:
 *                               event exited id=ID pids=P exit=E signal=S core=C
 *                               event expired id=ID pids=P
 *                               event released id=ID pids=P by_uid=U by_pid=Q signal=S
 *                             then "ok N", or "timeout K" after K events
 *   status                    "ok reservations=R own=O running=U connections=C"
 *   quit                      disconnects and exits 0 (so does end of input)
 *
 * A refused request answers "error ENAME MESSAGE". Pidfds handed back with a
 * reservation stay open until it is released, claimed and ended, or expired
 * (release-all closes every one).
 *
 * Exit status: 0 after quit or end of input, 1 when the connection could not
 * be made, 2 on a usage error. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pidrestore.h"

#define MAX_WORDS 4096
#define MAX_PIDFDS 4096

struct pidfd_entry {
	uint64_t id;
	int fd;
};

static struct pidfd_entry pidfds[MAX_PIDFDS];
static size_t n_pidfds;

static void pidfd_keep(uint64_t id, int fd)
{
	if (n_pidfds == MAX_PIDFDS) {
		close(fd);
		return;
	}
	pidfds[n_pidfds++] = (struct pidfd_entry){ .id = id, .fd = fd };
}

static void pidfd_forget(uint64_t id)
{
	for (size_t i = 0; i < n_pidfds; i++) {
		if (pidfds[i].id != id)
			continue;
		close(pidfds[i].fd);
		pidfds[i] = pidfds[--n_pidfds];
		return;
	}
}

/* Copies the value of the "key:" line of FILE into buf, tabs as spaces. */
static int status_field(const char *file, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	char line[512];
	FILE *f;
	int r = -ENOENT;

	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, key, klen) != 0 || line[klen] != ':')
			continue;
		v = line + klen + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		for (char *t = v; *t; t++)
			if (*t == '\t')
				*t = ' ';
		snprintf(buf, size, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static void print_pids(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
}

static void print_error(pidrestore *c, int r)
{
	const char *name = strerrorname_np(-r);
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", pidrestore_last_error(c));
	for (char *t = msg; *t; t++)
		if (*t == '\n')
			*t = ' ';
	printf("error %s %s\n", name ? name : "?", msg[0] ? msg : strerror(-r));
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -EINVAL;
	return 0;
}

static int parse_pids(const char *s, pid_t *pids, size_t *n)
{
	const char *at = s;

	*n = 0;
	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(at, &end, 10);
		if (errno || end == at || v < INT_MIN || v > INT_MAX || *n == PIDRESTORE_MAX_LEVELS)
			return -EINVAL;
		pids[(*n)++] = (pid_t)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -EINVAL;
		at = end + 1;
	}
}

static int cmd_reserve(pidrestore *c, char **words, size_t n_words)
{
	pidrestore_target *targets = NULL;
	pidrestore_process *procs = NULL;
	pid_t (*pids)[PIDRESTORE_MAX_LEVELS] = NULL;
	unsigned int ttl = 0;
	size_t n = 0;
	int r;

	if (n_words > 0 && strncmp(words[0], "ttl=", 4) == 0) {
		ttl = (unsigned int)strtoul(words[0] + 4, NULL, 10);
		words++;
		n_words--;
	}
	targets = calloc(n_words + 1, sizeof(*targets));
	procs = calloc(n_words + 1, sizeof(*procs));
	pids = calloc(n_words + 1, sizeof(*pids));
	if (!targets || !procs || !pids) {
		r = -ENOMEM;
		printf("error ENOMEM local\n");
		goto out;
	}
	for (n = 0; n < n_words; n++) {
		if (parse_pids(words[n], pids[n], &targets[n].n_pids) < 0) {
			r = -EINVAL;
			printf("error usage bad pid list '%s'\n", words[n]);
			goto out;
		}
		targets[n].pids = pids[n];
		targets[n].pidns_fd = -1;
	}
	r = pidrestore_reserve(c, targets, n, ttl, procs);
	if (r < 0) {
		print_error(c, r);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64], fdpid[32] = "none";

		if (procs[i].pidfd >= 0) {
			snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", procs[i].pidfd);
			if (status_field(path, "Pid", fdpid, sizeof(fdpid)) < 0)
				snprintf(fdpid, sizeof(fdpid), "unreadable");
			pidfd_keep(procs[i].id, procs[i].pidfd);
		}
		printf("proc %" PRIu64 " ", procs[i].id);
		print_pids(procs[i].pids, procs[i].n_pids);
		printf(" pidfd=%s\n", fdpid);
	}
	printf("ok %zu\n", n);
out:
	free(pids);
	free(procs);
	free(targets);
	return r;
}

static int cmd_exec(pidrestore *c, uint64_t id, const char *path, char *script)
{
	static const int stdio_map[3][2] = { { 0, 0 }, { 1, 1 }, { 2, 2 } };
	char *sh_argv[] = { (char *)"sh", (char *)"-c", script, NULL };
	char *path_argv[] = { (char *)path, NULL };
	pidrestore_command cmd = {
		.path = path, .program_fd = -1, .argv = script ? sh_argv : path_argv,
		.envp = NULL, .fd_map = stdio_map, .n_fd_map = 3, .cwd_fd = -1,
	};
	int r;

	/* The program must not write into this program's answers. */
	fflush(stdout);
	r = pidrestore_exec(c, id, &cmd);
	if (r < 0) {
		print_error(c, r);
		return r;
	}
	printf("ok\n");
	return 0;
}

static int cmd_release(pidrestore *c, char **words, size_t n_words, int all)
{
	uint64_t *ids = calloc(n_words + 1, sizeof(*ids));
	int r;

	if (!ids) {
		printf("error ENOMEM local\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_words; i++)
		if (parse_u64(words[i], &ids[i]) < 0) {
			printf("error usage bad id '%s'\n", words[i]);
			r = -EINVAL;
			goto out;
		}
	r = pidrestore_release(c, all ? NULL : ids, n_words);
	if (r < 0) {
		print_error(c, r);
		goto out;
	}
	for (size_t i = 0; i < n_words; i++)
		pidfd_forget(ids[i]);
	/* The reply does not say which were released: keep no pidfd. */
	while (all && n_pidfds > 0)
		close(pidfds[--n_pidfds].fd);
	printf("ok %d\n", r);
out:
	free(ids);
	return r;
}

static int cmd_release_user(pidrestore *c, char **words, size_t n_words)
{
	uint64_t uid = PIDRESTORE_UID_SELF;
	int r;

	if (n_words != 1 || (strcmp(words[0], "self") != 0 && parse_u64(words[0], &uid) < 0)) {
		printf("error usage release-user UID|self\n");
		return -EINVAL;
	}
	r = pidrestore_release_user(c, (uid_t)uid);
	if (r < 0) {
		print_error(c, r);
		return r;
	}
	printf("ok %d\n", r);
	return 0;
}

static int cmd_kill(pidrestore *c, char **words, size_t n_words)
{
	uint64_t sig, *ids = calloc(n_words + 1, sizeof(*ids));
	size_t n_signalled, n_released;
	int r = -EINVAL;

	if (!ids) {
		printf("error ENOMEM local\n");
		return -ENOMEM;
	}
	if (n_words < 2 || parse_u64(words[0], &sig) < 0) {
		printf("error usage kill SIG ID...\n");
		goto out;
	}
	for (size_t i = 1; i < n_words; i++)
		if (parse_u64(words[i], &ids[i - 1]) < 0) {
			printf("error usage bad id '%s'\n", words[i]);
			goto out;
		}
	r = pidrestore_kill_report(c, ids, n_words - 1, (int)sig, &n_signalled, &n_released);
	if (r < 0) {
		print_error(c, r);
		goto out;
	}
	printf("ok %d signalled=%zu released=%zu\n", r, n_signalled, n_released);
out:
	free(ids);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_events(pidrestore *c, unsigned long want, long timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	unsigned long got = 0;

	while (got < want) {
		int64_t left = deadline - now_ms();
		pidrestore_event ev;
		int r;

		r = pidrestore_wait_event(c, left > 0 ? (int)left : 0, &ev);
		if (r < 0) {
			print_error(c, r);
			return r;
		}
		if (r == 0)
			break;
		got++;
		pidfd_forget(ev.id);
		if (ev.type == PIDRESTORE_EVENT_EXITED) {
			printf("event exited id=%" PRIu64 " pids=", ev.id);
			print_pids(ev.pids, ev.n_pids);
			printf(" exit=%d signal=%d core=%d\n", ev.exit_code, ev.signal, ev.core_dumped ? 1 : 0);
		} else if (ev.type == PIDRESTORE_EVENT_EXPIRED) {
			printf("event expired id=%" PRIu64 " pids=", ev.id);
			print_pids(ev.pids, ev.n_pids);
			printf("\n");
		} else if (ev.type == PIDRESTORE_EVENT_RELEASED) {
			printf("event released id=%" PRIu64 " pids=", ev.id);
			print_pids(ev.pids, ev.n_pids);
			printf(" by_uid=%u by_pid=%d signal=%d\n", (unsigned int)ev.by_uid, (int)ev.by_pid, ev.signal);
		} else if (ev.type == PIDRESTORE_EVENT_CLAIMED) {
			printf("event claimed id=%" PRIu64 " pids=", ev.id);
			print_pids(ev.pids, ev.n_pids);
			printf(" by_uid=%u by_pid=%d\n", (unsigned int)ev.by_uid, (int)ev.by_pid);
		} else {
			printf("event unknown type=%d id=%" PRIu64 "\n", (int)ev.type, ev.id);
		}
	}
	if (got < want)
		printf("timeout %lu\n", got);
	else
		printf("ok %lu\n", got);
	return 0;
}

static int cmd_status(pidrestore *c)
{
	pidrestore_status st;
	int r = pidrestore_get_status(c, &st);

	if (r < 0) {
		print_error(c, r);
		return r;
	}
	printf("ok reservations=%u own=%u running=%u connections=%u\n", st.reservations,
	       st.own_reservations, st.running, st.connections);
	return 0;
}

/* Runs one command line; returns 1 on quit. */
static int run_line(pidrestore *c, char *line)
{
	static char *words[MAX_WORDS];
	char *rest = NULL, *save = NULL, *verb;
	size_t n = 0;
	uint64_t id;

	line[strcspn(line, "\n")] = '\0';
	verb = strtok_r(line, " ", &save);
	if (!verb)
		return 0;
	if (strcmp(verb, "exec") == 0 || strcmp(verb, "exec-path") == 0) {
		char *ids = strtok_r(NULL, " ", &save);

		rest = save;
		if (!ids || parse_u64(ids, &id) < 0 || !rest || !*rest) {
			printf("error usage %s ID ...\n", verb);
			return 0;
		}
		if (strcmp(verb, "exec") == 0)
			cmd_exec(c, id, "/bin/sh", rest);
		else
			cmd_exec(c, id, rest, NULL);
		return 0;
	}
	for (char *w; (w = strtok_r(NULL, " ", &save));) {
		if (n == MAX_WORDS) {
			printf("error usage too many words\n");
			return 0;
		}
		words[n++] = w;
	}
	if (strcmp(verb, "reserve") == 0)
		cmd_reserve(c, words, n);
	else if (strcmp(verb, "release") == 0)
		cmd_release(c, words, n, 0);
	else if (strcmp(verb, "release-all") == 0)
		cmd_release(c, words, 0, 1);
	else if (strcmp(verb, "release-user") == 0)
		cmd_release_user(c, words, n);
	else if (strcmp(verb, "kill") == 0)
		cmd_kill(c, words, n);
	else if (strcmp(verb, "events") == 0 && n == 2)
		cmd_events(c, strtoul(words[0], NULL, 10), strtol(words[1], NULL, 10));
	else if (strcmp(verb, "status") == 0)
		cmd_status(c);
	else if (strcmp(verb, "quit") == 0)
		return 1;
	else
		printf("error usage unknown command '%s'\n", verb);
	return 0;
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL;
	char nspid[256] = "?";
	char *line = NULL;
	size_t size = 0;
	pidrestore *c = NULL;
	int r, status = 1;

	if (argc == 3 && strcmp(argv[1], "--socket") == 0)
		socket_path = argv[2];
	if (!socket_path) {
		fprintf(stderr, "usage: reserve-client --socket PATH\n");
		return 2;
	}
	r = pidrestore_connect(socket_path, &c);
	if (r < 0) {
		printf("error %s connect: %s\n", strerrorname_np(-r), pidrestore_last_error(NULL));
		goto out;
	}
	status_field("/proc/self/status", "NSpid", nspid, sizeof(nspid));
	printf("ready pid=%d nspid=%s\n", (int)getpid(), nspid);
	fflush(stdout);
	while (getline(&line, &size, stdin) > 0) {
		r = run_line(c, line);
		fflush(stdout);
		if (r)
			break;
	}
	status = 0;
out:
	for (size_t i = 0; i < n_pidfds; i++)
		close(pidfds[i].fd);
	pidrestore_disconnect(c);
	free(line);
	fflush(stdout);
	return status;
}
