#!/usr/bin/env bash
# Installs everything the tests need (scripts/setup.sh --test), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx tsc -p tsconfig.test.json # product, benchmarks and tests, all strict
npm run --silent lint # Prettier's formatting, ESLint's rules and the layer order of src/
# Randomised tests run on one fixed seed here (RHIZOCT_SEED=fresh fuzzes with a new one per run).
export RHIZOCT_SEED="${RHIZOCT_SEED:-1204}"
npx vitest run "$@"
