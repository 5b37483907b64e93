#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what pidrestore needs to build and to run its tests, with apt-get,
# and only when something is missing. Non-interactive; needs root to install.
set -euo pipefail

PACKAGES=(
	# build
	gcc make pkg-config autoconf automake libtool
	libprotobuf-c-dev protobuf-c-compiler libevent-dev libsystemd-dev libseccomp-dev
	# tests: setpriv, unshare, mount, timeout, systemd-socket-activate and
	# systemd-analyze; jq reads --json output and journal records
	util-linux mount coreutils systemd jq
	# tests: pgrep and ps (not in a minimal image); script(1) gives
	# pidrestorectl a terminal (pager, -j); zsh parses its completion
	procps bsdutils zsh
	# tests: manual pages render without warnings, and pass mandoc's lint
	man-db groff-base mandoc
	# fuzz targets: clang and its runtimes (libFuzzer, ASan, UBSan)
	clang libclang-rt-dev
	# the daemon's leak check (scripts/test.sh step 4)
	valgrind
	# tests/integration/containers-*.sh: a restorer inside real runtimes,
	# rootless bubblewrap and podman (runc for hybrid cgroup hosts, where
	# crun refuses rootless containers; uidmap, slirp4netns, fuse-overlayfs
	# for podman's ordinary rootless use) and systemd-nspawn
	bubblewrap podman runc uidmap slirp4netns fuse-overlayfs systemd-container
	# ... which compare how system calls fail in a container and in its child
	python3
	# tests/dist: a build with Debian's default flags (dpkg-buildflags), and
	# the Debian packages built, checked and installed (debian-package.sh)
	dpkg-dev debhelper lintian
)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian-like system; install the equivalents of: ${PACKAGES[*]}" >&2
	exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: everything needed is installed"
	exit 0
fi

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: installing packages needs root (run it as root, or with sudo: sudo $0)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
