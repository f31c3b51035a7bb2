#!/usr/bin/env bash
# Fails when the committed generated code differs from what Codegen/generate.sh makes now.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

"$root/Codegen/generate.sh" "$fresh"
if ! diff -ru "$root/Sources/BulkProto/Generated" "$fresh"; then
  echo "Sources/BulkProto/Generated is stale: run Codegen/generate.sh and commit the result" >&2
  exit 1
fi
echo "generated code is up to date"
