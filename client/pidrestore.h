/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libpidrestore: create processes with chosen PIDs through pidrestored.
 *
 * Every function returns 0 (or a count) on success and a negative errno value
 * on failure. When the daemon refused a request, the errno is the daemon's
 * (EPERM policy denied, EEXIST pid in use, EINVAL bad request, ESRCH target
 * gone, ENOSPC limit reached, ENOSYS kernel lacks it, EPROTO malformed) and
 * pidrestore_last_error() returns its explanation.
 *
 * A connection is not thread-safe; use one per thread. The connection's fd is
 * close-on-exec. */
#ifndef PIDRESTORE_H
#define PIDRESTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A process has a PID at up to 33 pid namespace levels; a request may
 * choose at most 32 of them (clone3()'s limit), innermost first. */
#define PIDRESTORE_MAX_LEVELS 33
#define PIDRESTORE_MAX_PIDS 32

typedef struct pidrestore pidrestore;

/* Connects to the daemon at path; NULL means $PIDRESTORE_SOCKET, else
 * /run/pidrestore/pidrestored.sock. Negotiates the protocol version. */
int pidrestore_connect(const char *path, pidrestore **ret);
void pidrestore_disconnect(pidrestore *c);

/* The connection's socket, to poll for events (POLLIN). */
int pidrestore_fd(const pidrestore *c);

/* The daemon's message for the last failed call on c ("" if none). Valid
 * until the next call on c. With c NULL: the calling thread's last failed
 * pidrestore_connect(). */
const char *pidrestore_last_error(const pidrestore *c);

/* Where and with which PIDs a process is created. */
typedef struct pidrestore_target {
	const pid_t *pids;    /* innermost namespace first; 0 = any free pid */
	size_t n_pids;
	int pidns_fd;         /* nsfs fd or pidfd naming the target pid namespace;
	                         -1: the caller's own */
	unsigned int flags;   /* PIDRESTORE_NEW_PIDNS */
} pidrestore_target;

#define PIDRESTORE_NEW_PIDNS (1u << 0) /* pid 1 of a new namespace below the target */

/* What a process runs. */
typedef struct pidrestore_command {
	const char *path;          /* without '/': searched in PATH from envp */
	int program_fd;            /* -1, or an fd of the program (execveat) */
	char *const *argv;         /* NULL-terminated; NULL: { path, NULL } */
	char *const *envp;         /* NULL-terminated; NULL: the caller's environ */
	const int (*fd_map)[2];    /* pairs { fd in the caller, fd in the program } */
	size_t n_fd_map;           /* 0: the program gets no fds at all */
	int cwd_fd;                /* directory fd; -1: the caller's working directory */
} pidrestore_command;

/* A process the daemon created. */
typedef struct pidrestore_process {
	uint64_t id;
	int pidfd;                           /* owned by the caller; -1 if none */
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];   /* innermost first, up to the daemon's namespace */
	uint64_t pidns_inode;
} pidrestore_process;

/* Creates a process with the target's PIDs running cmd. Returns once the
 * program was executed, or with the exec error (e.g. -ENOENT). */
int pidrestore_spawn(pidrestore *c, const pidrestore_target *target,
		     const pidrestore_command *cmd, pidrestore_process *ret);

/* Reserves n processes (placeholders holding their PIDs), all or nothing.
 * ttl_sec 0: no expiry. ret must have room for n entries. */
int pidrestore_reserve(pidrestore *c, const pidrestore_target *targets, size_t n,
		       unsigned int ttl_sec, pidrestore_process *ret);

/* Claims a reservation by executing cmd in it. On an exec error the
 * reservation stays and may be claimed again. */
int pidrestore_exec(pidrestore *c, uint64_t id, const pidrestore_command *cmd);

/* Releases reservations: the n ids, or all of this connection's when ids is
 * NULL. Returns the number released. */
int pidrestore_release(pidrestore *c, const uint64_t *ids, size_t n);

/* Releases every parked reservation of uid, over all of its connections;
 * PIDRESTORE_UID_SELF: the caller's own uid. Another uid needs root (-EPERM).
 * Each owning connection other than c gets a PIDRESTORE_EVENT_RELEASED.
 * Returns the number released; -EOPNOTSUPP from a daemon that cannot. */
