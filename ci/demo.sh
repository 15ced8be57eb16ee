#!/usr/bin/env bash
# Builds and runs the main demo: a pipeline of 100,000 tasklets passing messages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
cmake --preset x86_64 >/dev/null
cmake --build --preset x86_64 --target pipeline -j "$(nproc)" >/dev/null
exec ./build/x86_64/examples/pipeline "$@"
