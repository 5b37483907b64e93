/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that change what exists: release, kill, reload. */
#pragma once

#include <stdint.h>

#include "pidrestore.pb-c.h"
#include "util.h"

struct conn;

/* How the policy is read again (server.c's): on an error the policy in
 * force stays and why says what is wrong. */
void manage_set_reload(int (*reload_policy)(struct why *why));

/* Each answers c's request id, now or once the PIDs it frees are free. */
void manage_release(struct conn *c, uint64_t id, const Pidrestore__ReleaseRequest *req);
void manage_kill(struct conn *c, uint64_t id, const Pidrestore__KillRequest *req);
void manage_reload(struct conn *c, uint64_t id);

/* Release and kill requests of c are still counted, but not answered. */
void manage_conn_closed(struct conn *c);