#define PIDRESTORE_UID_SELF ((uid_t)-1)
int pidrestore_release_user(pidrestore *c, uid_t uid);

typedef enum pidrestore_event_type {
	PIDRESTORE_EVENT_EXITED = 1,   /* a spawned/claimed process ended */
	PIDRESTORE_EVENT_EXPIRED = 2,  /* a reservation's TTL ran out */
	PIDRESTORE_EVENT_RELEASED = 3, /* another connection released a reservation */
	PIDRESTORE_EVENT_CLAIMED = 4,  /* another connection claimed one; it is that one's now */
} pidrestore_event_type;

typedef struct pidrestore_event {
	pidrestore_event_type type;
	uint64_t id;
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];
	int exit_code;    /* EXITED: exit status, or -1 if killed by a signal */
	int signal;       /* EXITED: the signal that killed it; RELEASED: the
	                     signal of the kill request that released it; else 0 */
	int core_dumped;
	uid_t by_uid;     /* RELEASED, CLAIMED: who released or claimed it */
	pid_t by_pid;     /* RELEASED, CLAIMED: its pid in the daemon's namespace, or 0 */
} pidrestore_event;

/* Waits up to timeout_ms (-1: forever, 0: poll) for the next event. Returns
 * 1 with *ev filled, 0 on timeout. Events that arrive while another call waits
 * for its reply are queued and returned here in order. */
int pidrestore_wait_event(pidrestore *c, int timeout_ms, pidrestore_event *ev);

typedef struct pidrestore_status {
	char daemon_version[32];
	uint32_t protocol_version;
	uint64_t uptime_usec;
	uint32_t connections;
	uint32_t reservations;
	uint32_t running;
	uint64_t spawns_total;
	uint64_t reservations_total;
	uint32_t own_reservations;
	uint32_t own_running;
	int socket_activated;
	char socket_path[108];
} pidrestore_status;

int pidrestore_get_status(pidrestore *c, pidrestore_status *ret);

/* Sends sig to the n processes (running programs) of the caller's (root:
 * anyone's); a reservation named here is released instead. All or nothing:
 * an id that is unknown or not the caller's fails the call (-ESRCH, -EPERM).
 * Returns the number signalled or released. */
int pidrestore_kill(pidrestore *c, const uint64_t *ids, size_t n, int sig);

/* pidrestore_kill(), telling apart what it did: *n_signalled programs got
 * sig and *n_released reservations were released (each (size_t)-1 from an
 * older daemon, which does not say). Either pointer may be NULL. */
int pidrestore_kill_report(pidrestore *c, const uint64_t *ids, size_t n, int sig, size_t *n_signalled,
			   size_t *n_released);

typedef enum pidrestore_state {
	PIDRESTORE_STATE_STARTING = 1,  /* a placeholder setting itself up */
	PIDRESTORE_STATE_RESERVED = 2,  /* a parked placeholder */
	PIDRESTORE_STATE_EXECING = 3,   /* told to exec, result not in yet */
	PIDRESTORE_STATE_RUNNING = 4,   /* a spawned or claimed program */
	PIDRESTORE_STATE_EXITED = 5,    /* ended lately (listed with all) */
	PIDRESTORE_STATE_RELEASING = 6, /* killed by the daemon, not reaped yet */
} pidrestore_state;

/* A process of the daemon's, as pidrestore_list() reports it. */
typedef struct pidrestore_entry {
	uint64_t id;
	uid_t owner_uid;
	pidrestore_state state;
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];   /* innermost first */
	uint64_t pidns_inode;
	uint64_t age_usec;
	int has_ttl;
	uint64_t ttl_left_usec;
	int exit_code;        /* EXITED: exit status, or -1 if a signal killed it */
	int signal;           /* EXITED: that signal, else 0 */
	int owner_connected;  /* the connection that owns it is open */
} pidrestore_entry;

/* The daemon's processes: the caller's (root: everyone's), and with all
 * also those that ended lately. *ret is an array of *n entries to free(). */
int pidrestore_list(pidrestore *c, int all, pidrestore_entry **ret, size_t *n);

