/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdreserve.h"

/* One accept() and the refusal it answers take a single fd; the rest is
 * room for the log's own (a journal socket reopened, a file). */
#define FDRESERVE_COUNT 4

static int reserve[FDRESERVE_COUNT] = { -1, -1, -1, -1 };

int fdreserve_init(void)
{
	fdreserve_refill();
	for (int i = 0; i < FDRESERVE_COUNT; i++)
		if (reserve[i] < 0)
			return -EMFILE;
	return 0;
}

void fdreserve_close(void)
{
	fdreserve_lend();
}

void fdreserve_lend(void)
{
	for (int i = 0; i < FDRESERVE_COUNT; i++)
		close_fdp(&reserve[i]);
}

void fdreserve_refill(void)
{
	for (int i = 0; i < FDRESERVE_COUNT; i++)
		if (reserve[i] < 0)
			reserve[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Fewer free fds than this is out of fds: a failure is looked at after
 * its fds were closed again, and a connection needs about this many
 * (conn.c), a new process three. */
#define FDRESERVE_HEADROOM 16

bool fdreserve_exhausted(void)
{
	int fds[FDRESERVE_HEADROOM], n, err = 0;

	for (n = 0; n < FDRESERVE_HEADROOM; n++) {
		fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			err = errno;
			break;
		}
	}
	while (n > 0)
		close(fds[--n]);
	return err == EMFILE || err == ENFILE;
}

void fdreserve_why(struct why *why)
{
	struct rlimit rl = { 0 };

	getrlimit(RLIMIT_NOFILE, &rl);
	why_set(why, EMFILE, "the daemon is out of file descriptors (its limit is %llu, held by its connections and reservations); try again once some are released, or ask the administrator to raise the limit (LimitNOFILE=)",
		(unsigned long long)rl.rlim_cur);
}

bool fdreserve_explain(struct why *why)
{
	if (!fdreserve_exhausted())
		return false;
	fdreserve_why(why);
	return true;
}
