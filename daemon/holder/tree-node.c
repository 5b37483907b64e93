/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The program of every process of a tree (tree-proto.h, steps 1-11): its
 * children, session, threads, group, and then its end: a ghost or helper
 * exits, a zombie drops to the requester's credentials and exits with its
 * status, a live node has every thread drop itself and parks until it is
 * claimed. */
#include "clone-args.h"
#include "holder-proto.h"
#include "pidrestore-blob.h"
#include "placeholder.h"
#include "sys.h"
#include "tree.h"

#define THREAD_STACK_SIZE (16 * 1024UL)
#define SECBIT_NO_SETUID_FIXUP_BIT (1UL << 2)
#define RLIMIT_CORE_RESOURCE 4
#define THREAD_CLONE_FLAGS                                                                     \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* The threads of this process: words they share with its main thread, then
 * their stacks, in one private mapping. */
struct threads_area {
	uint32_t go;      /* 1: drop now */
	uint32_t dropped; /* threads that dropped */
	uint32_t park;    /* where dropped threads wait; 1: a blob claim came */
	uint32_t n_threads;
	size_t map_len;
	struct pidrestore_blob_slot *slots; /* the blob claim's, once park is 1 */
	int32_t ids[];    /* getpid(), then each thread's TID */
};

static int self = -1;
static struct threads_area *threads;

/* Starts fn(arg) on a thread made by clone3 with args (stack included).
 * The thread never returns into C code it did not start on. */
long tree_thread_clone(struct pr_clone_args *args, size_t size, void (*fn)(long), long arg);
__asm__(".text\n"
	".global tree_thread_clone\n"
	".type tree_thread_clone, @function\n"
	"tree_thread_clone:\n"
	"	mov %rdx, %r8\n"
	"	mov %rcx, %r9\n"
	"	mov $435, %eax\n" /* __NR_clone3 */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov $60, %eax\n" /* __NR_exit: this thread only */
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n");

/* ------------------------------------------------------------ credentials */

/* What only the whole process can do, while it is one thread and root:
 * bounding set and groups as the daemon's user namespace sees them, then
 * the requester's user namespace (setns refuses a threaded process). */
static int identity_prepare(uint32_t *step)
{
	const struct holder_setup *s = tree.setup;
	int r;

	*step = HOLDER_STEP_BOUNDING_SET;
	r = bounding_set_restrict(s->cap_last, s->cap_bnd);
	if (r < 0)
		return r;
	*step = HOLDER_STEP_GROUPS;
	r = sys_setgroups(s->n_groups, tree.groups);
	if (r < 0 || !tree.in_user_ns)
		return r;
	*step = HOLDER_STEP_SETNS_USER;
	return sys_setns(HOLDER_FD_NS(HOLDER_NS_USER), CLONE_NEWUSER);
}

/* The calling thread's own drop, with raw system calls (TREES §2 rule 9,
 * §6.5): credentials are per thread, and nothing broadcasts them. */
static int identity_drop_thread(uint32_t *step)
{
	const struct holder_setup *s = tree.setup;
	int r;

	/* A user namespace gives a full bounding set again. */
	*step = HOLDER_STEP_BOUNDING_SET;
	r = bounding_set_restrict(s->cap_last, s->cap_bnd);
	if (r < 0)
		return r;
	/* The ids change without the kernel's fixup of the capability sets,
	 * so that capset() below decides them all. */
	*step = HOLDER_STEP_CAPS;
	r = sys_prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP_BIT, 0);
	if (r < 0)
		return r;
	*step = HOLDER_STEP_GID;
	r = sys_setresgid(s->gid);
	if (r < 0)
		return r;
	*step = HOLDER_STEP_UID;
	r = sys_setresuid(s->uid);
	if (r < 0)
		return r;
	*step = HOLDER_STEP_CAPS;
	r = sys_prctl(PR_SET_SECUREBITS, 0, 0);
	if (r == 0)
		r = caps_set(s, caps_kept_for_filters(s));
	if (r < 0)
		return r;
	*step = HOLDER_STEP_AMBIENT;
	r = ambient_set(s->cap_amb);
	if (r < 0)
		return r;
	if (s->flags & HOLDER_SETUP_NO_NEW_PRIVS) {
		*step = HOLDER_STEP_NO_NEW_PRIVS;
		r = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0);
		if (r < 0)
			return r;
	}
	/* A seccomp filter binds only the thread that installs it (without
	 * TSYNC, which would need every thread at the same stage): each thread
	 * installs the requester's own. */
	return filters_install(s, tree.groups + s->n_groups, step);
}

