/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copies a requester's seccomp filters as a restorer does: attach without
 * stopping it (PTRACE_SEIZE), stop it (PTRACE_INTERRUPT), read each filter
 * (PTRACE_SECCOMP_GET_FILTER), detach. The filter bytes come from the
 * kernel, never from the requester; the requester decides only whether and
 * when it stops, so the wait for the stop is bounded. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <event2/event.h>

#include "holder-proto.h"
#include "kernel.h"
#include "log.h"
#include "seccomp-copy.h"

/* Headers may be older than the kernel (DESIGN §12). */
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#define COPY_GET_FILTER 0x420c   /* PTRACE_SECCOMP_GET_FILTER, 4.4 */
#define COPY_GET_METADATA 0x420d /* PTRACE_SECCOMP_GET_METADATA, 4.16 */
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG 2
#endif

struct copy_metadata {
	uint64_t filter_off;
	uint64_t flags;
};

#define STOP_POLL_NSEC 100000L

/* ------------------------------------------------------------ sets */

struct seccomp_set *seccomp_set_ref(struct seccomp_set *set)
{
	if (set)
		set->refs++;
	return set;
}

void seccomp_set_unref(struct seccomp_set *set)
{
	if (set && --set->refs == 0)
		free(set);
}

bool seccomp_set_equal(const struct seccomp_set *a, const struct seccomp_set *b)
{
	if (!a || !b)
		return a == b;
	return a->len == b->len && a->n_filters == b->n_filters && memcmp(a->data, b->data, a->len) == 0;
}

void seccomp_set_describe(const struct seccomp_set *set, char *buf, size_t size)
{
	if (!set)
		snprintf(buf, size, "no filter");
	else
		snprintf(buf, size, "%u filter%s, %u instruction%s", set->n_filters, set->n_filters == 1 ? "" : "s",
			 set->n_insns, set->n_insns == 1 ? "" : "s");
}

/* ------------------------------------------------------------ letting go */

/* A tracee cannot be detached while it runs, and one killed while traced
 * stays a zombie bound to its tracer until the tracer waits for it (only
 * then does its parent learn of its exit). Such tracees are let go here,
 * from the event loop: detached once they stop, waited for once they exit.
 * The list is bounded, and a full list refuses further copies, so that
 * requesters that do not stop cannot pile up. */
#define LET_GO_SLOTS 64

struct let_go {
	pid_t pid;
	bool own_child;
};

static struct let_go let_go_list[LET_GO_SLOTS];
static size_t let_go_count;
static struct event *let_go_timer;

