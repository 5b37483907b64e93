/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The private channel between pidrestored and pidrestore-holder.
 *
 * A holder is the first program every created process runs. The daemon
 * starts it (clone3 with the chosen PIDs, then exec) as root, with these fds:
 *
 *   3  HOLDER_FD_CONTROL  SOCK_SEQPACKET socket to the daemon (the only one)
 *   4  HOLDER_FD_ROOT     O_PATH fd of the requester's root directory
 *   5+ HOLDER_FD_NS(i)    nsfs fds of the requester's namespaces, in the order
 *                          of holder_ns_types[]; a slot is open only when its
 *                          bit is set in holder_setup.ns_mask
 *
 * and nothing else. The daemon queues a holder_setup on the control socket
 * before the clone. The holder sets every signal not in sig_default back to
 * its default disposition (an ignored signal stays ignored across exec), then
 * applies the setup in this order, each step as root unless noted:
 *   0. joins the requester's cgroup in every cgroup v1 hierarchy, writing 0
 *      to each cgroup.procs file that came with the setup (SCM_RIGHTS, opened
 *      for writing by the daemon), before anything else; the v2 cgroup is
 *      the one it was cloned into (CLONE_INTO_CGROUP)
 *   1. setsid(); oom_score_adj; rlimits; scheduling policy and nice, CPU
 *      affinity, I/O priority and personality as flagged
 *   2. setns() into every non-user namespace in ns_mask
 *   3. chroot to HOLDER_FD_ROOT when HOLDER_SETUP_CHROOT (steps 1-3 are
 *      what a tree's builder applies for every process of the tree,
 *      tree-proto.h)
 *   4. drop bounding set to cap_bnd; setgroups(groups) (ids in the daemon's
 *      user ns)
 *   5. setns() into the user namespace when its bit is set in ns_mask
 *   6. setresgid(gid) and setresuid(uid) with SECBIT_KEEP_CAPS, the ids as
 *      seen in the namespace the holder is now in; then, when rlimits carries
 *      RLIMIT_NPROC, the check fork() would have made (HOLDER_STEP_NPROC)
 *   7. capset(prm, eff, inh), raise ambient caps, clear keep-caps
 *   8. umask; PR_SET_NO_NEW_PRIVS when HOLDER_SETUP_NO_NEW_PRIVS;
 *      PR_SET_DUMPABLE 0; close 4 and above
 *   9. the requester's seccomp filters (n_filters of them), in the order
 *      they were installed: its last privileged step. Without no_new_privs
 *      the kernel takes a filter only from a holder of CAP_SYS_ADMIN, so
 *      step 7 then keeps CAP_SYS_ADMIN effective (in the user namespace it
 *      is in now) until the filters are in, and step 9 ends with the capset
 *      of step 7 without it. From step 9 on, every system call the holder
 *      makes (the capset, its report, the exec) passes the filters, as the
 *      requester's own would.
 * then answers HOLDER_REPORT_READY (or HOLDER_REPORT_SETUP_FAILED naming the
 * step and errno, and exits 127) and parks, reading commands. End of stream on
 * the control socket means the daemon is gone: the holder exits.
 *
 * Commands after setup: HOLDER_CMD_EXEC (a holder_exec header, then its
 * strings; fds in SCM_RIGHTS). A successful exec closes the control socket
 * (it is close-on-exec), which the daemon reads as success; a failed one is
 * answered with HOLDER_REPORT_EXEC_FAILED and the holder parks again with
 * only its control socket open, so the caller can retry.
 * HOLDER_CMD_BLOB (a holder_blob header, then its fd map and ids; fds in
 * SCM_RIGHTS), only to a parked live node of a tree: the holder installs the
 * fd map as for an exec, maps the blob, closes the control socket (end of
 * stream: the daemon reads it as success, as for an exec) and enters it
 * with the hand-over block of pidrestore-blob.h; a failure before that is
 * answered with HOLDER_REPORT_EXEC_FAILED, and the holder parks again.
 *
 * Both programs are built from one tree, so the layout needs no negotiation;
 * HOLDER_PROTO_MAGIC catches a daemon paired with a stale holder binary.
 *
 * The spawner. The daemon does not clone holders itself: it keeps one
 * long-lived copy of this program, the spawner, started at fd 3 with a
 * spawner_hello queued instead of a holder_setup, and with the daemon's own
 * pid namespace at fd 4. For each spawner_request the spawner makes one
 * clone3() with CLONE_PARENT, so that the new process is the daemon's child
 * exactly as if the daemon had cloned it, and answers with a spawner_reply.
 * The child, a copy of the spawner's few pages, puts the request's fds at
 * the holder's slots, closes every other fd and carries on as a holder: no
 * exec, none of the daemon's memory. Tools that trace the daemon (valgrind)
 * do not trace the spawner, so clone3() works under them as well.
 * Children that are not the daemon's (probes, namespace helpers) are the
 * spawner's own, and the kernel reaps them as they exit (the spawner ignores
 * SIGCHLD; a holder child puts SIGCHLD back to its default first thing).
 * The spawner answers a probe once the probe is gone, so that its PIDs are
 * free again, except for one that may be the init of its namespace (no
 * PIDs, or 1 innermost): an init's exit waits for every other process of
 * its namespace, which a requester may control. It waits for nothing
 * else.
 * The spawner exits when the daemon closes its end.
 *
 * The namespace helper (SPAWNER_PIDNS_HELPER). A pid namespace a requester
 * in another user namespace than the daemon's asks for must be owned by the
 * requester's user namespace, and the kernel gives a new pid namespace to
 * the user namespace its creator is in. And the kernel creates a pid
 * namespace (CLONE_NEWPID, unshare) only below its creator's *active* one:
 * the spawner, which setns()es only its namespace for children, cannot make
 * one below any namespace but the daemon's. So for both the spawner clones
 * a helper (its own child, not the daemon's) in the parent pid namespace,
 * with these fds:
 *
 *   3  HOLDER_FD_CONTROL   SOCK_SEQPACKET socket to the daemon
 *   5  HOLDER_FD_NS(HOLDER_NS_USER)  the requester's user namespace, when
 *                          it is not the daemon's (else the slot is closed)
 *
 * The helper joins that user namespace if given, unshare(CLONE_NEWPID)s, marks itself
 * not dumpable, closes fd 5, answers one holder_report (HOLDER_REPORT_READY,
 * or HOLDER_REPORT_SETUP_FAILED with HOLDER_STEP_SETNS_USER or
 * HOLDER_STEP_NEW_PIDNS), and then waits for end of stream on fd 3 and
 * exits. The daemon takes the new, still empty namespace through the
 * helper's pidfd (PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE) and lets it go.
 * Living in the requester's user namespace, the helper can be signalled by
 * the requester: it keeps every signal blocked (so only SIGKILL and SIGSTOP
 * reach it), and the daemon waits for its answer from its event loop, with
 * a deadline, never in it. */
#pragma once

#include <stdint.h>

#define HOLDER_PROTO_MAGIC 0x70724806u /* "prH" + version 6 */
#define SPAWNER_PROTO_MAGIC 0x70725304u /* "prS" + version 4 */

#define HOLDER_FD_CONTROL 3
#define HOLDER_FD_ROOT 4
#define HOLDER_FD_NS_BASE 5
#define HOLDER_FD_NS(i) (HOLDER_FD_NS_BASE + (i))
#define HOLDER_NS_COUNT 7
#define HOLDER_FD_LAST (HOLDER_FD_NS_BASE + HOLDER_NS_COUNT - 1)

#define SPAWNER_FD_CONTROL 3
#define SPAWNER_FD_OWN_PIDNS 4

/* Order of the namespace fd slots. Bit i of ns_mask = slot i is open and
 * must be joined. The user namespace is slot 0 but is joined last (step 5). */
enum holder_ns_slot {
	HOLDER_NS_USER = 0,
	HOLDER_NS_MNT,
	HOLDER_NS_NET,
	HOLDER_NS_IPC,
	HOLDER_NS_UTS,
	HOLDER_NS_CGROUP,
	HOLDER_NS_TIME,
};

enum holder_setup_flags {
	HOLDER_SETUP_CHROOT = 1u << 0,
	HOLDER_SETUP_NO_NEW_PRIVS = 1u << 1,
	HOLDER_SETUP_SET_OOM_SCORE_ADJ = 1u << 2,
	HOLDER_SETUP_SCHED = 1u << 3,        /* sched_policy, sched_priority, nice */
	HOLDER_SETUP_AFFINITY = 1u << 4,     /* cpu_affinity */
	HOLDER_SETUP_IOPRIO = 1u << 5,       /* ioprio */
	HOLDER_SETUP_PERSONALITY = 1u << 6,  /* personality */
	/* rlimits[RLIMIT_NPROC] is the requester's: the holder counts against
	 * it as a fork of the requester would (step 6)... */
	HOLDER_SETUP_NPROC = 1u << 7,
	/* ...which the requester may exceed, as fork() lets a caller with
	 * CAP_SYS_RESOURCE or CAP_SYS_ADMIN. */
	HOLDER_SETUP_NPROC_EXEMPT = 1u << 8,
};

#define HOLDER_CPU_WORDS 16 /* affinity masks of up to 1024 CPUs */

#define HOLDER_RLIMIT_COUNT 16 /* RLIM_NLIMITS on Linux */
/* The kernel's own bounds on a task's filters: 4096 instructions each
 * (BPF_MAXINSNS), and 32768 for all of them, each counting 4 more
 * (MAX_INSNS_PER_PATH). */
#define HOLDER_MAX_FILTER_INSNS 4096
#define HOLDER_MAX_FILTER_PATH 32768
#define HOLDER_FILTER_PATH_COST 4
#define HOLDER_MAX_CGROUP1 32 /* cgroup v1 hierarchies: 16 controllers, and names */
#define HOLDER_MAX_GROUPS 65536 /* NGROUPS_MAX */

struct holder_rlimit {
	uint64_t cur;
	uint64_t max;
};

/* daemon -> holder, once, first message. Followed in the same packet by
 * n_groups uint32_t supplementary group ids, then n_filters seccomp filters,
 * oldest (outermost) first, each a struct holder_filter and its n_insns
 * classic BPF instructions (struct sock_filter, 8 bytes each); their
 * instructions, plus HOLDER_FILTER_PATH_COST for each, add up to at most
 * HOLDER_MAX_FILTER_PATH. SCM_RIGHTS carries cgroup1_fds fds, nothing else. */
struct holder_setup {
	uint32_t magic;
	uint32_t flags;        /* enum holder_setup_flags */
	uint32_t ns_mask;      /* bit (1 << enum holder_ns_slot) */
	uint32_t uid;          /* as seen after step 5 (in the requester's user ns) */
	uint32_t gid;
	uint32_t umask;
	int32_t oom_score_adj;
	uint32_t cap_last;     /* highest capability number the kernel knows */
	uint64_t cap_bnd;
	uint64_t cap_prm;
	uint64_t cap_eff;
	uint64_t cap_inh;
	uint64_t cap_amb;
	uint64_t sig_default;  /* bit sig-1: that signal is at its default disposition
	                          already (the starter knows what it ignores) */
	uint32_t rlimit_mask;  /* bit r: rlimits[r] is to be set */
	uint32_t n_groups;
	struct holder_rlimit rlimits[HOLDER_RLIMIT_COUNT];
	/* What fork() passes on of the scheduling (the requester's
	 * SCHED_RESET_ON_FORK already applied by the daemon). */
	uint32_t sched_policy;
	uint32_t sched_priority;
	int32_t nice;
	uint32_t ioprio;
	uint32_t personality;
	uint32_t n_filters;    /* seccomp filters to install (step 9) */
	uint64_t cpu_affinity[HOLDER_CPU_WORDS];
	uint32_t cgroup1_fds;  /* cgroup.procs fds in SCM_RIGHTS to join (step 0),
	                          at most HOLDER_MAX_CGROUP1 */
	uint32_t reserved;
	/* uint32_t groups[n_groups]; */
	/* n_filters x { struct holder_filter; uint64_t insns[n_insns]; } */
};

/* One seccomp filter of the setup. */
struct holder_filter {
	uint32_t n_insns;      /* 1..HOLDER_MAX_FILTER_INSNS */
	uint32_t flags;        /* SECCOMP_FILTER_FLAG_LOG or 0, as the requester's had */
};

enum holder_cmd_type {
	HOLDER_CMD_EXEC = 1,
	HOLDER_CMD_BLOB = 2,
};

enum holder_exec_flags {
	HOLDER_EXEC_PROGRAM_FD = 1u << 0, /* first SCM_RIGHTS fd is the program */
	HOLDER_EXEC_CWD_FD = 1u << 1,     /* next fd is the working directory */
};

/* daemon -> holder. Followed in the same packet by: int32_t targets[n_fds],
 * then path_len bytes of path (no NUL), then argc NUL-terminated strings,
 * then envc NUL-terminated strings. SCM_RIGHTS carries, in order: the program
 * fd (if HOLDER_EXEC_PROGRAM_FD), the cwd fd (if HOLDER_EXEC_CWD_FD), then the
 * n_fds fds to install at targets[i]. Without a cwd fd the program starts in
 * the root directory. A path without '/' is searched in PATH from envp (or
 * /usr/local/bin:/usr/bin:/bin), like execvp. */
struct holder_exec {
	uint32_t type;        /* HOLDER_CMD_EXEC */
	uint32_t flags;       /* enum holder_exec_flags */
	uint32_t n_fds;
	uint32_t argc;
	uint32_t envc;
	uint32_t path_len;
	uint32_t strings_len; /* bytes of argv + envp strings, NULs included */
	uint32_t reserved;
};

/* daemon -> holder. Followed in the same packet by: int32_t targets[n_fds],
 * then int32_t ids[(n_threads + 1) * n_levels]: the main thread's PID at
 * every level, then each thread's TID at every level, innermost first, in
 * the order of the tree's plan. SCM_RIGHTS carries the blob's memfd (the
 * daemon checked its seals and that size is its size), then the n_fds fds
 * to install at targets[i]. The daemon checked too that address is page
 * aligned, that address + size stays in user space and that entry is
 * inside. */
struct holder_blob {
	uint32_t type;        /* HOLDER_CMD_BLOB */
	uint32_t n_fds;
	uint32_t n_levels;    /* 1..PIDRESTORE_BLOB_MAX_LEVELS */
	uint32_t n_threads;   /* as the node has */
	uint64_t address;
	uint64_t entry;
	uint64_t size;
};

enum holder_report_type {
	HOLDER_REPORT_READY = 1,
	HOLDER_REPORT_SETUP_FAILED = 2,
	HOLDER_REPORT_EXEC_FAILED = 3,
};

/* Which step failed, for the daemon's error message. */
enum holder_step {
	HOLDER_STEP_NONE = 0,
	HOLDER_STEP_PROTOCOL,     /* setup message missing, short or wrong magic */
	HOLDER_STEP_SETSID,
	HOLDER_STEP_OOM_SCORE_ADJ,
	HOLDER_STEP_RLIMIT,
	HOLDER_STEP_SCHED,
	HOLDER_STEP_AFFINITY,
	HOLDER_STEP_IOPRIO,
	HOLDER_STEP_PERSONALITY,
	HOLDER_STEP_BOUNDING_SET,
	HOLDER_STEP_GROUPS,
	HOLDER_STEP_SETNS_MNT,
	HOLDER_STEP_SETNS_NET,
	HOLDER_STEP_SETNS_IPC,
	HOLDER_STEP_SETNS_UTS,
	HOLDER_STEP_SETNS_CGROUP,
	HOLDER_STEP_SETNS_TIME,
	HOLDER_STEP_CHROOT,
	HOLDER_STEP_SETNS_USER,
	HOLDER_STEP_GID,
	HOLDER_STEP_UID,
	HOLDER_STEP_CAPS,
	HOLDER_STEP_AMBIENT,
	HOLDER_STEP_NO_NEW_PRIVS,
	HOLDER_STEP_EXEC_FDS,     /* installing the fd map */
	HOLDER_STEP_CWD,
	HOLDER_STEP_EXEC,
	HOLDER_STEP_NEW_PIDNS,    /* the namespace helper's unshare(CLONE_NEWPID) */
	/* The requester's user has as many processes as its RLIMIT_NPROC
	 * allows: a fork of the requester would have failed (EAGAIN). */
	HOLDER_STEP_NPROC,
	HOLDER_STEP_SECCOMP,      /* installing a seccomp filter (step 9) */
	HOLDER_STEP_CGROUP1,      /* joining a cgroup v1 hierarchy (step 0) */
	HOLDER_STEP_BLOB_MAP,     /* mapping the blob at its address */
	HOLDER_STEP_BLOB_THREADS, /* the node's threads are not as the command says */
};

/* holder -> daemon. */
struct holder_report {
	uint32_t type;        /* enum holder_report_type */
	uint32_t step;        /* enum holder_step */
	int32_t error;        /* positive errno */
	uint32_t reserved;
};

/* ------------------------------------------------------------ the spawner */

/* daemon -> spawner, queued before its exec. */
struct spawner_hello {
	uint32_t magic;        /* SPAWNER_PROTO_MAGIC */
	uint32_t reserved;
};

enum spawner_flags {
	SPAWNER_IN_PIDNS = 1u << 0,    /* fd: the pid namespace to clone into */
	SPAWNER_INTO_CGROUP = 1u << 1, /* fd: the cgroup v2 directory (CLONE_INTO_CGROUP) */
	SPAWNER_NEWPID = 1u << 2,      /* CLONE_NEWPID */
	SPAWNER_PROBE = 1u << 3,       /* the child exits at once; no slots */
	/* No clone: a pidfd of the daemon's child pids[0], for a daemon that
	 * cannot open one itself (valgrind 3.19 hides pidfd_open). */
	SPAWNER_OPEN_PIDFD = 1u << 4,
	/* A namespace helper (above), in the pid namespace of SPAWNER_IN_PIDNS
	 * or the daemon's; slot_mask names HOLDER_FD_CONTROL and, to join one,
	 * HOLDER_FD_NS(HOLDER_NS_USER), nothing else; no PIDs. */
	SPAWNER_PIDNS_HELPER = 1u << 5,
};

#define SPAWNER_MAX_PIDS 32    /* clone3()'s set_tid takes at most MAX_PID_NS_LEVEL */

/* daemon -> spawner. SCM_RIGHTS carries, in order: the pid namespace (if
 * SPAWNER_IN_PIDNS), the cgroup (if SPAWNER_INTO_CGROUP), then one fd per bit
 * of slot_mask, lowest first, to be installed at that holder fd number. */
struct spawner_request {
	uint32_t flags;        /* enum spawner_flags */
	uint32_t slot_mask;    /* bit t: an fd for holder fd t (HOLDER_FD_CONTROL..HOLDER_FD_LAST) */
	uint32_t n_pids;       /* set_tid entries; 0: the kernel picks */
	uint32_t reserved;
	int32_t pids[SPAWNER_MAX_PIDS]; /* innermost first */
};

/* spawner -> daemon. A clone that is no probe, and SPAWNER_OPEN_PIDFD,
 * carry the new pidfd in SCM_RIGHTS. */
struct spawner_reply {
	int64_t result;        /* the child's PID in the daemon's pid namespace, or -errno */
};
