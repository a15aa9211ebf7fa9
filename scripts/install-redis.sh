#!/usr/bin/env bash
# Installs redis-server from the Debian/Ubuntu packages, if missing: the
# shared session cache (ssl/rediscache) and its integration test run against
# a real Redis that the tests start themselves on loopback (the package's own
# system service is not needed and is not started here).
# Idempotent: nothing is downloaded when it is installed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pkg=redis-server

if ! have_dpkg; then
	command -v redis-server >/dev/null 2>&1 && { log "no dpkg; found $(command -v redis-server)"; exit 0; }
	die "not a Debian-based system and no redis-server found: install Redis with your package manager"
fi
if is_installed "$pkg"; then
	log "packages present: $pkg"
	exit 0
fi

as_root_init "$pkg"
# policy-rc.d 101 keeps the package's post-install from starting a system
# redis on port 6379 (in a container there may be no init to ask anyway).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
	"${as_root[@]}" chmod +x "$policy"
	made_policy=1
fi
cleanup() { if ((made_policy)); then "${as_root[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
apt_install "$pkg"
