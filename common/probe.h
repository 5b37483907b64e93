/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the running kernel offers pidrestored, found by trying each feature
 * (DESIGN §12). Shared by the daemon, which answers `pidrestorectl check`
 * with its own view, and by pidrestorectl, which probes itself when no
 * daemon answers.
 *
 * Probes that create processes do so only in new pid namespaces or with a
 * child that exits at once; none takes a PID in the caller's namespace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum probe_feature {
	PROBE_CLONE3_SET_TID,
	PROBE_CLONE_PIDFD,
	PROBE_CLONE_INTO_CGROUP,
	PROBE_SETNS_PIDFD,
	PROBE_CAP_CHECKPOINT_RESTORE,
	PROBE_SO_PEERPIDFD,
	PROBE_PIDFD_GET_INFO,
	PROBE_PIDFD_GET_PID_NAMESPACE,
	PROBE_CGROUP2,
	PROBE_PID_MAX,
	PROBE_CGROUP_V1,
	PROBE_SECCOMP_GET_FILTER,
	PROBE_N_FEATURES,
};

/* What is known of a feature before probing it. */
struct probe_feature_info {
	const char *name;         /* as pidrestorectl check prints it */
	bool required;            /* pidrestored cannot work without it */
	bool lasting;             /* the answer holds for the caller's lifetime */
	const char *without;      /* what pidrestored does without it */
};

/* A detail that starts with this means the probe could not tell; the
 * feature then counts as not available. */
#define PROBE_UNKNOWN_PREFIX "unknown: "

struct probe_result {
	bool available;
	char detail[256];
};

const struct probe_feature_info *probe_feature_info(enum probe_feature f);

/* Tries f from the calling process, with its privileges and namespaces.
 * Never fails: what went wrong is in ret->detail. */
void probe_feature(enum probe_feature f, struct probe_result *ret);

bool probe_detail_is_unknown(const char *detail);

/* The kernel release (uname -r). */
void probe_kernel_release(char *buf, size_t size);
