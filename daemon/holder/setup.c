/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placeholder's setup: reads the holder_setup the daemon queued and takes
 * on the requester's identity, namespaces, capabilities, limits and
 * scheduling, in the order holder-proto.h gives. */
#include "holder-proto.h"
#include "placeholder.h"
#include "sys.h"

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

/* The filters follow the groups; each must be whole, within the kernel's
 * bounds, and together they must fill the packet exactly. */
static int filters_validate(const struct holder_setup *s, size_t len)
{
	size_t at = sizeof(*s) + (size_t)s->n_groups * sizeof(uint32_t);
	uint32_t path = 0;

	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct holder_filter *f = (const void *)((const char *)s + at);

		if (len - at < sizeof(*f) || f->n_insns == 0 || f->n_insns > HOLDER_MAX_FILTER_INSNS ||
		    (f->flags & ~(uint32_t)SYS_SECCOMP_FILTER_FLAG_LOG))
			return -EPROTO;
		path += f->n_insns + HOLDER_FILTER_PATH_COST;
		if (path > HOLDER_MAX_FILTER_PATH || len - at - sizeof(*f) < (size_t)f->n_insns * 8)
			return -EPROTO;
		at += sizeof(*f) + (size_t)f->n_insns * 8;
	}
	return at == len && s->cgroup1_fds <= HOLDER_MAX_CGROUP1 ? 0 : -EPROTO;
}

int setup_validate(const struct holder_setup *s, size_t len)
{
	if (len < sizeof(*s) || s->magic != HOLDER_PROTO_MAGIC)
		return -EPROTO;
	if (s->n_groups > HOLDER_MAX_GROUPS ||
	    len < sizeof(*s) + (size_t)s->n_groups * sizeof(uint32_t) || filters_validate(s, len) < 0)
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

int bounding_set_restrict(uint32_t cap_last, uint64_t keep)
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

/* The requester's capabilities, plus extra in the permitted and effective
 * sets. */
int caps_set(const struct holder_setup *s, uint64_t extra)
{
	struct __user_cap_header_struct header = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)((s->cap_eff | extra) >> (32 * i));
		data[i].permitted = (uint32_t)((s->cap_prm | extra) >> (32 * i));
		data[i].inheritable = (uint32_t)(s->cap_inh >> (32 * i));
	}
	return sys_capset(&header, data);
}

/* Without no_new_privs, the kernel takes a seccomp filter only from a task
 * with CAP_SYS_ADMIN in its user namespace (TREES.md §2 rule 10): kept
 * until step 9 when there are filters to install. */
uint64_t caps_kept_for_filters(const struct holder_setup *s)
{
	if (s->n_filters == 0 || (s->flags & HOLDER_SETUP_NO_NEW_PRIVS))
		return 0;
	return (uint64_t)1 << CAP_SYS_ADMIN;
}

/* Step 9: the filters, oldest first, so that they stack as the requester's
 * do; then the capabilities exactly as the requester's. */
int filters_install(const struct holder_setup *s, const void *filters, uint32_t *step)
{
	const char *at = filters;
	int r;

	*step = HOLDER_STEP_SECCOMP;
	for (uint32_t i = 0; i < s->n_filters; i++) {
		const struct holder_filter *f = (const void *)at;
		struct sys_sock_fprog prog = { .len = (unsigned short)f->n_insns, .filter = f + 1 };

		r = sys_seccomp_filter(f->flags, &prog);
		if (r < 0)
			return r;
		at += sizeof(*f) + (size_t)f->n_insns * 8;
	}
	if (!caps_kept_for_filters(s))
		return 0;
	*step = HOLDER_STEP_CAPS;
	return caps_set(s, 0);
}

int ambient_set(uint64_t ambient)
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

/* Step 0: writing 0 to a cgroup.procs file moves the writer. */
static int cgroups_join(const int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		long r = sys_write(fds[i], "0", 1);

		if (r < 0)
			return (int)r;
	}
	return 0;
}

/* The part of the setup that holds for the whole process and is made as
 * root: cgroup v1 joins, session, limits, scheduling, namespaces but the
 * user one, root directory. */
int setup_process(const struct holder_setup *s, const int *cgroup1, uint32_t *step)
{
	int r;

	*step = HOLDER_STEP_CGROUP1;
	r = cgroups_join(cgroup1, s->cgroup1_fds);
	if (r < 0)
		return r;

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

	return 0;
}

/* Applies a validated setup in the order holder-proto.h gives. Returns 0, or
 * a negative errno with *step naming what failed. */
static int setup_apply(const struct holder_setup *s, const uint32_t *groups, const int *cgroup1, uint32_t *step)
{
	int keep_caps;
	int r = setup_process(s, cgroup1, step);

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
	r = caps_set(s, caps_kept_for_filters(s));
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
	if (!(s->flags & HOLDER_SETUP_CHROOT)) {
		*step = HOLDER_STEP_CHROOT;
		r = sys_chdir("/");
		if (r < 0)
			return r;
	}
	return filters_install(s, groups + s->n_groups, step);
}

/* A setup without many groups fits here; a larger one gets a mapping of
 * its own for as long as it is applied. */
#define SETUP_STACK_BYTES 1024

/* Reads the setup the daemon queued before starting the holder and applies
 * it. Returns 0, or a negative errno with *step naming what failed. */
int setup_run(uint32_t *step)
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
	if ((size_t)n < sizeof(struct holder_setup))
		return -EPROTO;

	if ((size_t)n > sizeof(small)) {
		map_len = page_round((size_t)n);
		buf = sys_mmap_anon(map_len);
		if (sys_mmap_failed(buf))
			return (int)(long)buf;
	}

	uint64_t control[SYS_CMSG_SPACE(HOLDER_MAX_CGROUP1 * sizeof(int)) / sizeof(uint64_t) + 1];
	int cgroup1[HOLDER_MAX_CGROUP1];
	unsigned int n_fds = 0;
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)n };
	struct sys_msghdr msg = { .iov = &iov, .iovlen = 1, .control = control, .controllen = sizeof(control) };
	long got;

	do
		got = sys_recvmsg(HOLDER_FD_CONTROL, &msg, SYS_MSG_DONTWAIT | SYS_MSG_CMSG_CLOEXEC);
	while (got == -EINTR);

	if (got >= 0)
		n_fds = sys_cmsg_fds(&msg, cgroup1, 0, HOLDER_MAX_CGROUP1);
	if (got < 0)
		r = (int)got;
	else if (msg.flags & (SYS_MSG_TRUNC | SYS_MSG_CTRUNC))
		r = -EPROTO;
	else
		r = setup_validate(buf, (size_t)got);
	if (r == 0 && n_fds != ((const struct holder_setup *)buf)->cgroup1_fds)
		r = -EPROTO;
	if (r == 0) {
		const struct holder_setup *s = buf;

		signals_reset_dispositions(s->sig_default);
		r = setup_apply(s, (const uint32_t *)(s + 1), cgroup1, step);
	}
	for (unsigned int i = 0; i < n_fds; i++)
		sys_close(cgroup1[i]);
	if (map_len)
		sys_munmap(buf, map_len);
	return r;
}
