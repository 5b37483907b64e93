/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The roles of pidrestore-holder (holder-proto.h): the placeholder every
 * created process starts as, the daemon's spawner of placeholders, and the
 * spawner's namespace helper. */
#pragma once

/* The placeholder, from its first step: its fds at the holder slots and
 * every signal blocked. */
__attribute__((noreturn)) void holder_run(void);

/* When the daemon started this program as its spawner, serves it until the
 * daemon goes away and exits; otherwise returns at once. */
void spawner_run_if_asked(void);

/* The namespace helper, from its first step: its fds at the slots
 * holder-proto.h gives and every signal blocked. */
__attribute__((noreturn)) void pidns_helper_run(int join_userns);
