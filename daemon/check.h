/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The answer to a check request: what the kernel offers, as the process
 * that builds it sees it, with its privileges and namespaces (DESIGN §12).
 * pidrestored answers with its own view; pidrestorectl check --local builds
 * the same reply for itself. */
#pragma once

#include "pidrestore.pb-c.h"

/* Probes the kernel and fills reply. Probes whose answer cannot change
 * while the process runs (those that create processes among them) run at
 * the first call only; pid_max and the cgroup mount are read every time.
 * The reply points into storage of this module: it stays valid until the
 * next call. */
void check_reply_build(Pidrestore__CheckReply *reply);
