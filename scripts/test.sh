#!/usr/bin/env bash
# Installs everything the tests need (scripts/setup.sh --test), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx tsc -p tsconfig.test.json # product, benchmarks and tests, all strict
npx vitest run "$@"