/* Returns true when the tracee is let go (or was never ours any more). */
static bool let_go_try(const struct let_go *g)
{
	siginfo_t si = { 0 };
	int sig;

	if (waitid(P_PID, (id_t)g->pid, &si, WSTOPPED | WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
		return true;
	if (si.si_pid != g->pid)
		return false;
	if (si.si_code == CLD_TRAPPED) {
		sig = (si.si_status >> 8) == PTRACE_EVENT_STOP ? 0 : si.si_status & 0x7f;
		return ptrace(PTRACE_DETACH, g->pid, NULL, (void *)(long)sig) == 0 || errno != ESRCH;
	}
	/* Exited. The daemon's own child is reaped by proc-exit.c. */
	if (!g->own_child)
		waitid(P_PID, (id_t)g->pid, &si, WEXITED | WNOHANG | __WALL);
	return true;
}

static void let_go_tick(evutil_socket_t fd, short what, void *arg)
{
	const struct timeval again = { 0, 100000 };

	for (size_t i = 0; i < LET_GO_SLOTS; i++)
		if (let_go_list[i].pid && let_go_try(&let_go_list[i])) {
			let_go_list[i].pid = 0;
			let_go_count--;
		}
	if (let_go_count)
		evtimer_add(let_go_timer, &again);
}

static void let_go_later(pid_t pid, bool own_child)
{
	const struct timeval soon = { 0, 0 };

	for (size_t i = 0; i < LET_GO_SLOTS; i++)
		if (!let_go_list[i].pid) {
			let_go_list[i] = (struct let_go){ .pid = pid, .own_child = own_child };
			let_go_count++;
			if (let_go_timer)
				evtimer_add(let_go_timer, &soon);
			return;
		}
	/* Not reached: copies are refused while the list is full. */
	log_error("pid %d stays traced by pidrestored: too many tracees to let go at once", pid);
}

int seccomp_copy_init(struct event_base *base)
{
	let_go_timer = evtimer_new(base, let_go_tick, NULL);
	return let_go_timer ? 0 : -ENOMEM;
}

void seccomp_copy_shutdown(void)
{
	if (let_go_timer)
		event_free(let_go_timer);
	let_go_timer = NULL;
}

/* ------------------------------------------------------------ copy */

struct tracee {
	pid_t pid;
	int pidfd;
	int status_fd;
	bool own_child;    /* the daemon is its parent: its exit is proc-exit.c's to reap */
	bool attached;
	int resume_signal; /* a signal it stopped for, given back on detach */
};

static int status_fields(int status_fd, int *mode, pid_t *tracer, pid_t *ppid)
{
	char buf[8192];
	const char *v;

	if (read_proc_fd(status_fd, buf, sizeof(buf)) < 0)
		return -ESRCH;
	v = proc_status_field(buf, "Seccomp");
	*mode = v ? atoi(v) : 0;
	v = proc_status_field(buf, "TracerPid");
	*tracer = v ? atoi(v) : 0;
	v = proc_status_field(buf, "PPid");
	*ppid = v ? atoi(v) : 0;
	return 0;
}

static int refuse_traced(pid_t pid, pid_t tracer, struct why *why)
{
	return why_set(why, EBUSY, "the requester (pid %d) runs under a seccomp filter and is traced by pid %d; pidrestored must attach to it to copy its filters to the new process: make the request without a debugger or tracer attached",
		       pid, tracer);
}

static void detach(struct tracee *t)
{
	if (!t->attached)
		return;
	t->attached = false;
	if (ptrace(PTRACE_DETACH, t->pid, NULL, (void *)(long)t->resume_signal) == 0)
		return;
	/* Not stopped (yet), or killed while stopped. */
	let_go_later(t->pid, t->own_child);
}

static int attach(struct tracee *t, struct why *why)
{
	int mode;
	pid_t tracer, ppid;

	if (ptrace(PTRACE_SEIZE, t->pid, NULL, NULL) < 0) {
		int err = errno;

		if (status_fields(t->status_fd, &mode, &tracer, &ppid) < 0 || err == ESRCH)
			return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied",
				       t->pid);
		if (tracer > 0)
			return refuse_traced(t->pid, tracer, why);
		return why_set(why, err, "pidrestored cannot attach to the requester (pid %d) to copy its seccomp filters: PTRACE_SEIZE: %s; check the kernel's ptrace restrictions (Yama ptrace_scope 3 forbids it)",
			       t->pid, strerror(err));
	}
	t->attached = true;
	/* Attached to the PID, which is the requester's only if the pidfd's
	 * process still lives: a PID is not reused while its process does. */
	if (pr_pidfd_send_signal(t->pidfd, 0, NULL, 0) < 0 && errno == ESRCH) {
		detach(t);
		return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied", t->pid);
	}
	return 0;
}

/* Waits, a bounded time, for the stop PTRACE_INTERRUPT asked for (or a
 * signal-delivery or group stop, which serve as well). */
static int wait_stop(struct tracee *t, struct why *why)
{
	uint64_t until = now_usec() + SECCOMP_COPY_STOP_USEC;
	const struct timespec pause = { 0, STOP_POLL_NSEC };

	if (ptrace(PTRACE_INTERRUPT, t->pid, NULL, NULL) < 0)
		return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied", t->pid);
	for (;;) {
		siginfo_t si = { 0 };

		/* WNOWAIT: an exit of the daemon's own child is proc-exit.c's. */
		if (waitid(P_PID, (id_t)t->pid, &si, WSTOPPED | WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
			return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied",
				       t->pid);
		if (si.si_pid == t->pid && si.si_code == CLD_TRAPPED) {
			if ((si.si_status >> 8) != PTRACE_EVENT_STOP)
				t->resume_signal = si.si_status & 0x7f;
			return 0;
		}
		if (si.si_pid == t->pid)
			return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied",
				       t->pid);
		if (now_usec() >= until)
			return why_set(why, EAGAIN, "the requester (pid %d) runs under a seccomp filter and did not stop within %d ms for pidrestored to copy it (is it in an uninterruptible sleep?); make the request from a thread that waits for the reply",
				       t->pid, SECCOMP_COPY_STOP_USEC / 1000);
		nanosleep(&pause, NULL);
	}
}

/* A filter whose copy would not behave as the original. */
static int check_filter(const struct sock_filter *insns, long n, long index, struct why *why)
{
	for (long i = 0; i < n; i++) {
		if (BPF_CLASS(insns[i].code) != BPF_RET)
			continue;
		if (BPF_RVAL(insns[i].code) != BPF_K)
			return why_set(why, EPERM, "the requester's seccomp filter %ld (0 is the first installed) returns a value it computes, which may be SECCOMP_RET_USER_NOTIF; such a filter cannot be copied faithfully (its listener belongs to another process), so pidrestored refuses",
				       index);
		if ((insns[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
			return why_set(why, EPERM, "the requester's seccomp filter %ld (0 is the first installed) returns SECCOMP_RET_USER_NOTIF, whose listener belongs to another process (a container runtime's supervisor); a copy would reach no listener and behave differently, so pidrestored refuses; run the requester without that filter",
				       index);
	}
	return 0;
}

static int get_filter_error(long index, int err, struct why *why)
{
	if (err == EIO || err == EINVAL)
		return why_set(why, ENOSYS, "this kernel cannot read seccomp filters (PTRACE_SECCOMP_GET_FILTER: %s; it needs CONFIG_CHECKPOINT_RESTORE and CONFIG_SECCOMP_FILTER), so pidrestored cannot give the new process the requester's filter and refuses",
			       strerror(err));
	if (err == EACCES)
		return why_set(why, EACCES, "pidrestored cannot read the requester's seccomp filters (PTRACE_SECCOMP_GET_FILTER: %s): the daemon's privileged process must run with CAP_SYS_ADMIN and under no seccomp filter of its own",
			       strerror(err));
	if (err == EMEDIUMTYPE)
		return why_set(why, EPERM, "the requester's seccomp filter %ld (0 is the first installed) is not a classic BPF program and cannot be copied", index);
	return why_set(why, err, "cannot read the requester's seccomp filter %ld: %s", index, strerror(err));
}

/* Reads every filter into a set, in the order the kernel numbers them:
 * 0 is the first installed (the outermost), the order they are installed
 * in again. */
static int read_filters(struct tracee *t, struct seccomp_set **ret, struct why *why)
{
	struct sock_filter *insns[HOLDER_MAX_FILTER_PATH / (1 + HOLDER_FILTER_PATH_COST)];
	struct holder_filter heads[ELEMENTSOF(insns)];
	struct seccomp_set *set = NULL;
	long n = 0, path = 0;
	int r = 0;

	for (;; n++) {
		struct copy_metadata md = { .filter_off = (uint64_t)n };
		long len = ptrace(COPY_GET_FILTER, t->pid, (void *)n, NULL);

		if (len < 0 && errno == ENOENT && n > 0)
			break;
		if (len < 0) {
			r = get_filter_error(n, errno, why);
			goto out;
		}
		path += len + HOLDER_FILTER_PATH_COST;
		if (len == 0 || len > HOLDER_MAX_FILTER_INSNS || path > HOLDER_MAX_FILTER_PATH || n >= (long)ELEMENTSOF(insns)) {
			r = why_set(why, E2BIG, "the requester's seccomp filters exceed what the kernel allows one task (%d instructions); cannot copy them",
				    HOLDER_MAX_FILTER_PATH);
			goto out;
		}
		/* Zeroed: tools that trace the daemon do not know this call fills it. */
		insns[n] = calloc((size_t)len, sizeof(struct sock_filter));
		if (!insns[n]) {
			r = why_set(why, ENOMEM, "out of memory");
			goto out;
		}
		if (ptrace(COPY_GET_FILTER, t->pid, (void *)n, insns[n]) != len) {
			r = why_set(why, EAGAIN, "the requester's seccomp filter %ld changed while it was read; try again", n);
			n++;
			goto out;
		}
		heads[n].n_insns = (uint32_t)len;
		heads[n].flags = 0;
		if (ptrace(COPY_GET_METADATA, t->pid, (void *)sizeof(md), &md) == (long)sizeof(md))
			heads[n].flags = (uint32_t)(md.flags & SECCOMP_FILTER_FLAG_LOG);
		r = check_filter(insns[n], len, n, why);
		if (r < 0) {
			n++;
			goto out;
		}
	}

	set = calloc(1, sizeof(*set) + (size_t)n * sizeof(struct holder_filter) +
				(size_t)(path - n * HOLDER_FILTER_PATH_COST) * sizeof(struct sock_filter));
	if (!set) {
		r = why_set(why, ENOMEM, "out of memory");
		goto out;
	}
	set->refs = 1;
	set->n_filters = (uint32_t)n;
	for (long i = 0; i < n; i++) {
		memcpy(set->data + set->len, &heads[i], sizeof(heads[i]));
		set->len += sizeof(heads[i]);
		memcpy(set->data + set->len, insns[i], heads[i].n_insns * sizeof(struct sock_filter));
		set->len += heads[i].n_insns * sizeof(struct sock_filter);
		set->n_insns += heads[i].n_insns;
	}
	*ret = set;
out:
	for (long i = 0; i < n; i++)
		free(insns[i]);
	return r;
}

int seccomp_copy(pid_t pid, int pidfd, int status_fd, struct seccomp_set **ret, struct why *why)
{
	struct tracee t = { .pid = pid, .pidfd = pidfd, .status_fd = status_fd };
	pid_t tracer, ppid;
	int mode, r;

	*ret = NULL;
	/* Once a request: one read of a file kept open, which describes the
	 * requester or fails, whatever process has its PID by now. */
	if (status_fields(status_fd, &mode, &tracer, &ppid) < 0)
		return why_set(why, ESRCH, "the requester (pid %d) exited before its seccomp filters could be copied", pid);
	if (mode == SECCOMP_MODE_DISABLED)
		return 0;
	if (mode != SECCOMP_MODE_FILTER)
		return why_set(why, EPERM, "the requester runs in seccomp strict mode (mode %d), which no new process can be given; make the request from a process that is not", mode);
	if (tracer > 0)
		return refuse_traced(pid, tracer, why);
	if (let_go_count == LET_GO_SLOTS)
		return why_set(why, EAGAIN, "pidrestored is still letting go of %d processes it attached to for their seccomp filters, which did not stop; try again later",
			       LET_GO_SLOTS);
	t.own_child = ppid == getpid();

	r = attach(&t, why);
	if (r == 0)
		r = wait_stop(&t, why);
	if (r == 0)
		r = read_filters(&t, ret, why);
	detach(&t);
	return r;
}
