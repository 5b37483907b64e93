/* The processes the daemon created: placeholders (reservations) and the
 * programs they became. Owns each one's pidfd and holder channel, reaps it,
 * and tells its connection when it ends (DESIGN §7). */
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
	proc_waiter_fn waiter;
	void *waiter_data;
	struct proc_private *priv;   /* events and links, proc.c's own */
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

/* Takes over a freshly started holder (its pidfd and channel). */
int proc_start(struct conn *owner, uid_t owner_uid, struct spawn_result *res, struct proc **ret);

/* fn NULL: stop waiting. A request that waits on several processes passes
 * the same data for each and must have answered by the time fn returns for
 * the last of them: its parked reservations then close their pidfds. */
void proc_set_waiter(struct proc *p, proc_waiter_fn fn, void *data);

/* Sends an exec command; the outcome arrives as PROC_EXEC_DONE. */
int proc_exec(struct proc *p, const struct exec_cmd *cmd, struct why *why);

/* Kills a placeholder (or a failed spawn's holder); reaped in the background,
 * with no event to its connection. */
void proc_release(struct proc *p);

/* Like proc_release(), and returns a duplicate of its pidfd (or -1) for
 * proc_reap_pidfds(): a caller that answers "released" must first make sure
 * the PIDs are free, i.e. the process reaped. */
int proc_release_for_reap(struct proc *p);

/* Waits until each released process is reaped (it was killed, so this is
 * quick) and closes the fds. */
void proc_reap_pidfds(int *pidfds, size_t n);

/* Expires a reservation after ttl_sec: released, with an ExpiredEvent. */
int proc_set_ttl(struct proc *p, unsigned int ttl_sec);

struct proc *proc_find(uint64_t id);

/* Releases the processes with these ids (unknown and repeated ids are
 * skipped) and returns, with how many, once their PIDs are free. */
size_t proc_release_ids(const uint64_t *ids, size_t n_ids);

typedef void (*proc_reaped_fn)(void *data);

/* Like proc_release_ids(), but returns at once: fn(data) is called exactly
 * once, when the PIDs are free, which may be before this returns (nothing
 * to wait for). *n_released is set before fn can run. Returns 0, or
 * -ENOMEM with nothing done and fn not called. */
int proc_release_ids_then(const uint64_t *ids, size_t n_ids, size_t *n_released, proc_reaped_fn fn, void *data);

/* Releases every parked reservation of owner (up to cap, their ids stored
 * in ids) like proc_release_ids_then(). */
int proc_release_reserved_of_then(const struct conn *owner, uint64_t *ids, size_t cap, size_t *n_released,
				  proc_reaped_fn fn, void *data);

/* The connection is going away: its placeholders are released, its running
 * programs keep running without an owner. */
void proc_conn_closed(struct conn *c);

/* Daemon stop: release every placeholder and wait for them; leave running
 * programs alone. */
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
