/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Not part of libpidrestore's ABI: requests whose replies the caller reads
 * as protobuf messages. For pidrestorectl, which links the library's objects
 * statically; programs use pidrestore.h. */
#pragma once

#include <stddef.h>

#include "pidrestore.h"
#include "pidrestore.pb-c.h"

/* Sends req with n_fds fds (req's fields index them) and waits for the
 * response, which must be of type expected and carry no fds. A refusal is
 * returned as the daemon's negative errno, with pidrestore_last_error()
 * saying why. Free *ret with pidrestore_raw_free(). */
int pidrestore_raw_call(pidrestore *c, Pidrestore__Request *req, const int *fds, size_t n_fds,
			Pidrestore__Response__BodyCase expected, Pidrestore__ServerMessage **ret);
void pidrestore_raw_free(Pidrestore__ServerMessage *msg);

/* Records why a call on c failed, for pidrestore_last_error(); returns r. */
int pidrestore_raw_set_error(pidrestore *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills spec from target; the fds it names are stored in fds (room for
 * cap) and counted in *n_fds. spec points into target. */
int pidrestore_raw_process_spec(pidrestore *c, const pidrestore_target *target, Pidrestore__ProcessSpec *spec,
				int *fds, size_t *n_fds, size_t cap);

/* pidrestore_check_kernel()'s answer made from a reply built elsewhere
 * (pidrestorectl check --local probes in its own process). */
int pidrestore_raw_kernel_check(const Pidrestore__CheckReply *reply, pidrestore_kernel_check **ret);
