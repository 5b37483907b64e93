/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan of a process tree and the channel of the builder that carries it
 * out (TREES.md §5.4, §6, §7).
 *
 * front validates a tree request and compiles it into a plan: one small
 * program per process to create, a "proc". A proc is a request node (LIVE,
 * ZOMBIE or GHOST) or a helper the planner added (a free-PID process that
 * creates a node and exits, so that the node reparents). front sends the
 * plan to priv as the body of a tree request (priv-proto.h); priv checks it
 * again with tree_plan_check() of plan-check.h (front may have been
 * taken over; front runs it on what it built, too), checks the
 * policy for every explicit PID itself, and starts the builder.
 *
 * The plan, in one buffer, records packed one after the other, each a
 * multiple of 8 bytes, no padding between them:
 *
 *   struct tree_plan                     the header
 *   struct tree_proc   procs[n_procs]    procs [0, n_nodes) are the request's
 *                                        nodes in request order; helpers follow
 *   uint32_t           clones[n_clones]  proc indices; each proc's children in
 *                                        the order it clones them
 *                                        (padded with one 0 to a multiple of 8
 *                                        bytes when n_clones is odd)
 *   struct tree_thread threads[n_threads]
 *
 * Levels. A proc's pids[] are innermost first: pids[0] is its PID in its own
 * pid namespace (1 for TREE_PROC_NEW_PIDNS), pids[i] the one i namespaces
 * further out, up to the target pid namespace's level plus one
 * (n_levels). The first n_set_tid entries are given to clone3() as set_tid;
 * they are never 0. Entries from n_set_tid on are 0: the kernel picks
 * (TREES §5.3: the planner gives explicit PIDs, outside the request's set,
 * to every 0 that sits below an explicit entry). Threads likewise.
 *
 * The builder. priv starts one copy of pidrestore-holder through the
 * spawner (a clone of the spawner's few pages, none of the daemon's
 * memory), as root, a child of the daemon, in the requester's namespaces,
 * cgroup and the target pid namespace, with the holder's fds
 * (holder-proto.h):
 *
 *   3  HOLDER_FD_CONTROL  the tree socket to priv (SOCK_SEQPACKET), shared
 *                         by every holder of the tree
 *   4  HOLDER_FD_ROOT     the requester's root directory
 *   5+ HOLDER_FD_NS(i)    the requester's namespaces, as for a placeholder
 *
 * The builder's own PIDs are the plan's builder_pids (planned outside the
 * request's set, as every PID the daemon picks itself). priv queues, before
 * the clone, three packets on the tree socket:
 *   1. struct tree_build (magic TREE_BUILD_MAGIC), which tells a builder from
 *      a placeholder;
 *   2. the requester's credentials: a struct holder_setup and its groups,
 *      exactly as for a placeholder;
 *   3. the plan.
 *
 * The builder, as root: signals back to their defaults, setsid() (the OUTER
 * session and group, numbered outside the request's PIDs), oom score,
 * rlimits, scheduling, setns() into every non-user namespace, chroot; maps
 * the barrier (below, MAP_SHARED); then clones every proc whose creator is
 * -1, each with CLONE_PARENT (a child of the daemon, exit signal 0), sends
 * their pidfds, sends TREE_REPORT_BUILT once every one is cloned, and exits
 * 0. SIGTERM, blocked otherwise, ends it only between one root's pidfd and
 * the next clone: priv stops a failed build so. Procs inherit the plan, the barrier and the tree socket by clone.
 *
 * Every proc, in this order (TREES §6.2-§6.5):
 *   1. PR_SET_PDEATHSIG(SIGKILL), then getppid() is still its creator's
 *      (or the daemon's, for CLONE_PARENT) or it exits: the cascade that
 *      ends a tree whose pidfds have not all reached priv;
 *   2. getpid() equals pids[0] when that is explicit (TREE_STEP_PID);
 *      PR_SET_CHILD_SUBREAPER with TREE_PROC_SUBREAPER, before any clone:
 *      a helper's child reparents to it when the helper exits;
 *   3. clones its first n_before_setsid children, each with CLONE_PIDFD,
 *      set_tid, exit signal SIGCHLD (0 with TREE_PROC_CLONE_PARENT on the
 *      child); for a TREE_PROC_NEW_PIDNS child, in a new pid namespace
 *      owned by the requester's user namespace (DESIGN §6): made by the
 *      clone (CLONE_NEWPID) when the requester is in the daemon's user
 *      namespace, else by a short-lived child of the creator that joins
 *      that user namespace and unshares CLONE_NEWPID, whose namespace for
 *      children the creator enters (PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE)
 *      for that one clone; checks the PID the clone returned against
 *      the child's pids at the creator's level; sends each pidfd with the
 *      child's index (TREE_REPORT_PIDFD);
 *   4. setsid() with TREE_PROC_SETSID;
 *   5. clones the rest of its children;
 *   6. with threads: joins the requester's user namespace now, while it
 *      is one thread (setns() refuses a threaded process), then creates
 *      them: clone3(CLONE_VM|CLONE_THREAD|..., set_tid), each parked on a
 *      futex in its own memory. So explicit TIDs are possible only at
 *      levels whose pid namespace that user namespace owns, which priv
 *      checks before any clone (ENOTSUP otherwise);
 *   7. decrements barrier.forked; waits until it is 0; then clears
 *      PR_SET_PDEATHSIG (every pidfd is priv's now, and a helper's child
 *      must outlive the helper, which exits only after step 8 of all);
 *   8. its group (pgid_action): TREE_PGID_OWN: setpgid(0, 0);
 *      TREE_PGID_JOIN: waits for barrier.group[pgid_barrier], then
 *      setpgid(0, pgid), or with pgid 0 setpgid(0, the word's value);
 *      TREE_PGID_KEEP: nothing (it inherited its group, or is a session
 *      leader). With TREE_PROC_GROUP_LEADER it then stores its getpgid(0)
 *      (never 0) in barrier.group[pgid_barrier] and wakes its waiters (a group
 *      leader, a session leader whose group others join, or a ghost of
 *      either). Decrements barrier.pgids; waits until it is 0;
 *   9. GHOST and HELPER: exit(0) (a root ghost is the daemon's child:
 *      priv reaps it). Every proc reaps, by PID (wait4 of each,
 *      never -1: a zombie child must stay), its children that are ghosts
 *      or helpers, before going on. A proc's parent is its creator, or its
 *      creator's parent with TREE_PROC_CLONE_PARENT; ghosts and helpers
 *      always have an explicit pids[0] (n_set_tid >= 1), which is what the
 *      parent waits for;
 *  10. ZOMBIE: signals to default, RLIMIT_CORE 0, not dumpable, drops to
 *      the requester's credentials, then exit(exit_code), or, with
 *      TREE_PROC_EXIT_SIGNAL, kill(getpid(), exit_code) with it unblocked;
 *  11. LIVE: comm; closes
 *      every fd but the tree socket, unmaps the barrier, resets signal
 *      dispositions, blocks every signal; the requester's user namespace
 *      unless it joined in step 6; then every thread drops itself with raw
 *      system calls, in the order of TREES §6.5 (bounding set,
 *      SECBIT_NO_SETUID_FIXUP, setgroups, setresgid, setresuid, capset,
 *      no_new_privs as the requester has it); the main thread waits for
 *      all, then sets dumpable only with TREE_PROC_DUMPABLE (a
 *      placeholder is not ptraceable by default, DESIGN §6), makes a
 *      socketpair, queues HOLDER_REPORT_READY on its own end (so that
 *      priv takes the other end as it takes a placeholder's channel),
 *      sends TREE_REPORT_READY with the other end
 *      (its private control socket, which claims use exactly as a
 *      placeholder's HOLDER_FD_CONTROL), closes the tree socket and parks as
 *      a placeholder does (end of stream = the daemon is gone: exit).
 * A proc that fails sends TREE_REPORT_ERROR {proc, level, step, errno},
 * sets barrier.abort (every waiter sees it and exits 127) and exits 127.
 *
 * priv (TREES §6.6, §7) answers the request when every LIVE node reported
 * READY, every ZOMBIE's pidfd is readable, the builder has exited and every
 * root ghost (a child of the daemon) is reaped; every LIVE node then
 * becomes an ordinary reservation, claimed by exec as any placeholder;
 * on an error report, an early end of a proc, or the deadline it kills
 * every process it holds a pidfd for, roots first, waits (from its event
 * loop) until every one is reaped and every requested PID is free, and
 * only then answers with {node, level, errno}. */
#pragma once

#include <stdint.h>

#include "holder-proto.h"

#define TREE_PLAN_MAGIC 0x70725401u  /* "prT" + version 1 */
#define TREE_BUILD_MAGIC 0x70724201u /* "prB" + version 1 */

#define TREE_MAX_LEVELS 33          /* MAX_PID_NS_LEVEL + 1 */
#define TREE_MAX_PROCS 65536        /* nodes + helpers of one plan */
#define TREE_MAX_THREADS 262144     /* threads of one plan, all nodes */
#define TREE_COMM_LEN 16            /* TASK_COMM_LEN, NUL included */

enum tree_plan_flags {
	/* Some node has threads: priv refuses the plan while
	 * fs.suid_dumpable is 1 (TREES §2 rule 9). */
	TREE_PLAN_THREADED = 1u << 0,
	/* target_pidns_fd_index names the request fd of the target pid
	 * namespace; without it, the requester's own. */
	TREE_PLAN_TARGET_PIDNS = 1u << 1,
};

struct tree_plan {
	uint32_t magic;          /* TREE_PLAN_MAGIC */
	uint32_t flags;          /* enum tree_plan_flags */
	uint32_t n_procs;        /* 1..TREE_MAX_PROCS */
	uint32_t n_nodes;        /* procs that are request nodes, <= n_procs */
	uint32_t n_clones;       /* procs whose creator is not the builder: each
	                            is in clones[] exactly once */
	uint32_t n_threads;
	uint32_t n_groups;       /* group words in the barrier, OUTER's (0) included */
	uint32_t builder_n_set_tid; /* leading explicit entries of builder_pids */
	uint32_t timeout_ms;     /* build deadline; 0: the daemon's default */
	uint32_t ttl_s;          /* unclaimed nodes are killed after; 0: never */
	int32_t target_pidns_fd_index; /* with TREE_PLAN_TARGET_PIDNS */
	uint32_t n_levels;       /* levels a root's pids[] has (one more below a
	                            new pid namespace): at most the target pid
	                            namespace's level + 1; further out the
	                            kernel picks */
	int32_t builder_pids[TREE_MAX_LEVELS]; /* innermost first, in the target pid namespace */
	uint32_t reserved;
	uint64_t builder_pick_mask; /* bit i: builder_pids[i] was picked by the planner */
};

enum tree_proc_kind {
	TREE_PROC_LIVE = 1,      /* parks until claimed */
	TREE_PROC_ZOMBIE = 2,    /* exits with exit_code, stays unreaped */
	TREE_PROC_GHOST = 3,     /* holds a dead leader's PID for its session/group, then exits */
	TREE_PROC_HELPER = 4,    /* a free-PID creator of a node that reparents; exits */
};

enum tree_proc_flags {
	TREE_PROC_SETSID = 1u << 0,        /* setsid() after the born-before children */
	TREE_PROC_CLONE_PARENT = 1u << 1,  /* cloned with CLONE_PARENT: its creator's parent is its parent */
	TREE_PROC_NEW_PIDNS = 1u << 2,     /* pid 1 of a new pid namespace */
	TREE_PROC_SUBREAPER = 1u << 3,     /* PR_SET_CHILD_SUBREAPER (LIVE) */
	TREE_PROC_EXIT_SIGNAL = 1u << 4,   /* ZOMBIE: exit_code is a signal number */
	TREE_PROC_DUMPABLE = 1u << 5,      /* LIVE: dumpable once every thread dropped;
	                                      a claim's exec decides it anew anyway */
	TREE_PROC_GROUP_LEADER = 1u << 6,  /* raises group[pgid_barrier] once its group exists */
};

enum tree_pgid_action {
	TREE_PGID_KEEP = 0,      /* the inherited group, or its own as session leader */
	TREE_PGID_OWN = 1,       /* setpgid(0, 0) */
	TREE_PGID_JOIN = 2,      /* wait for group[pgid_barrier], then setpgid(0, pgid) */
};

struct tree_proc {
	uint32_t kind;           /* enum tree_proc_kind */
	uint32_t flags;          /* enum tree_proc_flags */
	int32_t node;            /* the request's node index; -1 for a helper */
	int32_t creator;         /* proc that clones it; -1: the builder */
	uint32_t first_clone;    /* its children: clones[first_clone, +n_clones) */
	uint32_t n_clones;
	uint32_t n_before_setsid; /* the first so many are cloned before setsid() */
	uint32_t first_thread;   /* its threads: threads[first_thread, +n_threads) */
	uint32_t n_threads;      /* besides the main thread */
	uint32_t n_levels;       /* entries of pids[] that are levels (1..TREE_MAX_LEVELS) */
	uint32_t n_set_tid;      /* leading explicit entries (0..n_levels) */
	uint32_t pgid_action;    /* enum tree_pgid_action */
	uint32_t pgid_barrier;   /* < tree_plan.n_groups: JOIN waits for it, GROUP_LEADER raises it */
	int32_t pgid;            /* JOIN: the group's id in this proc's own pid
	                            namespace; 0: the value its leader stored in
	                            the group's word (same innermost namespace) */
	uint32_t exit_code;      /* ZOMBIE: 0..255, or a signal with TREE_PROC_EXIT_SIGNAL */
	uint32_t reserved0;
	/* Bit i: pids[i] was picked by the planner, not asked for. priv
	 * decides the picks of a helper (and of the builder) as it decides a
	 * fork of the requester's: any free PID; a node's PIDs always as
	 * explicit ones. */
	uint64_t pick_mask;
	char comm[TREE_COMM_LEN]; /* NUL-terminated; empty: keep the holder's */
	int32_t pids[TREE_MAX_LEVELS]; /* innermost first */
	uint32_t reserved;
};

struct tree_thread {
	uint32_t n_set_tid;      /* 1..n_levels of its node; innermost first */
	uint32_t reserved;
	uint64_t pick_mask;      /* bit i: tids[i] was picked by the planner */
	int32_t tids[TREE_MAX_LEVELS];
	uint32_t reserved2;
};

/* ------------------------------------------------------------ the builder */

struct tree_build {
	uint32_t magic;          /* TREE_BUILD_MAGIC */
	uint32_t plan_len;       /* bytes of packet 3 */
};

/* The barrier: one MAP_SHARED anonymous mapping the builder makes, of
 * page-rounded size sizeof(struct tree_barrier) + 4 * n_groups. Every
 * word is a futex. */
struct tree_barrier {
	uint32_t forked;         /* procs still creating children and threads */
	uint32_t pgids;          /* procs still to take their group */
	uint32_t abort;          /* non-zero: the build failed; every waiter exits */
	uint32_t reserved;
	/* The group's id once its leader (or ghost) made it, else 0. Group 0
	 * is OUTER: the builder stores its own group there before it clones
	 * anything; a JOIN of it names the builder's PID at the joiner's
	 * level in pgid (0 only in the builder's own namespace). */
	uint32_t group[];
};

/* -------------------------------------------------------- holders -> priv */

enum tree_report_type {
	/* SCM_RIGHTS: the pidfd of proc, sent by its creator right after the
	 * clone; pids[] holds the PID the clone returned (creator's level). */
	TREE_REPORT_PIDFD = 1,
	/* A LIVE proc is parked; SCM_RIGHTS: its private control socket.
	 * pids[0..n_pids) are its getpid() and its threads' gettid() in
	 * order (its own pid namespace). */
	TREE_REPORT_READY = 2,
	/* proc failed at step (level: the pids[] index concerned, -1 if
	 * none; error: positive errno). For TREE_STEP_SETUP, setup_step is
	 * the enum holder_step that failed. */
	TREE_REPORT_ERROR = 3,
	/* The builder cloned every root and is exiting. */
	TREE_REPORT_BUILT = 4,
};

enum tree_step {
	TREE_STEP_NONE = 0,
	TREE_STEP_PROTOCOL,      /* a build packet missing, short, or a plan that does not check */
	TREE_STEP_SETUP,         /* the builder's or a proc's share of holder_setup */
	TREE_STEP_BARRIER,       /* mapping the barrier */
	TREE_STEP_PDEATHSIG,     /* PR_SET_PDEATHSIG, or the creator was already gone */
	TREE_STEP_PID,           /* a PID is not the one planned */
	TREE_STEP_CLONE,         /* cloning a child (level: the one whose PID is taken) */
	TREE_STEP_PIDNS,         /* setns() to a new pid namespace */
	TREE_STEP_SETSID,
	TREE_STEP_THREAD,        /* creating a thread (level as for CLONE) */
	TREE_STEP_SETPGID,
	TREE_STEP_REAP,          /* a ghost or helper child did not exit cleanly */
	TREE_STEP_SUBREAPER,
	TREE_STEP_DUMPABLE,      /* a threaded tree while fs.suid_dumpable is 1 */
	TREE_STEP_CONTROL,       /* making or sending the private control socket */
};

struct tree_report {
	uint32_t type;           /* enum tree_report_type */
	int32_t proc;            /* plan proc index; -1: the builder */
	uint32_t step;           /* enum tree_step (ERROR) */
	uint32_t setup_step;     /* enum holder_step (ERROR at TREE_STEP_SETUP) */
	int32_t level;           /* ERROR: pids[] index concerned, or -1 */
	int32_t error;           /* ERROR: positive errno */
	int32_t thread;          /* ERROR at TREE_STEP_THREAD: index among the proc's threads; else -1 */
	uint32_t n_pids;
	int32_t pids[];          /* n_pids entries (PIDFD: 1; READY: 1 + n_threads) */
};
