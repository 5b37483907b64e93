# SPDX-License-Identifier: LGPL-2.1-or-later
# A restorer inside real container runtimes (rootless bubblewrap, rootless
# podman, systemd-nspawn with a private user namespace; scripts/deps.sh
# installs them), with the daemon's socket bound in. Each skips, saying
# why, where its runtime is missing or cannot run. Included by the
# top-level Makefile.am.
CONTAINERS_TESTS = \
	tests/integration/containers-bwrap.sh \
	tests/integration/containers-podman.sh \
	tests/integration/containers-nspawn.sh
TESTS += $(CONTAINERS_TESTS)
EXTRA_DIST += $(CONTAINERS_TESTS) tests/integration/containers-lib.sh
