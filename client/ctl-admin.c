/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pidrestorectl list, stats and kill: what the daemon holds and has done,
 * for admins (everything) and users (their own) (DESIGN §9). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

static const char *state_name(pidrestore_state state)
{
	switch (state) {
	case PIDRESTORE_STATE_STARTING:
		return "starting";
	case PIDRESTORE_STATE_RESERVED:
		return "reserved";
	case PIDRESTORE_STATE_EXECING:
		return "execing";
	case PIDRESTORE_STATE_RUNNING:
		return "running";
	case PIDRESTORE_STATE_EXITED:
		return "exited";
	case PIDRESTORE_STATE_RELEASING:
		return "releasing";
	}
	return "unknown";
}

static void pids_text(const pidrestore_entry *e, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->n_pids && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", (int)e->pids[i]);
}

/* The text of a column, for the table and for measuring it. */
enum { COL_ID, COL_OWNER, COL_PIDS, COL_PIDNS, COL_STATE, COL_AGE, COL_TTL, N_COLS };

static void cell(const pidrestore_entry *e, int col, char *buf, size_t size)
{
	char name[64];

	switch (col) {
	case COL_ID:
		snprintf(buf, size, "%" PRIu64, e->id);
		break;
	case COL_OWNER:
		userns_user_name(e->owner_uid, name, sizeof(name));
		snprintf(buf, size, "%s", name);
		break;
	case COL_PIDS:
		pids_text(e, buf, size);
		break;
	case COL_PIDNS:
		snprintf(buf, size, "pid:[%" PRIu64 "]", e->pidns_inode);
		break;
	case COL_STATE:
		if (e->state == PIDRESTORE_STATE_EXITED && e->signal)
			snprintf(buf, size, "exited (signal %d)", e->signal);
		else if (e->state == PIDRESTORE_STATE_EXITED)
			snprintf(buf, size, "exited (status %d)", e->exit_code);
		else
			snprintf(buf, size, "%s", state_name(e->state));
		break;
	case COL_AGE:
		format_timespan(buf, size, e->age_usec);
		break;
	case COL_TTL:
		if (e->has_ttl)
			format_timespan(buf, size, e->ttl_left_usec);
		else
			snprintf(buf, size, "-");
		break;
	}
}

static void print_list_table(const struct options *o, const pidrestore_entry *entries, size_t n)
{
	static const char *const headers[N_COLS] = { "ID", "OWNER", "PIDS", "PIDNS", "STATE", "AGE", "TTL" };
	size_t width[N_COLS];
	char buf[PIDRESTORE_MAX_LEVELS * 12 + 32];

	for (int col = 0; col < N_COLS; col++)
		width[col] = o->no_legend ? 0 : strlen(headers[col]);
	for (size_t i = 0; i < n; i++)
		for (int col = 0; col < N_COLS; col++) {
			cell(&entries[i], col, buf, sizeof(buf));
			if (strlen(buf) > width[col])
				width[col] = strlen(buf);
		}
	if (!o->no_legend) {
		for (int col = 0; col < N_COLS; col++)
			printf("%-*s%s", col + 1 < N_COLS ? (int)width[col] : 0, headers[col], col + 1 < N_COLS ? " " : "\n");
	}
	for (size_t i = 0; i < n; i++)
		for (int col = 0; col < N_COLS; col++) {
			cell(&entries[i], col, buf, sizeof(buf));
			printf("%-*s%s", col + 1 < N_COLS ? (int)width[col] : 0, buf, col + 1 < N_COLS ? " " : "\n");
		}
	if (!o->no_legend)
		printf("\n%zu process%s listed.\n", n, n == 1 ? "" : "es");
}

