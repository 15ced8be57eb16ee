#!/usr/bin/env bash
# Builds and runs the main demo: a pipeline of 100,000 tasklets passing messages.
# Arguments go to the pipeline: `bash ci/demo.sh --shared-stacks 10000000 1` runs ten
# million stages on shared stacks and prints the memory each parked tasklet costs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
cmake --preset x86_64 >/dev/null
cmake --build --preset x86_64 --target pipeline -j "$(nproc)" >/dev/null
exec ./build/x86_64/examples/pipeline "$@"
