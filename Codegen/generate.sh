#!/usr/bin/env bash
# Regenerates Sources/BulkProto/Generated from Protos/ with Debian's protoc and the
# protoc-gen-swift / protoc-gen-grpc-swift-2 plugins built from the pinned packages.
#
#   Codegen/generate.sh [OUTPUT_DIR]   (default: Sources/BulkProto/Generated)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/Sources/BulkProto/Generated}"

command -v protoc >/dev/null || {
  echo "protoc not found: apt-get install protobuf-compiler libprotobuf-dev" >&2
  exit 1
}

swift build --package-path "$root" --product protoc-gen-swift >&2
swift build --package-path "$root" --product protoc-gen-grpc-swift-2 >&2
bin="$(swift build --package-path "$root" --show-bin-path)"

mkdir -p "$out"
rm -f "$out"/*.swift
protos=(spectra/bulk/v1/bulk.proto)
options="Visibility=Package,FileNaming=PathToUnderscores,UseAccessLevelOnImports=true"
protoc \
  --proto_path="$root/Protos" \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --swift_out="$out" --swift_opt="$options" \
  --plugin=protoc-gen-grpc-swift-2="$bin/protoc-gen-grpc-swift-2" \
  --grpc-swift-2_out="$out" --grpc-swift-2_opt="$options,Client=true,Server=true" \
  "${protos[@]}"
echo "generated into $out" >&2
