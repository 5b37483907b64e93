/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session-keyring: prints the serial number of the session keyring the
 * calling process would use, without creating one. A process that has none
 * gets its user's session keyring, so two processes print the same number
 * exactly when they would find the same keys in @s.
 *
 *   session-keyring */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>

int main(void)
{
	long serial = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);

	if (serial < 0) {
		fprintf(stderr, "session-keyring: cannot look up the session keyring: %s\n", strerror(errno));
		return 1;
	}
	printf("%ld\n", serial);
	return 0;
}
