#!/usr/bin/env bash
# Measures the card module in process against the same module behind
# p11-kit (p11-kit server + p11-kit-client.so, Debian's p11-kit 0.24): DSA
# sign and KEA derive latency, and whether the KEA parameters and the
# token-written IV survive p11-kit's RPC. Needs a token provisioned on the
# module: SOFTHSM2_CONF and FORTEZZA_CARD_DIR set, and
#   measure-fortezza-p11kit.sh LABEL PINFILE [N]
set -euo pipefail
cd "$(dirname "$0")/.."
label=$1 pinfile=$2 n=${3:-300}
bash scripts/install-fortezza-module-deps.sh
make -s fortezza-module
cc -O2 -Wall -Itoken/pkcs11/internal/p11fortezza/third_party -o bin/p11bench internal/fortezzacard/p11bench.c -ldl
module=$PWD/bin/libfortezzacard.so
client=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
echo "== in process"
./bin/p11bench "$module" "$label" "$(cat "$pinfile")" "$n"
run=$(mktemp -d)
trap 'kill "$P11_KIT_SERVER_PID" 2>/dev/null || true; rm -rf "$run"' EXIT
eval "$(XDG_RUNTIME_DIR=$run p11-kit server -s --provider "$module" "pkcs11:")"
echo "== through p11-kit server ($P11_KIT_SERVER_ADDRESS)"
./bin/p11bench "$client" "$label" "$(cat "$pinfile")" "$n" || true
echo "== mechanisms p11-kit passes on"
pkcs11-tool --module "$client" -M 2>/dev/null || true
