/* SPDX-License-Identifier: LGPL-2.1-or-later */
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include <systemd/sd-login.h>

#include "kernel.h"
#include "log.h"
#include "nsref.h"
#include "peer.h"
#include "seccomp-copy.h"

static const char *const ns_names[HOLDER_NS_COUNT] = {
	[HOLDER_NS_USER] = "user", [HOLDER_NS_MNT] = "mnt", [HOLDER_NS_NET] = "net",
	[HOLDER_NS_IPC] = "ipc", [HOLDER_NS_UTS] = "uts", [HOLDER_NS_CGROUP] = "cgroup",
	[HOLDER_NS_TIME] = "time",
};

static char cgroup2_root[PATH_MAX];

/* /proc/PID/cgroup: a line per hierarchy (a dozen in a hybrid layout), each
 * a path of up to PATH_MAX. */
#define CGROUPS_TEXT_MAX (64u * 1024)

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

/* Whether the Groups: line of a status text lists exactly the groups
 * SO_PEERGROUPS reported. Both come from a sorted group list, so they are
 * compared in order. */
static bool same_groups(const char *line, const struct peer *peer)
{
	size_t i = 0;

	if (!line)
		return false;
	while (*line && *line != '\n') {
		unsigned long g;
		char *end;

		if (*line == ' ' || *line == '\t') {
			line++;
			continue;
		}
		if (*line < '0' || *line > '9')
			return false;
		g = strtoul(line, &end, 10);
		if (i >= peer->n_groups || g != peer->groups[i])
			return false;
		i++;
		line = end;
	}
	return i == peer->n_groups;
}

/* The identity is taken once (DESIGN §6): SO_PEERCRED holds the effective
 * ids the requester connected with, /proc the ids it has now. A requester
 * that executed a set-user-ID or set-group-ID program since (or changed ids
 * any other way) would get a mix of the two: refused. So is one whose real,
 * saved or filesystem ids differ from its effective ones (a set-user-ID
 * program, a root process that switched its effective uid): its processes
 * run with a single uid and gid, which would misstate what it is, and root's
 * permitted capabilities would go along with an unprivileged uid. */
static int check_identity(const char *status, const struct peer *peer, struct why *why)
{
	const char *uv = proc_status_field(status, "Uid"), *gv = proc_status_field(status, "Gid");
	unsigned int u[4], g[4];
	bool groups_same;

	if (!uv || !gv || sscanf(uv, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) != 4 ||
	    sscanf(gv, "%u %u %u %u", &g[0], &g[1], &g[2], &g[3]) != 4)
		return why_set(why, EIO, "the requester's /proc/%d/status has no Uid or Gid line", peer->pid);
	groups_same = same_groups(proc_status_field(status, "Groups"), peer);
	if (u[1] != peer->uid || g[1] != peer->gid || !groups_same)
		return why_set(why, EPERM, "the requester changed identity since it connected: it connected as uid %u gid %u and now runs with uids %u/%u/%u/%u (real/effective/saved/filesystem) and gids %u/%u/%u/%u%s; connect again after the change (e.g. once a set-user-ID program runs), not before it",
			       peer->uid, peer->gid, u[0], u[1], u[2], u[3], g[0], g[1], g[2], g[3],
			       groups_same ? "" : " and other supplementary groups");
	for (int i = 0; i < 4; i++)
		if (u[i] != peer->uid || g[i] != peer->gid)
			return why_set(why, EPERM, "the requester runs with mixed ids, uids %u/%u/%u/%u (real/effective/saved/filesystem) and gids %u/%u/%u/%u: pidrestored gives its processes one uid and one gid, so it serves only a requester whose ids are all the same; connect from such a process (not, e.g., from a set-user-ID program)",
				       u[0], u[1], u[2], u[3], g[0], g[1], g[2], g[3]);
	return 0;
}

/* The status lines that say who a process is and what it may do. */
static bool same_identity_lines(const char *a, const char *b)
{
	static const char *const keys[] = {
		"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
	};

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *va = proc_status_field(a, keys[i]), *vb = proc_status_field(b, keys[i]);
		size_t la, lb;

		if (!va || !vb) {
			if (va != vb)
				return false;
			continue;
		}
		la = strcspn(va, "\n");
		lb = strcspn(vb, "\n");
		if (la != lb || memcmp(va, vb, la) != 0)
			return false;
	}
	return true;
}

