/* Logging: structured journal entries when stderr is connected to journald,
 * one line per message on stderr otherwise. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/* Decides the destination and the most verbose priority logged. */
void log_setup(int max_priority);

/* Parses "err", "warning", "info", "debug" (or 0-7); -EINVAL otherwise. */
int log_level_from_string(const char *s);

bool log_to_journal(void);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A message with extra journal fields: each entry is "KEY=value". On stderr the
 * fields are appended as key=value. */
void log_fields(int priority, const char *const *fields, size_t n_fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
