#!/usr/bin/env bash
# The whole test suite: the Swift tests (unit, integration, end to end) and the polyglot check
# (a Python client generated from Protos/ against the real server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python3 - <<'PY' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check grpcio grpcio-tools grpcio-health-checking grpcio-reflection pytest h2
import grpc, grpc_tools, grpc_health, grpc_reflection, pytest, h2
PY

swift build
swift test
python3 -m pytest -q Tests/polyglot
bash Tests/curl/against-server.sh
