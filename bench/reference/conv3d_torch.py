"""PyTorch peer for bench/conv3d.ts: times conv3d forward, backward-data and backward-weight.

Usage: conv3d_torch.py JSON_SHAPES [--device cpu|cuda] [--tf32] [--reps N]
JSON_SHAPES: [{"n":1,"cin":16,"cout":16,"d":64,"k":3,"s":1,"p":1}, ...]
Prints one JSON object: {"device": ..., "threads": ..., "results": [{"fwd_ms":..,"bwd_data_ms":..,"bwd_weight_ms":..}]}
"""
import json
import os
import sys
import time

import torch


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def timed(fn, sync, reps):
    fn()
    sync()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t) * 1e3)
    return median(out)


def main():
    shapes = json.loads(sys.argv[1])
    device = "cuda" if "--device" in sys.argv and sys.argv[sys.argv.index("--device") + 1] == "cuda" else "cpu"
    # As many threads as cores, like the WebGPU CPU driver uses.
    torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else (os.cpu_count() or 1))
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 5
    if device == "cuda":
        tf32 = "--tf32" in sys.argv
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
        sync = torch.cuda.synchronize
    else:
        sync = lambda: None
    results = []
    for s in shapes:
        x = torch.randn(s["n"], s["cin"], s["d"], s["d"], s["d"], device=device)
        w = torch.randn(s["cout"], s["cin"], s["k"], s["k"], s["k"], device=device)
        y = torch.nn.functional.conv3d(x, w, stride=s["s"], padding=s["p"])
        g = torch.randn_like(y)
        f = lambda: torch.nn.functional.conv3d(x, w, stride=s["s"], padding=s["p"])
        bd = lambda: torch.nn.grad.conv3d_input(x.shape, w, g, stride=s["s"], padding=s["p"])
        bw = lambda: torch.nn.grad.conv3d_weight(x, w.shape, g, stride=s["s"], padding=s["p"])
        results.append({"fwd_ms": timed(f, sync, reps), "bwd_data_ms": timed(bd, sync, reps), "bwd_weight_ms": timed(bw, sync, reps)})
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(json.dumps({"device": name, "torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
