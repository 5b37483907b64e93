# SPDX-License-Identifier: LGPL-2.1-or-later
# The policy: grants from a real --config, start-up refusal of a broken
# file, SIGHUP reloads, and the kernel's own rules for root and for a
# user's own namespaces. Included by the top-level Makefile.am.
POLICY_TESTS = \
	tests/integration/policy-grants.sh \
	tests/integration/policy-users.sh \
	tests/integration/policy-limits.sh \
	tests/integration/policy-ctl.sh \
	tests/integration/policy-kernel-rule.sh \
	tests/integration/ctl-admin.sh \
	tests/integration/ctl-userns.sh \
	tests/integration/ctl-conventions.sh \
	tests/integration/audit.sh
TESTS += $(POLICY_TESTS)
EXTRA_DIST += $(POLICY_TESTS)
