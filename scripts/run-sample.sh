#!/usr/bin/env bash
# Installs what rhizoct needs (scripts/setup.sh), then runs the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node bin/rhizoct.js gpu
