#!/usr/bin/env bash
# The benchmarks on an NVIDIA machine with no Node and no network, within ~8 minutes: the
# forward convolution's variants and its inner loop's loads (conv-inner), conv3d
# (PyTorch on CUDA with TF32 off, then on), segment and one training step, ours through WebGPU
# (Dawn's Vulkan backend on the NVIDIA driver) against the PyTorch peers on CUDA.
#
# What it must carry (the working tree travels; these are ignored paths):
#   dist/            built here first: npx tsc -p tsconfig.json
#   node_modules/    the npm packages, `webgpu` (Dawn) among them
#   a Node.js 20 binary: NODE=/path/to/node, or shared/node/bin/node
# PyTorch with CUDA must be on the machine (/usr/bin/python3 or PYTHON=...).
#
#   bench/gpu.sh [OUT_DIR]      (default: $OUT, else bench/out/gpu)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-bench/out/gpu}}
mkdir -p "$out"
node=${NODE:-}
[ -z "$node" ] && [ -x shared/node/bin/node ] && node=shared/node/bin/node
[ -z "$node" ] && node=$(command -v node || true)
if [ -z "$node" ]; then echo "gpu.sh: no Node.js (set NODE=/path/to/node or carry shared/node)" >&2; exit 2; fi
for p in dist/bench/conv3d.js node_modules/webgpu; do
  [ -e "$p" ] || { echo "gpu.sh: $p is missing (build with npx tsc -p tsconfig.json and carry dist/ and node_modules/)" >&2; exit 2; }
done
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/device.txt"
step() { # name, seconds, command…
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)"
  timeout "$limit" "$@" > "$out/$name.txt" 2>&1; echo "exit $?" >> "$out/$name.txt"
  tail -n 12 "$out/$name.txt"
}
step gpu-check 40 "$node" bin/rhizoct.js gpu
# Which forward variant this GPU picks per layer shape (a fresh cache folder, so it is timed here).
step conv-variants 45 "$node" dist/bench/conv-variants.js --json "$out/conv-variants.json"
# Where the inner loop's time goes on this GPU: weights from storage, a uniform buffer or workgroup memory.
step conv-inner 20 "$node" dist/bench/conv-inner.js --json "$out/conv-inner.json"
step conv3d 120 "$node" dist/bench/conv3d.js --torch-device cuda --json "$out/conv3d.json"
step conv3d-tf32 120 "$node" dist/bench/conv3d.js --torch-device cuda --tf32 --json "$out/conv3d-tf32.json"
step segment 120 "$node" dist/bench/segment.js --size 128 --reps 2 --torch-device cuda --torch-threads 2 --json "$out/segment.json"
step train 90 "$node" dist/bench/train.js --presets dual --reps 3 --torch-device cuda
cp bench/out/train.json "$out/train.json" 2>/dev/null || true
