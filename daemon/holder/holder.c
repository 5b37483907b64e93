/* pidrestore-holder: the first program every process pidrestored creates runs.
 *
 * The daemon starts one copy as its spawner (spawner.c), which forks a
 * placeholder, as root and with the chosen PIDs, for every process asked
 * for. A placeholder takes on the requester's identity and namespaces as
 * holder-proto.h orders, reports READY and parks on its control socket until
 * it is told to exec the requester's program, or until the daemon goes away.
 * It links no libc: see sys.h. */
#include "holder-proto.h"
#include "holder.h"
#include "sys.h"

/* ------------------------------------------------------------------ entry */

__attribute__((noreturn, used)) void holder_main(void);

/* The kernel enters with %rsp at argc, 16-byte aligned; the call leaves the
 * 8-byte misalignment a C function expects on entry. argv and envp are not
 * needed: everything the holder learns comes from its control socket. */
__asm__(".text\n"
	".global _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	and $-16, %rsp\n"
	"	call holder_main\n"
	"	hlt\n");

void *memcpy(void *dst, const void *src, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *dst, int c, size_t n)
{
	void *ret = dst;

	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
	return ret;
}

/* ------------------------------------------------------------------ reports */

/* MSG_NOSIGNAL: with the daemon gone, a report must fail with EPIPE rather
 * than leave a SIGPIPE pending that would hit the program after exec. */
static void report_send(int control_fd, uint32_t type, uint32_t step, int error)
{
	struct holder_report report = {
		.type = type,
		.step = step,
		.error = error < 0 ? -error : error,
	};

	sys_send(control_fd, &report, sizeof(report), SYS_MSG_NOSIGNAL);
}

/* ------------------------------------------------------------------ signals */

static void signals_block_all(void)
{
	/* The kernel never blocks SIGKILL or SIGSTOP, so a parked holder can
	 * always be killed. */
	sys_rt_sigprocmask_set(~(uint64_t)0);
}

/* Ignored signals stay ignored across exec, and the daemon may ignore some
 * (SIGPIPE), so dispositions are put back to default explicitly: all but
 * those the starter says are at their default already. */
static void signals_reset_dispositions(uint64_t already_default)
{
	const struct sys_sigaction dfl = { 0 };

	for (int sig = 1; sig <= SYS_NSIG; sig++)
		if (sig != SYS_SIGKILL && sig != SYS_SIGSTOP && !(already_default & ((uint64_t)1 << (sig - 1))))
			sys_rt_sigaction(sig, &dfl);
}

/* A signal that arrived while the holder was parked was addressed to a
 * placeholder, not to the program: a process fresh from fork+exec would have
 * none pending. Ignoring a pending signal discards it. */
static void signals_unblock_fresh(void)
{
	const struct sys_sigaction ign = { .handler = (void *)1 };
	const struct sys_sigaction dfl = { 0 };
	uint64_t pending = 0;

	if (sys_rt_sigpending(&pending) == 0 && pending)
		for (int sig = 1; sig <= SYS_NSIG; sig++)
			if (pending & ((uint64_t)1 << (sig - 1))) {
				sys_rt_sigaction(sig, &ign);
				sys_rt_sigaction(sig, &dfl);
			}
	sys_rt_sigprocmask_set(0);
}

/* ------------------------------------------------------------------ packets */

/* The size of the next packet without taking it, retrying interrupted calls.
 * Returns the size, or a negative errno. *has_fds tells whether the packet
 * carries fds, which is what tells an empty packet from end of stream. */
static long packet_peek(int control_fd, unsigned int flags, int *has_fds)
{
	for (;;) {
		struct sys_msghdr msg = { 0 };
		long n = sys_recvmsg(control_fd, &msg, SYS_MSG_PEEK | SYS_MSG_TRUNC | flags);

		if (n == -EINTR)
			continue;
		*has_fds = n >= 0 && (msg.flags & SYS_MSG_CTRUNC);
		return n;
	}
}

/* Takes the next packet and drops it (with any fds: without a control
 * buffer the kernel closes them). For when there is no room to read it. */
