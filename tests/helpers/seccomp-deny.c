/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-deny: runs a command on what looks like an older kernel: the
 * named system calls fail with the given errno, as they would where they
 * or their flags do not exist yet.
 *
 *   seccomp-deny SYSCALL=ERRNO[,SYSCALL=ERRNO...] CMD [ARGS...]
 *
 * e.g. seccomp-deny clone3=ENOSYS,ioctl=ENOTTY pidrestorectl check --local
 * Known system calls: clone3, ioctl, setns, getsockopt, unshare. Known
 * errno values: ENOSYS, ENOTTY, EINVAL, ENOPROTOOPT, EPERM.
 *
 * Exit status: the command's; 2 on a usage error, 125 if the filter
 * cannot be installed, 127 if the command cannot be run. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "kernel.h"

#define MAX_RULES 8

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-deny knows the audit architecture of x86_64 and aarch64 only"
#endif

static const struct {
	const char *name;
	int nr;
} syscalls[] = {
	{ "clone3", __NR_clone3 },
	{ "ioctl", __NR_ioctl },
	{ "setns", __NR_setns },
	{ "getsockopt", __NR_getsockopt },
	{ "unshare", __NR_unshare },
};

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOSYS", ENOSYS }, { "ENOTTY", ENOTTY }, { "EINVAL", EINVAL },
	{ "ENOPROTOOPT", ENOPROTOOPT }, { "EPERM", EPERM },
};

struct rule {
	int nr;
	int err;
};

static int parse_rule(const char *text, size_t len, struct rule *ret)
{
	const char *eq = memchr(text, '=', len);
	size_t name_len, errno_len;
	int found = 0;

	if (!eq)
		return -EINVAL;
	name_len = (size_t)(eq - text);
	errno_len = len - name_len - 1;
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
		if (strlen(syscalls[i].name) == name_len && memcmp(syscalls[i].name, text, name_len) == 0) {
			ret->nr = syscalls[i].nr;
			found |= 1;
		}
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strlen(errnos[i].name) == errno_len && memcmp(errnos[i].name, eq + 1, errno_len) == 0) {
			ret->err = errnos[i].value;
			found |= 2;
		}
	return found == 3 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct sock_filter filter[4 + 2 * MAX_RULES + 1];
	struct rule rules[MAX_RULES];
	struct sock_fprog prog = { .filter = filter };
	size_t n_rules = 0, n = 0;
	const char *p;

	if (argc < 3) {
		fprintf(stderr, "usage: seccomp-deny SYSCALL=ERRNO[,SYSCALL=ERRNO...] CMD [ARGS...]\n");
		return 2;
	}
	for (p = argv[1]; *p; p += *p == ',') {
		size_t len = strcspn(p, ",");

		if (n_rules == MAX_RULES || parse_rule(p, len, &rules[n_rules]) < 0) {
			fprintf(stderr, "seccomp-deny: cannot use '%.*s'; write e.g. clone3=ENOSYS (at most %d)\n",
				(int)len, p, MAX_RULES);
			return 2;
		}
		n_rules++;
		p += len;
	}

	/* Another architecture's numbers mean other calls: let them be. */
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < n_rules; i++) {
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)rules[i].nr, 0, 1);
		filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)rules[i].err);
	}
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "seccomp-deny: cannot install the filter: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "seccomp-deny: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
