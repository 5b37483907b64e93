/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api-program: libpidrestore's queries as a program of its own sees them,
 * built with the public header only and linked against the shared library
 * (tests/docs/api-program.sh runs it against a real daemon).
 *
 *   api-program stats
 *   api-program check
 *   api-program policy
 *   api-program verdict UID|self PID[,PID...]
 *   api-program kill PID       reserves PID, kills the reservation, then
 *                              spawns "sleep 30" and kills that
 *   api-program old-event PID  reserves PID with a TTL of 1 s and waits for
 *                              its event through the first version of
 *                              pidrestore_wait_event, with the smaller
 *                              struct of that version
 *
 * Prints what it got, one "key=value ..." line per item; exits 1 with the
 * library's message when a call fails. */
#include <pidrestore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* pidrestore_event as LIBPIDRESTORE_0 had it, and that version's function,
 * as a program built against that version of the library is bound to it. */
struct old_event {
	pidrestore_event_type type;
	uint64_t id;
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	int exit_code;
	int signal;
	int core_dumped;
};
int old_wait_event(pidrestore *c, int timeout_ms, struct old_event *ev);
__asm__(".symver old_wait_event, pidrestore_wait_event@LIBPIDRESTORE_0");

static pidrestore *c;

static int fail(const char *what, int r)
{
	fprintf(stderr, "api-program: %s: %s (%s)\n", what, pidrestore_last_error(c), strerror(-r));
	return 1;
}

static int show_stats(void)
{
	pidrestore_stats *s;
	int r = pidrestore_get_stats(c, &s);

	if (r < 0)
		return fail("pidrestore_get_stats", r);
	printf("uptime=%s\n", s->uptime_usec > 0 ? "yes" : "no");
	for (size_t i = 0; i < s->n_requests; i++)
		printf("request type=%s outcome=%s count=%llu\n", s->requests[i]->type, s->requests[i]->outcome,
		       (unsigned long long)s->requests[i]->count);
	for (size_t i = 0; i < s->n_latencies; i++)
		printf("latency type=%s count=%llu ordered=%s\n", s->latencies[i]->type,
		       (unsigned long long)s->latencies[i]->count,
		       s->latencies[i]->p50_usec <= s->latencies[i]->max_usec ? "yes" : "no");
	free(s);
	return 0;
}

static int show_check(void)
{
	pidrestore_kernel_check *k;
	int r = pidrestore_check_kernel(c, &k);

	if (r < 0)
		return fail("pidrestore_check_kernel", r);
	printf("kernel=%s probed_by_pid=%d\n", k->kernel ? k->kernel : "(none)", (int)k->probed_by_pid);
	for (size_t i = 0; i < k->n_features; i++)
		printf("feature name=%s available=%d required=%d\n", k->features[i]->name, k->features[i]->available,
		       k->features[i]->required);
	free(k);
	return 0;
}

static int show_policy(void)
{
	pidrestore_policy *p;
	int r = pidrestore_get_policy(c, &p);

	if (r < 0)
		return fail("pidrestore_get_policy", r);
	printf("files=%zu own_namespaces=%d root_only_below=%d grants=%zu not_shown=%u\n", p->n_files,
	       p->own_namespaces, (int)p->root_only_below, p->n_grants, p->grants_not_shown);
	for (size_t i = 0; i < p->n_files; i++)
		printf("file %s\n", p->files[i]);
	for (size_t i = 0; i < p->n_grants; i++) {
		const pidrestore_grant *g = p->grants[i];

		printf("grant rule=%s uids=%zu", g->rule ? g->rule : "(none)", g->n_uids);
		for (size_t j = 0; j < g->n_uids; j++)
			printf("%s%u", j ? "," : ":", (unsigned int)g->uids[j]);
		for (size_t j = 0; j < g->n_pids; j++)
			printf(" pids=%d-%d", (int)g->pids[j]->first, (int)g->pids[j]->last);
		for (size_t j = 0; j < g->n_namespaces; j++)
			printf(" ns=%s", g->namespaces[j]);
		printf("\n");
	}
	free(p);
	return 0;
}