static void packet_discard(int control_fd)
{
	struct sys_msghdr msg = { 0 };

	while (sys_recvmsg(control_fd, &msg, SYS_MSG_DONTWAIT) == -EINTR)
		;
}

static size_t page_round(size_t n)
{
	return (n + SYS_PAGE_SIZE - 1) & ~(SYS_PAGE_SIZE - 1);
}

/* ------------------------------------------------------------------ setup */

static const int ns_clone_flag[HOLDER_NS_COUNT] = {
	[HOLDER_NS_USER] = CLONE_NEWUSER,
	[HOLDER_NS_MNT] = CLONE_NEWNS,
	[HOLDER_NS_NET] = CLONE_NEWNET,
	[HOLDER_NS_IPC] = CLONE_NEWIPC,
	[HOLDER_NS_UTS] = CLONE_NEWUTS,
	[HOLDER_NS_CGROUP] = CLONE_NEWCGROUP,
	[HOLDER_NS_TIME] = CLONE_NEWTIME,
};

#define SETUP_KNOWN_FLAGS \
	(HOLDER_SETUP_CHROOT | HOLDER_SETUP_NO_NEW_PRIVS | HOLDER_SETUP_SET_OOM_SCORE_ADJ | HOLDER_SETUP_SCHED | \
	 HOLDER_SETUP_AFFINITY | HOLDER_SETUP_IOPRIO | HOLDER_SETUP_PERSONALITY | HOLDER_SETUP_NPROC | \
	 HOLDER_SETUP_NPROC_EXEMPT)

static int setup_validate(const struct holder_setup *s, size_t len)
{
	if (len < sizeof(*s) || s->magic != HOLDER_PROTO_MAGIC)
		return -EPROTO;
	if (s->n_groups > HOLDER_MAX_GROUPS ||
	    len != sizeof(*s) + (size_t)s->n_groups * sizeof(uint32_t))
		return -EPROTO;
	if ((s->flags & ~SETUP_KNOWN_FLAGS) || (s->ns_mask >> HOLDER_NS_COUNT) ||
	    (s->rlimit_mask >> HOLDER_RLIMIT_COUNT) || s->cap_last > 63)
		return -EPROTO;
	return 0;
}

static int oom_score_adj_write(int32_t value)
{
	char text[16];
	char *end = text + sizeof(text), *p = end;
	uint32_t magnitude = value < 0 ? -(uint32_t)value : (uint32_t)value;
	int fd, r;

	do {
		*--p = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude);
	if (value < 0)
		*--p = '-';

	fd = sys_openat(AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fd;
	r = (int)sys_write(fd, p, (size_t)(end - p));
	sys_close(fd);
	return r < 0 ? r : 0;
}

static int bounding_set_restrict(uint32_t cap_last, uint64_t keep)
{
	for (uint32_t cap = 0; cap <= cap_last; cap++) {
		if (keep & ((uint64_t)1 << cap))
			continue;
		int r = sys_prctl(PR_CAPBSET_DROP, cap, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int caps_set(const struct holder_setup *s)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(s->cap_eff >> (32 * i));
		data[i].permitted = (uint32_t)(s->cap_prm >> (32 * i));
		data[i].inheritable = (uint32_t)(s->cap_inh >> (32 * i));
	}
	return sys_capset(&header, data);
}

static int ambient_set(uint64_t ambient)
{
	int r = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0);

	for (uint32_t cap = 0; r == 0 && cap < 64; cap++)
		if (ambient & ((uint64_t)1 << cap))
			r = sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap);
	return r;
}

