/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The processes the daemon created: placeholders (reservations) and the
 * programs they became. Owns each one's pidfd and holder channel, reaps it,
 * and tells its connection when it ends (DESIGN §7).
 *
 * Nothing here waits for a process: a kill is answered once the exit event
 * (pidfd, holder channel, or a timer for what no event can tell) shows the
 * process reaped. A pid namespace's init that is killed finishes exiting
 * only once its namespace's other processes are reaped, some of them maybe
 * this daemon's children, which are reaped from their own events meanwhile. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "spawn.h"
#include "util.h"

struct conn;
struct event_base;
struct peer_context;

enum proc_state {
	PROC_STARTING,   /* holder setting itself up */
	PROC_RESERVED,   /* parked, holding its PIDs */
	PROC_EXECING,    /* told to exec, result not in yet */
	PROC_RUNNING,    /* the requester's program runs */
	PROC_RELEASED,   /* killed by the daemon, waiting to be reaped */
};

enum proc_report {
	PROC_SETUP_DONE,  /* the holder is ready (err 0) or failed */
	PROC_EXEC_DONE,   /* the exec succeeded (err 0) or failed */
};

struct proc;

/* Called once per report while a request waits on the process. */
typedef void (*proc_waiter_fn)(struct proc *p, enum proc_report report, const struct why *why, void *data);

struct proc {
	uint64_t id;
	uid_t owner_uid;
	uid_t quota_uid;             /* whose limits it counts against (peer.h responsible_uid) */
	struct conn *owner;          /* NULL once the connection is gone */
	enum proc_state state;
	pid_t pid;                   /* in the daemon's namespace */
	int pidfd;                   /* -1 while parked once its request was answered */
	int control_fd;              /* -1 once the program runs */
	size_t n_pids;
	pid_t pids[PR_MAX_LEVELS];   /* innermost first */
	uint64_t pidns_inode;
	uint64_t created_usec;
	uint64_t expires_usec;       /* when its TTL runs out; 0: never */
	struct peer_context *reserver; /* whom it was made for: a claim must come from the same */
	struct seccomp_set *seccomp; /* the filters its holder installed; a claimer must run under the same */
	proc_waiter_fn waiter;
	void *waiter_data;
	struct proc_private *priv;   /* events and links, the registry's own (proc-internal.h) */
};

/* What a process is told to execute. fds stay owned by the caller. */
struct exec_cmd {
	const uint8_t *path;
	size_t path_len;
	int program_fd;              /* -1: use path */
	int cwd_fd;                  /* -1: the requester's root */
	size_t argc, envc;
	const ProtobufCBinaryData *argv;
	const ProtobufCBinaryData *envp;
	size_t n_fds;
	const int *fds;
	const int *targets;
};

int proc_init(struct event_base *base);

/* Takes over a freshly started holder (its pidfd and channel), or one that
 * waits for its pid namespace (res->deferred). Once it returns 0 the process
 * is the module's, and a failure to watch it comes as PROC_SETUP_DONE; on
 * -ENOMEM it was killed. */
int proc_start(struct conn *owner, uid_t owner_uid, struct spawn_result *res, struct proc **ret);

/* fn NULL: stop waiting. A request that waits on several processes passes
 * the same data for each and must have answered by the time fn returns for
 * the last of them: its parked reservations then close their pidfds. */
void proc_set_waiter(struct proc *p, proc_waiter_fn fn, void *data);

/* Hands p to another connection (a claim), with what its state counts
 * there: an outstanding reservation or a running program. */
void proc_set_owner(struct proc *p, struct conn *owner);

/* Tells to, which held p, that uid by_uid (pid by_pid) claimed it from
 * another connection and that p is that connection's now. */
void proc_send_claimed_event(struct proc *p, struct conn *to, uid_t by_uid, pid_t by_pid);

/* Sends an exec command; the outcome arrives as PROC_EXEC_DONE. */
int proc_exec(struct proc *p, const struct exec_cmd *cmd, struct why *why);

/* Sends a command the caller packed (holder-proto.h: an exec or a blob),
 * of len bytes with its fds, to p's holder; the outcome arrives as
 * PROC_EXEC_DONE. what names it in why: "the program". */
int proc_command(struct proc *p, const void *cmd, size_t len, const int *fds, size_t n_fds, const char *what,
		 struct why *why);

typedef void (*proc_reaped_fn)(void *data);