/* Makes the daemon re-read its policy files (root only). A file that does
 * not parse is refused and the policy in force stays; the error (-EINVAL and
 * the like) comes with pidrestore_last_error() saying FILE:LINE: why. */
int pidrestore_reload(pidrestore *c);

/* The protocol version agreed with the daemon. */
uint32_t pidrestore_protocol_version(const pidrestore *c);

/* The queries below return one block of memory the library allocates: free
 * it with free(). Callers never allocate these structs nor copy them, so
 * later versions may add fields at their ends; arrays of structs are arrays
 * of pointers for the same reason. A string the daemon did not send is NULL
 * where a comment says "or NULL"; the others are never NULL. */

typedef struct pidrestore_request_count {
	const char *type;       /* "spawn", "reserve", ... */
	const char *outcome;    /* "ok" or an errno name, e.g. "EPERM" */
	uint64_t count;
} pidrestore_request_count;

typedef struct pidrestore_latency {
	const char *type;       /* "spawn" (until exec'd), "reserve" (per request) */
	uint64_t count;
	uint64_t p50_usec, p90_usec, p99_usec, max_usec;
} pidrestore_latency;

/* Requests by type and outcome since the daemon started, and latencies. */
typedef struct pidrestore_stats {
	uint64_t uptime_usec;
	size_t n_requests;
	const pidrestore_request_count *const *requests;
	size_t n_latencies;
	const pidrestore_latency *const *latencies;
} pidrestore_stats;

int pidrestore_get_stats(pidrestore *c, pidrestore_stats **ret);

typedef struct pidrestore_kernel_feature {
	const char *name;       /* e.g. "clone3-set-tid", "SO_PEERPIDFD" */
	int available;
	int required;           /* the daemon cannot work without it */
	const char *detail;     /* e.g. "pid_max 4194304", or NULL */
	const char *without;    /* what the daemon does without it, or NULL */
} pidrestore_kernel_feature;

/* What the kernel offers, as the daemon sees it. */
typedef struct pidrestore_kernel_check {
	const char *kernel;     /* uname release, or NULL */
	pid_t probed_by_pid;    /* the daemon's pid */
	size_t n_features;
	const pidrestore_kernel_feature *const *features;
} pidrestore_kernel_check;

int pidrestore_check_kernel(pidrestore *c, pidrestore_kernel_check **ret);

typedef struct pidrestore_pid_range {
	pid_t first, last;      /* inclusive */
} pidrestore_pid_range;

typedef struct pidrestore_grant {
	const char *rule;       /* "grant #2 (pidrestored.conf:7)", or NULL */
	size_t n_uids;
	const uid_t *uids;
	size_t n_gids;
	const gid_t *gids;
	size_t n_pids;
	const pidrestore_pid_range *const *pids;
	size_t n_namespaces;
	const char *const *namespaces;  /* "host", "owned-by:UID", "any" */
	int has_max_reservations;
	uint32_t max_reservations;
	int has_spawns_per_second;
	uint32_t spawns_per_second;
} pidrestore_grant;

/* The policy in force: root sees every grant, another user those that
 * name it, and its own limits (the smallest among its grants). */
typedef struct pidrestore_policy {
	size_t n_files;
	const char *const *files;
	int own_namespaces;
	pid_t root_only_below;  /* 0: none */
	size_t n_grants;
	const pidrestore_grant *const *grants;
	uint32_t grants_not_shown;
	int has_max_reservations;
	uint32_t max_reservations;
	int has_spawns_per_second;
	uint32_t spawns_per_second;
} pidrestore_policy;

int pidrestore_get_policy(pidrestore *c, pidrestore_policy **ret);

typedef struct pidrestore_policy_level {
	pid_t pid;
	unsigned int depth;     /* below the daemon's pid namespace */
	uint64_t pidns_inode;   /* 0: a namespace the request would create */
	const char *rule;       /* the rule that allows it; NULL: refused */
} pidrestore_policy_level;

/* Whether uid may take the target's PIDs: only the policy is decided,
 * nothing is created and PIDs in use are not looked for. */
