/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "nsref.h"

static int own_pidns_fd = -1;
static int pid_max_fd = -1;
static uint64_t own_pidns_inode;
static uint64_t own_userns_inode;
static struct policy_nsid own_userns_id;
static struct nsref_userns_chain own_pidns_userns;

static int level_fill(struct nsref_level *lv);

static int ns_id(int fd, struct policy_nsid *ret)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*ret = (struct policy_nsid){ .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino };
	return 0;
}

static bool same_ns(const struct policy_nsid *a, const struct policy_nsid *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int nsref_init(struct why *why)
{
	struct nsref_level own = { 0 };
	int userns, r;

	own_pidns_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own_pidns_fd < 0)
		return why_set(why, errno, "cannot open /proc/self/ns/pid: %m; is /proc mounted?");
	own_pidns_inode = fd_inode(own_pidns_fd);
	userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return why_set(why, errno, "cannot open /proc/self/ns/user: %m");
	own_userns_inode = fd_inode(userns);
	r = ns_id(userns, &own_userns_id);
	close(userns);
	if (r < 0)
		return why_set(why, -r, "cannot inspect the daemon's own user namespace: %s", strerror(-r));
	/* Most requests name the daemon's own namespace: its user namespaces
	 * are looked up once, not per request. */
	own.fd = own_pidns_fd;
	r = level_fill(&own);
	if (r < 0)
		return why_set(why, -r, "cannot inspect the daemon's own pid namespace: %s", strerror(-r));
	own_pidns_userns = own.userns;
	/* Kept open: it is read for every request, and opening it cost more
	 * than the rest of a request's checks together. */
	pid_max_fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (pid_max_fd < 0)
		return why_set(why, errno, "cannot open /proc/sys/kernel/pid_max: %m");
	return 0;
}

pid_t nsref_own_pid_max(void)
{
	char buf[32];
	ssize_t n;

	do
		n = pread(pid_max_fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 32768;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

uint64_t nsref_own_pidns_inode(void)
{
	return own_pidns_inode;
}

uint64_t nsref_own_userns_inode(void)
{
	return own_userns_inode;
}

struct policy_nsid nsref_own_userns_id(void)
{
	return own_userns_id;
}

int nsref_own_pidns_fd(void)
{
	return own_pidns_fd;
}

/* What an fd points to, as /proc/self/fd shows it: "pid:[4026531836]",
 * "anon_inode:[pidfd]", "socket:[1234]", a path. */
static void fd_link(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}

/* An fd of the wrong kind, in words, for the refusal. */
static const char *fd_kind(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFSOCK:
		return "a socket";
	case S_IFIFO:
		return "a pipe";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	default:
		/* eventfd, signalfd, timerfd, epoll, ...: anonymous inodes. */
		return "an anonymous-inode fd";
	}
}

/* The pid of a pidfd's process as the daemon sees it: -1 once it was
 * reaped, 0 when it is not visible in the daemon's pid namespace. */
static int pidfd_pid(int fd)
{
	char path[64], buf[4096];
	const char *v;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0 || !(v = proc_status_field(buf, "Pid")))
		return -1;
	return atoi(v);
}

static int pidfd_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* A pidfd polls readable once its process exited, reaped or not. */
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

/* Kernels before 6.11 have no PIDFD_GET_PID_NAMESPACE: open the pid's /proc
 * entry, and check the pidfd's process is still alive afterwards, so the
 * pid was not reused in between. */
static int pidns_from_pidfd_procfs(int fd, int pid, int *ret_fd, struct why *why)
{
	char path[64];
	int nsfd;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 && errno != ENOENT && errno != ESRCH)
		return why_set(why, errno, "cannot open the pid namespace of process %d, which the pidfd passed as the target pid namespace refers to: %m",
			       pid);
	if (nsfd < 0 || pidfd_exited(fd)) {
		if (nsfd >= 0)
			close(nsfd);
		return why_set(why, ESRCH, "the pidfd passed as the target pid namespace refers to a process that has exited (pid %d); pass one of a live process",
			       pid);
	}
	*ret_fd = nsfd;
	return 0;
}

/* The active pid namespace of a pidfd's process. A process that exited,
 * even one not reaped yet, names none: its namespace may be on its way out,
 * and the requester meant a live process. */
static int pidns_from_pidfd(int fd, int *ret_fd, struct why *why)
{
	int pid = pidfd_pid(fd), nsfd;

	if (pid < 0 || pidfd_exited(fd))
		return why_set(why, ESRCH, "the pidfd passed as the target pid namespace refers to a process that has exited%s; pass one of a live process",
			       pid < 0 ? " and was reaped" : " (a zombie)");
	if (pid == 0)
		return why_set(why, EINVAL, "the pidfd passed as the target pid namespace refers to a process outside the daemon's pid namespace (pid:[%llu]); name a namespace the daemon can see",
			       (unsigned long long)own_pidns_inode);
	nsfd = ioctl(fd, PIDFD_GET_PID_NAMESPACE, 0);
	if (nsfd >= 0) {
		/* The ioctl's fd is not close-on-exec on every kernel. */
		fcntl(nsfd, F_SETFD, FD_CLOEXEC);
		*ret_fd = nsfd;
		return 0;
	}
	if (errno == ESRCH)
		return why_set(why, ESRCH, "the pidfd passed as the target pid namespace refers to a process that has exited (pid %d); pass one of a live process",
			       pid);
	if (errno != ENOTTY)
		return why_set(why, errno, "cannot get the pid namespace of process %d, which the pidfd passed as the target pid namespace refers to: %m",
			       pid);
	return pidns_from_pidfd_procfs(fd, pid, ret_fd, why);
}

