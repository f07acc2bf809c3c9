#!/usr/bin/env bash
# Reproduces models/default: synthesises the training scans (the random family plus a few preset
# scans) and validation scans with `rhizoct synth`, draws examples with rhizoct's own sampler and
# trains the default dual-resolution network on them with the PyTorch reference trainer
# (bench/reference/train_budget.py, in parity with `rhizoct train`), keeping the checkpoint that
# scores best on the held-out scans with rhizoct's own segment + eval. Needs scripts/setup.sh --test
# (for python3-torch). About an hour on the 2-core VM.
#   scripts/train-default.sh [WORKDIR] [extra flags for bench/train-default.ts...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/rhizoct-train-default}
shift || true
npx tsc -p tsconfig.json
node dist/bench/train-default.js --work "$work" "$@"
