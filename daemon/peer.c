#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "kernel.h"
#include "log.h"
#include "nsref.h"
#include "peer.h"

static const char *const ns_names[HOLDER_NS_COUNT] = {
	[HOLDER_NS_USER] = "user", [HOLDER_NS_MNT] = "mnt", [HOLDER_NS_NET] = "net",
	[HOLDER_NS_IPC] = "ipc", [HOLDER_NS_UTS] = "uts", [HOLDER_NS_CGROUP] = "cgroup",
	[HOLDER_NS_TIME] = "time",
};

static char cgroup2_root[PATH_MAX];

void peer_init_cgroup_root(void)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	cgroup2_root[0] = '\0';
	if (!f)
		return;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	while (getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], mnt[PATH_MAX], fstype[64];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		/* Only a mount of the hierarchy's root maps /proc/PID/cgroup paths. */
		if (strcmp(root, "/") != 0)
			continue;
		snprintf(cgroup2_root, sizeof(cgroup2_root), "%s", mnt);
		break;
	}
	free(line);
	fclose(f);
}

bool peer_cgroup2_available(void)
{
	return cgroup2_root[0] != '\0';
}

static int read_groups(int sock, struct peer *peer)
{
	socklen_t len = 64 * sizeof(gid_t);

	for (;;) {
		gid_t *g = realloc(peer->groups, len ? len : sizeof(gid_t));

		if (!g)
			return -ENOMEM;
		peer->groups = g;
		if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			peer->n_groups = len / sizeof(gid_t);
			return 0;
		}
		if (errno != ERANGE)
			return -errno;
	}
}

static int parse_hex_caps(const char *status, const char *key, uint64_t *ret)
{
	const char *v = proc_status_field(status, key);

	if (!v)
		return -ENODATA;
	*ret = strtoull(v, NULL, 16);
	return 0;
}

static int read_status(int procfd, struct peer *peer, struct why *why)
{
	char buf[8192];
	const char *v;

	if (read_file_at(procfd, "status", buf, sizeof(buf)) < 0)
		return why_set(why, ESRCH, "cannot read the requester's /proc/%d/status; has it exited?", peer->pid);
	if (parse_hex_caps(buf, "CapInh", &peer->cap_inh) < 0 ||
	    parse_hex_caps(buf, "CapPrm", &peer->cap_prm) < 0 ||
	    parse_hex_caps(buf, "CapEff", &peer->cap_eff) < 0 ||
	    parse_hex_caps(buf, "CapBnd", &peer->cap_bnd) < 0)
		return why_set(why, EIO, "the requester's /proc/%d/status has no capability lines", peer->pid);
	if (parse_hex_caps(buf, "CapAmb", &peer->cap_amb) < 0)
		peer->cap_amb = 0;
	v = proc_status_field(buf, "NoNewPrivs");
	peer->no_new_privs = v && atoi(v) != 0;
	v = proc_status_field(buf, "Seccomp");
	peer->seccomp_mode = v ? atoi(v) : 0;
	v = proc_status_field(buf, "Umask");
	peer->umask = v ? (unsigned int)strtoul(v, NULL, 8) : 022;
	return 0;
}

/* Translates an id the daemon sees into the requester's user namespace,
 * with the requester's uid_map/gid_map as read from the daemon's namespace
 * ("inside outside count", outside relative to the reader). */
static int map_id_into(int procfd, const char *file, uint32_t id, uint32_t *ret)
{
	char buf[4096];
	const char *p = buf;

	if (read_file_at(procfd, file, buf, sizeof(buf)) < 0)
		return -ESRCH;
	while (*p) {
		unsigned long inside, outside, count;
		int consumed;

		if (sscanf(p, " %lu %lu %lu%n", &inside, &outside, &count, &consumed) != 3)
			break;
		if (id >= outside && id - outside < count) {
			*ret = (uint32_t)(inside + (id - outside));
			return 0;
		}
		p += consumed;
	}
	return -ENOENT;
}

/* A cgroup that cannot be opened is no reason to refuse the connection,
 * but the reason every process it asks for is refused (spawn_holder()):
 * a child must never land in the daemon's cgroup instead (DESIGN §6). */
static int open_cgroup(int procfd, struct peer *peer)
{
	char buf[8192], path[2 * PATH_MAX];
	const char *line;
	ssize_t n;

	peer->cgroup_fd = -1;
	peer->cgroup_error = 0;
	if (!peer_cgroup2_available())
		return 0;
	n = read_file_at(procfd, "cgroup", buf, sizeof(buf));
	if (n == -EFBIG) {
		peer->cgroup_error = ENAMETOOLONG;
		return 0;
	}
	if (n < 0)
		return -ESRCH;
	for (line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (snprintf(path, sizeof(path), "%s%.*s", cgroup2_root, (int)(end - line - 3), line + 3) >= (int)sizeof(path)) {
			peer->cgroup_error = ENAMETOOLONG;
			return 0;
		}
		peer->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (peer->cgroup_fd < 0) {
			peer->cgroup_error = errno;
			log_debug("requester pid %d: cannot open its cgroup %s: %m; it will be refused every process", peer->pid, path);
		}
		return 0;
	}
	peer->cgroup_error = ENOENT;
	return 0;
}

