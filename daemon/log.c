/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

static int log_max_priority = LOG_INFO;
static bool log_journal;

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the
 * journal; if stderr is still that stream we log natively, with fields. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(int max_priority)
{
	log_max_priority = max_priority;
	log_journal = stderr_is_journal();
}

bool log_to_journal(void)
{
	return log_journal;
}

int log_level_from_string(const char *s)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };
	char *end;
	long v;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	v = strtol(s, &end, 10);
	if (*s && !*end && v >= 0 && v <= 7)
		return (int)v;
	return -1;
}

/* A field's value on stderr: as is when it is one word, else in double
 * quotes with \" and \\ escaped, so that a line splits back into fields. */
static int append_value(char *line, size_t size, int len, const char *value)
{
	bool quote = *value == '\0' || strpbrk(value, " \t\"\\") != NULL;

	if (len < 0 || (size_t)len >= size - 1)
		return len;
	if (!quote)
		return len + snprintf(line + len, size - (size_t)len, "%s", value);
	if ((size_t)len < size - 1)
		line[len++] = '"';
	for (const char *v = value; *v && (size_t)len < size - 3; v++) {
		if (*v == '"' || *v == '\\')
			line[len++] = '\\';
		line[len++] = *v == '\n' ? ' ' : *v;
	}
	if ((size_t)len < size - 1)
		line[len++] = '"';
	line[len] = '\0';
	return len;
}

/* The path to the source tree's top that __FILE__ starts with when the build
 * directory is elsewhere ("../../" for build/dev), from the build. */
#ifndef LOG_SOURCE_PREFIX
#define LOG_SOURCE_PREFIX ""
#endif

/* __FILE__ as the compiler saw it ("../../daemon/request.c"): the part from
 * the source tree's top ("daemon/request.c"), wherever the build was. */
static const char *source_name(const char *file)
{
	size_t len = strlen(LOG_SOURCE_PREFIX);

	if (len > 0 && strncmp(file, LOG_SOURCE_PREFIX, len) == 0)
		file += len;
	while (strncmp(file, "./", 2) == 0)
		file += 2;
	return file;
}

struct location {
	const char *file;
	int line;
	const char *func;
};

__attribute__((format(printf, 5, 0)))
static void log_emit(const struct location *at, int priority, const char *const *fields, size_t n_fields,
		     const char *fmt, va_list ap)
{
	char text[2048];

	if (priority > log_max_priority)
		return;
	vsnprintf(text, sizeof(text), fmt, ap);

	if (log_journal) {
		static const char requester_pid[] = "PIDRESTORE_REQUESTER_PID=";
		struct iovec iov[4 + 32];
		char msg[2100], prio[16], code_file[256], code_line[32], object_pid[48];
		size_t n = 0;

		snprintf(msg, sizeof(msg), "MESSAGE=%s", text);
		snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
		snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", source_name(at->file));
		snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", at->line);
		iov[n++] = (struct iovec){ msg, strlen(msg) };
		iov[n++] = (struct iovec){ prio, strlen(prio) };
		iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=pidrestored", strlen("SYSLOG_IDENTIFIER=pidrestored") };
		for (size_t i = 0; i < n_fields && n < ELEMENTSOF(iov) - 1; i++) {
			iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
			if (strncmp(fields[i], requester_pid, sizeof(requester_pid) - 1) == 0) {
				snprintf(object_pid, sizeof(object_pid), "OBJECT_PID=%s", fields[i] + sizeof(requester_pid) - 1);
				iov[n++] = (struct iovec){ object_pid, strlen(object_pid) };
			}
		}
		if (sd_journal_sendv_with_location(code_file, code_line, at->func, iov, (int)n) >= 0)
			return;
	}

	/* One write per line, so lines from concurrent writers do not mix. */
	{
		char line[4096];
		int len = snprintf(line, sizeof(line), "pidrestored: %s", text);

		for (size_t i = 0; i < n_fields && len > 0 && (size_t)len < sizeof(line); i++) {
			const char *eq = strchr(fields[i], '=');

			if (!eq)
				continue;
			len += snprintf(line + len, sizeof(line) - (size_t)len, " %.*s=", (int)(eq - fields[i]), fields[i]);
			len = append_value(line, sizeof(line), len, eq + 1);
		}
		if (len < 0)
			return;
		if ((size_t)len >= sizeof(line) - 1)
			len = (int)sizeof(line) - 2;
		line[len++] = '\n';
		(void)!write(STDERR_FILENO, line, (size_t)len);
	}
}

void log_msg_at(const char *file, int line, const char *func, int priority, const char *fmt, ...)
{
	const struct location at = { file, line, func };
	va_list ap;

	va_start(ap, fmt);
	log_emit(&at, priority, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields_at(const char *file, int line, const char *func, int priority, const char *const *fields,
		   size_t n_fields, const char *fmt, ...)
{
	const struct location at = { file, line, func };
	va_list ap;

	va_start(ap, fmt);
	log_emit(&at, priority, fields, n_fields, fmt, ap);
	va_end(ap);
}
