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