static int read_status(struct peer *peer, struct why *why)
{
	char buf[8192], again[8192];
	const char *v;
	int r;

	if (read_proc_fd(peer->status_fd, buf, sizeof(buf)) < 0)
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
	r = check_identity(buf, peer, why);
	if (r < 0)
		return r;
	/* The kernel writes the ids and the capabilities of one status text
	 * from two looks at the credentials: an exec that lands between them
	 * shows the old ids with the new capabilities. A second read with
	 * the same lines rules that out: the ids could only have gone back
	 * by another change, which would show in the capabilities. */
	if (read_proc_fd(peer->status_fd, again, sizeof(again)) < 0)
		return why_set(why, ESRCH, "cannot read the requester's /proc/%d/status; has it exited?", peer->pid);
	if (!same_identity_lines(buf, again))
		return why_set(why, EPERM, "the requester changed identity since it connected (its ids or capabilities changed while pidrestored read them); connect again once they no longer change");
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

/* Opens the v2 cgroup that the /proc/PID/cgroup text names, if any. A
 * cgroup that cannot be opened is no reason to refuse the connection, but
 * the reason every process it asks for is refused (spawn_holder()): a child
 * must never land in the daemon's cgroup instead (DESIGN §6). */
static void open_cgroup(const char *cgroups, struct peer *peer)
{
	char path[2 * PATH_MAX];
	const char *line;

	peer->cgroup_fd = -1;
	peer->cgroup_error = 0;
	if (!peer_cgroup2_available())
		return;
	for (line = cgroups; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (snprintf(path, sizeof(path), "%s%.*s", cgroup2_root, (int)(end - line - 3), line + 3) >= (int)sizeof(path)) {
			peer->cgroup_error = ENAMETOOLONG;
			return;
		}
		peer->cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (peer->cgroup_fd < 0) {
			peer->cgroup_error = errno;
			log_debug("requester pid %d: cannot open its cgroup %s: %m; it will be refused every process", peer->pid, path);
		}
		return;
	}
	peer->cgroup_error = ENOENT;
}

/* A user who owns a user namespace may map its subordinate uids there and
 * connect as each of them: what they do counts against the owner of the
 * outermost user namespace, the one the user made. A namespace root made
 * (a container's) hands its uids to whoever runs in it: then the owner of
 * the outermost one made by a user answers, or the uid itself. */
static uid_t responsible_uid_of(int userns_fd, uid_t uid)
{
	struct nsref_userns_chain chain;

	if (fd_inode(userns_fd) == nsref_own_userns_inode() || nsref_userns_chain(userns_fd, &chain) < 0)
		return uid;
	for (size_t i = chain.n; i-- > 0;)
		if (chain.userns[i].owner != 0)
			return chain.userns[i].owner;
	return uid;
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

struct peer_context {
	unsigned int refs;
	uid_t uid;
	gid_t gid;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	bool no_new_privs;
	int seccomp_mode;
	uint64_t ns_inode[HOLDER_NS_COUNT];
	uint64_t pidns_inode;
	/* The mount too: a read-only bind mount of a directory has the same
	 * device and inode. Inode and mount numbers are reused only once
	 * nothing holds them, and the reserver's connection, which its
	 * reservations do not outlive, holds its namespaces and its root. */
	uint64_t root_dev, root_ino, root_mnt_id;
	char *cgroups;             /* /proc/PID/cgroup as the daemon reads it: every hierarchy */
	size_t n_groups;
	gid_t groups[];
};

static int context_new(struct peer *peer, const char *cgroups, struct why *why)
{
	size_t cg_len = strlen(cgroups) + 1;
	struct peer_context *ctx;
	struct statx stx;

	if (statx(peer->root_fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx) < 0)
		return why_set(why, errno, "cannot look at the requester's root directory: %m");
	ctx = calloc(1, sizeof(*ctx) + peer->n_groups * sizeof(gid_t) + cg_len);
	if (!ctx)
		return why_set(why, ENOMEM, "out of memory");
	ctx->refs = 1;
	ctx->uid = peer->uid;
	ctx->gid = peer->gid;
	ctx->cap_inh = peer->cap_inh;
	ctx->cap_prm = peer->cap_prm;
	ctx->cap_eff = peer->cap_eff;
	ctx->cap_bnd = peer->cap_bnd;
	ctx->cap_amb = peer->cap_amb;
	ctx->no_new_privs = peer->no_new_privs;
	ctx->seccomp_mode = peer->seccomp_mode;
	memcpy(ctx->ns_inode, peer->ns_inode, sizeof(ctx->ns_inode));
	ctx->pidns_inode = peer->pidns_inode;
	ctx->root_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	ctx->root_ino = stx.stx_ino;
	/* Before 5.8 there is no mount id: 0 for everyone. */
	ctx->root_mnt_id = stx.stx_mask & STATX_MNT_ID ? stx.stx_mnt_id : 0;
	ctx->n_groups = peer->n_groups;
	if (peer->n_groups > 0)
		memcpy(ctx->groups, peer->groups, peer->n_groups * sizeof(gid_t));
	ctx->cgroups = (char *)(ctx->groups + peer->n_groups);
	memcpy(ctx->cgroups, cgroups, cg_len);
	peer->context = ctx;
	return 0;
}

struct peer_context *peer_context_ref(const struct peer *peer)
{
	if (peer->context)
		peer->context->refs++;
	return peer->context;
}

void peer_context_unref(struct peer_context *ctx)
{
	if (ctx && --ctx->refs == 0)
		free(ctx);
}

/* What differs between two contexts, for a message that names it: the
 * first difference in a fixed order, the user namespace before the
 * capabilities that are relative to it. */
struct difference {
	const char *what;
	char claimer[112];
	char reserver[112];
};

static void describe_groups(const struct peer_context *c, char *buf, size_t len)
{
	size_t at = 0;

	if (c->n_groups == 0) {
		snprintf(buf, len, "none");
		return;
	}
	for (size_t i = 0; i < c->n_groups && at < len; i++) {
		if (at + 16 >= len) {
			snprintf(buf + at, len - at, " ...");
			return;
		}
		at += (size_t)snprintf(buf + at, len - at, "%s%u", i ? " " : "", c->groups[i]);
	}
}

/* a's first line that is not b's, from two /proc/PID/cgroup texts. */
static void describe_cgroup_line(const char *a, const char *b, char *buf, size_t len)
{
	for (;;) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la) != 0 || !a[la] || !b[lb]) {
			snprintf(buf, len, "%.*s", (int)la, la ? a : "none");
			return;
		}
		a += la + 1;
		b += lb + 1;
	}
}

