"""PyTorch peer of `rhizoct segment` for bench/segment.ts: the same network and weights
(rhizoct_models.load), the same normalisation, tile lattice, patch padding and low-resolution
context (the pyramid level when present, else 2x2x2 means), timed on the same machine.

segment_torch.py INPUT.zarr MODEL_DIR [--device cpu|cuda] [--threads N] [--batch 4] [--margin 8] [--tile T] [--out probs.u8]
--tile: the cube one tile predicts (default the model's patch less the margins); a larger tile runs
the network on a larger patch with the context grown to keep its margin, as `rhizoct segment`.
--batch counts tiles of the model's own patch; larger tiles go fewer at a time.
Prints JSON: {"seconds":..., "voxels":..., "voxels_per_second":..., "device":...}
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import zarr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhizoct_models as rm  # noqa: E402


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def read_cells(arr, start, n):
    """The cube of side n at start; outside the volume the nearest voxel (rhizoct's edge padding)."""
    lo = [min(max(0, start[i]), arr.shape[i] - 1) for i in range(3)]
    hi = [max(1, min(arr.shape[i], start[i] + n)) for i in range(3)]
    sub = np.asarray(arr[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], dtype=np.float32)
    idx = [np.clip(np.arange(start[i], start[i] + n), lo[i], hi[i] - 1) - lo[i] for i in range(3)]
    return sub[np.ix_(*idx)]


def percentile_mapping(arr, low, high):
    """Same cubes, same order, same rounding as rhizoct's percentileMapping (src/pipeline/patch-source.ts)."""
    shape = arr.shape
    state = (0x9E3779B9 ^ ((shape[0] * 73856093) & 0xFFFFFFFF) ^ ((shape[1] * 19349663) & 0xFFFFFFFF) ^ ((shape[2] * 83492791) & 0xFFFFFFFF)) & 0xFFFFFFFF

    def rand():
        nonlocal state
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        return state / 4294967296

    values = []
    for _ in range(64):
        side = [min(16, s) for s in shape]
        at = [int(math.floor(rand() * (shape[i] - side[i] + 1))) for i in range(3)]
        cube = np.asarray(arr[at[0]:at[0] + side[0], at[1]:at[1] + side[1], at[2]:at[2] + side[2]]).reshape(-1)
        values.extend(cube[::3].tolist())
    values.sort()
    q = lambda p: values[min(len(values) - 1, max(0, int(math.floor(p / 100 * (len(values) - 1) + 0.5))))]
    lo, hi = q(low), q(high)
    return {"offset": float(lo), "scale": float(hi - lo) if hi > lo else 1.0}


def main():
    path, model_dir = sys.argv[1], sys.argv[2]
    device = arg("--device", "cpu")
    batch = int(arg("--batch", "4"))
    torch.set_num_threads(int(arg("--threads", str(os.cpu_count() or 1))))
    model, card = rm.load(model_dir)
    model = model.to(device).eval()
    cfg = card["config"]
    g = {"patch": cfg["patch"], "low_scale": cfg.get("lowScale", 1), "low_patch": cfg.get("lowPatch", cfg["patch"])}
    margin = int(arg("--margin", "8"))
    out = int(arg("--tile", str(g["patch"] - 2 * margin)))
    if out + 2 * margin != g["patch"]:
        trained = g["patch"]
        g["patch"] = out + 2 * margin
        g["low_patch"] = g["patch"] // g["low_scale"] + (g["low_patch"] - trained // g["low_scale"])
        batch = max(1, round(batch * trained ** 3 / g["patch"] ** 3))
    root = zarr.open_group(path, mode="r")
    full = root["0"]
    shape = full.shape
    norm = card["normalisation"]
    if norm.get("method") == "percentile":
        norm = percentile_mapping(full, norm["low"], norm["high"])
    s = g["low_scale"]
    # The finest source of the context, as rhizoct's sourceFor: the pyramid level of scale s when the
    # file has it, else the coarsest level below it, else the scan itself; averaged from there.
    low_src, low_f = full, s
    for lvl in range(int(round(math.log2(s))), 0, -1):
        k = 2 ** lvl
        if str(lvl) in root and all(root[str(lvl)].shape[i] == -(-shape[i] // k) for i in range(3)):
            low_src, low_f = root[str(lvl)], s // k
            break
    probs = np.zeros(shape, dtype=np.uint8)
    t0 = time.perf_counter()
    tiles = [(z, y, x) for z in range(0, shape[0], out) for y in range(0, shape[1], out) for x in range(0, shape[2], out)]
    for i in range(0, len(tiles), batch):
        part = tiles[i:i + batch]
        highs, lows = [], []
        for t in part:
            c = [v + out // 2 for v in t]
            highs.append((read_cells(full, [v - g["patch"] // 2 for v in c], g["patch"]) - norm["offset"]) / norm["scale"])
            if s > 1:
                n = g["low_patch"]
                f = low_f
                big = read_cells(low_src, [(v // s - n // 2) * f for v in c], n * f)
                cube = big.reshape(n, f, n, f, n, f).mean(axis=(1, 3, 5)) if f > 1 else big
                lows.append((cube - norm["offset"]) / norm["scale"])
        x = torch.from_numpy(np.stack(highs)[:, None]).to(device)
        xl = torch.from_numpy(np.stack(lows)[:, None]).to(device) if lows else None
        with torch.no_grad():
            _, _, fused = model(x, xl)
            p = torch.sigmoid(fused).cpu().numpy()[:, 0]
        for t, cube in zip(part, p):
            c = cube[margin:margin + out, margin:margin + out, margin:margin + out]
            z, y, xx = t
            dz, dy, dx = min(out, shape[0] - z), min(out, shape[1] - y), min(out, shape[2] - xx)
            probs[z:z + dz, y:y + dy, xx:xx + dx] = np.round(np.clip(c[:dz, :dy, :dx], 0, 1) * 255).astype(np.uint8)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    if "--out" in sys.argv:
        probs.tofile(arg("--out", ""))
    voxels = int(np.prod(shape))
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(json.dumps({"seconds": seconds, "voxels": voxels, "voxels_per_second": voxels / seconds, "device": name, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
