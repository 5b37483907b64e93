/* SPDX-License-Identifier: LGPL-2.1-or-later */
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

/* The callers' file, line and function reach the journal as CODE_FILE=,
 * CODE_LINE= and CODE_FUNC=, through the macros below. */
void log_msg_at(const char *file, int line, const char *func, int priority, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* A message with extra journal fields: each entry is "KEY=value". On stderr the
 * fields are appended as key=value. A PIDRESTORE_REQUESTER_PID= field also
 * gives the journal OBJECT_PID=, so that journald adds the requester's unit,
 * uid and command (OBJECT_SYSTEMD_UNIT=, ...) and `journalctl -u` of the
 * requester's unit finds the record. */
void log_fields_at(const char *file, int line, const char *func, int priority, const char *const *fields,
		   size_t n_fields, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#define log_msg(priority, ...) log_msg_at(__FILE__, __LINE__, __func__, priority, __VA_ARGS__)
#define log_fields(priority, fields, n_fields, ...) \
	log_fields_at(__FILE__, __LINE__, __func__, priority, fields, n_fields, __VA_ARGS__)

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
