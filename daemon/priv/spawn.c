/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <unistd.h>

#include "holder-proto.h"
#include "kernel.h"
#include "cgroup1.h"
#include "log.h"
#include "seccomp-copy.h"
#include "spawn.h"
#include "spawn-internal.h"
#include "tree-proto.h"

_Static_assert(SPAWNER_MAX_PIDS == PR_MAX_SET_TID, "a spawner request carries every PID a request may choose");

/* ------------------------------------------------------------ setup */

static uint32_t setup_ns_mask(const struct peer *peer)
{
	uint32_t mask = 0;

	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (peer->ns_fd[i] >= 0 && peer->ns_inode[i] != spawn_self.ns_inode[i])
			mask |= 1u << i;
	return mask;
}

/* The setup, with the cgroup.procs files to join (peer->cgroup1.n fds, or
 * none when cgroup1_fds is NULL). count_nproc: the new process counts
 * against the requester's RLIMIT_NPROC. */
static int queue_setup(int sock, const struct peer *peer, const int *cgroup1_fds, bool count_nproc)
{
	size_t groups_len = peer->n_groups * sizeof(uint32_t);
	size_t filters_len = peer->seccomp ? peer->seccomp->len : 0;
	size_t len = sizeof(struct holder_setup) + groups_len + filters_len;
	struct holder_setup *s = calloc(1, len);
	uint32_t *groups;
	int r = 0;

	if (!s)
		return -ENOMEM;
	s->magic = HOLDER_PROTO_MAGIC;
	s->flags = HOLDER_SETUP_CHROOT;
	/* Without CAP_SYS_RESOURCE the holder can raise oom_score_adj but not
	 * lower it below the daemon's. */
	if (peer->oom_score_adj != spawn_self.oom_score_adj && (spawn_self.can_raise_limits || peer->oom_score_adj > spawn_self.oom_score_adj))
		s->flags |= HOLDER_SETUP_SET_OOM_SCORE_ADJ;
	if (peer->no_new_privs)
		s->flags |= HOLDER_SETUP_NO_NEW_PRIVS;
	s->flags |= peer->sched_known;
	s->sched_policy = (uint32_t)peer->sched_policy;
	s->sched_priority = (uint32_t)peer->sched_priority;
	s->nice = peer->nice;
	s->ioprio = (uint32_t)peer->ioprio;
	s->personality = peer->personality;
	memcpy(s->cpu_affinity, peer->cpu_affinity, sizeof(s->cpu_affinity));
	s->ns_mask = setup_ns_mask(peer);
	s->uid = peer->ns_uid;
	s->gid = peer->ns_gid;
	s->umask = peer->umask;
	s->oom_score_adj = peer->oom_score_adj;
	s->cap_last = spawn_self.cap_last;
	s->cap_bnd = peer->cap_bnd;
	s->cap_prm = peer->cap_prm;
	s->cap_eff = peer->cap_eff;
	s->cap_inh = peer->cap_inh;
	s->cap_amb = peer->cap_amb;
	s->sig_default = spawn_self.sig_default;
	for (int i = 0; i < HOLDER_RLIMIT_COUNT; i++) {
		const struct rlimit *own = &spawn_self.rlimits[i];

		if (!(peer->rlimit_mask & (1u << i)))
			continue;
		s->rlimits[i].cur = peer->rlimits[i].rlim_cur;
		s->rlimits[i].max = peer->rlimits[i].rlim_max;
		/* A hard limit above the daemon's own needs CAP_SYS_RESOURCE. */
		if (!spawn_self.can_raise_limits && (spawn_self.rlimits_known & (1u << i)) && s->rlimits[i].max > own->rlim_max) {
			s->rlimits[i].max = own->rlim_max;
			if (s->rlimits[i].cur > own->rlim_max)
				s->rlimits[i].cur = own->rlim_max;
		}
		/* The holder starts with the daemon's limits: set only what differs. */
		if (!(spawn_self.rlimits_known & (1u << i)) || s->rlimits[i].cur != own->rlim_cur ||
		    s->rlimits[i].max != own->rlim_max)
			s->rlimit_mask |= 1u << i;
	}
	/* The new process counts against the requester's RLIMIT_NPROC as a
	 * fork would; fork() lets CAP_SYS_RESOURCE or CAP_SYS_ADMIN (in the
	 * initial user namespace) exceed it. */
	if (count_nproc && (peer->rlimit_mask & (1u << RLIMIT_NPROC))) {
		s->flags |= HOLDER_SETUP_NPROC;
		if (peer->own_userns && (peer->cap_eff & (1ull << CAP_SYS_RESOURCE | 1ull << CAP_SYS_ADMIN)))
			s->flags |= HOLDER_SETUP_NPROC_EXEMPT;
	}
	s->n_groups = (uint32_t)peer->n_groups;
	groups = (uint32_t *)(s + 1);
	for (size_t i = 0; i < peer->n_groups; i++)
		groups[i] = peer->groups[i];
	/* Installed last, as the requester's own were (holder-proto.h step 9). */
	if (peer->seccomp) {
		s->n_filters = peer->seccomp->n_filters;
		memcpy((char *)groups + groups_len, peer->seccomp->data, peer->seccomp->len);
	}
	/* Joined first of all (step 0). */
	s->cgroup1_fds = cgroup1_fds ? (uint32_t)peer->cgroup1.n : 0;

	if (len > 64 * 1024) {
		int size = (int)len * 2;

		setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	}
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(CGROUP1_MAX * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = s, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (s->cgroup1_fds) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(peer->cgroup1.n * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(peer->cgroup1.n * sizeof(int));
		memcpy(CMSG_DATA(cm), cgroup1_fds, peer->cgroup1.n * sizeof(int));
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		r = -errno;
	free(s);
	return r;
}

/* ------------------------------------------------------------ clone */

/* A request whose clone lands in pidns_fd, unless that is the daemon's own
 * namespace (the spawner's default). Returns the number of fds put in fds. */
static size_t request_in(struct spawner_request *req, int pidns_fd, uint64_t pidns_inode, int *fds)
{
	if (pidns_fd < 0 || pidns_inode == nsref_own_pidns_inode())
		return 0;
	req->flags |= SPAWNER_IN_PIDNS;
	fds[0] = pidns_fd;
	return 1;
}

/* The kernel says only "EEXIST" for a whole set_tid; find the level by
 * trying each PID alone in its own namespace with a child that exits at once. */
static int find_busy_level(const struct nsref_chain *chain, const pid_t *pids, size_t n_pids)
{
	for (size_t i = 0; i < n_pids; i++) {
		const struct nsref_level *lv = &chain->level[i];
		struct spawner_request req = { .flags = SPAWNER_PROBE, .n_pids = 1 };
		int fds[1];
		size_t n_fds;
		long r;

		/* A namespace the clone was to create has no PIDs in use. */
		if (lv->fd < 0)
			continue;

		req.pids[0] = pids[i];
		n_fds = request_in(&req, lv->fd, lv->inode, fds);
		r = spawn_spawner_call(&req, fds, n_fds, NULL);
		if (r == -EEXIST)
			return (int)i;
	}
	return -1;
}

static int explain_clone_error(long r, const struct nsref_chain *chain,
			       const pid_t *pids, size_t n_pids, int *busy_level, struct why *why)
{
	int err = (int)-r;

	switch (err) {
	case EEXIST: {
		int lv = find_busy_level(chain, pids, n_pids);

		*busy_level = lv;

		if (lv >= 0)
			return why_set(why, EEXIST, "pid %d is in use in pid namespace level %zu (pid:[%llu])",
				       pids[lv], chain->n - 1 - (size_t)lv, (unsigned long long)chain->level[lv].inode);
		return why_set(why, EEXIST, "one of the requested PIDs was in use (it was freed again before the daemon could tell which)");
	}
	case EINVAL:
		return why_set(why, EINVAL, "the kernel refused the PIDs: one is at or above its pid namespace's pid_max, or the target namespace cannot take it");
	case ENOMEM:
		return why_set(why, ESRCH, "pid namespace pid:[%llu] has no init process any more (it exited), so no process can be created in it",
			       (unsigned long long)chain->level[0].inode);
	case EAGAIN:
		return why_set(why, EAGAIN, "no process could be created: the requester's cgroup pids.max or the namespace's pid_max is reached; try again later");
	case EPERM:
		return why_set(why, EPERM, "the daemon itself lacks the privilege to set PIDs in these namespaces (it needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE over each)");
	case ENOSYS:
	case E2BIG:
		return why_set(why, ENOSYS, "clone3() with set_tid is not available: Linux 5.5 or later is needed (and tools that trace the daemon, such as valgrind 3.19, hide clone3)");
	default:
		return why_set(why, err, "clone3 failed: %s", strerror(err));
	}
}

/* PIDs of a process at every level from the daemon's namespace inward, from
 * the NSpid line of its pidfd's fdinfo. */
int spawn_read_nspids(int pidfd, pid_t *pids, size_t *n)
{
	char path[64], buf[2048];
	const char *v;
	pid_t outer_first[PR_MAX_LEVELS];
	size_t count = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return -errno;
	v = proc_status_field(buf, "NSpid");
	if (!v)
		return -ENODATA;
	while (*v && *v != '\n' && count < PR_MAX_LEVELS) {
		char *end;
		long p = strtol(v, &end, 10);

		if (end == v)
			break;
		outer_first[count++] = (pid_t)p;
		v = end;
		while (*v == ' ' || *v == '\t')
			v++;
	}
	for (size_t i = 0; i < count; i++)
		pids[i] = outer_first[count - 1 - i];
	*n = count;
	return 0;
}

/* The cgroup and the holder's slots of a clone for peer, appended to fds in
 * the order the spawner assigns them; channel is the holder's end of its
 * channel. Returns how many were put. */
static size_t request_slots(struct spawner_request *req, const struct peer *peer, int channel, int *fds)
{
	size_t n = 0;
	uint32_t mask = setup_ns_mask(peer);

	if (peer->cgroup_fd >= 0 && spawn_self.can_clone_into_cgroup) {
		req->flags |= SPAWNER_INTO_CGROUP;
		fds[n++] = peer->cgroup_fd;
	}
	req->slot_mask = 1u << HOLDER_FD_CONTROL | 1u << HOLDER_FD_ROOT;
	fds[n++] = channel;
	fds[n++] = peer->root_fd;
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		if (mask & (1u << i)) {
			req->slot_mask |= 1u << HOLDER_FD_NS(i);
			fds[n++] = peer->ns_fd[i];
		}
	return n;
}

/* The holder's channel: the daemon's end never blocks (a parked holder runs
 * as the requester, who may stop it), the holder's end does. */
static int holder_channel(int sv[2], struct why *why)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return why_set(why, errno, "cannot create a channel to the new process: %m");
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		why_set(why, errno, "cannot make the new process's channel non-blocking: %m");
		close_fdp(&sv[0]);
		close_fdp(&sv[1]);
		return -why->err;
	}
	return 0;
}

