/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v1 hierarchies, found in the daemon's mountinfo, and the
 * requester's place in each. priv opens each cgroup.procs file; the holder
 * joins by writing 0 to it (holder-proto.h step 0), so that it is in the
 * requester's cgroups before anything else. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup1.h"
#include "log.h"
#include "util.h"

/* The new mount API (Linux 5.2); headers may be older. */
#ifndef __NR_fsopen
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#endif
#define MOUNT_FSOPEN_CLOEXEC 0x00000001
#define MOUNT_FSMOUNT_CLOEXEC 0x00000001
#define MOUNT_FSCONFIG_SET_FLAG 0
#define MOUNT_FSCONFIG_SET_STRING 1
#define MOUNT_FSCONFIG_CMD_CREATE 6

static struct {
	char mount[PATH_MAX];
	char controllers[256];
	int fd; /* a detached mount of the hierarchy's root, or its mount point (O_PATH) */
} hierarchies[CGROUP1_MAX];
static size_t n_hierarchies;

/* The options of a cgroup v1 superblock that are no controller. */
static bool is_controller(const char *opt, size_t len)
{
	static const char *const not_controllers[] = {
		"rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nofavordynmods",
	};

	if (len > 5 && strncmp(opt, "name=", 5) == 0)
		return true;
	if (memchr(opt, '=', len))
		return false; /* release_agent=... */
	for (size_t i = 0; i < ELEMENTSOF(not_controllers); i++)
		if (strlen(not_controllers[i]) == len && strncmp(opt, not_controllers[i], len) == 0)
			return false;
	return true;
}

static void add_hierarchy(const char *mnt, const char *super)
{
	char *out = hierarchies[n_hierarchies].controllers;
	size_t used = 0;

	for (const char *p = super; *p;) {
		size_t len = strcspn(p, ",");

		if (is_controller(p, len) && used + len + 2 < sizeof(hierarchies[0].controllers)) {
			if (used)
				out[used++] = ',';
			memcpy(out + used, p, len);
			used += len;
		}
		p += len;
		p += *p == ',';
	}
	out[used] = '\0';
	if (used == 0)
		return;
	/* The same hierarchy mounted twice: the first mount serves. */
	for (size_t i = 0; i < n_hierarchies; i++)
		if (strcmp(hierarchies[i].controllers, out) == 0)
			return;
	snprintf(hierarchies[n_hierarchies].mount, sizeof(hierarchies[0].mount), "%s", mnt);
	hierarchies[n_hierarchies].fd = -1;
	n_hierarchies++;
}

/* A mount of the hierarchy of these controllers of its own, attached
 * nowhere: writable whatever the daemon's /sys/fs/cgroup is. -1 if the
 * kernel has no fsopen() or refuses. */
static int open_detached(const char *controllers)
{
	char opts[256], *save = NULL;
	int fs, mnt = -1;

	fs = (int)syscall(__NR_fsopen, "cgroup", MOUNT_FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	snprintf(opts, sizeof(opts), "%s", controllers);
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		long r = strncmp(o, "name=", 5) == 0 ?
				 syscall(__NR_fsconfig, fs, MOUNT_FSCONFIG_SET_STRING, "name", o + 5, 0) :
				 syscall(__NR_fsconfig, fs, MOUNT_FSCONFIG_SET_FLAG, o, NULL, 0);

		if (r < 0)
			goto out;
	}
	if (syscall(__NR_fsconfig, fs, MOUNT_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(__NR_fsmount, fs, MOUNT_FSMOUNT_CLOEXEC, 0);
out:
	close(fs);
	return mnt;
}

void cgroup1_init(void)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	n_hierarchies = 0;
	if (!f)
		return;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	while (n_hierarchies < CGROUP1_MAX && getline(&line, &cap, f) > 0) {
		char root[PATH_MAX], mnt[PATH_MAX], fstype[64], super[512];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep, " - %63s %*s %511s", fstype, super) != 2 || strcmp(fstype, "cgroup") != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2)
			continue;
		/* Only a mount of the hierarchy's root maps /proc/PID/cgroup paths. */
		if (strcmp(root, "/") == 0)
			add_hierarchy(mnt, super);
	}
	free(line);
	fclose(f);
	for (size_t i = 0; i < n_hierarchies; i++) {
		hierarchies[i].fd = open_detached(hierarchies[i].controllers);
		if (hierarchies[i].fd < 0) {
			log_info("cgroup v1 hierarchy %s: no mount of its own (%m); processes join it through %s, which must be writable",
				 hierarchies[i].controllers, hierarchies[i].mount);
			hierarchies[i].fd = open(hierarchies[i].mount, O_PATH | O_DIRECTORY | O_CLOEXEC);
		}
		if (hierarchies[i].fd < 0)
			log_warning("cannot open the cgroup v1 hierarchy %s (%s): %m; requesters in it are refused",
				    hierarchies[i].controllers, hierarchies[i].mount);
	}
}