/* The requester's RLIMIT_NPROC, as a fork of the requester's would count
 * this process and its threads: the builder clones as root, which the
 * kernel does not count against the requester, so each process asks the
 * kernel once it and its threads dropped (setup.c). */
static int nproc_before(uint32_t *step)
{
	*step = HOLDER_STEP_NPROC;
	return (tree.setup->flags & HOLDER_SETUP_NPROC) ? setup_nproc_before_uid_change(tree.setup) : 0;
}

static int nproc_after(uint32_t *step)
{
	*step = HOLDER_STEP_NPROC;
	return (tree.setup->flags & HOLDER_SETUP_NPROC) ? setup_nproc_after_uid_change(tree.setup) : 0;
}

/* ------------------------------------------------------------ threads */

static void thread_main(long index)
{
	uint32_t step = HOLDER_STEP_NONE;
	int r;

	while (!__atomic_load_n(&threads->go, __ATOMIC_SEQ_CST))
		sys_futex_wait(&threads->go, 0, 0);
	r = identity_drop_thread(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, (int)index, r);
	__atomic_add_fetch(&threads->dropped, 1, __ATOMIC_SEQ_CST);
	sys_futex_wake(&threads->dropped);
	while (!__atomic_load_n(&threads->park, __ATOMIC_ACQUIRE))
		sys_futex_wait(&threads->park, 0, 0);
	tree_blob_thread_wait(&threads->slots[index]);
}

void tree_threads_area(void **map, size_t *len, uint32_t *n)
{
	*map = threads;
	*len = threads ? threads->map_len : 0;
	*n = threads ? threads->n_threads : 0;
}

void tree_threads_hand_over(struct pidrestore_blob_slot *slots)
{
	if (!threads)
		return;
	threads->slots = slots;
	__atomic_store_n(&threads->park, 1, __ATOMIC_RELEASE);
	sys_futex_wake(&threads->park);
}

static void threads_create(const struct tree_proc *p)
{
	size_t head = page_round(sizeof(struct threads_area) + (p->n_threads + 1) * sizeof(int32_t));
	unsigned char *map = sys_mmap_anon(head + p->n_threads * THREAD_STACK_SIZE);

	if (sys_mmap_failed(map))
		tree_fail(self, TREE_STEP_THREAD, 0, -1, 0, (int)(long)map);
	threads = (struct threads_area *)map;
	threads->n_threads = p->n_threads;
	threads->map_len = head + p->n_threads * THREAD_STACK_SIZE;
	threads->ids[0] = sys_getpid();
	for (uint32_t t = 0; t < p->n_threads; t++) {
		const struct tree_thread *th = &tree.v.threads[p->first_thread + t];
		struct pr_clone_args args = {
			.flags = THREAD_CLONE_FLAGS,
			.stack = (uint64_t)(uintptr_t)(map + head + t * THREAD_STACK_SIZE),
			.stack_size = THREAD_STACK_SIZE,
			.set_tid = (uint64_t)(uintptr_t)th->tids,
			.set_tid_size = th->n_set_tid,
		};
		long tid = tree_thread_clone(&args, sizeof(args), thread_main, (long)t);

		if (tid < 0)
			tree_fail(self, TREE_STEP_THREAD,
				  0, tid == -EEXIST ? tree_busy_level(th->tids, th->n_set_tid, 0) : -1, (int)t, (int)tid);
		if (tid != th->tids[0]) {
			tree_fail(self, TREE_STEP_PID, 0, 0, (int)t, -EEXIST);
		}
		threads->ids[t + 1] = (int32_t)tid;
	}
}

