/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-deny: runs a command on what looks like an older kernel: the
 * named system calls fail with the given errno, as they would where they
 * or their flags do not exist yet.
 *
 *   seccomp-deny [--without-no-new-privs] SYSCALL=ERRNO[,SYSCALL=ERRNO...] CMD [ARGS...]
 *
 * e.g. seccomp-deny clone3=ENOSYS,ioctl=ENOTTY pidrestorectl check --local
 * Known system calls: clone3, ioctl, setns, getsockopt, unshare, ptrace,
 * personality, and ptrace-get-filter (ptrace's PTRACE_SECCOMP_GET_FILTER
 * request alone, as on a kernel without it). Known errno values: ENOSYS, ENOTTY, EINVAL, ENOPROTOOPT,
 * EPERM, EIO; and NOTIF, which makes the call SECCOMP_RET_USER_NOTIF (as a
 * container runtime's supervisor does; with no listener it fails ENOSYS).
 * --without-no-new-privs installs the filter as a process with
 * CAP_SYS_ADMIN may, without setting no_new_privs.
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

#define NO_ARG (-1L)

static const struct {
	const char *name;
	int nr;
	long arg0; /* the first argument that must match too, or NO_ARG */
} syscalls[] = {
	{ "ptrace-get-filter", __NR_ptrace, 0x420c },
	{ "clone3", __NR_clone3, NO_ARG },
	{ "ioctl", __NR_ioctl, NO_ARG },
	{ "setns", __NR_setns, NO_ARG },
	{ "getsockopt", __NR_getsockopt, NO_ARG },
	{ "unshare", __NR_unshare, NO_ARG },
	{ "ptrace", __NR_ptrace, NO_ARG },
	{ "personality", __NR_personality, NO_ARG },
};

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOSYS", ENOSYS }, { "ENOTTY", ENOTTY }, { "EINVAL", EINVAL },
	{ "ENOPROTOOPT", ENOPROTOOPT }, { "EPERM", EPERM }, { "EIO", EIO },
	{ "NOTIF", -1 },
};

struct rule {
	int nr;
	long arg0;
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
			ret->arg0 = syscalls[i].arg0;
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
	struct sock_filter filter[4 + 5 * MAX_RULES + 1];
	struct rule rules[MAX_RULES];
	struct sock_fprog prog = { .filter = filter };
	size_t n_rules = 0, n = 0;
	const char *p;
	int no_new_privs = 1;

	if (argc > 1 && strcmp(argv[1], "--without-no-new-privs") == 0) {
		no_new_privs = 0;
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: seccomp-deny [--without-no-new-privs] SYSCALL=ERRNO[,SYSCALL=ERRNO...] CMD [ARGS...]\n");
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
		if (rules[i].arg0 != NO_ARG) {
			/* nr and the first argument; then nr is loaded again. */
			filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)rules[i].nr, 0, 4);
			filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
			filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)rules[i].arg0, 0, 1);
			filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)rules[i].err);
			filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
			continue;
		}
		filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)rules[i].nr, 0, 1);
		filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, rules[i].err < 0 ? SECCOMP_RET_USER_NOTIF :
									 SECCOMP_RET_ERRNO | (unsigned int)rules[i].err);
	}
	filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)n;

	if ((no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "seccomp-deny: cannot install the filter: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "seccomp-deny: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