static void print_list_json(const struct options *o, const pidrestore_entry *entries, size_t n)
{
	struct json j;
	char name[64];

	json_start(&j, o);
	json_array_begin(&j);
	for (size_t i = 0; i < n; i++) {
		const pidrestore_entry *e = &entries[i];

		json_object_begin(&j);
		json_key(&j, "id");
		json_uint(&j, e->id);
		json_key(&j, "owner_uid");
		json_uint(&j, userns_uid_from_daemon(e->owner_uid));
		json_key(&j, "owner");
		userns_user_name(e->owner_uid, name, sizeof(name));
		json_string(&j, name);
		json_key(&j, "pids");
		json_pids(&j, e->pids, e->n_pids);
		json_key(&j, "pidns_inode");
		json_uint(&j, e->pidns_inode);
		json_key(&j, "state");
		json_string(&j, state_name(e->state));
		json_key(&j, "age_usec");
		json_uint(&j, e->age_usec);
		json_key(&j, "ttl_left_usec");
		if (e->has_ttl)
			json_uint(&j, e->ttl_left_usec);
		else
			json_null(&j);
		json_key(&j, "owner_connected");
		json_bool(&j, e->owner_connected);
		if (e->state == PIDRESTORE_STATE_EXITED) {
			json_key(&j, "exit_code");
			if (e->signal)
				json_null(&j);
			else
				json_int(&j, e->exit_code);
			json_key(&j, "signal");
			if (e->signal)
				json_int(&j, e->signal);
			else
				json_null(&j);
		}
		json_object_end(&j);
	}
	json_array_end(&j);
	json_finish(&j);
}

int verb_list(const struct options *o, char **args, size_t n_args)
{
	pidrestore_entry *entries = NULL;
	pidrestore *c = NULL;
	size_t n = 0;
	int status = EXIT_FAILURE, r;

	if (n_args > 0)
		return usage_error("list takes no arguments; e.g. pidrestorectl list --all");
	if (connect_daemon(o, "list", &c) < 0)
		return EXIT_FAILURE;
	r = pidrestore_list(c, o->all, &entries, &n);
	if (r < 0) {
		report_failure("list", c, r);
		goto out;
	}
	if (o->json)
		print_list_json(o, entries, n);
	else
		print_list_table(o, entries, n);
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(entries);
	pidrestore_disconnect(c);
	return status;
}

/* --------------------------------------------------------------- stats */

static void print_stats_table(const struct options *o, const pidrestore_stats *s)
{
	char uptime[64];

	format_timespan(uptime, sizeof(uptime), s->uptime_usec);
	if (!o->no_legend)
		printf("Since the daemon started (%s ago):\n\n%-10s %-16s %10s\n", uptime, "REQUEST", "OUTCOME", "COUNT");
	for (size_t i = 0; i < s->n_requests; i++)
		printf("%-10s %-16s %10" PRIu64 "\n", s->requests[i]->type, s->requests[i]->outcome, s->requests[i]->count);
	/* Two tables: an empty line parts them, with or without headers. */
	putchar('\n');
	if (!o->no_legend)
		printf("%-10s %10s %10s %10s %10s %10s\n", "LATENCY", "COUNT", "P50", "P90", "P99", "MAX");
	for (size_t i = 0; i < s->n_latencies; i++) {
		const pidrestore_latency *l = s->latencies[i];
		char p50[32], p90[32], p99[32], max[32];

		snprintf(p50, sizeof(p50), "%" PRIu64 "us", l->p50_usec);
		snprintf(p90, sizeof(p90), "%" PRIu64 "us", l->p90_usec);
		snprintf(p99, sizeof(p99), "%" PRIu64 "us", l->p99_usec);
		snprintf(max, sizeof(max), "%" PRIu64 "us", l->max_usec);
		printf("%-10s %10" PRIu64 " %10s %10s %10s %10s\n", l->type, l->count, p50, p90, p99, max);
	}
}

