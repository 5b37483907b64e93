/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What pidrestorectl's verbs share: options, exit codes, messages, and
 * argument parsing. Each group of verbs lives in a file of its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "json.h"
#include "pidrestore.h"
#include "pidrestore.pb-c.h"

#define EXIT_USAGE 2
/* As env(1) and timeout(1) report what went wrong before the command ran. */
#define EXIT_SPAWN_FAILED 125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

#define USEC_PER_SEC UINT64_C(1000000)

enum option_id {
	OPT_HELP = 'h',
	OPT_PID = 'p',
	OPT_VERSION = 0x100,
	OPT_SOCKET,
	OPT_JSON,
	OPT_PIDNS,
	OPT_NEW_PIDNS,
	OPT_NO_WAIT,
	OPT_TTL,
	OPT_ALL,
	OPT_CHECK,
	OPT_UID,
	OPT_NO_LEGEND,
	OPT_SIGNAL,
	OPT_LOCAL,
	OPT_FD,
	OPT_NO_PAGER,
	OPT_FILE,
	OPT_JSON_AUTO = 'j',
	OPT_QUIET = 'q',
};

/* Bits of struct options.seen, to tell a verb about options it ignores. */
enum {
	SEEN_JSON = 1 << 0,
	SEEN_PID = 1 << 1,
	SEEN_PIDNS = 1 << 2,
	SEEN_NEW_PIDNS = 1 << 3,
	SEEN_NO_WAIT = 1 << 4,
	SEEN_TTL = 1 << 5,
	SEEN_ALL = 1 << 6,
	SEEN_CHECK = 1 << 7,
	SEEN_UID = 1 << 8,
	SEEN_NO_LEGEND = 1 << 9,
	SEEN_SIGNAL = 1 << 10,
	SEEN_LOCAL = 1 << 11,
	SEEN_FD = 1 << 12,
	SEEN_QUIET = 1 << 13,
	SEEN_NO_PAGER = 1 << 14,
	SEEN_FILE = 1 << 15,
};

/* --fd FD[:TARGET]: an fd of pidrestorectl's that the program gets. */
struct fd_pass {
	int fd;       /* in pidrestorectl */
	int target;   /* in the program */
};

struct options {
	const char *socket_path;   /* NULL: libpidrestore's default */
	const char *pid_list;
	const char *pidns_path;
	unsigned int ttl_sec;
	uid_t uid;
	bool json;
	bool json_pretty;
	bool no_legend;
	int signal;                /* kill: default SIGTERM */
	bool check;
	bool new_pidns;
	bool no_wait;
	bool all;
	bool local;
	bool quiet;
	bool no_pager;
	struct fd_pass *fds;       /* --fd, in the order given */
	size_t n_fds;
	const char *file;          /* tree: --file */
	unsigned int seen;
};

struct verb {
	const char *name;
	int (*run)(const struct options *o, char **args, size_t n_args);
	/* Stop at the first argument (after the leading ones): it starts a
	 * command line of its own. */
	bool args_end_options;
	/* Arguments before the options, e.g. exec's ID. */
	unsigned int leading_args;
	unsigned int allowed;
	/* Its output is worth a pager on a terminal. */
	bool pages;
	const char *example;
};

/* Prints "pidrestorectl: MESSAGE" and returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "pidrestorectl: VERB failed (ENAME): why". c may be NULL after a
 * failed connect; libpidrestore keeps that message too. */
void report_failure(const char *verb, const pidrestore *c, int r);

int connect_daemon(const struct options *o, const char *verb, pidrestore **ret);

/* A decimal number from 0 to INT32_MAX (a PID, an fd): 0, or -EINVAL. */
int parse_nonnegative(const char *s, int *ret);

/* Parses "P[,P...]" into pids (room for PIDRESTORE_MAX_LEVELS). Prints a
 * usage message naming what from on failure. */
