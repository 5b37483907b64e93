/* Per-user accounting for the policy's limits (DESIGN §5.3): outstanding
 * reservations and process creations per second, by requester uid, over
 * all of the user's connections. The limits themselves come from the policy
 * (policy_user_limits()); this module only counts. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A reservation of uid started (+1) or ended (-1: claimed or released). */
void quota_add_outstanding(uid_t uid, int delta);

unsigned int quota_outstanding(uid_t uid);

/* Takes n process creations from uid's budget of per_second creations a
 * second (a token bucket holding at most one second's worth, so a burst up to
 * the limit passes and the budget refills smoothly). Returns 0, or -EAGAIN
 * with *retry_usec saying when n would fit; -E2BIG when n exceeds what one
 * second allows at all. */
int quota_take_spawns(uid_t uid, uint32_t per_second, size_t n, uint64_t now_usec, uint64_t *retry_usec);

/* Forgets everything (daemon stop). */
void quota_reset(void);