static int open_namespaces(int procfd, struct peer *peer, struct why *why)
{
	char path[32];

	for (int i = 0; i < HOLDER_NS_COUNT; i++) {
		snprintf(path, sizeof(path), "ns/%s", ns_names[i]);
		peer->ns_fd[i] = openat(procfd, path, O_RDONLY | O_CLOEXEC);
		if (peer->ns_fd[i] < 0) {
			/* Time namespaces are 5.6+; everything else must be there. */
			if (errno == ENOENT && i == HOLDER_NS_TIME)
				continue;
			return why_set(why, ESRCH, "cannot open the requester's /proc/%d/ns/%s: %m", peer->pid, ns_names[i]);
		}
		peer->ns_inode[i] = fd_inode(peer->ns_fd[i]);
	}
	peer->userns_fd = peer->ns_fd[HOLDER_NS_USER];
	peer->pidns_fd = openat(procfd, "ns/pid", O_RDONLY | O_CLOEXEC);
	if (peer->pidns_fd < 0)
		return why_set(why, ESRCH, "cannot open the requester's /proc/%d/ns/pid: %m", peer->pid);
	peer->pidns_inode = fd_inode(peer->pidns_fd);
	peer->root_fd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (peer->root_fd < 0)
		return why_set(why, ESRCH, "cannot open the requester's root directory /proc/%d/root: %m", peer->pid);
	return 0;
}

/* /proc/PID/limits rows, in resource order: "Max cpu time  unlimited  unlimited  seconds".
 * Read rather than prlimit(): prlimit needs CAP_SYS_RESOURCE over another
 * user's process, which a confined daemon may not have. */
static void read_limits(int procfd, struct peer *peer)
{
	static const char *const names[HOLDER_RLIMIT_COUNT] = {
		"Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
		"Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
		"Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority",
		"Max realtime priority", "Max realtime timeout",
	};
	char buf[4096], cur[32], max[32];

	peer->rlimit_mask = 0;
	if (read_file_at(procfd, "limits", buf, sizeof(buf)) > 0) {
		for (int r = 0; r < HOLDER_RLIMIT_COUNT; r++) {
			const char *row = strstr(buf, names[r]);

			if (!row || sscanf(row + 26, "%31s %31s", cur, max) != 2)
				continue;
			peer->rlimits[r].rlim_cur = strcmp(cur, "unlimited") == 0 ? RLIM_INFINITY : strtoull(cur, NULL, 10);
			peer->rlimits[r].rlim_max = strcmp(max, "unlimited") == 0 ? RLIM_INFINITY : strtoull(max, NULL, 10);
			peer->rlimit_mask |= 1u << r;
		}
	}
	peer->oom_score_adj = 0;
	if (read_file_at(procfd, "oom_score_adj", buf, sizeof(buf)) > 0)
		peer->oom_score_adj = atoi(buf);
}

/* The scheduling a fork() of the requester would pass on: policy and
 * priority, nice, CPU affinity, I/O priority and personality. A requester
 * with SCHED_RESET_ON_FORK would give its child SCHED_OTHER and a nice of
 * at least 0; one with SCHED_DEADLINE cannot fork at all, and its child
 * gets SCHED_OTHER. Read by PID; peer_capture() checks the pidfd after. */
_Static_assert(sizeof(((struct peer *)0)->cpu_affinity) == sizeof(cpu_set_t), "an affinity mask is one cpu_set_t");

static void read_scheduling(int procfd, struct peer *peer)
{
	struct sched_param param;
	cpu_set_t cpus;
	char buf[32];
	int policy, nice, ioprio;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)peer->pid);
	policy = sched_getscheduler(peer->pid);
	if (errno == 0 && policy >= 0 && sched_getparam(peer->pid, &param) == 0) {
		bool reset = policy & SCHED_RESET_ON_FORK;

		policy &= ~SCHED_RESET_ON_FORK;
		if (policy == SCHED_DEADLINE || (reset && (policy == SCHED_FIFO || policy == SCHED_RR))) {
			policy = SCHED_OTHER;
			param.sched_priority = 0;
		}
		if (reset && nice < 0)
			nice = 0;
		peer->sched_policy = policy;
		peer->sched_priority = param.sched_priority;
		peer->nice = nice;
		peer->sched_known |= HOLDER_SETUP_SCHED;
	}
	CPU_ZERO(&cpus);
	if (sched_getaffinity(peer->pid, sizeof(cpus), &cpus) == 0) {
		memcpy(peer->cpu_affinity, &cpus, sizeof(peer->cpu_affinity));
		peer->sched_known |= HOLDER_SETUP_AFFINITY;
	}
	ioprio = (int)syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, peer->pid);
	if (ioprio >= 0) {
		peer->ioprio = ioprio;
		peer->sched_known |= HOLDER_SETUP_IOPRIO;
	}
	/* Needs ptrace-read access, which the daemon has as root. */
	if (read_file_at(procfd, "personality", buf, sizeof(buf)) > 0) {
		peer->personality = (unsigned int)strtoul(buf, NULL, 16);
		peer->sched_known |= HOLDER_SETUP_PERSONALITY;
	}
}

