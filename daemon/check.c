/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <unistd.h>

#include "check.h"
#include "probe.h"

static struct {
	bool probed[PROBE_N_FEATURES];
	struct probe_result results[PROBE_N_FEATURES];
	Pidrestore__KernelFeature features[PROBE_N_FEATURES];
	Pidrestore__KernelFeature *feature_ptrs[PROBE_N_FEATURES];
	char kernel[65];
} check;

void check_reply_build(Pidrestore__CheckReply *reply)
{
	pidrestore__check_reply__init(reply);
	for (int f = 0; f < PROBE_N_FEATURES; f++) {
		const struct probe_feature_info *info = probe_feature_info(f);
		Pidrestore__KernelFeature *kf = &check.features[f];

		if (!check.probed[f] || !info->lasting) {
			probe_feature(f, &check.results[f]);
			check.probed[f] = true;
		}
		pidrestore__kernel_feature__init(kf);
		kf->name = (char *)info->name;
		kf->available = check.results[f].available;
		kf->detail = check.results[f].detail;
		kf->without = (char *)info->without;
		kf->has_required = 1;
		kf->required = info->required;
		check.feature_ptrs[f] = kf;
	}
	probe_kernel_release(check.kernel, sizeof(check.kernel));
	reply->n_features = PROBE_N_FEATURES;
	reply->features = check.feature_ptrs;
	reply->kernel = check.kernel;
	reply->has_probed_by_pid = 1;
	reply->probed_by_pid = (uint32_t)getpid();
}