/* What fork() would have passed on from the requester (DESIGN §6). */
static int scheduling_apply(const struct holder_setup *s, uint32_t *step)
{
	int r;

	if (s->flags & HOLDER_SETUP_SCHED) {
		struct sys_sched_param param = { .sched_priority = (int)s->sched_priority };

		*step = HOLDER_STEP_SCHED;
		r = sys_sched_setscheduler((int)s->sched_policy, &param);
		if (r == 0)
			r = sys_setpriority_self(s->nice);
		if (r < 0)
			return r;
	}
	if (s->flags & HOLDER_SETUP_AFFINITY) {
		*step = HOLDER_STEP_AFFINITY;
		r = sys_sched_setaffinity(s->cpu_affinity, sizeof(s->cpu_affinity));
		/* EINVAL: none of those CPUs is in this cgroup's cpuset (the
		 * child could not join the requester's cgroup); keep its own. */
		if (r < 0 && r != -EINVAL)
			return r;
	}
	if (s->flags & HOLDER_SETUP_IOPRIO) {
		*step = HOLDER_STEP_IOPRIO;
		r = sys_ioprio_set(s->ioprio);
		if (r < 0)
			return r;
	}
	if (s->flags & HOLDER_SETUP_PERSONALITY) {
		long old;

		*step = HOLDER_STEP_PERSONALITY;
		old = sys_personality(s->personality);
		if (old < 0 && old > -4096)
			return (int)old;
	}
	return 0;
}

/* RLIMIT_NPROC as fork() applies it: a fork fails when the user's process
 * count, the new process included, would exceed the limit. The holder is
 * that new process, counted under the requester's user from setresuid()
 * on. setresuid() does not fail over the limit: it marks the task so that
 * its next execve() fails with EAGAIN if the count, the task included, is
 * over the limit then. With a limit of 0 while the uid changes, the mark
 * is always set; an execve() that can only fail (no file) then asks the
 * kernel, under the requester's limit, with the holder counted, as fork()
 * counts. Two holders that change uid side by side near the limit both
 * count in the other's answer, so the limit is never passed. A requester
 * that may exceed the limit gets its hard limit while the uid changes, so
 * that no mark is set below that. */
#define RLIMIT_NPROC_RESOURCE 6

static int nproc_before_uid_change(const struct holder_setup *s)
{
	struct holder_rlimit during = s->rlimits[RLIMIT_NPROC_RESOURCE];

	/* As high as it goes without CAP_SYS_RESOURCE, which a confined
	 * daemon may lack. */
	if (s->flags & HOLDER_SETUP_NPROC_EXEMPT)
		during.cur = during.max;
	else
		during.cur = 0;
	return sys_prlimit64(RLIMIT_NPROC_RESOURCE, &during);
}

static int nproc_after_uid_change(const struct holder_setup *s)
{
	char *const none[] = { 0 };
	int r = sys_prlimit64(RLIMIT_NPROC_RESOURCE, &s->rlimits[RLIMIT_NPROC_RESOURCE]);

	if (r < 0 || (s->flags & HOLDER_SETUP_NPROC_EXEMPT))
		return r;
	/* No file: EBADF once past the limit check, which comes first. */
	r = sys_execveat(-1, "", none, none, AT_EMPTY_PATH);
	return r == -EAGAIN ? r : 0;
}

/* Applies a validated setup in the order holder-proto.h gives. Returns 0, or
 * a negative errno with *step naming what failed. */
