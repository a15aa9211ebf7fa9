#!/usr/bin/env bash
# Installs what tokenssl needs from Debian/Ubuntu packages, if missing:
#   softhsm2  the PKCS#11 token that tests, CI and the demo run against
#   opensc    pkcs11-tool, to inspect tokens by hand
# Idempotent: nothing is downloaded when both are installed. Works as root
# without a terminal (CI), or through passwordless sudo. Exits non-zero
# with a message saying what to do when it cannot install.
set -euo pipefail

packages=(softhsm2 opensc)

say() { echo "install-deps: $*" >&2; }
die() { say "$*"; exit 1; }

installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	# Not Debian: accept a SoftHSM2 installed some other way.
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
		if [[ -f "$m" ]]; then
			say "no dpkg; found $m, assuming SoftHSM2 is installed"
			exit 0
		fi
	done
	die "not a Debian-based system and no SoftHSM2 module found: install softhsm2 and opensc with your package manager"
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	say "softhsm2 and opensc are installed"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		die "need root to install ${missing[*]}: run as root, or: sudo apt-get install ${missing[*]}"
	fi
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)
# Only now is an index needed; a fresh container has none.
"${apt[@]}" update || die "apt-get update failed (network or sources.list?)"
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"

for p in "${missing[@]}"; do
	installed "$p" || die "$p still not installed after apt-get install"
done
say "installed ${missing[*]}"