static void print_stats_json(const struct options *o, const pidrestore_stats *s)
{
	struct json j;

	json_start(&j, o);
	json_object_begin(&j);
	json_key(&j, "uptime_usec");
	json_uint(&j, s->uptime_usec);
	json_key(&j, "requests");
	json_array_begin(&j);
	for (size_t i = 0; i < s->n_requests; i++) {
		json_object_begin(&j);
		json_key(&j, "type");
		json_string(&j, s->requests[i]->type);
		json_key(&j, "outcome");
		json_string(&j, s->requests[i]->outcome);
		json_key(&j, "count");
		json_uint(&j, s->requests[i]->count);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "latency");
	json_object_begin(&j);
	for (size_t i = 0; i < s->n_latencies; i++) {
		const pidrestore_latency *l = s->latencies[i];

		json_key(&j, l->type);
		json_object_begin(&j);
		json_key(&j, "count");
		json_uint(&j, l->count);
		json_key(&j, "p50_usec");
		json_uint(&j, l->p50_usec);
		json_key(&j, "p90_usec");
		json_uint(&j, l->p90_usec);
		json_key(&j, "p99_usec");
		json_uint(&j, l->p99_usec);
		json_key(&j, "max_usec");
		json_uint(&j, l->max_usec);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_object_end(&j);
	json_finish(&j);
}

int verb_stats(const struct options *o, char **args, size_t n_args)
{
	pidrestore_stats *stats = NULL;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r;

	if (n_args > 0)
		return usage_error("stats takes no arguments; e.g. pidrestorectl stats --json");
	if (connect_daemon(o, "stats", &c) < 0)
		return EXIT_FAILURE;
	r = pidrestore_get_stats(c, &stats);
	if (r < 0) {
		report_failure("stats", c, r);
		goto out;
	}
	if (o->json)
		print_stats_json(o, stats);
	else
		print_stats_table(o, stats);
	status = fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	free(stats);
	pidrestore_disconnect(c);
	return status;
}

/* ---------------------------------------------------------------- kill */

/* "TERM", "SIGTERM", "15", "sigkill". */
int parse_signal(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s && !*end && errno == 0) {
		if (v <= 0 || v >= NSIG)
			return -EINVAL;
		*ret = (int)v;
		return 0;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && strcasecmp(abbrev, s) == 0) {
			*ret = sig;
			return 0;
		}
	}
	return -EINVAL;
}

/* What a kill did: programs signalled, reservations released (an older
 * daemon does not tell them apart). */
static void print_kill_outcome(int sig, size_t n, size_t n_signalled, size_t n_released)
{
	const char *name = sigabbrev_np(sig) ? sigabbrev_np(sig) : "?";

	if (n_released == (size_t)-1) {
		printf("Sent SIG%s to %zu process%s; any reservation among them was released instead (this daemon does not say which).\n",
		       name, n, n == 1 ? "" : "es");
		return;
	}
	if (n_signalled > 0)
		printf("Sent SIG%s to %zu program%s.\n", name, n_signalled, n_signalled == 1 ? "" : "s");
	if (n_released > 0)
		printf("Released %zu reservation%s (a reservation runs no program to signal).\n", n_released,
		       n_released == 1 ? "" : "s");
	if (n_signalled == 0 && n_released == 0)
		printf("No process could be signalled; pidrestored's log says why.\n");
}

int verb_kill(const struct options *o, char **args, size_t n_args)
{
	size_t n_signalled = 0, n_released = 0;
	uint64_t *ids = NULL;
	pidrestore *c = NULL;
	int status = EXIT_FAILURE, r;

	if (n_args == 0)
		return usage_error("kill needs process IDs, as list shows them; e.g. pidrestorectl kill 7 --signal KILL");
	status = parse_ids(args, n_args, "process ID", "IDs are the numbers list shows", &ids);
	if (status != 0)
		return status;
	status = EXIT_FAILURE;
	if (connect_daemon(o, "kill", &c) < 0)
		goto out;
	r = pidrestore_kill_report(c, ids, n_args, o->signal, &n_signalled, &n_released);
	if (r < 0) {
		report_failure("kill", c, r);
		goto out;
	}
	if (!o->quiet)
		print_kill_outcome(o->signal, (size_t)r, n_signalled, n_released);
	status = EXIT_SUCCESS;
out:
	pidrestore_disconnect(c);
	free(ids);
	return status;
}
