#!/usr/bin/env bash
# Installs redis-server from the Debian/Ubuntu packages, if missing: the
# shared session cache (ssl/rediscache) and its integration test run against
# a real Redis that the tests start themselves on loopback (the package's own
# system service is not needed and is not started here).
# Idempotent: nothing is downloaded when it is installed.
set -euo pipefail

pkg=redis-server

say() { echo "install-redis: $*" >&2; }
die() { say "$*"; exit 1; }

installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	command -v redis-server >/dev/null 2>&1 && { say "no dpkg; found $(command -v redis-server)"; exit 0; }
	die "not a Debian-based system and no redis-server found: install Redis with your package manager"
fi
if installed "$pkg"; then
	say "$pkg is installed"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		die "need root to install $pkg: run as root, or: sudo apt-get install $pkg"
	fi
fi
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $pkg by hand"

say "installing $pkg"
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)
# policy-rc.d 101 keeps the package's post-install from starting a system
# redis on port 6379 (in a container there may be no init to ask anyway).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod +x "$policy"
	made_policy=1
fi
cleanup() { if ((made_policy)); then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
"${apt[@]}" install -y --no-install-recommends "$pkg" ||
	{ "${apt[@]}" update || die "apt-get update failed (network or sources.list?)"; "${apt[@]}" install -y --no-install-recommends "$pkg"; } ||
	die "apt-get install $pkg failed"
installed "$pkg" || die "$pkg still not installed after apt-get install"
say "installed $pkg"