static bool find_difference(const struct peer_context *c, const struct peer_context *r, struct difference *d)
{
	static const char *const ns_what[HOLDER_NS_COUNT] = {
		[HOLDER_NS_USER] = "user namespace", [HOLDER_NS_MNT] = "mount namespace",
		[HOLDER_NS_NET] = "network namespace", [HOLDER_NS_IPC] = "IPC namespace",
		[HOLDER_NS_UTS] = "UTS namespace", [HOLDER_NS_CGROUP] = "cgroup namespace",
		[HOLDER_NS_TIME] = "time namespace",
	};
	static const int ns_order[] = {
		HOLDER_NS_MNT, HOLDER_NS_NET, HOLDER_NS_IPC, HOLDER_NS_UTS, HOLDER_NS_CGROUP, HOLDER_NS_TIME,
	};
	const struct {
		const char *what;
		uint64_t c, r;
	} caps[] = {
		{ "capability bounding set", c->cap_bnd, r->cap_bnd },
		{ "permitted capabilities", c->cap_prm, r->cap_prm },
		{ "effective capabilities", c->cap_eff, r->cap_eff },
		{ "inheritable capabilities", c->cap_inh, r->cap_inh },
		{ "ambient capabilities", c->cap_amb, r->cap_amb },
	};

#define DIFFERENCE(name, fmt, cv, rv)                                              \
	do {                                                                           \
		d->what = (name);                                                      \
		snprintf(d->claimer, sizeof(d->claimer), fmt, cv);                     \
		snprintf(d->reserver, sizeof(d->reserver), fmt, rv);                   \
		return true;                                                           \
	} while (0)

	if (c->uid != r->uid)
		DIFFERENCE("uid", "%u", c->uid, r->uid);
	if (c->gid != r->gid)
		DIFFERENCE("gid", "%u", c->gid, r->gid);
	if (c->n_groups != r->n_groups || memcmp(c->groups, r->groups, c->n_groups * sizeof(gid_t)) != 0) {
		d->what = "supplementary groups";
		describe_groups(c, d->claimer, sizeof(d->claimer));
		describe_groups(r, d->reserver, sizeof(d->reserver));
		return true;
	}
	if (c->ns_inode[HOLDER_NS_USER] != r->ns_inode[HOLDER_NS_USER])
		DIFFERENCE(ns_what[HOLDER_NS_USER], "user:[%llu]", (unsigned long long)c->ns_inode[HOLDER_NS_USER],
			   (unsigned long long)r->ns_inode[HOLDER_NS_USER]);
	for (size_t i = 0; i < ELEMENTSOF(caps); i++)
		if (caps[i].c != caps[i].r)
			DIFFERENCE(caps[i].what, "%016llx", (unsigned long long)caps[i].c, (unsigned long long)caps[i].r);
	if (c->no_new_privs != r->no_new_privs)
		DIFFERENCE("no_new_privs flag", "%s", c->no_new_privs ? "set" : "not set", r->no_new_privs ? "set" : "not set");
	for (size_t i = 0; i < ELEMENTSOF(ns_order); i++) {
		int ns = ns_order[i];

		if (c->ns_inode[ns] != r->ns_inode[ns]) {
			d->what = ns_what[ns];
			snprintf(d->claimer, sizeof(d->claimer), "%s:[%llu]", ns_names[ns], (unsigned long long)c->ns_inode[ns]);
			snprintf(d->reserver, sizeof(d->reserver), "%s:[%llu]", ns_names[ns], (unsigned long long)r->ns_inode[ns]);
			return true;
		}
	}
	if (c->pidns_inode != r->pidns_inode)
		DIFFERENCE("pid namespace", "pid:[%llu]", (unsigned long long)c->pidns_inode, (unsigned long long)r->pidns_inode);
	if (strcmp(c->cgroups, r->cgroups) != 0) {
		d->what = "cgroup";
		describe_cgroup_line(c->cgroups, r->cgroups, d->claimer, sizeof(d->claimer));
		describe_cgroup_line(r->cgroups, c->cgroups, d->reserver, sizeof(d->reserver));
		return true;
	}
	if (c->root_dev != r->root_dev || c->root_ino != r->root_ino || c->root_mnt_id != r->root_mnt_id) {
		d->what = "root directory";
		snprintf(d->claimer, sizeof(d->claimer), "device %u:%u inode %llu mount %llu", major(c->root_dev),
			 minor(c->root_dev), (unsigned long long)c->root_ino, (unsigned long long)c->root_mnt_id);
		snprintf(d->reserver, sizeof(d->reserver), "device %u:%u inode %llu mount %llu", major(r->root_dev),
			 minor(r->root_dev), (unsigned long long)r->root_ino, (unsigned long long)r->root_mnt_id);
		return true;
	}
#undef DIFFERENCE
	return false;
}