/* ------------------------------------------------------------ the program */

static int parent_of(int q)
{
	const struct tree_proc *p = &tree.v.procs[q];

	if (!(p->flags & TREE_PROC_CLONE_PARENT))
		return p->creator;
	return p->creator >= 0 ? tree.v.procs[p->creator].creator : -2;
}

/* Ghosts and helpers whose parent this process is, by PID: zombie children
 * must stay as they are. */
static void transient_children_reap(void)
{
	for (uint32_t q = 0; q < tree.v.plan->n_procs; q++) {
		const struct tree_proc *c = &tree.v.procs[q];
		int status = 0;
		long r;

		if ((c->kind != TREE_PROC_GHOST && c->kind != TREE_PROC_HELPER) || parent_of((int)q) != self)
			continue;
		do
			r = sys_wait4_status(c->pids[0], &status);
		while (r == -EINTR);
		if (r < 0 || status != 0)
			tree_fail(self, TREE_STEP_REAP, 0, 0, -1, r < 0 ? (int)r : -ECHILD);
	}
}

static void group_take(const struct tree_proc *p)
{
	uint32_t *word = p->pgid_action == TREE_PGID_JOIN || (p->flags & TREE_PROC_GROUP_LEADER)
				 ? &tree.barrier->group[p->pgid_barrier] : 0;
	int r = 0;

	if (p->pgid_action == TREE_PGID_OWN) {
		r = sys_setpgid(0, 0);
	} else if (p->pgid_action == TREE_PGID_JOIN) {
		tree_barrier_wait(word, 0);
		r = sys_setpgid(0, p->pgid ? p->pgid : (int)__atomic_load_n(word, __ATOMIC_SEQ_CST));
	}
	if (r < 0)
		tree_fail(self, TREE_STEP_SETPGID, 0, -1, -1, r);
	if (p->flags & TREE_PROC_GROUP_LEADER) {
		__atomic_store_n(word, (uint32_t)sys_getpgid(0), __ATOMIC_SEQ_CST);
		sys_futex_wake(word);
	}
}