/* Someone who answers only once released processes are reaped (their PIDs
 * free), without the daemon waiting for them: kept in the caller's own
 * struct, which must live until fn has run. */
struct proc_reap_wait {
	size_t left;                 /* released into it, not reaped yet */
	bool armed;
	proc_reaped_fn fn;
	void *data;
};

void proc_reap_wait_init(struct proc_reap_wait *w, proc_reaped_fn fn, void *data);

/* No more processes come: fn(data) is called once, when every one released
 * into w is reaped, which may be before this returns. */
void proc_reap_wait_arm(struct proc_reap_wait *w);

/* Kills a placeholder (or a failed spawn's holder) and forgets it once it
 * is reaped, with no event to its connection. w, when given, counts it
 * until then (unless another wait counts it already). */
void proc_release(struct proc *p, struct proc_reap_wait *w);

/* Its request is not answered yet: it is not released or expired under it. */
bool proc_request_pending(const struct proc *p);

/* Expires a reservation after ttl_sec: released, with an ExpiredEvent. */
int proc_set_ttl(struct proc *p, unsigned int ttl_sec);

struct proc *proc_find(uint64_t id);

/* Who asked for a release. A reservation of another connection than
 * this one is announced to its owner with a ReleasedEvent, once its PIDs
 * are free: nobody learns of it from a timeout. */
struct proc_releaser {
	const struct conn *conn;
	uid_t uid;
	pid_t pid;
	int signal;                  /* a kill request: its signal; 0: a release */
};

/* Releases the processes with these ids (unknown, repeated and pending
 * ids are skipped) and returns at once: fn(data) is called exactly once,
 * when the PIDs are free, which may be before this returns (nothing to
 * wait for). *n_released is set before fn can run. Returns 0, or -ENOMEM
 * with nothing done and fn not called. */
int proc_release_ids_then(const uint64_t *ids, size_t n_ids, const struct proc_releaser *by, size_t *n_released,
			  proc_reaped_fn fn, void *data);

/* Which parked reservations proc_release_reserved_then() releases: those
 * of the connection owner, or, with owner NULL, every one of uid. */
struct proc_selection {
	const struct conn *owner;
	uid_t uid;
};

/* How many parked reservations sel names, as proc_release_reserved_then()
 * would release now. */
size_t proc_count_reserved(const struct proc_selection *sel);

/* Releases the parked reservations sel names (up to cap, their ids stored
 * in ids) like proc_release_ids_then(). */
int proc_release_reserved_then(const struct proc_selection *sel, const struct proc_releaser *by, uint64_t *ids,
			       size_t cap, size_t *n_released, proc_reaped_fn fn, void *data);

/* The connection is going away: its placeholders are released, its running
 * programs keep running without an owner. */
void proc_conn_closed(struct conn *c);

/* Daemon stop: releases every placeholder and calls fn(data) once all the
 * released processes are reaped, or after a deadline (a pid namespace's
 * init may wait for processes others must reap); running programs are left
 * alone. The loop must run meanwhile. */
void proc_stop_then(proc_reaped_fn fn, void *data);

/* After the loop: forgets every process without waiting for any. */
void proc_shutdown(void);

/* Reservations starting or parked, over all connections. */
unsigned int proc_outstanding(void);

struct proc_counts {
	unsigned int reserved;
	unsigned int running;
	unsigned int starting;
};
void proc_count(const struct conn *owner, struct proc_counts *ret); /* owner NULL: all */

/* What `pidrestorectl list` shows of a process. */
struct proc_summary {
	uint64_t id;
	uid_t owner_uid;
	bool owner_connected;
	bool ended;                  /* a program that ended lately */
	enum proc_state state;       /* unless ended */
	size_t n_pids;
	pid_t pids[PR_MAX_LEVELS];
	uint64_t pidns_inode;
	uint64_t created_usec;
	uint64_t expires_usec;       /* 0: no TTL */
	uint64_t ended_usec;
	int exit_code;               /* ended: -1 when a signal killed it */
	int signal;
};

/* Calls fn for every process, oldest first, then, with ended, for the
 * programs that ended lately (the last PROC_ENDED_KEPT), oldest first. */
#define PROC_ENDED_KEPT 64
void proc_foreach(bool ended, void (*fn)(const struct proc_summary *s, void *data), void *data);

/* Sends sig to a running program through its pidfd. */
int proc_signal(struct proc *p, int sig);