int peer_check_claim(const struct peer *claimer, const struct peer_context *reserver, struct why *why)
{
	const struct peer_context *c = claimer->context;
	struct difference d;
	int r;

	/* The same connection: its reservations were made from exactly this. */
	if (c && c == reserver)
		return 0;
	if (!c || !reserver)
		r = why_set(why, EPERM, "pidrestored does not know the context of the claimer or of the reserver; claim from the connection that reserved");
	else if (find_difference(c, reserver, &d))
		r = why_set(why, EPERM, "the claimer's %s (%s) %s from the reserver's (%s); a claim must not take a process out of the claimer's confinement: claim from the same context or reserve again",
			    d.what, d.claimer, d.what[strlen(d.what) - 1] == 's' ? "differ" : "differs", d.reserver);
	else
		r = 0;
	if (r < 0)
		log_info("refusing a claim by uid %u (pid %d): %s", claimer->uid, claimer->pid, why->text);
	return r;
}

int peer_capture(int sock, struct peer *peer, struct why *why)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char path[32], *cgroups = NULL;
	int procfd = -1, r;
	ssize_t n;

	memset(peer, 0, sizeof(*peer));
	peer->pidfd = peer->status_fd = peer->root_fd = peer->cgroup_fd = peer->pidns_fd = peer->userns_fd = -1;
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
	/* Opened through the pid, which the check at the end confirms to be
	 * the requester's: the open file stays the requester's own. */
	peer->status_fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (peer->status_fd < 0) {
		r = why_set(why, ESRCH, "cannot open the requester's /proc/%d/status; has it exited?", peer->pid);
		goto out;
	}
	r = read_status(peer, why);
	if (r < 0)
		goto out;
	r = open_namespaces(procfd, peer, why);
	if (r < 0)
		goto out;
	read_limits(procfd, peer);
	read_scheduling(procfd, peer);
	cgroups = malloc(CGROUPS_TEXT_MAX);
	if (!cgroups) {
		r = why_set(why, ENOMEM, "the daemon is out of memory");
		goto out;
	}
	n = read_file_at(procfd, "cgroup", cgroups, CGROUPS_TEXT_MAX);
	if (n == -EFBIG) {
		/* Paths this long cannot be joined either: every process the
		 * requester asks for is refused, and it is its own context. */
		peer->cgroup_error = ENAMETOOLONG;
		cgroups[0] = '\0';
	} else if (n < 0) {
		r = why_set(why, ESRCH, "cannot read the requester's /proc/%d/cgroup", peer->pid);
		goto out;
	} else {
		open_cgroup(cgroups, peer);
		if (cgroup1_resolve(cgroups, &peer->cgroup1) < 0) {
			r = why_set(why, ENOMEM, "the daemon is out of memory");
			goto out;
		}
	}

	read_units(peer);
	peer->own_userns = peer->ns_inode[HOLDER_NS_USER] == nsref_own_userns_inode();
	/* For the policy, once: the namespace behind the fd never changes. */
	nsref_requester_userns(peer->userns_fd, &peer->userns_id, &peer->userns_is_daemons);
	peer->responsible_uid = responsible_uid_of(peer->userns_fd, peer->uid);
	peer->ns_uid = peer->uid;
	peer->ns_gid = peer->gid;
	if (!peer->own_userns &&
	    (map_id_into(procfd, "uid_map", peer->uid, &peer->ns_uid) < 0 ||
	     map_id_into(procfd, "gid_map", peer->gid, &peer->ns_gid) < 0)) {
		r = why_set(why, ESRCH, "cannot map the requester's uid %u/gid %u into its user namespace", peer->uid, peer->gid);
		goto out;
	}
	r = context_new(peer, cgroups, why);
out:
	/* Everything was read through the pid; it described the requester
	 * only if the pidfd's process is still alive now. A refusal for the
	 * ids of a process that took over the pid would blame the wrong one. */
	if ((r == 0 || r == -EPERM) && pr_pidfd_send_signal(peer->pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
		r = why_set(why, ESRCH, "the requester (pid %d) exited while connecting", peer->pid);
	if (procfd >= 0)
		close(procfd);
	free(cgroups);
	return r;
}

void peer_release(struct peer *peer)
{
	free(peer->groups);
	peer->groups = NULL;
	close_fdp(&peer->pidfd);
	close_fdp(&peer->status_fd);
	for (int i = 0; i < HOLDER_NS_COUNT; i++)
		close_fdp(&peer->ns_fd[i]);
	peer->userns_fd = -1;
	close_fdp(&peer->pidns_fd);
	close_fdp(&peer->root_fd);
	close_fdp(&peer->cgroup_fd);
	peer_context_unref(peer->context);
	peer->context = NULL;
	seccomp_set_unref(peer->seccomp);
	peer->seccomp = NULL;
	cgroup1_join_release(&peer->cgroup1);
}