/* ------------------------------------------------------------ new pid namespaces */

/* A holder whose clone waits for its pid namespace: a namespace helper
 * (holder-proto.h) is making it in the requester's user namespace. */
struct spawn_deferred {
	int helper_fd;               /* the daemon's end of the helper's channel */
	int helper_pidfd;            /* the helper is the spawner's child, not ours */
	uint64_t parent_inode;       /* the namespace to make it below */
	uint64_t userns_inode;       /* the namespace to own it */
	/* Its levels, the new namespace (no fd) included: for an error's
	 * explanation, which probes each one. */
	struct nsref_chain chain;
	struct spawner_request req;  /* the holder's clone, once fds[0] is the namespace */
	int fds[1 + 1 + HOLDER_FD_LAST + 1];
	size_t n_fds;
};

static void deferred_free(struct spawn_deferred *d)
{
	/* Signalled through its pidfd: it is not this daemon's child, so its
	 * PID may already name another process. Should that fail (valgrind
	 * 3.19 does not know the call), end of stream ends it. */
	if (d->helper_pidfd >= 0)
		pr_pidfd_send_signal(d->helper_pidfd, SIGKILL, NULL, 0);
	close_fdp(&d->helper_fd);
	close_fdp(&d->helper_pidfd);
	for (size_t i = 0; i < d->n_fds; i++)
		close_fdp(&d->fds[i]);
	for (size_t i = 0; i < d->chain.n; i++)
		close_fdp(&d->chain.level[i].fd);
	free(d);
}