__attribute__((noreturn)) static void zombie_end(const struct tree_proc *p)
{
	const struct holder_rlimit no_core = { 0, 0 };
	uint32_t step = HOLDER_STEP_NONE;
	int r;

	sys_prlimit64(RLIMIT_CORE_RESOURCE, &no_core);
	sys_prctl(PR_SET_DUMPABLE, 0, 0);
	r = identity_prepare(&step);
	if (r == 0)
		r = nproc_before(&step);
	if (r == 0)
		r = identity_drop_thread(&step);
	if (r == 0)
		r = nproc_after(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
	if (!(p->flags & TREE_PROC_EXIT_SIGNAL))
		sys_exit((int)p->exit_code);
	sys_rt_sigprocmask_set(~((uint64_t)1 << (p->exit_code - 1)));
	sys_kill(sys_getpid(), (int)p->exit_code);
	sys_exit(127);
}

__attribute__((noreturn)) static void live_park(const struct tree_proc *p)
{
	uint32_t step = HOLDER_STEP_NONE;
	int sv[2], control_fd = HOLDER_FD_CONTROL;
	int r = 0;

	if (!p->n_threads)
		r = identity_prepare(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
	/* The tree socket is all it keeps. */
	sys_close_range(0, HOLDER_FD_CONTROL - 1, 0);
	sys_close_range(HOLDER_FD_CONTROL + 1, ~0U, 0);
	sys_munmap(tree.barrier, tree.barrier_len);
	tree.barrier = 0;
	/* Its threads were made as root: the limit applies from the drop on. */
	r = nproc_before(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
	if (threads) {
		__atomic_store_n(&threads->go, 1, __ATOMIC_SEQ_CST);
		sys_futex_wake(&threads->go);
	}
	r = identity_drop_thread(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
	for (uint32_t n; threads && (n = __atomic_load_n(&threads->dropped, __ATOMIC_SEQ_CST)) < p->n_threads;)
		sys_futex_wait(&threads->dropped, n, 0);
	/* Every thread counts now: the kernel's verdict on them all. */
	r = nproc_after(&step);
	if (r < 0)
		tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
	sys_umask(tree.setup->umask & 0777);
	/* Dumpable is per process: only now that no thread is root. */
	r = sys_prctl(PR_SET_DUMPABLE, (p->flags & TREE_PROC_DUMPABLE) ? 1 : 0, 0);
	if (r == 0)
		r = sys_prctl(PR_SET_PDEATHSIG, 0, 0);
	if (r < 0)
		tree_fail(self, TREE_STEP_DUMPABLE, 0, -1, -1, r);
	r = sys_socketpair_seqpacket(sv);
	if (r < 0)
		tree_fail(self, TREE_STEP_CONTROL, 0, -1, -1, r);
	/* What a placeholder says once set up: priv registers the node as
	 * one. */
	report_send(sv[0], HOLDER_REPORT_READY, HOLDER_STEP_NONE, 0);
	if (threads) {
		tree_report_send(TREE_REPORT_READY, self, threads->ids, p->n_threads + 1, sv[1]);
	} else {
		int32_t pid = sys_getpid();

		tree_report_send(TREE_REPORT_READY, self, &pid, 1, sv[1]);
	}
	sys_close(sv[1]);
	sys_munmap(tree.plan_map, tree.plan_map_len);
	sys_munmap(tree.setup_map, tree.setup_map_len);
	if (sys_dup3(sv[0], control_fd, O_CLOEXEC) < 0)
		sys_exit(127);
	sys_close(sv[0]);
	for (;;)
		command_run(&control_fd);
}

void tree_proc_run(int index)
{
	const struct tree_proc *p = &tree.v.procs[index];
	uint32_t step = HOLDER_STEP_NONE;
	int r;

	self = index;
	/* Until every pidfd is priv's, a process whose creator died dies too. */
	if (sys_prctl(PR_SET_PDEATHSIG, SYS_SIGKILL, 0) < 0 || sys_getppid() != tree.expected_ppid)
		sys_exit(127);
	if (p->n_set_tid && sys_getpid() != p->pids[0])
		tree_fail(self, TREE_STEP_PID, 0, 0, -1, -EEXIST);
	if ((p->flags & TREE_PROC_SUBREAPER) && (r = sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0)) < 0)
		tree_fail(self, TREE_STEP_SUBREAPER, 0, -1, -1, r);

	for (uint32_t k = 0; k < p->n_clones; k++) {
		if (k == p->n_before_setsid && (p->flags & TREE_PROC_SETSID) && (r = sys_setsid()) < 0)
			tree_fail(self, TREE_STEP_SETSID, 0, -1, -1, r);
		tree_clone((int)tree.v.clones[p->first_clone + k]);
	}
	if (p->n_before_setsid == p->n_clones && (p->flags & TREE_PROC_SETSID) && (r = sys_setsid()) < 0)
		tree_fail(self, TREE_STEP_SETSID, 0, -1, -1, r);
	if (p->comm[0])
		sys_prctl(PR_SET_NAME, (unsigned long)p->comm, 0);
	if (p->n_threads) {
		r = identity_prepare(&step);
		if (r < 0)
			tree_fail(self, TREE_STEP_SETUP, step, -1, -1, r);
		threads_create(p);
	}
	tree_barrier_count_down(&tree.barrier->forked);
	tree_barrier_wait(&tree.barrier->forked, 1);
	/* Every pidfd is priv's now: the cascade is no longer needed, and a
	 * helper's child must survive the helper. */
	sys_prctl(PR_SET_PDEATHSIG, 0, 0);

	group_take(p);
	tree_barrier_count_down(&tree.barrier->pgids);
	tree_barrier_wait(&tree.barrier->pgids, 1);
	transient_children_reap();
	if (p->kind == TREE_PROC_GHOST || p->kind == TREE_PROC_HELPER)
		sys_exit(0);
	if (p->kind == TREE_PROC_ZOMBIE)
		zombie_end(p);
	live_park(p);
}