static int setup_apply(const struct holder_setup *s, const uint32_t *groups, uint32_t *step)
{
	int keep_caps;
	int r;

	*step = HOLDER_STEP_SETSID;
	r = sys_setsid();
	if (r < 0)
		return r;

	if (s->flags & HOLDER_SETUP_SET_OOM_SCORE_ADJ) {
		*step = HOLDER_STEP_OOM_SCORE_ADJ;
		r = oom_score_adj_write(s->oom_score_adj);
		if (r < 0)
			return r;
	}

	*step = HOLDER_STEP_RLIMIT;
	for (int res = 0; res < HOLDER_RLIMIT_COUNT; res++)
		if (s->rlimit_mask & (1u << res)) {
			r = sys_prlimit64(res, &s->rlimits[res]);
			if (r < 0)
				return r;
		}
	if (s->flags & HOLDER_SETUP_NPROC) {
		*step = HOLDER_STEP_NPROC;
		r = nproc_before_uid_change(s);
		if (r < 0)
			return r;
	}

	/* While still root: a real-time policy, a nice value below 0 or a
	 * real-time I/O class may need privilege the requester has by its own
	 * limits or capabilities but the holder will not. */
	r = scheduling_apply(s, step);
	if (r < 0)
		return r;

	*step = HOLDER_STEP_BOUNDING_SET;
	r = bounding_set_restrict(s->cap_last, s->cap_bnd);
	if (r < 0)
		return r;

	*step = HOLDER_STEP_GROUPS;
	r = sys_setgroups(s->n_groups, groups);
	if (r < 0)
		return r;

	for (int slot = HOLDER_NS_MNT; slot < HOLDER_NS_COUNT; slot++)
		if (s->ns_mask & (1u << slot)) {
			*step = HOLDER_STEP_SETNS_MNT + (slot - HOLDER_NS_MNT);
			r = sys_setns(HOLDER_FD_NS(slot), ns_clone_flag[slot]);
			if (r < 0)
				return r;
		}

	/* Joining a mount namespace moved root and cwd to that namespace's
	 * root, so the requester's root is entered only now. */
	if (s->flags & HOLDER_SETUP_CHROOT) {
		*step = HOLDER_STEP_CHROOT;
		r = sys_fchdir(HOLDER_FD_ROOT);
		if (r == 0)
			r = sys_chroot(".");
		if (r < 0)
			return r;
	}

	if (s->ns_mask & (1u << HOLDER_NS_USER)) {
		*step = HOLDER_STEP_SETNS_USER;
		r = sys_setns(HOLDER_FD_NS(HOLDER_NS_USER), CLONE_NEWUSER);
		if (r < 0)
			return r;
		/* Entering a user namespace gives a full bounding set in it
		 * again; the requester's limits must still hold there. */
		*step = HOLDER_STEP_BOUNDING_SET;
		r = bounding_set_restrict(s->cap_last, s->cap_bnd);
		if (r < 0)
			return r;
	}

	/* Keep the permitted set across the uid change so that capset can
	 * choose what remains, instead of the kernel clearing it all. Staying
	 * root in the same user namespace clears nothing. */
	keep_caps = s->uid != 0 || (s->ns_mask & (1u << HOLDER_NS_USER));
	*step = HOLDER_STEP_GID;
	r = keep_caps ? sys_prctl(PR_SET_KEEPCAPS, 1, 0) : 0;
	if (r == 0)
		r = sys_setresgid(s->gid);
	if (r < 0)
		return r;

	*step = HOLDER_STEP_UID;
	r = sys_setresuid(s->uid);
	if (r < 0)
		return r;

	if (s->flags & HOLDER_SETUP_NPROC) {
		*step = HOLDER_STEP_NPROC;
		r = nproc_after_uid_change(s);
		if (r < 0)
			return r;
	}

	*step = HOLDER_STEP_CAPS;
	r = caps_set(s);
	if (r < 0)
		return r;

	*step = HOLDER_STEP_AMBIENT;
	r = ambient_set(s->cap_amb);
	if (r < 0)
		return r;

	*step = HOLDER_STEP_CAPS;
	r = keep_caps ? sys_prctl(PR_SET_KEEPCAPS, 0, 0) : 0;
	if (r < 0)
		return r;

	sys_umask(s->umask & 0777);

	if (s->flags & HOLDER_SETUP_NO_NEW_PRIVS) {
		*step = HOLDER_STEP_NO_NEW_PRIVS;
		r = sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0);
		if (r < 0)
			return r;
	}

	/* Not ptraceable and no core dumps before the program runs. */
	*step = HOLDER_STEP_NONE;
	r = sys_prctl(PR_SET_DUMPABLE, 0, 0);
	if (r < 0)
		return r;

	r = sys_close_range(HOLDER_FD_ROOT, ~0U, 0);
	if (r < 0)
		return r;

	/* Entering the root left the working directory there already. */
	if (s->flags & HOLDER_SETUP_CHROOT)
		return 0;
	*step = HOLDER_STEP_CHROOT;
	return sys_chdir("/");
}