void cgroup1_shutdown(void)
{
	for (size_t i = 0; i < n_hierarchies; i++)
		close_fdp(&hierarchies[i].fd);
	n_hierarchies = 0;
}

size_t cgroup1_count(void)
{
	return n_hierarchies;
}

const char *cgroup1_mount(size_t i)
{
	return i < n_hierarchies ? hierarchies[i].mount : NULL;
}

const char *cgroup1_controllers(size_t i)
{
	return i < n_hierarchies ? hierarchies[i].controllers : NULL;
}

/* The mounted hierarchy whose controllers are exactly those of a
 * /proc/PID/cgroup line, or -1. */
static int find_hierarchy(const char *controllers, size_t len)
{
	for (size_t i = 0; i < n_hierarchies; i++)
		if (strlen(hierarchies[i].controllers) == len && strncmp(hierarchies[i].controllers, controllers, len) == 0)
			return (int)i;
	return -1;
}

/* The first hierarchy that cannot be joined is the one a refusal names. */
static void join_refuse(struct cgroup1_join *j, int err, const char *controllers, size_t len)
{
	if (j->error)
		return;
	j->error = err;
	if (err == ENOENT)
		snprintf(j->error_text, sizeof(j->error_text),
			 "the requester is in the cgroup v1 hierarchy \"%.*s\", which is not mounted where pidrestored can see it, so a new process could not join it; mount it under /sys/fs/cgroup or run the requester outside it",
			 (int)len, controllers);
	else
		snprintf(j->error_text, sizeof(j->error_text),
			 "the requester's cgroup in the v1 hierarchy \"%.*s\" has a path too long to join; run the requester in a cgroup with a shorter path",
			 (int)len, controllers);
}

/* Whether list, items separated by sep, has the item of len bytes. */
static bool list_has(const char *list, char sep, const char *item, size_t len)
{
	const char seps[2] = { sep, '\0' };

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, seps);

		if (n == len && strncmp(p, item, len) == 0)
			return true;
		p += n;
		p += *p == sep;
	}
	return false;
}

static bool has_controller(const char *list, const char *name)
{
	return list_has(list, ',', name, strlen(name));
}

/* Whether the daemon's own /proc/self/cgroup has this very line: then a
 * process it creates is in that cgroup already (the spawner, whose clones
 * they are, lives in the daemon's cgroups), even in a hierarchy the daemon
 * does not see mounted, as in a container that shares the host's v1
 * cgroups. */
static bool is_own_line(const char *own, const char *line, size_t line_len)
{
	return list_has(own, '\n', line, line_len);
}

/* Adds one v1 line ("ID:CONTROLLERS:PATH"). */
static int join_add(struct cgroup1_join *j, const char *line, size_t line_len, const char *own)
{
	const char *c1 = memchr(line, ':', line_len), *c2;
	size_t ctl_len, path_len;
	int h;

	if (!c1 || !(c2 = memchr(c1 + 1, ':', line_len - (size_t)(c1 + 1 - line))))
		return 0;
	ctl_len = (size_t)(c2 - c1 - 1);
	path_len = line_len - (size_t)(c2 + 1 - line);
	if (ctl_len == 0 || is_own_line(own, line, line_len))
		return 0; /* the v2 line, or nothing to join */
	h = find_hierarchy(c1 + 1, ctl_len);
	if (h < 0 || hierarchies[h].fd < 0 || j->n == CGROUP1_MAX) {
		join_refuse(j, ENOENT, c1 + 1, ctl_len);
		return 0;
	}
	if (path_len >= PATH_MAX - 32) {
		join_refuse(j, ENAMETOOLONG, c1 + 1, ctl_len);
		return 0;
	}
	/* Relative to the hierarchy's root: "/" is ".". */
	while (path_len && c2[1] == '/') {
		c2++;
		path_len--;
	}
	j->path[j->n] = path_len ? strndup(c2 + 1, path_len) : strdup(".");
	if (!j->path[j->n])
		return -ENOMEM;
	j->hierarchy[j->n] = h;
	if (has_controller(hierarchies[h].controllers, "pids"))
		j->pids = (int)j->n;
	j->n++;
	return 0;
}

