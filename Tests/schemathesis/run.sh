#!/usr/bin/env bash
# Fuzzes the REST surface with Schemathesis against the real server (SPECTRA_BULK_BINARY, or the
# debug build): every check, every phase (stateful included, following the document's links),
# with the bounds of schemathesis.toml. Any finding fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
root="$(cd ../.. && pwd)"
binary="${SPECTRA_BULK_BINARY:-$root/.build/debug/spectra-bulk}"
data="$(mktemp -d)"
token="schemathesis-$RANDOM$RANDOM"

# The server's first lines arrive through a FIFO, so the port is read as soon as it is printed.
mkfifo "$data/stdout"
SPECTRA_DEV_TOKEN="$token" "$binary" serve --demo --grpc-port 0 --http-port 0 --data-dir "$data/spectra" \
  >"$data/stdout" 2>"$data/stderr" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
exec 3<"$data/stdout"
address=""
while [[ -z "$address" ]] && IFS= read -r -t 60 line <&3; do
  [[ "$line" == "http listening on "* ]] && address="${line#http listening on }"
done
[[ -n "$address" ]] || { cat "$data/stderr" >&2; echo "the server did not report its HTTP port" >&2; exit 1; }

seed=()
[[ -n "${SCHEMATHESIS_SEED:-}" ]] && seed=(--seed "$SCHEMATHESIS_SEED")
st --config-file schemathesis.toml run "http://$address/v1/openapi.json" --checks all \
  --header "Authorization: Bearer $token" --no-color "${seed[@]}"

# The server must have survived the run.
kill -0 "$server"