static void read_units(struct peer *peer)
{
	char *unit = NULL;

	if (sd_pid_get_unit(peer->pid, &unit) >= 0 && unit)
		snprintf(peer->unit, sizeof(peer->unit), "%s", unit);
	free(unit);
	unit = NULL;
	if (sd_pid_get_user_unit(peer->pid, &unit) >= 0 && unit)
		snprintf(peer->user_unit, sizeof(peer->user_unit), "%s", unit);
	free(unit);
}

/* A user who owns a user namespace may map its subordinate uids there and
 * connect as each of them: what they do counts against the owner of the
 * outermost user namespace, the one the user made. A namespace root made
 * (a container's) hands its uids to whoever runs in it: then the owner of
 * the outermost one made by a user answers, or the uid itself. */
static uid_t responsible_uid_of(int userns_fd, uid_t uid)
{
	struct nsref_owners owners;

	if (fd_inode(userns_fd) == nsref_own_userns_inode() || nsref_userns_owners(userns_fd, &owners) < 0)
		return uid;
	for (size_t i = owners.n; i-- > 0;)
		if (owners.uid[i] != 0)
			return owners.uid[i];
	return uid;
}

uid_t peer_responsible_uid(pid_t pid, uid_t uid)
{
	char path[64];
	uid_t ret;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uid;
	ret = responsible_uid_of(fd, uid);
	close(fd);
	return ret;
}

int peer_capture(int sock, struct peer *peer, struct why *why)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char path[32];
	int procfd = -1, r;

	memset(peer, 0, sizeof(*peer));
	peer->pidfd = peer->root_fd = peer->cgroup_fd = peer->pidns_fd = peer->userns_fd = -1;
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		peer->ns_fd[i] = -1;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return why_set(why, errno, "cannot read the requester's credentials: %m");
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	if (peer->pid <= 0)
		return why_set(why, ESRCH, "the requester is not visible in the daemon's pid namespace; connect from a process the daemon can see");

	r = read_groups(sock, peer);
	if (r < 0)
		return why_set(why, -r, "cannot read the requester's groups: %s", strerror(-r));

	len = sizeof(peer->pidfd);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &peer->pidfd, &len) == 0) {
		peer->pidfd_from_socket = true;
		fcntl(peer->pidfd, F_SETFD, FD_CLOEXEC);
	} else {
		/* Before 6.5: pin the pid now and check below that the process
		 * behind it is still the one that connected (same credentials). */
		peer->pidfd = pr_pidfd_open(peer->pid, 0);
		if (peer->pidfd < 0)
			return why_set(why, ESRCH, "the requester (pid %d) has exited", peer->pid);
	}

	snprintf(path, sizeof(path), "/proc/%d", peer->pid);
	procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		r = why_set(why, ESRCH, "the requester (pid %d) has exited", peer->pid);
		goto out;
	}
	r = read_status(procfd, peer, why);
	if (r < 0)
		goto out;
	r = open_namespaces(procfd, peer, why);
	if (r < 0)
		goto out;
	read_limits(procfd, peer);
	read_scheduling(procfd, peer);
	r = open_cgroup(procfd, peer);
	if (r < 0) {
		r = why_set(why, ESRCH, "cannot read the requester's /proc/%d/cgroup", peer->pid);
		goto out;
	}

	read_units(peer);
	peer->own_userns = peer->ns_inode[HOLDER_NS_USER] == nsref_own_userns_inode();
	peer->responsible_uid = responsible_uid_of(peer->userns_fd, peer->uid);
	peer->ns_uid = peer->uid;
	peer->ns_gid = peer->gid;
	if (!peer->own_userns &&
	    (map_id_into(procfd, "uid_map", peer->uid, &peer->ns_uid) < 0 ||
	     map_id_into(procfd, "gid_map", peer->gid, &peer->ns_gid) < 0)) {
		r = why_set(why, ESRCH, "cannot map the requester's uid %u/gid %u into its user namespace", peer->uid, peer->gid);
		goto out;
	}

	/* Everything above was read through the pid; it described the
	 * requester only if the pidfd's process is still alive now. */
	if (pr_pidfd_send_signal(peer->pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
		r = why_set(why, ESRCH, "the requester (pid %d) exited while connecting", peer->pid);
		goto out;
	}
	r = 0;
out:
	if (procfd >= 0)
		close(procfd);
	return r;
}

void peer_release(struct peer *peer)
{
	free(peer->groups);
	peer->groups = NULL;
	close_fdp(&peer->pidfd);
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		close_fdp(&peer->ns_fd[i]);
	peer->userns_fd = -1;
	close_fdp(&peer->pidns_fd);
	close_fdp(&peer->root_fd);
	close_fdp(&peer->cgroup_fd);
}
