#!/usr/bin/env bash
# Installs what tokenssl needs from Debian/Ubuntu packages, if missing:
#   softhsm2  the PKCS#11 token that tests, CI and the demo run against
#   opensc    pkcs11-tool, to inspect tokens by hand
# Idempotent: nothing is downloaded when both are installed. Works as root
# without a terminal (CI), or through passwordless sudo. Exits non-zero
# with a message saying what to do when it cannot install.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! have_dpkg; then
	# Not Debian: accept a SoftHSM2 installed some other way.
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
		if [[ -f "$m" ]]; then
			log "no dpkg; found $m, assuming SoftHSM2 is installed"
			exit 0
		fi
	done
	die "not a Debian-based system and no SoftHSM2 module found: install softhsm2 and opensc with your package manager"
fi

ensure_packages softhsm2 opensc