/* A setup without many groups fits here; a larger one gets a mapping of
 * its own for as long as it is applied. */
#define SETUP_STACK_BYTES 1024

/* Reads the setup the daemon queued before starting the holder and applies
 * it. Returns 0, or a negative errno with *step naming what failed. */
static int setup_run(uint32_t *step)
{
	uint64_t small[SETUP_STACK_BYTES / sizeof(uint64_t)];
	int has_fds = 0;
	long n;
	size_t map_len = 0;
	void *buf = small;
	int r;

	/* The setup is queued before the holder exists; waiting for it would
	 * only hide a daemon bug. */
	*step = HOLDER_STEP_PROTOCOL;
	n = packet_peek(HOLDER_FD_CONTROL, SYS_MSG_DONTWAIT, &has_fds);
	if (n < 0)
		return (int)n;
	if (has_fds || (size_t)n < sizeof(struct holder_setup))
		return -EPROTO;

	if ((size_t)n > sizeof(small)) {
		map_len = page_round((size_t)n);
		buf = sys_mmap_anon(map_len);
		if (sys_mmap_failed(buf))
			return (int)(long)buf;
	}

	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)n };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1 };
	long got;

	do
		got = sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_DONTWAIT);
	while (got == -EINTR);

	if (got < 0)
		r = (int)got;
	else if (msg.flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC))
		r = -EPROTO;
	else
		r = setup_validate(buf, (size_t)got);
	if (r == 0) {
		const struct holder_setup *s = buf;

		signals_reset_dispositions(s->sig_default);
		r = setup_apply(s, (const uint32_t *)(s + 1), step);
	}
	if (map_len)
		sys_munmap(buf, map_len);
	return r;
}

/* ------------------------------------------------------------------ exec */

#define EXEC_KNOWN_FLAGS (HOLDER_EXEC_PROGRAM_FD | HOLDER_EXEC_CWD_FD)
#define EXEC_CONTROL_SPACE SYS_CMSG_SPACE(SYS_SCM_MAX_FD * sizeof(int))
/* Every mapped fd, plus the control socket and the program fd. */
#define EXEC_KEEP_MAX (SYS_SCM_MAX_FD + 2)

/* One exec command and the room to carry it out, in a single anonymous
 * mapping that exists only while the command runs, so that a parked holder
 * stays a few pages. */
struct exec_work {
	/* The received packet and its fds, in SCM_RIGHTS order. */
	const unsigned char *packet;
	size_t packet_len;
	int fds[SYS_SCM_MAX_FD];
	unsigned int n_received;

	/* The decoded command. */
	const struct holder_exec *cmd;
	const int32_t *targets;
	int program_fd; /* -1 when none */
	int cwd_fd;     /* -1 when none */
	int *map_fds;   /* the n_fds fds to install at targets[] */
	char *path;     /* NUL-terminated copy */
	char **argv;
	char **envp;

	int keep[EXEC_KEEP_MAX];
	char candidate[SYS_PATH_MAX];
	/* Followed by the packet, then the argv and envp pointer arrays, then
	 * the path copy. */
};

/* Room for a command packet of len bytes and everything derived from it: each
 * string has at least its NUL, so argc + envc <= len. */
static size_t exec_work_size(size_t len)
{
	return page_round(sizeof(struct exec_work) + EXEC_CONTROL_SPACE + len + 7 +
			  (len + 2) * sizeof(char *) + len + 1);
}

static unsigned char *exec_work_control(struct exec_work *w)
{
	return (unsigned char *)(w + 1);
}

/* Collects the fds of every SCM_RIGHTS message. */
static int exec_collect_fds(struct exec_work *w, const struct sys_msghdr *msg)
{
	w->n_received = sys_cmsg_fds(msg, w->fds, w->n_received, SYS_SCM_MAX_FD);
	return (msg->flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC)) ? -EPROTO : 0;
}

