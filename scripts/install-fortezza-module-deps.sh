#!/usr/bin/env bash
# Installs what `make fortezza-module` and its measurements need, if missing:
#   gcc, libc6-dev   the C compiler for the module (internal/fortezzacard)
#   libssl-dev       OpenSSL's libcrypto BN for KEA's arithmetic
#   p11-kit, p11-kit-modules
#                    the out-of-process alternative that was measured
#                    (p11-kit server / p11-kit remote, p11-kit-client.so)
# Idempotent: dpkg-query first; apt-get update only when a missing package
# has no candidate in the current lists. Root, or passwordless sudo.
set -euo pipefail

packages=(gcc libc6-dev libssl-dev p11-kit p11-kit-modules)

log() { printf 'install-fortezza-module-deps: %s\n' "$*" >&2; }

is_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

bash "$(dirname "${BASH_SOURCE[0]}")/install-deps.sh"

if ! command -v dpkg-query >/dev/null 2>&1; then
	command -v cc >/dev/null || { log "no dpkg and no C compiler: install gcc and OpenSSL headers"; exit 1; }
	log "no dpkg; assuming a C compiler and OpenSSL headers are installed"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	is_installed "$p" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	log "packages present: ${packages[*]}"
	exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
	as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	log "need root to install: ${missing[*]}"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
need_update=0
for p in "${missing[@]}"; do
	cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [[ -z $cand || $cand == "(none)" ]]; then
		need_update=1
	fi
done
if ((need_update)); then
	log "apt-get update"
	"${as_root[@]}" apt-get update -q </dev/null
fi
log "apt-get install ${missing[*]}"
"${as_root[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
for p in "${missing[@]}"; do
	is_installed "$p" || { log "$p still not installed"; exit 1; }
done
log "installed ${missing[*]}"
