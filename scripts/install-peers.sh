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
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ensure_packages libnss3-tools openssl coreutils

for tool in certutil pk12util selfserv tstclnt openssl stdbuf; do
	command -v "$tool" >/dev/null || die "$tool still missing after install"
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