typedef struct pidrestore_verdict {
	int allowed;
	uid_t uid;
	const char *message;    /* why not, when refused; or NULL */
	const char *assumed;    /* for another uid: what it was taken to be; or NULL */
	size_t n_levels;
	const pidrestore_policy_level *const *levels;  /* innermost first */
} pidrestore_verdict;

/* uid PIDRESTORE_UID_SELF: the caller; another uid needs root. Returns 0
 * with *ret filled whether allowed or not; a negative errno when the
 * question could not be answered. */
int pidrestore_check_policy(pidrestore *c, uid_t uid, const pidrestore_target *target,
			    pidrestore_verdict **ret);

/* ------------------------------------------------------------- trees
 * A whole process tree in one request, all or nothing: parents, sessions,
 * process groups, zombies and thread IDs (daemon feature "tree"). Every
 * LIVE node parks with the caller's credentials until it is claimed with
 * pidrestore_exec() on its reservation_id, or released. */

typedef enum pidrestore_tree_kind {
	PIDRESTORE_TREE_LIVE = 1,    /* parks until claimed */
	PIDRESTORE_TREE_ZOMBIE = 2,  /* has exited, not reaped */
	PIDRESTORE_TREE_GHOST = 3,   /* a dead session or group leader whose PID still names it */
} pidrestore_tree_kind;

#define PIDRESTORE_TREE_ROOT (-1)     /* parent: none (the daemon's child) */
#define PIDRESTORE_TREE_OUTER (-1)    /* sid, pgid: the daemon's fresh session and group */
#define PIDRESTORE_TREE_INHERIT (-2)  /* sid, pgid: the parent's (a ghost: itself) */

typedef struct pidrestore_tree_node {
	pidrestore_tree_kind kind;
	int parent;             /* a node before this one; PIDRESTORE_TREE_ROOT; a ghost has none */
	const pid_t *pids;      /* innermost first, one per level; 0 = any */
	size_t n_pids;
	int new_pidns;          /* pid 1 of a new pid namespace (pids[0] is 1) */
	int sid, pgid;          /* node index, PIDRESTORE_TREE_OUTER or _INHERIT */
	const pid_t *tids;      /* n_threads * n_pids TIDs, thread after thread */
	size_t n_threads;       /* besides the main thread (LIVE only) */
	int exit_code;          /* ZOMBIE: 0..255, or -1 with exit_signal */
	int exit_signal;        /* ZOMBIE: the signal that killed it, else 0 */
	int child_subreaper;
	const char *comm;       /* NULL: the daemon's */
} pidrestore_tree_node;

typedef struct pidrestore_tree_spec {
	const pidrestore_tree_node *nodes;
	size_t n_nodes;
	int pidns_fd;           /* target pid namespace of the outermost given level; -1: the caller's */
	unsigned int timeout_ms;/* build deadline; 0: the daemon's */
	unsigned int ttl_sec;   /* unclaimed nodes are released after; 0: never */
} pidrestore_tree_spec;

typedef enum pidrestore_tree_state {
	PIDRESTORE_TREE_PARKED = 1,
	PIDRESTORE_TREE_EXITED = 2,
	PIDRESTORE_TREE_CLAIMED = 3,
} pidrestore_tree_state;

/* One node of a built tree, in request order. */
typedef struct pidrestore_tree_info {
	int pidfd;              /* LIVE and ZOMBIE; -1 for a ghost. pidrestore_tree_free()
	                           closes it unless the caller set it to -1 */
	uint64_t reservation_id;/* LIVE: for pidrestore_exec() and pidrestore_release() */
	pidrestore_tree_state state;
	size_t n_pids;
	pid_t pids[PIDRESTORE_MAX_LEVELS];  /* every level, innermost first */
	size_t n_threads;
	pid_t *tids;            /* n_threads * n_pids, thread after thread */
	pidrestore_tree_kind kind; /* in pidrestore_tree_list()'s rows; else 0 */
} pidrestore_tree_info;

typedef struct pidrestore_tree {
	uint64_t id;
	size_t n_nodes;
	pidrestore_tree_info *nodes;
	int error_node;         /* after a refusal: the node it names, or -1 */
	int error_level;        /* and the level, or -1 */
} pidrestore_tree;

