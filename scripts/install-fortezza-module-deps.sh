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
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$(dirname "${BASH_SOURCE[0]}")/install-deps.sh"

if ! have_dpkg; then
	command -v cc >/dev/null || die "no dpkg and no C compiler: install gcc and OpenSSL headers"
	log "no dpkg; assuming a C compiler and OpenSSL headers are installed"
	exit 0
fi

ensure_packages gcc libc6-dev libssl-dev p11-kit p11-kit-modules