void spawn_deferred_cancel(struct spawn_deferred *d)
{
	if (d)
		deferred_free(d);
}

int spawn_deferred_fd(const struct spawn_deferred *d)
{
	return d->helper_fd;
}

/* Starts the namespace helper in chain level 1 and keeps what the holder's
 * clone will need: duplicates of the peer's fds (the connection may close
 * meanwhile) and the holder's end of its channel, which it takes over. */
static int deferred_start(const struct peer *peer, const struct nsref_chain *chain, const pid_t *pids,
			  size_t n_pids, int *holder_end, struct spawn_deferred **ret, struct why *why)
{
	struct spawner_request helper = {
		.flags = SPAWNER_PIDNS_HELPER,
		.slot_mask = 1u << HOLDER_FD_CONTROL,
	};
	struct spawn_deferred *d = calloc(1, sizeof(*d));
	int hv[2] = { -1, -1 }, fds[3], slots[1 + HOLDER_FD_LAST + 1];
	size_t n_fds, n_slots;
	long pid;
	int r;

	if (!d)
		return why_set(why, ENOMEM, "out of memory");
	d->helper_fd = d->helper_pidfd = -1;
	d->parent_inode = chain->level[1].inode;
	d->userns_inode = peer->ns_inode[HOLDER_NS_USER];
	d->chain.level[0].fd = -1;
	for (d->chain.n = 1; d->chain.n < chain->n; d->chain.n++) {
		struct nsref_level *lv = &d->chain.level[d->chain.n];

		lv->inode = chain->level[d->chain.n].inode;
		lv->fd = fcntl(chain->level[d->chain.n].fd, F_DUPFD_CLOEXEC, 3);
		if (lv->fd < 0) {
			r = why_set(why, errno, "cannot keep the target pid namespaces for the new process: %m");
			goto fail;
		}
	}
	d->req.n_pids = (uint32_t)n_pids;
	for (size_t i = 0; i < n_pids; i++)
		d->req.pids[i] = pids[i];
	/* fds[0] is the namespace, once there is one. */
	d->fds[d->n_fds++] = -1;
	n_slots = request_slots(&d->req, peer, *holder_end, slots);
	for (size_t i = 0; i < n_slots; i++) {
		int fd = slots[i] == *holder_end ? slots[i] : fcntl(slots[i], F_DUPFD_CLOEXEC, 3);

		if (fd < 0) {
			r = why_set(why, errno, "cannot keep the requester's fds for the new process: %m");
			goto fail;
		}
		if (fd == *holder_end)
			*holder_end = -1;
		d->fds[d->n_fds++] = fd;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, hv) < 0 || fcntl(hv[0], F_SETFL, O_NONBLOCK) < 0) {
		r = why_set(why, errno, "cannot create a channel to the namespace helper: %m");
		goto fail;
	}
	n_fds = request_in(&helper, chain->level[1].fd, chain->level[1].inode, fds);
	fds[n_fds++] = hv[1];
	if (!peer->own_userns) {
		helper.slot_mask |= 1u << HOLDER_FD_NS(HOLDER_NS_USER);
		fds[n_fds++] = peer->userns_fd;
	}
	pid = spawn_spawner_call(&helper, fds, n_fds, &d->helper_pidfd);
	if (pid < 0) {
		r = why_set(why, (int)-pid, "cannot start the helper that makes a pid namespace owned by your user namespace: %s",
			    strerror((int)-pid));
		goto fail;
	}
	if (d->helper_pidfd < 0) {
		r = why_set(why, EIO, "the spawner sent no pidfd for the namespace helper");
		goto fail;
	}
	close_fdp(&hv[1]);
	d->helper_fd = hv[0];
	*ret = d;
	return 0;