/* Checks the layout exactly and points the fields of w into the packet. */
static int exec_decode(struct exec_work *w)
{
	const struct holder_exec *cmd = (const void *)w->packet;
	const unsigned char *p;
	unsigned int expected_fds, fd_index = 0;
	uint64_t want;

	if (w->packet_len < sizeof(uint32_t) || cmd->type != HOLDER_CMD_EXEC)
		return -EPROTO;
	if (w->packet_len < sizeof(*cmd) || (cmd->flags & ~EXEC_KNOWN_FLAGS))
		return -EPROTO;

	want = (uint64_t)sizeof(*cmd) + (uint64_t)cmd->n_fds * sizeof(int32_t) +
	       cmd->path_len + cmd->strings_len;
	if (want != w->packet_len)
		return -EPROTO;

	expected_fds = !!(cmd->flags & HOLDER_EXEC_PROGRAM_FD) +
		       !!(cmd->flags & HOLDER_EXEC_CWD_FD);
	if (cmd->n_fds > SYS_SCM_MAX_FD || expected_fds + cmd->n_fds != w->n_received)
		return -EPROTO;

	w->cmd = cmd;
	w->targets = (const int32_t *)(cmd + 1);
	for (uint32_t i = 0; i < cmd->n_fds; i++) {
		if (w->targets[i] < 0)
			return -EPROTO;
		for (uint32_t j = 0; j < i; j++)
			if (w->targets[j] == w->targets[i])
				return -EPROTO;
	}
	w->program_fd = (cmd->flags & HOLDER_EXEC_PROGRAM_FD) ? w->fds[fd_index++] : -1;
	w->cwd_fd = (cmd->flags & HOLDER_EXEC_CWD_FD) ? w->fds[fd_index++] : -1;
	w->map_fds = w->fds + fd_index;

	/* The path names the program unless an fd does. */
	p = (const unsigned char *)(w->targets + cmd->n_fds);
	if (cmd->path_len == 0 && w->program_fd < 0)
		return -EPROTO;
	for (uint32_t i = 0; i < cmd->path_len; i++)
		if (p[i] == '\0')
			return -EPROTO;
	memcpy(w->path, p, cmd->path_len);
	w->path[cmd->path_len] = '\0';
	p += cmd->path_len;

	/* argc then envc strings, each NUL-terminated, filling strings_len. */
	const unsigned char *end = p + cmd->strings_len;
	char **slot = w->argv;
	for (uint64_t i = 0; i < (uint64_t)cmd->argc + cmd->envc; i++) {
		const unsigned char *s = p;

		while (p < end && *p)
			p++;
		if (p == end)
			return -EPROTO;
		p++;
		if (i == cmd->argc)
			*slot++ = NULL;
		*slot++ = (char *)s;
	}
	if (cmd->envc == 0)
		*slot++ = NULL;
	*slot = NULL;
	if (p != end)
		return -EPROTO;
	w->envp = w->argv + cmd->argc + 1;
	return 0;
}

/* Waits for and receives one command into a fresh exec_work. Returns the
 * mapping with *error telling whether the fds arrived whole, or NULL with
 * *error set and the packet consumed. Exits when the daemon is gone. */
static struct exec_work *exec_receive(int control_fd, size_t *map_len, int *error)
{
	int has_fds = 0;
	long n = packet_peek(control_fd, 0, &has_fds);
	struct exec_work *w;

	if (n == -ECONNRESET || (n == 0 && !has_fds))
		sys_exit(0); /* the daemon is gone; so must its placeholders be */
	if (n < 0)
		sys_exit(127); /* the control socket itself is broken */

	*map_len = exec_work_size((size_t)n);
	w = sys_mmap_anon(*map_len);
	if (sys_mmap_failed(w)) {
		*error = (int)(long)w;
		packet_discard(control_fd);
		return NULL;
	}

	unsigned char *packet = exec_work_control(w) + EXEC_CONTROL_SPACE;
	struct iovec iov = { .iov_base = packet, .iov_len = (size_t)n };
	struct sys_msghdr msg = {
		.iov = &iov,
		.iovlen = 1,
		.control = exec_work_control(w),
		.controllen = EXEC_CONTROL_SPACE,
	};
	long got;

