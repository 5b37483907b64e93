/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin's policy file (DESIGN §5): pidrestored.conf and its drop-ins
 * pidrestored.conf.d/ *.conf, systemd-style INI, parsed into a struct policy. */
#pragma once

#include "policy.h"
#include "util.h"

/* $(sysconfdir)/pidrestore/pidrestored.conf, from the build. */
#ifndef CONFIG_DEFAULT_PATH
#define CONFIG_DEFAULT_PATH "/etc/pidrestore/pidrestored.conf"
#endif

/* Loads main_path (--config; CONFIG_DEFAULT_PATH by default), then every *.conf in main_path.d/ in lexical order, into
 * *ret (which it initialises). A missing main file or drop-in directory
 * contributes nothing, so a fresh install gets the defaults. Returns 0, or
 * -errno with why saying "FILE:LINE: what is wrong" and what to do; *ret is
 * then left at the defaults with nothing allocated. */
int config_load(const char *main_path, struct policy *ret, struct why *why);

/* Like config_load() for a file the admin named (--config): its absence is an
 * error (ENOENT), not the defaults. */
int config_load_named(const char *main_path, struct policy *ret, struct why *why);


/* Like config_load() for one file's text already in memory (len bytes; NUL
 * bytes end a line's text as they would in a file), without drop-ins. name
 * stands for the file in messages and grant rules. */
int config_load_text(const char *name, const char *text, size_t len, struct policy *ret, struct why *why);