fail:
	close_fdp(&hv[0]);
	close_fdp(&hv[1]);
	deferred_free(d);
	return r;
}

/* What the helper said; 0 when it made the namespace. */
static int deferred_read_answer(struct spawn_deferred *d, struct why *why)
{
	struct holder_report rep;
	ssize_t n;

	do
		n = recv(d->helper_fd, &rep, sizeof(rep), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n != sizeof(rep) || (rep.type != HOLDER_REPORT_READY && rep.type != HOLDER_REPORT_SETUP_FAILED))
		return why_set(why, ESRCH, "the helper that was to make your new pid namespace ended before it answered (was it killed?)");
	if (rep.type == HOLDER_REPORT_READY)
		return 0;
	if (rep.step == HOLDER_STEP_SETNS_USER)
		return why_set(why, rep.error > 0 ? rep.error : EIO, "cannot enter your user namespace to create a pid namespace it owns: %s",
			       strerror(rep.error));
	return why_set(why, rep.error > 0 ? rep.error : EIO,
		       "cannot create a pid namespace owned by your user namespace below pid:[%llu]: %s%s",
		       (unsigned long long)d->parent_inode, strerror(rep.error),
		       rep.error == EPERM ? " (the kernel requires the owner of a new pid namespace to be inside the owner of its parent)" : "");
}

