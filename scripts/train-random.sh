#!/usr/bin/env bash
# Trains the default architecture on the random synth family (plus a few preset scans) with the
# PyTorch reference trainer over rhizoct's own sampler, keeping the checkpoint that scores best on
# held-out scans with rhizoct's own segment + eval (bench/train-random.ts): the first step of the
# lineage of models/default (its card, and bench/RESULTS.md sessions 22-28, give the later steps).
# Needs scripts/setup.sh --test (for python3-torch).
#   scripts/train-random.sh [WORKDIR] [extra flags for bench/train-random.ts...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/rhizoct-train-random}
shift || true
npx tsc -p tsconfig.json
node dist/bench/train-random.js --work "$work" "$@"
