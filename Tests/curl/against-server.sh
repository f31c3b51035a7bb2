#!/usr/bin/env bash
# Runs the seed's curl workflow against the real server on the embedded warehouse, as the README's
# quickstart runs it: `spectra-bulk serve --demo`, then Tests/curl/seed-workflow.sh and every example
# of the product document (Tests/curl/seed-examples.py).
#   Tests/curl/against-server.sh [PATH-TO-spectra-bulk]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="${1:-$here/../../.build/debug/spectra-bulk}"

data=$(mktemp -d)
output="$data/server.out"
SPECTRA_DEV_TOKEN=dev-token "$binary" serve --demo --grpc-port 0 --http-port 0 --data-dir "$data/spectra" >"$output" 2>"$data/server.err" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$data"' EXIT

port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/^http listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$output")
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.err" >&2; echo "the server exited" >&2; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { echo "the server did not print its HTTP port" >&2; exit 1; }

API_URL="http://127.0.0.1:$port/v1" TOKEN=dev-token bash "$here/seed-workflow.sh"
API_URL="http://127.0.0.1:$port/v1" TOKEN=dev-token SPECTRA_DEMO_WAREHOUSE="$data/spectra/warehouse/tenant-123.sqlite" \
  python3 "$here/seed-examples.py"
