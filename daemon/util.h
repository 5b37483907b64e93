/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by the daemon's modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Why a request was refused or failed: a positive errno for the reply and a
 * sentence for the requester that names exactly what was wrong. */
struct why {
	int err;
	char text[512];
};

/* Fills why and returns -err, so refusals read `return why_set(...)`. */
int why_set(struct why *why, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reads a whole small file relative to dirfd into buf (NUL-terminated).
 * Returns its length or -errno; -EFBIG if it does not fit. */
ssize_t read_file_at(int dirfd, const char *path, char *buf, size_t cap);

/* Reads a /proc text file that fd has open, from its start, in one read:
 * procfs renders such a file whole for each read from its start and hands
 * over all of it that fits, so a read shorter than buf is the whole text.
 * Returns its length or -errno; -EFBIG if it does not fit. */
ssize_t read_proc_fd(int fd, char *buf, size_t cap);

/* Finds "Key:\t..." in a /proc status-style text; returns the value's start. */
const char *proc_status_field(const char *text, const char *key);

/* Closes *fd if it is open and marks it closed. */
void close_fdp(int *fd);

/* Inode number of what fd refers to, or 0. */
uint64_t fd_inode(int fd);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t now_usec(void);

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
