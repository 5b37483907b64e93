/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The requester: who is on the other end of a connection, taken once at
 * accept (DESIGN §3), and everything a child needs to look like the
 * requester's own (DESIGN §6). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "cgroup1.h"
#include "holder-proto.h"
#include "policy.h"
#include "util.h"

/* What confines a requester (DESIGN §6): ids, groups, capabilities,
 * no_new_privs, seccomp, namespaces, cgroups and root directory, as
 * captured with it. Immutable and shared: a reservation keeps a reference
 * to its reserver's, for the claim. */
struct peer_context;
struct seccomp_set;

struct peer {
	pid_t pid;                 /* in the daemon's pid namespace */
	uid_t uid;                 /* effective ids, in the daemon's user namespace */
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	int pidfd;                 /* pins the process: never confused with a later one */
	bool pidfd_from_socket;    /* SO_PEERPIDFD (6.5+) rather than pidfd_open(pid) */
	int status_fd;             /* its /proc/PID/status, read again per request (seccomp);
	                            * it reads nothing once that process is gone */

	/* Whose connections and reservations it counts against (quota.h):
	 * uid, or, in a user namespace, the host uid that owns the outermost
	 * one not owned by root, whose subordinate uids it may be using. */
	uid_t responsible_uid;

	/* As seen in the requester's own user namespace. */
	uid_t ns_uid;
	gid_t ns_gid;
	bool own_userns;           /* it runs in the daemon's user namespace */
	struct policy_nsid userns_id; /* that namespace as the policy names it */
	bool userns_is_daemons;    /* the same, told by device and inode */

	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	bool no_new_privs;
	int seccomp_mode;          /* at connect; the filters are copied per request: */
	struct seccomp_set *seccomp; /* as last copied (conn_copy_seccomp()); NULL: none */
	unsigned int umask;
	int oom_score_adj;
	struct rlimit rlimits[HOLDER_RLIMIT_COUNT];
	uint32_t rlimit_mask;

	/* Scheduling as fork() passes it on; sched_known holds the
	 * HOLDER_SETUP_SCHED/_AFFINITY/_IOPRIO/_PERSONALITY bits of what
	 * could be read. */
	uint32_t sched_known;
	int sched_policy;          /* SCHED_RESET_ON_FORK already applied */
	int sched_priority;
	int nice;
	int ioprio;
	unsigned int personality;
	uint64_t cpu_affinity[HOLDER_CPU_WORDS];

	int ns_fd[HOLDER_NS_COUNT]; /* holder_ns_slot order; -1 when absent */
	uint64_t ns_inode[HOLDER_NS_COUNT];
	int pidns_fd;              /* its active pid namespace */
	uint64_t pidns_inode;
	int userns_fd;             /* = ns_fd[HOLDER_NS_USER] */
	int root_fd;               /* its root directory (O_PATH) */
	int cgroup_fd;             /* its cgroup v2 directory, or -1 */
	int cgroup_error;          /* errno: why its cgroup could not be opened (0: it was,
	                            * or there is no cgroup v2 to place children in) */
	struct cgroup1_join cgroup1; /* its cgroups in the v1 hierarchies */

	/* For the audit: its systemd units, "" when libsystemd cannot tell. */
	char unit[128];
	char user_unit[128];

	struct peer_context *context;
};

/* Reads the peer of a connected socket. Refuses peers the daemon cannot pin
 * or see (pid 0: not visible in the daemon's pid namespace), and peers
 * whose ids are no longer those they connected with (EPERM). */
int peer_capture(int sock, struct peer *peer, struct why *why);
void peer_release(struct peer *peer);

/* A reference to the peer's context, or NULL for a peer not captured. */
struct peer_context *peer_context_ref(const struct peer *peer);
void peer_context_unref(struct peer_context *ctx);

/* Whether claimer may claim a reservation made in the context reserver:
 * only from the very same context, root included (DESIGN §6). Returns 0,
 * or -EPERM naming the first difference. */
int peer_check_claim(const struct peer *claimer, const struct peer_context *reserver, struct why *why);

/* Finds the cgroup v2 mount once, for CLONE_INTO_CGROUP. */
void peer_init_cgroup_root(void);
bool peer_cgroup2_available(void);
