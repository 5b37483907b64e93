/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Users and groups as the caller's user namespace has them.
 *
 * The daemon speaks of uids and gids of its own user namespace, on the wire
 * as in its log, its audit lines and the policy files: one numbering that
 * every client and the admin share, whichever namespace asks. Translating
 * is the client's part: the names belong to the caller's user database (a
 * container's /etc/passwd), which only the client can read, and the
 * caller's namespace is the client's own, read from /proc/self/uid_map and
 * gid_map. So inside a rootless container, whose uid 0 is the host's 1000,
 * the owner the daemon calls 1000 is shown as 0 (root of that container),
 * and --uid 0 is sent as 1000.
 *
 * A map, read by a process in that namespace, is relative to the parent
 * namespace: for a namespace made directly below the daemon's (a rootless
 * container on the host, unshare -U) that is the daemon's. Without a map
 * (no /proc) the numbers are taken as they are, as in the daemon's own
 * namespace. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

#define MAX_EXTENTS 340   /* the kernel's limit on lines of a map */
#define OVERFLOW_ID_DEFAULT 65534

struct extent {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

struct id_map {
	bool loaded;
	bool identity;              /* no map could be read */
	size_t n;
	struct extent extents[MAX_EXTENTS];
	uint32_t overflow;          /* what an unmapped id reads as */
};

static struct id_map uid_map, gid_map;

static uint32_t read_overflow(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned int v = OVERFLOW_ID_DEFAULT;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = OVERFLOW_ID_DEFAULT;
		fclose(f);
	}
	return v;
}

static struct id_map *load(struct id_map *m, const char *map_path, const char *overflow_path)
{
	FILE *f;
	unsigned int inside, outside, count;

	if (m->loaded)
		return m;
	m->loaded = true;
	m->overflow = read_overflow(overflow_path);
	f = fopen(map_path, "re");
	if (!f) {
		m->identity = true;
		return m;
	}
	while (m->n < MAX_EXTENTS && fscanf(f, "%u %u %u", &inside, &outside, &count) == 3)
		m->extents[m->n++] = (struct extent){ inside, outside, count };
	fclose(f);
	return m;
}

static struct id_map *uids(void)
{
	return load(&uid_map, "/proc/self/uid_map", "/proc/sys/kernel/overflowuid");
}

static struct id_map *gids(void)
{
	return load(&gid_map, "/proc/self/gid_map", "/proc/sys/kernel/overflowgid");
}

static uint32_t from_outside(const struct id_map *m, uint32_t id)
{
	if (m->identity)
		return id;
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->extents[i].outside && id - m->extents[i].outside < m->extents[i].count)
			return m->extents[i].inside + (id - m->extents[i].outside);
	return m->overflow;
}

static int to_outside(const struct id_map *m, uint32_t id, uint32_t *ret)
{
	if (m->identity) {
		*ret = id;
		return 0;
	}
	for (size_t i = 0; i < m->n; i++)
		if (id >= m->extents[i].inside && id - m->extents[i].inside < m->extents[i].count) {
			*ret = m->extents[i].outside + (id - m->extents[i].inside);
			return 0;
		}
	return -ENOENT;
}

uid_t userns_uid_from_daemon(uid_t uid)
{
	return (uid_t)from_outside(uids(), (uint32_t)uid);
}

gid_t userns_gid_from_daemon(gid_t gid)
{
	return (gid_t)from_outside(gids(), (uint32_t)gid);
}

int userns_uid_to_daemon(uid_t uid, uid_t *ret)
{
	uint32_t out;
	int r = to_outside(uids(), (uint32_t)uid, &out);

	if (r == 0)
		*ret = (uid_t)out;
	return r;
}

void userns_user_name(uid_t daemon_uid, char *buf, size_t size)
{
	uid_t uid = userns_uid_from_daemon(daemon_uid);
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "%" PRIu32, (uint32_t)uid);
}

void userns_group_name(gid_t daemon_gid, char *buf, size_t size)
{
	gid_t gid = userns_gid_from_daemon(daemon_gid);
	struct group *gr = getgrgid(gid);

	if (gr)
		snprintf(buf, size, "%s", gr->gr_name);
	else
		snprintf(buf, size, "%" PRIu32, (uint32_t)gid);
}
