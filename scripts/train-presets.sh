#!/usr/bin/env bash
# Reproduces models/presets (the default model until 2026-12-07): synthesises the training and
# validation scans of the three presets with `rhizoct synth` and trains the dual-resolution
# network on them with `rhizoct train`.
#   scripts/train-presets.sh [WORKDIR] [extra train flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/rhizoct-train-default}
shift || true
rz="node bin/rhizoct.js"
mkdir -p "$work"
make_scan() { # name seed difficulty size
  [[ -d "$work/$1.zarr" ]] || $rz synth "$work/$1.zarr" --seed "$2" --difficulty "$3" --shape "$4" --quiet
}
make_scan train-m1 101 medium 128
make_scan train-m2 102 medium 128
make_scan train-m3 103 medium 128
make_scan train-h1 201 hard 128
make_scan train-h2 202 hard 128
make_scan train-e1 301 easy 128
make_scan val-m 901 medium 96
make_scan val-h 902 hard 96
data=$(printf "$work/%s.zarr," train-m1 train-m2 train-m3 train-h1 train-h2 train-e1)
$rz train --data "${data%,}" --val "$work/val-m.zarr,$work/val-h.zarr" --out models/presets \
  --arch dual --optimizer adam --lr 0.002 --lr-final 0.0001 --batch 2 --steps 100 --epochs 15 --rounds 1 --dice 0.5 \
  --val-patches 16 --seed 7 "$@"
