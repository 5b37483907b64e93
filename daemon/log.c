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

__attribute__((format(printf, 4, 0)))
static void log_emit(int priority, const char *const *fields, size_t n_fields, const char *fmt, va_list ap)
{
	char text[2048];

	if (priority > log_max_priority)
		return;
	vsnprintf(text, sizeof(text), fmt, ap);

	if (log_journal) {
		struct iovec iov[3 + 32];
		char msg[2100], prio[16];
		size_t n = 0;

		snprintf(msg, sizeof(msg), "MESSAGE=%s", text);
		snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
		iov[n++] = (struct iovec){ msg, strlen(msg) };
		iov[n++] = (struct iovec){ prio, strlen(prio) };
		iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=pidrestored", strlen("SYSLOG_IDENTIFIER=pidrestored") };
		for (size_t i = 0; i < n_fields && n < ELEMENTSOF(iov); i++)
			iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
		if (sd_journal_sendv(iov, (int)n) >= 0)
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

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(priority, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_fields(int priority, const char *const *fields, size_t n_fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(priority, fields, n_fields, fmt, ap);
	va_end(ap);
}
