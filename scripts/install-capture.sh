#!/usr/bin/env bash
# Installs tcpdump and tshark from the Debian/Ubuntu packages, if missing:
# the key-log test (integration/keylog_test.go) captures a real SSL 3.0
# handshake on loopback with tcpdump and decrypts it with tshark.
# tshark's package asks whether non-root users may capture; the answer is
# preseeded ("no": the test runs the capture as root) so nothing prompts.
# Idempotent: nothing is downloaded when both are installed.
set -euo pipefail

pkgs=(tcpdump tshark)

say() { echo "install-capture: $*" >&2; }
die() { say "$*"; exit 1; }

installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	if command -v tcpdump >/dev/null 2>&1 && command -v tshark >/dev/null 2>&1; then
		say "no dpkg; found $(command -v tcpdump) and $(command -v tshark)"
		exit 0
	fi
	die "not a Debian-based system and no tcpdump/tshark found: install them with your package manager"
fi
missing=()
for p in "${pkgs[@]}"; do
	installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	say "${pkgs[*]} are installed"
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

if command -v debconf-set-selections >/dev/null 2>&1; then
	echo "wireshark-common wireshark-common/install-setuid boolean false" | "${sudo[@]}" debconf-set-selections
fi
say "installing ${missing[*]}"
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120)
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" ||
	{ "${apt[@]}" update || die "apt-get update failed (network or sources.list?)"; "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; } ||
	die "apt-get install ${missing[*]} failed"
for p in "${missing[@]}"; do
	installed "$p" || die "$p still not installed after apt-get install"
done
say "installed ${missing[*]}"
