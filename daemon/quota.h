/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-user accounting (DESIGN §5.3, §10): outstanding reservations and open
 * connections by responsible uid (peer.h), process creations per second by
 * requester uid, over all of the user's connections; and the token bucket
 * behind every rate limit of the daemon. The limits themselves come from the policy
 * (policy_user_limits()) and the command line; this module only counts. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A token bucket for a rate of per_second tokens a second that holds at most
 * one second's worth: a burst up to the rate passes at once, and the budget
 * refills smoothly. All zeroes is a bucket not used yet; it starts full. */
struct quota_bucket {
	uint64_t budget;          /* millionths of a token */
	uint32_t rate;            /* per_second it was last filled at */
	uint64_t filled_usec;     /* when it was last filled */
};

/* Takes n tokens. Returns 0, or -EAGAIN with *retry_usec saying when n would
 * fit; -E2BIG when n exceeds what one second allows at all. A changed
 * per_second (a reload) starts a full budget at the new rate. */
int quota_bucket_take(struct quota_bucket *b, uint32_t per_second, size_t n, uint64_t now_usec, uint64_t *retry_usec);

/* A reservation of uid started (+1) or ended (-1: claimed or released). */
void quota_add_outstanding(uid_t uid, int delta);

unsigned int quota_outstanding(uid_t uid);

/* Takes n process creations from uid's budget of per_second creations a
 * second (a quota_bucket). Returns 0, or -EAGAIN with *retry_usec saying when
 * n would fit; -E2BIG when n exceeds what one second allows at all. */
int quota_take_spawns(uid_t uid, uint32_t per_second, size_t n, uint64_t now_usec, uint64_t *retry_usec);

/* A connection of uid opened (+1) or closed (-1). Returns 0, or -ENOMEM when
 * a new user's record cannot be made (the connection must then be refused). */
int quota_add_connection(uid_t uid, int delta);

unsigned int quota_connections(uid_t uid);

/* Forgets everything (daemon stop). */
void quota_reset(void);