/* The daemon's /proc/self/cgroup: a line per hierarchy, each a path of up
 * to PATH_MAX. */
#define OWN_CGROUPS_MAX (64u * 1024)

int cgroup1_resolve(const char *cgroups, struct cgroup1_join *ret)
{
	char *own = malloc(OWN_CGROUPS_MAX);
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->pids = -1;
	if (!own)
		return -ENOMEM;
	if (read_file_at(-1, "/proc/self/cgroup", own, OWN_CGROUPS_MAX) < 0)
		own[0] = '\0';
	for (const char *line = cgroups; line && *line;) {
		size_t len = strcspn(line, "\n");

		r = join_add(ret, line, len, own);
		if (r < 0) {
			cgroup1_join_release(ret);
			break;
		}
		line += len;
		line += *line == '\n';
	}
	free(own);
	return r;
}

void cgroup1_join_release(struct cgroup1_join *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->path[i]);
	memset(j, 0, sizeof(*j));
	j->pids = -1;
}

/* A cgroup file of dir (len bytes of it, relative to the hierarchy fd)
 * holding one number, or "max" (-1). */
static int read_count(int hierarchy_fd, const char *dir, size_t len, const char *name, long long *ret)
{
	char path[PATH_MAX + 32], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, name);
	fd = openat(hierarchy_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	*ret = strncmp(buf, "max", 3) == 0 ? -1 : strtoll(buf, NULL, 10);
	return 0;
}

int cgroup1_check_pids(const struct cgroup1_join *j, struct why *why)
{
	const char *dir;
	size_t len;
	int fd;

	if (j->pids < 0)
		return 0;
	dir = j->path[j->pids];
	fd = hierarchies[j->hierarchy[j->pids]].fd;
	/* From the requester's cgroup up to the hierarchy's root, which has
	 * no limit. */
	for (len = strcmp(dir, ".") == 0 ? 0 : strlen(dir); len > 0;) {
		long long max, current;
		const char *mount = hierarchies[j->hierarchy[j->pids]].mount;

		if (read_count(fd, dir, len, "pids.max", &max) < 0 || read_count(fd, dir, len, "pids.current", &current) < 0)
			return why_set(why, ESRCH, "cannot read the limits of the requester's pids cgroup %s/%.*s (was it removed?); a new process must count there",
				       mount, (int)len, dir);
		if (max >= 0 && current + 1 > max)
			return why_set(why, EAGAIN, "the requester's pids cgroup %s/%.*s holds %lld processes and its pids.max is %lld: a fork of the requester would fail with EAGAIN as well; end some of its processes or raise pids.max",
				       mount, (int)len, dir, current, max);
		while (len > 0 && dir[len - 1] != '/')
			len--;
		while (len > 0 && dir[len - 1] == '/')
			len--;
	}
	return 0;
}

int cgroup1_open_procs(const struct cgroup1_join *j, int *fds, struct why *why)
{
	for (size_t i = 0; i < j->n; i++) {
		char path[PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/cgroup.procs", j->path[i]);
		fds[i] = openat(hierarchies[j->hierarchy[i]].fd, path, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int err = errno;

			for (size_t k = 0; k < i; k++)
				close(fds[k]);
			return why_set(why, err, "a new process could not join the requester's cgroup %s/%s in the cgroup v1 hierarchy \"%s\" (%s), and it must never stay in the daemon's: run the requester in cgroups that exist (was it moved since it connected? then connect again)",
				       hierarchies[j->hierarchy[i]].mount, strcmp(j->path[i], ".") ? j->path[i] : "",
				       hierarchies[j->hierarchy[i]].controllers, strerror(err));
		}
	}
	return 0;
}