/* ns's inode, and that of what the nsfs ioctl request gives of it. */
static uint64_t ns_related_inode(int ns, unsigned long request)
{
	int fd = ioctl(ns, request, 0);
	uint64_t inode;

	if (fd < 0)
		return 0;
	inode = fd_inode(fd);
	close(fd);
	return inode;
}

/* The helper's namespace for children, checked to be a new one, below the
 * parent and owned by the requester's user namespace, whatever the helper,
 * which the requester can reach, did meanwhile. */
static int deferred_take_pidns(struct spawn_deferred *d, int *ret_fd, struct why *why)
{
	int nsfd = ioctl(d->helper_pidfd, PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, 0);

	if (nsfd < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			return why_set(why, ENOSYS, "this kernel cannot hand over an empty pid namespace (PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, Linux 6.11), which a new pid namespace owned by your user namespace needs");
		if (errno == ESRCH)
			return why_set(why, ESRCH, "the helper that made your new pid namespace ended before the daemon could take it (was it killed?)");
		return why_set(why, errno, "cannot take the new pid namespace: %m");
	}
	fcntl(nsfd, F_SETFD, FD_CLOEXEC);
	if (fd_inode(nsfd) == d->parent_inode || ns_related_inode(nsfd, NS_GET_PARENT) != d->parent_inode ||
	    ns_related_inode(nsfd, NS_GET_USERNS) != d->userns_inode) {
		close(nsfd);
		return why_set(why, EIO, "the namespace helper's pid namespace is not a new one below pid:[%llu] owned by your user namespace",
			       (unsigned long long)d->parent_inode);
	}
	*ret_fd = nsfd;
	return 0;
}
/* The pidfd of a child just cloned: the spawner's, or one opened now. A
 * child that cannot be watched is killed; its PID stays taken until the
 * daemon exits, and the log says so. Returns the pidfd or -errno. */
static int watch_new_child(long pid, int pidfd, struct why *why)
{
	if (pidfd < 0)
		pidfd = spawn_child_pidfd((pid_t)pid);
	if (pidfd >= 0)
		return pidfd;
	kill((pid_t)pid, SIGKILL);
	log_error("process %ld stays a zombie until the daemon exits: it could not be watched", pid);
	return why_set(why, EIO, "no pidfd for the new process %ld", pid);
}