	/* Close-on-exec from the start: only what the map names survives. */
	do
		got = sys_recvmsg(control_fd, &msg, SYS_MSG_CMSG_CLOEXEC | SYS_MSG_DONTWAIT);
	while (got == -EINTR);
	if (got < 0) {
		*error = (int)got;
		sys_munmap(w, *map_len);
		return NULL;
	}

	w->packet = packet;
	w->packet_len = (size_t)got;
	w->argv = (char **)(((uintptr_t)(packet + n) + 7) & ~(uintptr_t)7);
	w->path = (char *)(w->argv + (size_t)n + 2);
	*error = exec_collect_fds(w, &msg);
	return w;
}

static void fds_close_all_but(int keep_fd)
{
	if (keep_fd > 0)
		sys_close_range(0, (unsigned int)keep_fd - 1, 0);
	sys_close_range((unsigned int)keep_fd + 1, ~0U, 0);
}

/* Closes every fd not in w->keep[0..n). */
static void fds_close_others(struct exec_work *w, unsigned int n)
{
	unsigned int next_open = 0;

	/* Insertion sort: at most EXEC_KEEP_MAX entries. */
	for (unsigned int i = 1; i < n; i++) {
		int v = w->keep[i];
		unsigned int j = i;

		for (; j > 0 && w->keep[j - 1] > v; j--)
			w->keep[j] = w->keep[j - 1];
		w->keep[j] = v;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int fd = (unsigned int)w->keep[i];

		if (fd > next_open)
			sys_close_range(next_open, fd - 1, 0);
		next_open = fd + 1;
	}
	sys_close_range(next_open, ~0U, 0);
}

/* Moves fd to a number above every target, keeping it close-on-exec. */
static int fd_move_above(int *fd, long max_target)
{
	int moved;

	if (*fd > max_target)
		return 0;
	moved = sys_fcntl(*fd, F_DUPFD_CLOEXEC, max_target + 1);
	if (moved < 0)
		return moved;
	sys_close(*fd);
	*fd = moved;
	return 0;
}

/* Puts every mapped fd at its target, inheritable, moves the working
 * directory, and closes everything else but the control socket and the
 * program fd. A received fd may sit at another mapping's target, so all of
 * them are first moved above every target. */
static int exec_install_fds(struct exec_work *w, int *control_fd, uint32_t *step)
{
	long max_target = -1;
	unsigned int n_keep = 0;
	int r;

	*step = HOLDER_STEP_EXEC_FDS;
	for (uint32_t i = 0; i < w->cmd->n_fds; i++)
		if (w->targets[i] > max_target)
			max_target = w->targets[i];

	r = fd_move_above(control_fd, max_target);
	for (uint32_t i = 0; r == 0 && i < w->cmd->n_fds; i++)
		r = fd_move_above(&w->map_fds[i], max_target);
	if (r == 0 && w->program_fd >= 0)
		r = fd_move_above(&w->program_fd, max_target);
	if (r == 0 && w->cwd_fd >= 0)
		r = fd_move_above(&w->cwd_fd, max_target);
	for (uint32_t i = 0; r == 0 && i < w->cmd->n_fds; i++) {
		r = sys_dup3(w->map_fds[i], w->targets[i], 0);
		if (r > 0)
			r = 0;
	}
	if (r < 0)
		return r;

	*step = HOLDER_STEP_CWD;
	r = w->cwd_fd >= 0 ? sys_fchdir(w->cwd_fd) : sys_chdir("/");
	if (r < 0)
		return r;

	for (uint32_t i = 0; i < w->cmd->n_fds; i++)
		w->keep[n_keep++] = w->targets[i];
	w->keep[n_keep++] = *control_fd;
	if (w->program_fd >= 0)
		w->keep[n_keep++] = w->program_fd;
	fds_close_others(w, n_keep);
	return 0;
}

