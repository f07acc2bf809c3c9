"""PyTorch peer for bench/train.ts: times one training step (forward, 0.5/1/1 BCE over the three
heads, backward, Adam) of a rhizoct architecture on random data, same shapes as ours.

train_torch.py CONFIG_JSON [--device cpu|cuda] [--batch 2] [--reps 3]
Prints JSON: {"step_seconds": median, "patches_per_second": ..., "peak_memory_mib": ..., "device": ...}
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhizoct_models as rm  # noqa: E402


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main():
    cfg = json.loads(sys.argv[1])
    device = arg("--device", "cpu")
    batch = int(arg("--batch", "2"))
    reps = int(arg("--reps", "3"))
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    model = rm.build(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    p = cfg["patch"]
    x = torch.randn(batch, 1, p, p, p, device=device)
    xl = torch.randn(batch, 1, cfg["lowPatch"], cfg["lowPatch"], cfg["lowPatch"], device=device) if cfg["arch"] == "dual" else None
    with torch.no_grad():
        shapes = [t.shape for t in model(x, xl)]
    targets = [(torch.rand(s, device=device) < 0.1).float() for s in shapes]

    def step():
        opt.zero_grad()
        low, high, fused = model(x, xl)
        loss = 0.5 * F.binary_cross_entropy_with_logits(low, targets[0]) + F.binary_cross_entropy_with_logits(high, targets[1]) + F.binary_cross_entropy_with_logits(fused, targets[2])
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    step()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    ts.sort()
    med = ts[len(ts) // 2]
    mem = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    name = torch.cuda.get_device_name() if device == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(json.dumps({"step_seconds": med, "patches_per_second": batch / med, "peak_memory_mib": mem, "memory_kind": "cuda max allocated" if device == "cuda" else "process peak RSS", "device": name, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