int spawn_deferred_finish(struct spawn_deferred *d, struct spawn_result *ret, struct why *why)
{
	int pidfd = -1, r;
	long pid;

	r = deferred_read_answer(d, why);
	if (r == -EAGAIN)
		return r;
	if (r == 0)
		r = deferred_take_pidns(d, &d->fds[0], why);
	if (r < 0)
		goto out;
	d->req.flags |= SPAWNER_IN_PIDNS;
	pid = spawn_spawner_call(&d->req, d->fds, d->n_fds, &pidfd);
	if (pid < 0) {
		pid_t pids[SPAWNER_MAX_PIDS];
		int busy;

		for (size_t i = 0; i < d->req.n_pids; i++)
			pids[i] = d->req.pids[i];
		d->chain.level[0].inode = fd_inode(d->fds[0]);
		r = explain_clone_error(pid, &d->chain, pids, d->req.n_pids, &busy, why);
		goto out;
	}
	pidfd = watch_new_child(pid, pidfd, why);
	if (pidfd < 0) {
		r = pidfd;
		goto out;
	}
	ret->pid = (pid_t)pid;
	ret->pidfd = pidfd;
	ret->pidns_inode = fd_inode(d->fds[0]);
	if (d->req.n_pids == d->chain.n || spawn_read_nspids(pidfd, ret->pids, &ret->n_pids) < 0) {
		ret->n_pids = d->req.n_pids;
		for (size_t i = 0; i < ret->n_pids; i++)
			ret->pids[i] = d->req.pids[i];
	}
	r = 0;
out:
	deferred_free(d);
	return r;
}

/* ------------------------------------------------------------ holders */

/* The clone of req in where with set_tid = pids, the holder's end of its
 * channel sv[1] at its slot: fills ret's pid, pidfd and control_fd (sv[0],
 * taken) or returns -errno with why. */
static int clone_by_spawner(struct spawner_request *req, const struct peer *peer, const struct nsref_chain *chain,
			    const struct nsref_level *where, const pid_t *pids, size_t n_pids, int sv[2],
			    struct spawn_result *ret, struct why *why)
{
	int fds[2 + HOLDER_FD_LAST + 1], pidfd = -1;
	size_t n_fds;
	long pid;

	n_fds = request_in(req, where->fd, where->inode, fds);
	n_fds += request_slots(req, peer, sv[1], fds + n_fds);
	req->n_pids = (uint32_t)n_pids;
	for (size_t i = 0; i < n_pids; i++)
		req->pids[i] = pids[i];
	pid = spawn_spawner_call(req, fds, n_fds, &pidfd);
	if (pid < 0)
		return explain_clone_error(pid, chain, pids, n_pids, &ret->busy_level, why);
	close_fdp(&sv[1]);
	pidfd = watch_new_child(pid, pidfd, why);
	if (pidfd < 0)
		return pidfd;
	ret->pid = (pid_t)pid;
	ret->pidfd = pidfd;
	ret->control_fd = sv[0];
	sv[0] = -1;
	return 0;
}

int spawn_holder(const struct peer *peer, const struct nsref_chain *chain, bool clone_newpid,
		 const pid_t *pids, size_t n_pids, struct spawn_result *ret, struct why *why)
{
	/* With CLONE_NEWPID the clone itself creates level 0: switch to level 1. */
	size_t first = clone_newpid ? 1 : 0;
	const struct nsref_level *where = &chain->level[first];
	struct spawner_request req = { .flags = clone_newpid ? SPAWNER_NEWPID : 0 };
	int sv[2] = { -1, -1 }, pidfd, r;
	int cgroup1_fds[CGROUP1_MAX];

	memset(ret, 0, sizeof(*ret));
	ret->pidfd = ret->control_fd = -1;
	ret->busy_level = -1;
	if (peer->cgroup_fd < 0 && peer->cgroup_error && spawn_self.can_clone_into_cgroup)
		return why_set(why, peer->cgroup_error,
			       "the daemon cannot open the requester's cgroup (%s), and a new process must start in it, never in the daemon's; run the requester in a cgroup with a shorter path, or one the daemon can open",
			       strerror(peer->cgroup_error));
	if (peer->cgroup1.error)
		return why_set(why, peer->cgroup1.error, "%s", peer->cgroup1.error_text);
	r = cgroup1_check_pids(&peer->cgroup1, why);
	if (r < 0)
		return r;
	r = cgroup1_open_procs(&peer->cgroup1, cgroup1_fds, why);
	if (r < 0)
		return r;

	r = holder_channel(sv, why);
	if (r == 0) {
		r = queue_setup(sv[0], peer, cgroup1_fds, true);
		if (r < 0)
			why_set(why, -r, "cannot queue the holder's setup: %s", strerror(-r));
	}
	/* Queued with the setup: the holder's now. */
	for (size_t i = 0; i < peer->cgroup1.n; i++)
		close(cgroup1_fds[i]);
	if (r < 0)
		goto fail;

	/* A new pid namespace for a requester in another user namespace, or
	 * below a pid namespace that is not the daemon's (the kernel makes one
	 * only below its creator's active namespace), is made by a helper
	 * there, whose answer the caller awaits from its event loop
	 * (spawn_deferred_finish()): the holder is cloned then. */
	if (clone_newpid && (!peer->own_userns || (where->fd >= 0 && where->inode != nsref_own_pidns_inode()))) {
		r = deferred_start(peer, chain, pids, n_pids, &sv[1], &ret->deferred, why);
		if (r < 0)
			goto fail;
		ret->control_fd = sv[0];
		ret->n_pids = n_pids;
		memcpy(ret->pids, pids, n_pids * sizeof(pid_t));
		return 0;
	}

	r = clone_by_spawner(&req, peer, chain, where, pids, n_pids, sv, ret, why);
	if (r < 0)
		goto fail;
	pidfd = ret->pidfd;
	if (n_pids == chain->n) {
		/* Every level's PID was chosen: there is nothing to look up. */
		ret->n_pids = n_pids;
		memcpy(ret->pids, pids, n_pids * sizeof(pid_t));
	} else if (spawn_read_nspids(pidfd, ret->pids, &ret->n_pids) < 0) {
		/* fdinfo can only be missing if procfs is: report what is known. */
		ret->n_pids = n_pids;
		memcpy(ret->pids, pids, n_pids * sizeof(pid_t));
	}
	if (clone_newpid) {
		int nsfd = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);

		if (nsfd >= 0) {
			ret->pidns_inode = fd_inode(nsfd);
			close(nsfd);
		}
	} else {
		ret->pidns_inode = chain->level[0].inode;
	}
	return 0;

