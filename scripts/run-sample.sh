#!/usr/bin/env bash
# The main job on the bundled sample: installs what rhizoct needs (scripts/setup.sh), checks the
# WebGPU device, segments volumes/synthetic-sample.zarr with the shipped default model, and
# compares the result with the sample's exact ground truth, and measures its root traits.
#   scripts/run-sample.sh [OUTPUT_DIR]      (default: ./sample-output)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${1:-sample-output}
mkdir -p "$out"
rz="node bin/rhizoct.js"
$rz gpu
echo
$rz info volumes/synthetic-sample.zarr --no-stats
echo
$rz segment volumes/synthetic-sample.zarr "$out/segmentation.zarr" --model models/default --overwrite --nifti "$out/mask.nii.gz"
echo
$rz eval "$out/segmentation.zarr" volumes/synthetic-sample.zarr --bands 4 --save "$out/eval.json"
echo
$rz traits "$out/segmentation.zarr" --out "$out/traits"
echo
echo "look at it: node bin/rhizoct.js view volumes/synthetic-sample.zarr --seg $out/segmentation.zarr --traits $out/traits --open"
