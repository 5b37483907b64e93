/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conffile.h"

enum section {
	SECTION_NONE,
	SECTION_POLICY,
	SECTION_GRANT,
};

static const char *const section_names[] = {
	[SECTION_NONE] = "",
	[SECTION_POLICY] = "Policy",
	[SECTION_GRANT] = "Grant",
};

struct parser {
	const char *path;         /* as given, for error messages */
	const char *name;         /* its last component, for grant rules */
	unsigned int line;
	struct policy *policy;
	struct why *why;
	enum section section;
	unsigned int section_line;
	unsigned int key_line[16]; /* where each key was set in this section; 0: not yet */
};

struct key {
	const char *name;
	enum section section;
	int (*parse)(struct parser *p, char *value);
};

static int parse_error(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parse_error(struct parser *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return why_set(p->why, EINVAL, "%s:%u: %s", p->path, p->line, msg);
}

static int append(void *array, size_t *n, size_t size, const void *item)
{
	void **a = array;
	void *grown = realloc(*a, (*n + 1) * size);

	if (!grown)
		return -ENOMEM;
	memcpy((char *)grown + *n * size, item, size);
	*a = grown;
	(*n)++;
	return 0;
}

static int out_of_memory(struct parser *p)
{
	return why_set(p->why, ENOMEM, "%s:%u: out of memory", p->path, p->line);
}

static struct policy_grant *current_grant(struct parser *p)
{
	return &p->policy->grants[p->policy->n_grants - 1];
}

/* Decimal digits only: no sign, no base prefix, no spaces. */
static int parse_decimal(const char *s, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*ret = v;
	return 0;
}

static bool starts_with_digit(const char *s)
{
	return isdigit((unsigned char)s[0]);
}

/* A user by name or number; (uid_t)-1 is no user, so it is refused. what is
 * the text before s in the file ("User="), for messages. */
static int parse_user(struct parser *p, const char *what, const char *s, uid_t *ret)
{
	unsigned long long v = 0;
	struct passwd *pw;
	int r = parse_decimal(s, UINT32_MAX - 1, &v);

	if (r == 0) {
		*ret = (uid_t)v;
		return 0;
	}
	if (r == -ERANGE)
		return parse_error(p, "%s%s: uid %s is out of range; uids go up to 4294967294", what, s, s);
	errno = 0;
	pw = getpwnam(s);
	if (pw) {
		*ret = pw->pw_uid;
		return 0;
	}
	if (starts_with_digit(s))
		return parse_error(p, "%s%s: \"%s\" is neither a numeric uid nor a known user name; write the uid in decimal digits or use the user's name",
				   what, s, s);
	return parse_error(p, "%s%s: unknown user \"%s\"; create the user first or give its numeric uid", what, s, s);
}

static int parse_group(struct parser *p, const char *s, gid_t *ret)
{
	unsigned long long v = 0;
	struct group *gr;
	int r = parse_decimal(s, UINT32_MAX - 1, &v);

	if (r == 0) {
		*ret = (gid_t)v;
		return 0;
	}
	if (r == -ERANGE)
		return parse_error(p, "Group=%s: gid %s is out of range; gids go up to 4294967294", s, s);
	errno = 0;
	gr = getgrnam(s);
	if (gr) {
		*ret = gr->gr_gid;
		return 0;
	}
	if (starts_with_digit(s))
		return parse_error(p, "Group=%s: \"%s\" is neither a numeric gid nor a known group name; write the gid in decimal digits or use the group's name",
				   s, s);
	return parse_error(p, "Group=%s: unknown group \"%s\"; create the group first or give its numeric gid", s, s);
}

static int parse_bool(struct parser *p, const char *key, const char *value, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return parse_error(p, "%s=%s: not a boolean; use yes or no (true/false, on/off and 1/0 work too)", key, value);
}

/* A count for a limit: a number, or "infinity" for none. */
static int parse_limit(struct parser *p, const char *key, const char *value, uint32_t *ret)
{
	unsigned long long v = 0;

	if (strcasecmp(value, "infinity") == 0) {
		*ret = POLICY_UNLIMITED;
		return 0;
	}
	if (parse_decimal(value, POLICY_UNLIMITED - 1, &v) < 0)
		return parse_error(p, "%s=%s: not a valid number; give a whole number below 4294967295, or infinity for no limit", key, value);
	*ret = (uint32_t)v;
	return 0;
}

#define LIST_SEPARATORS " \t,"

static int parse_own_namespaces(struct parser *p, char *value)
{
	return parse_bool(p, "OwnNamespaces", value, &p->policy->own_namespaces);
}

static int parse_root_only_below(struct parser *p, char *value)
{
	unsigned long long v = 0;
	int r = parse_decimal(value, POLICY_PID_LIMIT, &v);

	if (r == -ERANGE)
		return parse_error(p, "RootOnlyBelow=%s: above the kernel's PID limit; give at most %d (which reserves every PID for root)",
				   value, POLICY_PID_LIMIT);
	if (r < 0)
		return parse_error(p, "RootOnlyBelow=%s: not a valid number; give a whole number such as 1000, or 0 for no floor", value);
	p->policy->root_only_below = (pid_t)v;
	return 0;
}

static int parse_users(struct parser *p, char *value)
{
	struct policy_grant *g = current_grant(p);
	char *save = NULL;

	for (char *tok = strtok_r(value, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		uid_t uid = 0;
		int r = parse_user(p, "User=", tok, &uid);

		if (r < 0)
			return r;
		if (append(&g->uids, &g->n_uids, sizeof(uid), &uid) < 0)
			return out_of_memory(p);
	}
	return 0;
}

static int parse_groups(struct parser *p, char *value)
{
	struct policy_grant *g = current_grant(p);
	char *save = NULL;

	for (char *tok = strtok_r(value, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		gid_t gid = 0;
		int r = parse_group(p, tok, &gid);

		if (r < 0)
			return r;
		if (append(&g->gids, &g->n_gids, sizeof(gid), &gid) < 0)
			return out_of_memory(p);
	}
	return 0;
}

static int parse_one_pid(struct parser *p, const char *token, const char *s, pid_t *ret)
{
	unsigned long long v = 0;
	int r = parse_decimal(s, UINT32_MAX, &v);

	if (r == -EINVAL)
		return parse_error(p, "PIDs=: \"%s\" is not a PID or a range; write a number such as 4242 or a range such as 300000-399999",
				   token);
	if (r == -ERANGE || v >= POLICY_PID_LIMIT)
		return parse_error(p, "PIDs=: %s is beyond the kernel's limit: PIDs are below %d; lower it", s, POLICY_PID_LIMIT);
	if (v == 0)
		return parse_error(p, "PIDs=: PID 0 cannot be granted (PIDs start at 1, and any free PID needs no grant); remove it");
	*ret = (pid_t)v;
	return 0;
}

static int parse_pids(struct parser *p, char *value)
{
	struct policy_grant *g = current_grant(p);
	char *save = NULL;

	for (char *tok = strtok_r(value, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		struct policy_pid_range range;
		char token[64], *dash;
		int r;

		snprintf(token, sizeof(token), "%s", tok);
		dash = strchr(tok, '-');
		if (dash) {
			*dash = '\0';
			r = parse_one_pid(p, token, tok, &range.first);
			if (r == 0)
				r = parse_one_pid(p, token, dash + 1, &range.last);
			if (r < 0)
				return r;
			if (range.first > range.last)
				return parse_error(p, "PIDs=: range %s starts after it ends; write it as %d-%d",
						   token, range.last, range.first);
		} else {
			r = parse_one_pid(p, token, tok, &range.first);
			if (r < 0)
				return r;
			range.last = range.first;
		}
		if (append(&g->ranges, &g->n_ranges, sizeof(range), &range) < 0)
			return out_of_memory(p);
	}
	return 0;
}

static int parse_namespaces(struct parser *p, char *value)
{
	static const char owned_by[] = "owned-by:";
	struct policy_grant *g = current_grant(p);
	char *save = NULL;

	for (char *tok = strtok_r(value, LIST_SEPARATORS, &save); tok; tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		struct policy_ns ns = { 0 };
		int r;

		if (strcmp(tok, "host") == 0)
			ns.kind = POLICY_NS_HOST;
		else if (strcmp(tok, "any") == 0)
			ns.kind = POLICY_NS_ANY;
		else if (strncmp(tok, owned_by, sizeof(owned_by) - 1) == 0) {
			const char *who = tok + sizeof(owned_by) - 1;

			if (*who == '\0')
				return parse_error(p, "Namespace=%s: name the owner, as in owned-by:1000 or owned-by:alice", tok);
			ns.kind = POLICY_NS_OWNED_BY;
			r = parse_user(p, "Namespace=owned-by:", who, &ns.owner);
			if (r < 0)
				return r;
		} else
			return parse_error(p, "Namespace=%s: unknown namespace; use host, owned-by:UID (a user name or number) or any", tok);
		if (append(&g->namespaces, &g->n_namespaces, sizeof(ns), &ns) < 0)
			return out_of_memory(p);
	}
	return 0;
}

static int parse_default_max_reservations(struct parser *p, char *value)
{
	return parse_limit(p, "DefaultMaxReservations", value, &p->policy->default_max_reservations);
}

static int parse_max_reservations(struct parser *p, char *value)
{
	return parse_limit(p, "MaxReservations", value, &current_grant(p)->max_reservations);
}

static int parse_spawns_per_second(struct parser *p, char *value)
{
	return parse_limit(p, "SpawnsPerSecond", value, &current_grant(p)->spawns_per_second);
}

static const struct key keys[] = {
	{ "OwnNamespaces", SECTION_POLICY, parse_own_namespaces },
	{ "RootOnlyBelow", SECTION_POLICY, parse_root_only_below },
	{ "DefaultMaxReservations", SECTION_POLICY, parse_default_max_reservations },
	{ "User", SECTION_GRANT, parse_users },
	{ "Group", SECTION_GRANT, parse_groups },
	{ "PIDs", SECTION_GRANT, parse_pids },
	{ "Namespace", SECTION_GRANT, parse_namespaces },
	{ "MaxReservations", SECTION_GRANT, parse_max_reservations },
	{ "SpawnsPerSecond", SECTION_GRANT, parse_spawns_per_second },
};

_Static_assert(ELEMENTSOF(keys) <= ELEMENTSOF(((struct parser *)0)->key_line), "key_line too small");

/* A grant is checked when its section ends, so that keys may come in any
 * order; errors point at its [Grant] line. */
static int finish_section(struct parser *p)
{
	struct policy_grant *g;
	unsigned int line = p->line;
	int r = 0;

	if (p->section != SECTION_GRANT)
		return 0;
	g = current_grant(p);
	p->line = p->section_line;
	if (g->n_uids == 0 && g->n_gids == 0)
		r = parse_error(p, "this [Grant] names nobody; add User= or Group= (or remove the section)");
	else if (g->n_ranges == 0)
		r = parse_error(p, "this [Grant] grants no PIDs; add PIDs= with ranges such as 300000-399999 (or remove the section)");
	else if (g->n_namespaces == 0) {
		/* Grants exist for what the own-namespace rule does not cover,
		 * first of all the host namespace. */
		struct policy_ns host = { .kind = POLICY_NS_HOST };

		if (append(&g->namespaces, &g->n_namespaces, sizeof(host), &host) < 0)
			r = out_of_memory(p);
	}
	p->line = line;
	return r;
}

static int start_section(struct parser *p, char *line)
{
	size_t len = strlen(line);
	struct policy_grant grant = { .max_reservations = POLICY_UNLIMITED, .spawns_per_second = POLICY_UNLIMITED };
	char *name;
	int r;

	r = finish_section(p);
	if (r < 0)
		return r;
	if (line[len - 1] != ']')
		return parse_error(p, "a section header must end with ']': write [Policy] or [Grant]");
	line[len - 1] = '\0';
	name = line + 1;
	while (isspace((unsigned char)*name))
		name++;
	for (len = strlen(name); len > 0 && isspace((unsigned char)name[len - 1]); len--)
		name[len - 1] = '\0';

	memset(p->key_line, 0, sizeof(p->key_line));
	p->section_line = p->line;
	if (strcmp(name, "Policy") == 0) {
		p->section = SECTION_POLICY;
		return 0;
	}
	if (strcmp(name, "Grant") != 0)
		return parse_error(p, "unknown section [%s]; the sections are [Policy] and [Grant]", name);
	p->section = SECTION_GRANT;
	snprintf(grant.rule, sizeof(grant.rule), "grant #%zu (%s:%u)", p->policy->n_grants + 1, p->name, p->line);
	if (append(&p->policy->grants, &p->policy->n_grants, sizeof(grant), &grant) < 0)
		return out_of_memory(p);
	return 0;
}

static void list_keys(enum section section, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(keys) && at < len; i++)
		if (keys[i].section == section)
			at += (size_t)snprintf(buf + at, len - at, "%s%s=", at ? ", " : "", keys[i].name);
}

static int parse_assignment(struct parser *p, char *line)
{
	char *eq = strchr(line, '='), *key = line, *value, *end;
	char known[160];
	const struct key *k = NULL;
	size_t i;

	if (!eq || eq == line)
		return parse_error(p, "expected Key=Value, a [Section] header or a comment, not \"%s\"", line);
	*eq = '\0';
	for (end = eq; end > key && isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';
	value = eq + 1;
	while (isspace((unsigned char)*value))
		value++;

	for (i = 0; i < ELEMENTSOF(keys); i++)
		if (strcmp(keys[i].name, key) == 0) {
			k = &keys[i];
			break;
		}
	if (p->section == SECTION_NONE)
		return parse_error(p, "%s= is outside any section; put it under [Policy] or [Grant]", key);
	if (!k) {
		list_keys(p->section, known, sizeof(known));
		return parse_error(p, "unknown key %s= in [%s]; the keys there are %s", key, section_names[p->section], known);
	}
	if (k->section != p->section)
		return parse_error(p, "%s= belongs in [%s], not in [%s]; move it", key, section_names[k->section],
				   section_names[p->section]);
	if (p->key_line[i])
		return parse_error(p, "%s= is set twice in this [%s] section (first on line %u); keep one", key,
				   section_names[p->section], p->key_line[i]);
	if (*value == '\0')
		return parse_error(p, "%s= has no value; give one or remove the line", key);
	p->key_line[i] = p->line;
	return k->parse(p, value);
}

/* Cuts a comment off: '#' or ';' at the start or after whitespace, so that a
 * note may follow a value on its line. */
static void strip_comment(char *line)
{
	for (char *c = line; *c; c++)
		if ((*c == '#' || *c == ';') && (c == line || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			return;
		}
}

static char *trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	for (len = strlen(s); len > 0 && isspace((unsigned char)s[len - 1]); len--)
		s[len - 1] = '\0';
	return s;
}

static int parse_stream(struct parser *p, FILE *f)
{
	char *buf = NULL;
	size_t cap = 0;
	int r = 0;

	while (getline(&buf, &cap, f) >= 0) {
		char *line;

		p->line++;
		strip_comment(buf);
		line = trim(buf);
		if (*line == '\0')
			continue;
		r = line[0] == '[' ? start_section(p, line) : parse_assignment(p, line);
		if (r < 0)
			goto out;
	}
	if (ferror(f)) {
		r = why_set(p->why, EIO, "%s:%u: cannot read past this line (%s); fix the file", p->path, p->line, strerror(errno));
		goto out;
	}
	r = finish_section(p);
out:
	free(buf);
	return r;
}

/* path names the text in messages and grant rules. */
static int parse_named_stream(const char *path, FILE *f, struct policy *policy, struct why *why)
{
	const char *slash = strrchr(path, '/');
	struct parser p = { .path = path, .name = slash ? slash + 1 : path, .policy = policy, .why = why };

	return parse_stream(&p, f);
}

static int parse_file(const char *path, bool missing_ok, struct policy *policy, struct why *why)
{
	struct stat st;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		if (r == -ENOENT && missing_ok)
			return 0;
		return why_set(why, -r, "%s: cannot read it (%s); fix its permissions or remove it", path, strerror(-r));
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		r = why_set(why, EINVAL, "%s: not a regular file; remove it or move it out of the way", path);
		goto out;
	}
	r = parse_named_stream(path, f, policy, why);
	if (r == 0) {
		/* Kept for `pidrestorectl policy`, which says where rules come from. */
		char *copy = strdup(path);

		if (!copy || append(&policy->files, &policy->n_files, sizeof(copy), &copy) < 0) {
			free(copy);
			r = why_set(why, ENOMEM, "%s: out of memory", path);
		}
	}
out:
	fclose(f);
	return r;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_drop_in(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

/* The drop-ins, in strcmp order so that the result does not depend on the
 * locale. */
static int parse_drop_ins(const char *dir_path, struct policy *policy, struct why *why)
{
	char **names = NULL;
	size_t n_names = 0;
	struct dirent *de;
	DIR *dir;
	int r = 0;

	dir = opendir(dir_path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		return why_set(why, -r, "%s: cannot read the drop-in directory (%s); fix its permissions or remove it",
			       dir_path, strerror(-r));
	}
	while ((errno = 0, de = readdir(dir))) {
		char *name;

		if (!is_drop_in(de->d_name))
			continue;
		name = strdup(de->d_name);
		if (!name || append(&names, &n_names, sizeof(name), &name) < 0) {
			free(name);
			r = why_set(why, ENOMEM, "%s: out of memory", dir_path);
			goto out;
		}
	}
	if (errno) {
		r = why_set(why, errno, "%s: cannot list the drop-in directory (%s)", dir_path, strerror(errno));
		goto out;
	}
	if (n_names > 1)
		qsort(names, n_names, sizeof(*names), compare_names);
	for (size_t i = 0; i < n_names && r == 0; i++) {
		char *path;

		if (asprintf(&path, "%s/%s", dir_path, names[i]) < 0) {
			r = why_set(why, ENOMEM, "%s: out of memory", dir_path);
			break;
		}
		r = parse_file(path, false, policy, why);
		free(path);
	}
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	return r;
}

static int load(const char *main_path, bool main_required, struct policy *ret, struct why *why)
{
	char *dir_path = NULL;
	int r;

	policy_default(ret);
	r = parse_file(main_path, !main_required, ret, why);
	if (r == -ENOENT)
		/* Most likely a typo: running on the defaults instead would
		 * hide it until a request is refused. */
		r = why_set(why, ENOENT,
			    "%s: no such file; the policy file named by --config must exist (only the default, %s, may be missing: the defaults apply then)",
			    main_path, CONFIG_DEFAULT_PATH);
	if (r < 0)
		goto fail;
	if (asprintf(&dir_path, "%s.d", main_path) < 0) {
		r = why_set(why, ENOMEM, "out of memory");
		goto fail;
	}
	r = parse_drop_ins(dir_path, ret, why);
	free(dir_path);
	if (r < 0)
		goto fail;
	return 0;
fail:
	policy_free(ret);
	return r;
}

int config_load(const char *main_path, struct policy *ret, struct why *why)
{
	return load(main_path, false, ret, why);
}

int config_load_named(const char *main_path, struct policy *ret, struct why *why)
{
	return load(main_path, true, ret, why);
}

int config_load_text(const char *name, const char *text, size_t len, struct policy *ret, struct why *why)
{
	FILE *f;
	int r;

	policy_default(ret);
	/* Read only, so the cast drops nothing that matters. */
	f = fmemopen((void *)text, len, "r");
	if (!f)
		return why_set(why, errno, "%s: cannot read the text (%s)", name, strerror(errno));
	r = parse_named_stream(name, f, ret, why);
	fclose(f);
	if (r < 0)
		policy_free(ret);
	return r;
}
