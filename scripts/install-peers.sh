#!/usr/bin/env bash
# Installs the independent SSL 3.0 peers that integration/interop tests
# tokenssl against:
#   - NSS's tools certutil, pk12util, selfserv, tstclnt (Debian: libnss3-tools)
#   - openssl (PEM key pair -> PKCS#12 for pk12util)
#   - coreutils' stdbuf (makes selfserv's statistics line buffered)
# and, when Go is available, downloads the modules of the zcrypto peer
# (integration/peers/zcryptopeer, a separate Go module) so its build needs
# no network later.
#
# Idempotent: a package is installed only if dpkg-query says it is absent, and
# `apt-get update` runs only when apt does not know a missing package yet (or
# an install from the current lists fails). Works as root with no stdin (CI);
# as another user it uses `sudo -n` when that works.
set -euo pipefail

packages=(libnss3-tools openssl coreutils)

log() { printf 'install-peers: %s\n' "$*" >&2; }

is_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
	is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
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

	# apt-get update only when needed: some missing package has no
	# installation candidate in the current lists (e.g. no lists at all).
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
	if ! "${as_root[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null; then
		if ((need_update)); then
			exit 1
		fi
		# Stale lists (packages moved on the mirror): refresh once, retry.
		log "install failed; apt-get update and retry"
		"${as_root[@]}" apt-get update -q </dev/null
		"${as_root[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
	fi
else
	log "packages present: ${packages[*]}"
fi

for tool in certutil pk12util selfserv tstclnt openssl stdbuf; do
	if ! command -v "$tool" >/dev/null; then
		log "$tool still missing after install"
		exit 1
	fi
done

# Warm the module cache for the zcrypto peer. GONOSUMDB: the checksum
# database does not answer for the pinned zcrypto pseudo-version; go.sum
# pins it.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if command -v go >/dev/null; then
	log "go mod download (integration/peers/zcryptopeer)"
	(cd "$repo/integration/peers/zcryptopeer" &&
		GOWORK=off GONOSUMDB=github.com/zmap/zcrypto go mod download </dev/null)
else
	log "go not on PATH; skipping the zcrypto peer's module download"
fi
log "ok"
