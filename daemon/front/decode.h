/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decode: the stateless first stage of every request (decode -> validate ->
 * authorize -> act -> reply). From a packet's bytes and the number of fds it
 * carried to a Request whose structure the handlers may rely on, or a
 * refusal. It needs no connection and opens no fd, so it is fuzzed on its own
 * (tests/fuzz/fuzz-request.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pidrestore.pb-c.h"
#include "util.h"

/* Unpacks buf (len bytes) as a Request whose packet carried n_fds fds, and
 * checks all that can be checked without a connection:
 *   - fd_count matches n_fds, and only spawn, reserve, exec, policy, tree
 *     and a tree's claims carry fds;
 *   - every ProcessSpec: at most PR_MAX_SET_TID PIDs, none negative, and with
 *     new_pidns an innermost PID of 1 or 0;
 *   - every ExecSpec: a program (path or fd), no NUL byte in the path, the
 *     arguments or the environment, a path shorter than PATH_MAX, at most
 *     WIRE_MAX_FDS - 2 fd mappings to distinct targets;
 *   - every tree: at most TREE_MAX_NODES nodes and TREE_MAX_THREADS
 *     threads, at most PR_MAX_LEVELS PIDs or TIDs each, none negative (its
 *     rules are tree_rules_check()'s);
 *   - every fd index in range and used once, and every fd used.
 * A request type that carries a ProcessSpec or an ExecSpec must be checked
 * here: the handlers do not repeat these checks.
 *
 * Returns 0 with *ret the request, or -errno (EPROTO for a malformed packet,
 * EINVAL or ENAMETOOLONG for a bad field) with why saying what was wrong and
 * *ret the request when the bytes decoded (so that the reply can carry its
 * id) or NULL when they did not. The caller frees *ret, in both cases, with
 * pidrestore__request__free_unpacked(*ret, NULL). */
int decode_request(const uint8_t *buf, size_t len, size_t n_fds, Pidrestore__Request **ret, struct why *why);

/* The checks of decode_request() after the unpacking, for a request built
 * some other way (priv-proto.h): the same promises to the handlers. */
int decode_validate(const Pidrestore__Request *req, size_t n_fds, struct why *why);

/* Marks fd index as used for what ("program", "fd map", ...) in used[],
 * which has n_fds entries. Returns 0, or -EPROTO with why set when the index
 * is out of range or was used before. */
int decode_fd_index(int32_t index, size_t n_fds, bool used[], const char *what, struct why *why);