/* Builds the tree of spec. Returns 0 with *ret filled (free it with
 * pidrestore_tree_free()), or the daemon's refusal (-EINVAL a rule of
 * trees broken, -ENOTSUP a session or group no clone order can give,
 * -EEXIST a PID in use, -EPERM policy, -ETIMEDOUT) with ret->error_node and
 * ->error_level saying where and pidrestore_last_error() why; nothing of
 * the tree is left then. */
int pidrestore_tree_build(pidrestore *c, const pidrestore_tree_spec *spec, pidrestore_tree *ret);

/* Releases every node of tree id not claimed yet. Returns how many. */
int pidrestore_tree_release(pidrestore *c, uint64_t id);

/* Closes the pidfds t still holds and frees it. */
void pidrestore_tree_free(pidrestore_tree *t);

/* A held tree, as pidrestore_tree_list() reports it. */
typedef struct pidrestore_tree_entry {
	uint64_t id;
	uid_t owner_uid;
	size_t n_nodes, n_threads;
	size_t n_live, n_zombies;   /* LIVE and ZOMBIE nodes */
	size_t n_parked, n_claimed; /* LIVE nodes parked, and claimed */
	uint64_t pidns_inode;       /* the pid namespace of its roots; 0: unknown */
	uint64_t age_usec;
	int has_ttl;
	uint64_t ttl_left_usec;
	pidrestore_tree_info *nodes;/* with_nodes: n_nodes rows (no pidfd, no TIDs); else NULL */
} pidrestore_tree_entry;

/* The caller's held trees (root: everyone's), with every node's row when
 * with_nodes. Free *ret with pidrestore_tree_list_free(). */
int pidrestore_tree_list(pidrestore *c, int with_nodes, pidrestore_tree_entry **ret, size_t *n);
void pidrestore_tree_list_free(pidrestore_tree_entry *list, size_t n);

/* One node's claim: the program it executes (its threads are lost), or,
 * with cmd NULL, the blob it runs (see pidrestore_tree_claim_blob(); needs
 * daemon feature "tree-claim-all-blob"). */
struct pidrestore_blob;
typedef struct pidrestore_tree_claim {
	int node;
	const pidrestore_command *cmd;
	const struct pidrestore_blob *blob;
} pidrestore_tree_claim;

/* Claims n LIVE nodes of tree id at once. Every claim is checked before
 * any node is told: a node that is not live and parked, named twice, or a
 * bad command or blob refuses them all (-EINVAL, -ESRCH, -EBUSY, -EPERM),
 * with pidrestore_last_error() naming the node. Then every node executes
 * its command or enters its blob; one that fails there stays parked and
 * the call fails naming it. Returns n. */
int pidrestore_tree_claim_all(pidrestore *c, uint64_t id, const pidrestore_tree_claim *claims, size_t n);
/* A blob claim (daemon feature "tree-blob"): a live node runs the caller's
 * own code in place and keeps its threads. The node maps memfd private,
 * read+exec, at address and calls entry with the hand-over block of
 * <pidrestore-blob.h>. */
typedef struct pidrestore_blob {
	int memfd;                 /* memfd_create(MFD_ALLOW_SEALING) sealed with F_SEAL_WRITE,
	                              F_SEAL_SHRINK and F_SEAL_GROW; stays the caller's */
	uint64_t address;          /* page aligned */
	uint64_t entry;            /* inside [address, address + the memfd's size) */
	const int (*fd_map)[2];    /* pairs { fd in the caller, fd in the node } */
	size_t n_fd_map;
} pidrestore_blob;

/* Claims node (its index in the request) of tree tree_id by blob. Returns
 * 0 once the node entered the blob, or -errno with pidrestore_last_error()
 * saying why (-EINVAL a blob that is not sealed, aligned or entered inside,
 * -EBUSY a node claimed already, -EPERM another user's tree, -EEXIST its
 * address is taken in the node, which stays claimable). */
int pidrestore_tree_claim_blob(pidrestore *c, uint64_t tree_id, int node, const pidrestore_blob *blob);

#ifdef __cplusplus
}
#endif

#endif