/* Only fds known to be namespaces or pidfds get their ioctls: a device's
 * driver could read the same numbers as its own commands. */
int nsref_pidns_from_fd(int fd, int *ret_fd, struct why *why)
{
	struct statfs sfs;
	struct stat st;
	char link[256];
	int type, nsfd;

	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return why_set(why, errno, "cannot inspect the fd passed as the target pid namespace: %m");
	fd_link(fd, link, sizeof(link));
	if (sfs.f_type == NSFS_MAGIC) {
		type = ioctl(fd, NS_GET_NSTYPE);
		if (type < 0)
			return why_set(why, errno, "cannot tell the type of the namespace passed as the target pid namespace (%s): %m", link);
		if (type != CLONE_NEWPID)
			return why_set(why, EINVAL, "the fd passed as the target pid namespace is a namespace of another type (%s); pass /proc/PID/ns/pid or a pidfd",
				       link);
		nsfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nsfd < 0)
			return why_set(why, errno, "cannot duplicate the pid namespace fd: %m");
		*ret_fd = nsfd;
		return 0;
	}
	if ((sfs.f_type == PR_PID_FS_MAGIC || sfs.f_type == ANON_INODE_FS_MAGIC) && strcmp(link, "anon_inode:[pidfd]") == 0)
		return pidns_from_pidfd(fd, ret_fd, why);
	return why_set(why, EINVAL, "the fd passed as the target pid namespace is %s (%s), neither a pid namespace (/proc/PID/ns/pid) nor a pidfd",
		       fd_kind(&st), link);
}

int nsref_userns_chain(int userns_fd, struct nsref_userns_chain *ret)
{
	int fd = fcntl(userns_fd, F_DUPFD_CLOEXEC, 3), r = 0;

	ret->n = 0;
	ret->reaches_own = false;
	if (fd < 0)
		return -errno;
	for (;;) {
		struct policy_userns *u;
		int parent;

		if (ret->n == PR_MAX_LEVELS) {
			/* Deeper than the kernel nests user namespaces. */
			r = -ELOOP;
			break;
		}
		u = &ret->userns[ret->n];
		r = ns_id(fd, &u->id);
		if (r < 0)
			break;
		if (same_ns(&u->id, &own_userns_id)) {
			ret->reaches_own = true;
			break;
		}
		/* Set first: valgrind does not know this ioctl writes it. */
		u->owner = (uid_t)-1;
		if (ioctl(fd, NS_GET_OWNER_UID, &u->owner) < 0) {
			r = -errno;
			break;
		}
		ret->n++;
		parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0) {
			/* EPERM: the parent is outside the daemon's user
			 * namespace (or there is none): the chain stops short
			 * of it, and nothing is known beyond. */
			if (errno != EPERM)
				r = -errno;
			break;
		}
		close(fd);
		fd = parent;
	}
	close(fd);
	return r;
}

void nsref_requester_userns(int userns_fd, struct policy_nsid *id, bool *is_daemons)
{
	if (ns_id(userns_fd, id) < 0) {
		*id = (struct policy_nsid){ 0 };
		*is_daemons = false;
		return;
	}
	*is_daemons = same_ns(id, &own_userns_id);
}

static int level_fill(struct nsref_level *lv)
{
	int userns, r;

	lv->inode = fd_inode(lv->fd);
	lv->userns.n = 0;
	lv->userns.reaches_own = false;
	userns = ioctl(lv->fd, NS_GET_USERNS);
	if (userns < 0)
		return -errno;
	r = nsref_userns_chain(userns, &lv->userns);
	close(userns);
	return r;
}

int nsref_chain_build(int pidns_fd, struct nsref_chain *chain, struct why *why)
{
	int fd, r;

	chain->n = 0;
	fd = fcntl(pidns_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return why_set(why, errno, "cannot duplicate a pid namespace fd: %m");
	for (;;) {
		struct nsref_level *lv;
		int parent;

		if (chain->n == PR_MAX_LEVELS) {
			close(fd);
			r = why_set(why, EINVAL, "the pid namespace is nested deeper than the kernel allows");
			goto fail;
		}
		lv = &chain->level[chain->n++];
		lv->fd = fd;
		if (chain->n == 1 && fd_inode(fd) == own_pidns_inode) {
			lv->inode = own_pidns_inode;
			lv->userns = own_pidns_userns;
			return 0;
		}
		r = level_fill(lv);
		if (r < 0) {
			why_set(why, -r, "cannot inspect pid namespace pid:[%llu]: %s",
				(unsigned long long)lv->inode, strerror(-r));
			goto fail;
		}
		if (lv->inode == own_pidns_inode)
			return 0;
		parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0) {
			r = why_set(why, EINVAL, "pid namespace pid:[%llu] is not inside the daemon's pid namespace (pid:[%llu]); name a namespace the daemon can see",
				    (unsigned long long)chain->level[0].inode, (unsigned long long)own_pidns_inode);
			goto fail;
		}
		fd = parent;
	}
fail:
	nsref_chain_release(chain);
	return r;
}

void nsref_chain_release(struct nsref_chain *chain)
{
	for (size_t i = 0; i < chain->n; i++)
		close_fdp(&chain->level[i].fd);
	chain->n = 0;
}