fail:
	close_fdp(&sv[0]);
	close_fdp(&sv[1]);
	return r;
}

/* ------------------------------------------------------------ a tree's builder */

/* The build, the credentials and the plan, queued before the clone
 * (tree-proto.h). The plan may exceed the default socket buffer. */
static int queue_build(int sock, const struct peer *peer, const void *plan, size_t plan_len)
{
	struct tree_build build = { .magic = TREE_BUILD_MAGIC, .plan_len = (uint32_t)plan_len };
	int size = (int)(plan_len + 64 * 1024) * 2;
	int r;

	if (plan_len > UINT32_MAX / 4)
		return -EMSGSIZE;
	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		return -errno;
	if (send(sock, &build, sizeof(build), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	/* A tree's processes count against the requester's RLIMIT_NPROC as
	 * the kernel clones them; the builder, root, is exempt. */
	r = queue_setup(sock, peer, NULL, false);
	if (r == 0 && send(sock, plan, plan_len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		r = -errno;
	return r;
}

int spawn_builder(const struct peer *peer, const struct nsref_chain *chain, const pid_t *pids, size_t n_pids,
		  const void *plan, size_t plan_len, struct spawn_result *ret, struct why *why)
{
	struct spawner_request req = { 0 };
	int sv[2] = { -1, -1 }, r;

	memset(ret, 0, sizeof(*ret));
	ret->pidfd = ret->control_fd = -1;
	ret->busy_level = -1;
	/* The builder takes no fds with its setup: it could not join them. */
	if (peer->cgroup1.n || peer->cgroup1.error)
		return why_set(why, ENOTSUP,
			       "the requester is in %zu cgroup v1 hierarchies, which a tree's processes cannot join; build the tree from a process whose v1 cgroups are the hierarchies' roots, or reserve its processes one by one",
			       peer->cgroup1.n ? peer->cgroup1.n : 1);
	r = holder_channel(sv, why);
	if (r < 0)
		return r;
	r = queue_build(sv[0], peer, plan, plan_len);
	if (r < 0) {
		why_set(why, -r, "cannot queue the tree's plan for its builder: %s", strerror(-r));
		goto fail;
	}
	r = clone_by_spawner(&req, peer, chain, &chain->level[0], pids, n_pids, sv, ret, why);
	if (r == 0)
		return 0;

fail:
	close_fdp(&sv[0]);
	close_fdp(&sv[1]);
	return r;
}