int parse_pid_list(const char *list, const char *from, pid_t *pids, size_t *ret_n);

/* Parses n decimal ids into *ret (free it). On failure prints
 * "invalid NOUN 'ARG'; HINT" and returns the exit status. */
int parse_ids(char **args, size_t n, const char *noun, const char *hint, uint64_t **ret);

/* Opens --pidns, or returns -1 in *ret without it. */
int open_pidns(const struct options *o, const char *verb, int *ret);

void print_pids(FILE *f, const pid_t *pids, size_t n);

/* "3min 12s", "2d 5h", "250ms". */
void format_timespan(char *buf, size_t size, uint64_t usec);

/* A JSON writer on stdout in the format --json asked for. */
void json_start(struct json *j, const struct options *o);

/* For verbs that ask one question and print the answer: connects, sends
 * req, and calls print with the response (of type expected). Returns the
 * exit status. */
int run_query(const struct options *o, const char *verb, Pidrestore__Request *req,
	      Pidrestore__Response__BodyCase expected,
	      void (*print)(const struct options *o, const Pidrestore__Response *resp));

/* Blocks sigs and returns a signalfd for them, so that they are read in a
 * poll loop instead of ending the process. */
int signalfd_for(const int *sigs, size_t n, int *ret);

/* Reads one signal from a signalfd; 0 when none is pending. */
int read_signal(int sfd);

/* Waits until the connection's socket or the signalfd is readable. */
int wait_readable(pidrestore *c, int sfd, bool *ret_signal);

/* The table "ID PIDS" of processes the daemon created (--no-legend: rows
 * only), or with --json an array of { id, pids }. */
void print_processes(const struct options *o, const pidrestore_process *procs, size_t n);

/* "TERM", "SIGTERM", "15": 0, or -EINVAL. */
int parse_signal(const char *s, int *ret);

/* The verbs of ctl-run.c. */
int verb_spawn(const struct options *o, char **args, size_t n_args);
int verb_exec(const struct options *o, char **args, size_t n_args);

/* Users and groups as the caller's user namespace sees them (ctl-userns.c).
 * The daemon speaks of uids and gids of its own user namespace; these
 * translate through /proc/self/uid_map and gid_map. An id with no mapping
 * here is shown as the kernel shows it, the overflow id (65534). */
uid_t userns_uid_from_daemon(uid_t uid);
gid_t userns_gid_from_daemon(gid_t gid);
/* A uid of this namespace as the daemon's: 0, or -ENOENT if unmapped. */
int userns_uid_to_daemon(uid_t uid, uid_t *ret);
/* The name of the daemon's uid here (the local user database), else the
 * translated number. */
void userns_user_name(uid_t daemon_uid, char *buf, size_t size);
void userns_group_name(gid_t daemon_gid, char *buf, size_t size);

/* A pager for the output of a verb, when stdout is a terminal and neither
 * --no-pager nor an empty or "cat" $PIDRESTORE_PAGER or $PAGER says no
 * (ctl-pager.c). pager_close waits for it. */
void pager_open(const struct options *o);
void pager_close(void);

/* The verbs of ctl-admin.c. */
int verb_list(const struct options *o, char **args, size_t n_args);
int verb_stats(const struct options *o, char **args, size_t n_args);
int verb_kill(const struct options *o, char **args, size_t n_args);

/* The verbs of ctl-policy.c. */
int verb_reload(const struct options *o, char **args, size_t n_args);
int verb_policy(const struct options *o, char **args, size_t n_args);

/* The verb of ctl-check.c. */
int verb_check(const struct options *o, char **args, size_t n_args);

/* The verb of ctl-tree.c. */
int verb_tree(const struct options *o, char **args, size_t n_args);

/* Holds the n reservations ids of c until a signal or until all have
 * expired, then releases what is left (reserve, tree). Returns the exit
 * status. */
int hold_reservations(const struct options *o, pidrestore *c, uint64_t *ids, size_t n);
