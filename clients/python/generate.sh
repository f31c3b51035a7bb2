#!/usr/bin/env bash
# Regenerates the committed Python stubs (src/spectra/bulk/v1/) from Protos/ with grpcio-tools.
# tests/test_package.py fails when they no longer match. spectra/ and spectra/bulk/ stay namespace
# packages (no __init__.py), so stubs a user generates from the same protos can sit beside them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
include="$(python3 -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
python3 -m grpc_tools.protoc --proto_path=../../Protos --proto_path="$include" \
  --python_out=src --pyi_out=src --grpc_python_out=src spectra/bulk/v1/bulk.proto
