#!/usr/bin/env bash
# Provisions a persistent SoftHSM2 token for trying tokenssl by hand: its
# own store in $TOKENSSL_TOKEN_DIR (default ./.tokens, never the system's
# /var/lib/softhsm), random SO and user PINs in files there (mode 0600; no
# PIN is ever put on a command line), an RSA key generated on the token
# and a self-signed certificate beside it. Prints the tokenssl server and
# client command lines. Running it again reuses the token; extra arguments
# go to the provisioner (e.g. -force, -key-label, -cn, -bits).
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${TOKENSSL_TOKEN_DIR:-$PWD/.tokens}"
bash scripts/install-deps.sh
umask 077
exec go run ./softhsm/cmd/provision -dir "$dir" "$@"