static int show_verdict(const char *who, char *list)
{
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	pidrestore_target target = { .pids = pids, .pidns_fd = -1 };
	uid_t uid = strcmp(who, "self") == 0 ? PIDRESTORE_UID_SELF : (uid_t)strtoul(who, NULL, 10);
	pidrestore_verdict *v;
	int r;

	for (char *tok = strtok(list, ","); tok && target.n_pids < PIDRESTORE_MAX_LEVELS; tok = strtok(NULL, ","))
		pids[target.n_pids++] = (pid_t)atoi(tok);
	r = pidrestore_check_policy(c, uid, &target, &v);
	if (r < 0)
		return fail("pidrestore_check_policy", r);
	printf("allowed=%d uid=%u levels=%zu message=%s\n", v->allowed, (unsigned int)v->uid, v->n_levels,
	       v->message ? v->message : "(none)");
	for (size_t i = 0; i < v->n_levels; i++)
		printf("level depth=%u pid=%d rule=%s\n", v->levels[i]->depth, (int)v->levels[i]->pid,
		       v->levels[i]->rule ? v->levels[i]->rule : "(refused)");
	free(v);
	return 0;
}

static int reserve_one(pid_t pid, unsigned int ttl, pidrestore_process *p)
{
	pidrestore_target target = { .pids = &pid, .n_pids = 1, .pidns_fd = -1 };
	int r = pidrestore_reserve(c, &target, 1, ttl, p);

	if (r < 0)
		return fail("pidrestore_reserve", r);
	if (p->pidfd >= 0)
		close(p->pidfd);
	return 0;
}

static int kill_both(pid_t pid)
{
	char *argv[] = { "sleep", "30", NULL };
	pidrestore_command cmd = { .path = "sleep", .program_fd = -1, .argv = argv, .cwd_fd = -1 };
	size_t n_signalled, n_released;
	pidrestore_process p;
	int r;

	if (reserve_one(pid, 0, &p))
		return 1;
	r = pidrestore_kill_report(c, &p.id, 1, SIGTERM, &n_signalled, &n_released);
	if (r < 0)
		return fail("pidrestore_kill_report", r);
	printf("reservation killed=%d signalled=%zu released=%zu\n", r, n_signalled, n_released);
	if (reserve_one(pid, 0, &p))
		return 1;
	r = pidrestore_exec(c, p.id, &cmd);
	if (r < 0)
		return fail("pidrestore_exec", r);
	r = pidrestore_kill_report(c, &p.id, 1, SIGTERM, &n_signalled, &n_released);
	if (r < 0)
		return fail("pidrestore_kill_report", r);
	printf("program killed=%d signalled=%zu released=%zu\n", r, n_signalled, n_released);
	return 0;
}

static int old_event(pid_t pid)
{
	struct {
		struct old_event ev;
		unsigned char guard[64];
	} room;
	pidrestore_process p;
	int r;

	memset(&room, 0xa5, sizeof(room));
	if (reserve_one(pid, 1, &p))
		return 1;
	r = old_wait_event(c, 10000, &room.ev);
	if (r < 0)
		return fail("pidrestore_wait_event@LIBPIDRESTORE_0", r);
	for (size_t i = 0; i < sizeof(room.guard); i++)
		if (room.guard[i] != 0xa5) {
			printf("the old pidrestore_wait_event wrote past its struct\n");
			return 1;
		}
	printf("got=%d type=%d id_matches=%d pid=%d guard=intact\n", r, (int)room.ev.type, room.ev.id == p.id,
	       room.ev.n_pids ? (int)room.ev.pids[0] : 0);
	return 0;
}

int main(int argc, char **argv)
{
	int r, status = 2;

	if (argc < 2) {
		fprintf(stderr, "usage: api-program stats|check|policy|verdict UID PIDS|kill PID|old-event PID\n");
		return 2;
	}
	r = pidrestore_connect(NULL, &c);
	if (r < 0) {
		fprintf(stderr, "api-program: %s\n", pidrestore_last_error(NULL));
		return 1;
	}
	if (strcmp(argv[1], "stats") == 0)
		status = show_stats();
	else if (strcmp(argv[1], "check") == 0)
		status = show_check();
	else if (strcmp(argv[1], "policy") == 0)
		status = show_policy();
	else if (strcmp(argv[1], "verdict") == 0 && argc == 4)
		status = show_verdict(argv[2], argv[3]);
	else if (strcmp(argv[1], "kill") == 0 && argc == 3)
		status = kill_both((pid_t)atoi(argv[2]));
	else if (strcmp(argv[1], "old-event") == 0 && argc == 3)
		status = old_event((pid_t)atoi(argv[2]));
	else
		fprintf(stderr, "api-program: unknown command %s\n", argv[1]);
	pidrestore_disconnect(c);
	return status;
}
