/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v1 hierarchies, found in the daemon's mountinfo, and the
 * requester's place in each: the holder joins them itself (holder-proto.h
 * step 0), writing 0 to each cgroup.procs while it is still root and still
 * in the daemon's mount namespace. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup1.h"
#include "util.h"

#define CGROUP1_MAX 32 /* the kernel has at most 16 controllers, and names */

static struct {
	char mount[PATH_MAX];
	char controllers[256];
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
	n_hierarchies++;
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

static bool has_controller(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		p += *p == ',';
	}
	return false;
}

/* Adds the cgroup.procs path of one v1 line ("ID:CONTROLLERS:PATH"). */
static int join_add(struct cgroup1_join *j, const char *line, size_t line_len)
{
	const char *c1 = memchr(line, ':', line_len), *c2;
	size_t ctl_len, path_len;
	char file[PATH_MAX + 32];
	int h, n;
	char *grown;

	if (!c1 || !(c2 = memchr(c1 + 1, ':', line_len - (size_t)(c1 + 1 - line))))
		return 0;
	ctl_len = (size_t)(c2 - c1 - 1);
	path_len = line_len - (size_t)(c2 + 1 - line);
	if (ctl_len == 0)
		return 0; /* the v2 line */
	h = find_hierarchy(c1 + 1, ctl_len);
	if (h < 0) {
		join_refuse(j, ENOENT, c1 + 1, ctl_len);
		return 0;
	}
	n = snprintf(file, sizeof(file), "%s%.*s/cgroup.procs", hierarchies[h].mount,
		     (int)(path_len == 1 ? 0 : path_len), c2 + 1);
	if (n < 0 || (size_t)n >= PATH_MAX) {
		join_refuse(j, ENAMETOOLONG, c1 + 1, ctl_len);
		return 0;
	}
	grown = realloc(j->procs, j->procs_len + (size_t)n + 1);
	if (!grown)
		return -ENOMEM;
	j->procs = grown;
	memcpy(j->procs + j->procs_len, file, (size_t)n + 1);
	j->procs_len += (size_t)n + 1;
	j->n++;
	if (has_controller(hierarchies[h].controllers, "pids")) {
		free(j->pids_dir);
		j->pids_dir = strndup(file, (size_t)n - strlen("/cgroup.procs"));
		if (!j->pids_dir)
			return -ENOMEM;
	}
	return 0;
}

int cgroup1_resolve(const char *cgroups, struct cgroup1_join *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (const char *line = cgroups; line && *line;) {
		size_t len = strcspn(line, "\n");
		int r = join_add(ret, line, len);

		if (r < 0) {
			cgroup1_join_release(ret);
			return r;
		}
		line += len;
		line += *line == '\n';
	}
	return 0;
}

void cgroup1_join_release(struct cgroup1_join *j)
{
	free(j->procs);
	free(j->pids_dir);
	memset(j, 0, sizeof(*j));
}

/* A cgroup file holding one number, or "max" (-1). */
static int read_count(const char *dir, size_t dir_len, const char *name, long long *ret)
{
	char path[PATH_MAX + 32], buf[32];
	ssize_t r;

	snprintf(path, sizeof(path), "%.*s/%s", (int)dir_len, dir, name);
	r = read_file_at(-1, path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	if (strncmp(buf, "max", 3) == 0) {
		*ret = -1;
		return 0;
	}
	*ret = strtoll(buf, NULL, 10);
	return 0;
}

int cgroup1_check_pids(const struct cgroup1_join *j, struct why *why)
{
	size_t mount_len, len;
	int h;

	if (!j->pids_dir)
		return 0;
	h = -1;
	for (size_t i = 0; i < n_hierarchies && h < 0; i++)
		if (has_controller(hierarchies[i].controllers, "pids"))
			h = (int)i;
	mount_len = h < 0 ? strlen(j->pids_dir) : strlen(hierarchies[h].mount);
	/* From the requester's cgroup up to the hierarchy's root, which has
	 * no limit. */
	for (len = strlen(j->pids_dir); len > mount_len;) {
		long long max, current;

		if (read_count(j->pids_dir, len, "pids.max", &max) < 0 ||
		    read_count(j->pids_dir, len, "pids.current", &current) < 0)
			return why_set(why, ESRCH, "cannot read the limits of the requester's pids cgroup %.*s (was it removed?); a new process must count there",
				       (int)len, j->pids_dir);
		if (max >= 0 && current + 1 > max)
			return why_set(why, EAGAIN, "the requester's pids cgroup %.*s holds %lld processes and its pids.max is %lld: a fork of the requester would fail with EAGAIN as well; end some of its processes or raise pids.max",
				       (int)len, j->pids_dir, current, max);
		while (len > mount_len && j->pids_dir[len - 1] != '/')
			len--;
		if (len > mount_len)
			len--;
	}
	return 0;
}
