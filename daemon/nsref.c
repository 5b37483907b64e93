#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsref.h"

static int own_pidns_fd = -1;
static uint64_t own_pidns_inode;
static uint64_t own_userns_inode;

int nsref_init(struct why *why)
{
	int userns;

	own_pidns_fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own_pidns_fd < 0)
		return why_set(why, errno, "cannot open /proc/self/ns/pid: %m; is /proc mounted?");
	own_pidns_inode = fd_inode(own_pidns_fd);
	userns = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	if (userns < 0)
		return why_set(why, errno, "cannot open /proc/self/ns/user: %m");
	own_userns_inode = fd_inode(userns);
	close(userns);
	return 0;
}

uint64_t nsref_own_pidns_inode(void)
{
	return own_pidns_inode;
}

uint64_t nsref_own_userns_inode(void)
{
	return own_userns_inode;
}

int nsref_own_pidns_fd(void)
{
	return own_pidns_fd;
}

/* Kernels before 6.11 have no PIDFD_GET_PID_NAMESPACE: find the pid through
 * fdinfo, open its /proc entry, and check the pidfd's process is still alive
 * afterwards, so the pid was not reused in between. */
static int pidns_from_pidfd_procfs(int fd, int *ret_fd, struct why *why)
{
	char path[64], buf[4096];
	const char *v;
	int pid, nsfd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_file_at(AT_FDCWD, path, buf, sizeof(buf)) < 0 || !(v = proc_status_field(buf, "Pid")))
		return why_set(why, EINVAL, "the fd passed as pid namespace is neither a pid namespace nor a pidfd");
	pid = atoi(v);
	if (pid <= 0)
		return why_set(why, ESRCH, "the pidfd passed as pid namespace refers to a process that has exited or is not visible to the daemon");
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || pr_pidfd_send_signal(fd, 0, NULL, 0) < 0) {
		if (nsfd >= 0)
			close(nsfd);
		return why_set(why, ESRCH, "the pidfd passed as pid namespace refers to a process that has exited");
	}
	*ret_fd = nsfd;
	return 0;
}

int nsref_pidns_from_fd(int fd, int *ret_fd, struct why *why)
{
	char link[64], target[64];
	ssize_t n;
	int type, nsfd;

	type = ioctl(fd, NS_GET_NSTYPE);
	if (type >= 0) {
		if (type != CLONE_NEWPID)
			return why_set(why, EINVAL, "the fd passed as pid namespace is a namespace of another type; pass /proc/PID/ns/pid or a pidfd");
		nsfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nsfd < 0)
			return why_set(why, errno, "cannot duplicate the pid namespace fd: %m");
		*ret_fd = nsfd;
		return 0;
	}

	nsfd = ioctl(fd, PIDFD_GET_PID_NAMESPACE, 0);
	if (nsfd >= 0) {
		/* The ioctl's fd is not close-on-exec on every kernel. */
		fcntl(nsfd, F_SETFD, FD_CLOEXEC);
		*ret_fd = nsfd;
		return 0;
	}
	if (errno == ESRCH)
		return why_set(why, ESRCH, "the pidfd passed as pid namespace refers to a process that has exited");

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[pidfd]") == 0)
			return pidns_from_pidfd_procfs(fd, ret_fd, why);
	}
	return why_set(why, EINVAL, "the fd passed as pid namespace is neither a pid namespace (/proc/PID/ns/pid) nor a pidfd");
}

int nsref_userns_owners(int userns_fd, struct nsref_owners *ret)
{
	int fd = fcntl(userns_fd, F_DUPFD_CLOEXEC, 3);

	ret->n = 0;
	if (fd < 0)
		return -errno;
	while (ret->n < PR_MAX_LEVELS && fd_inode(fd) != own_userns_inode) {
		uid_t owner = 0;
		int parent;

		if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
			break;
		ret->uid[ret->n++] = owner;
		parent = ioctl(fd, NS_GET_PARENT);
		close(fd);
		/* EPERM: the parent is outside the daemon's user namespace. */
		if (parent < 0)
			return 0;
		fd = parent;
	}
	close(fd);
	return 0;
}

static int level_fill(struct nsref_level *lv)
{
	int userns, r;

	lv->inode = fd_inode(lv->fd);
	lv->owners.n = 0;
	userns = ioctl(lv->fd, NS_GET_USERNS);
	if (userns < 0)
		return -errno;
	r = nsref_userns_owners(userns, &lv->owners);
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