static const char *env_lookup(char **envp, const char *name_eq)
{
	for (; *envp; envp++)
		if (str_has_prefix(*envp, name_eq))
			return *envp + str_len(name_eq);
	return NULL;
}

/* execvp's search: each PATH element in turn (an empty one is the current
 * directory). Only "not there" moves on to the next; if none ran, EACCES
 * from any candidate wins over the last error. */
static int exec_search_path(struct exec_work *w)
{
	const char *search = env_lookup(w->envp, "PATH=");
	size_t name_len = str_len(w->path);
	int saw_eacces = 0, r = -ENOENT;

	if (!search)
		search = "/usr/local/bin:/usr/bin:/bin";
	if (name_len > 255)
		return -ENAMETOOLONG;

	for (const char *dir = search;; dir++) {
		const char *dir_end = dir;
		size_t dir_len;

		while (*dir_end && *dir_end != ':')
			dir_end++;
		dir_len = (size_t)(dir_end - dir);
		if (dir_len == 0) {
			dir = ".";
			dir_len = 1;
		}

		if (dir_len + 1 + name_len + 1 > sizeof(w->candidate)) {
			r = -ENAMETOOLONG;
		} else {
			memcpy(w->candidate, dir, dir_len);
			w->candidate[dir_len] = '/';
			memcpy(w->candidate + dir_len + 1, w->path, name_len + 1);
			r = sys_execve(w->candidate, w->argv, w->envp);
		}

		switch (r) {
		case -EACCES:
			saw_eacces = 1;
			break;
		case -ENOENT:
		case -ENOTDIR:
		case -ENAMETOOLONG:
		case -ESTALE:
		case -ENODEV:
		case -ETIMEDOUT:
			break;
		default:
			return r;
		}
		if (*dir_end == '\0')
			break;
		dir = dir_end;
	}
	return saw_eacces ? -EACCES : r;
}

static int exec_program(struct exec_work *w)
{
	const char *p;

	if (w->program_fd >= 0)
		return sys_execveat(w->program_fd, "", w->argv, w->envp, AT_EMPTY_PATH);
	for (p = w->path; *p; p++)
		if (*p == '/')
			return sys_execve(w->path, w->argv, w->envp);
	return exec_search_path(w);
}

/* Runs one command. Returns only if it failed, with the holder parked again
 * exactly as before: only the control socket open, signals blocked, in "/". */
static void command_run(int *control_fd)
{
	size_t map_len = 0;
	uint32_t step = HOLDER_STEP_PROTOCOL;
	int r;
	struct exec_work *w = exec_receive(*control_fd, &map_len, &r);

	if (!w) {
		report_send(*control_fd, HOLDER_REPORT_EXEC_FAILED, step, r);
		return;
	}

	if (r == 0)
		r = exec_decode(w);
	if (r == 0)
		r = exec_install_fds(w, control_fd, &step);
	if (r == 0) {
		step = HOLDER_STEP_EXEC;
		signals_unblock_fresh();
		r = exec_program(w);
		signals_block_all();
	}

	fds_close_all_but(*control_fd);
	sys_chdir("/");
	sys_munmap(w, map_len);
	report_send(*control_fd, HOLDER_REPORT_EXEC_FAILED, step, r);
}

/* ------------------------------------------------------------------ main */

void holder_run(void)
{
	int control_fd = HOLDER_FD_CONTROL;
	uint32_t step = HOLDER_STEP_PROTOCOL;
	int r;

	/* Inherited to reach the holder; the program must not inherit it. */
	if (sys_fcntl(control_fd, F_SETFD, FD_CLOEXEC) < 0)
		sys_exit(127);

	r = setup_run(&step);
	if (r < 0) {
		report_send(control_fd, HOLDER_REPORT_SETUP_FAILED, step, r);
		sys_exit(127);
	}
	report_send(control_fd, HOLDER_REPORT_READY, HOLDER_STEP_NONE, 0);

	for (;;)
		command_run(&control_fd);
}

void holder_main(void)
{
	signals_block_all();
	spawner_run_if_asked();
	holder_run();
}
