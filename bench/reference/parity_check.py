"""Runs a rhizoct model in PyTorch for the parity test (test/nn/models-parity.test.ts).

parity_check.py DIR: DIR holds model.safetensors + card.json, and raw little-endian f32 files
high.f32, low.f32 (the inputs), t_low.f32, t_high.f32, t_fused.f32 (targets), plus shapes.json.
Writes eval_{low,high,fused}.f32 (eval-mode logits), train_loss.json and grad_<name>.f32 for each
parameter after one training-mode forward/backward of 0.5·BCE(low) + BCE(high) + BCE(fused).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhizoct_models as rm  # noqa: E402


def load(d, name, shape):
    return torch.from_numpy(__import__("numpy").fromfile(os.path.join(d, name), dtype="<f4").copy()).reshape(shape)


def save(d, name, t):
    t.detach().contiguous().numpy().astype("<f4").tofile(os.path.join(d, name))


def main():
    d = sys.argv[1]
    torch.set_num_threads(os.cpu_count() or 1)
    shapes = json.load(open(os.path.join(d, "shapes.json")))
    model, _ = rm.load(d)
    x = load(d, "high.f32", shapes["high"])
    xl = load(d, "low.f32", shapes["low"])
    model.eval()
    with torch.no_grad():
        low, high, fused = model(x, xl)
    save(d, "eval_low.f32", low)
    save(d, "eval_high.f32", high)
    save(d, "eval_fused.f32", fused)
    # The training step runs in float64 so the gradients are an oracle, not another float32 result.
    model = model.double()
    model.train()
    low, high, fused = model(x.double(), xl.double())
    t = {k: load(d, f"t_{k}.f32", shapes[f"t_{k}"]).double() for k in ("low", "high", "fused")}
    loss = 0.5 * F.binary_cross_entropy_with_logits(low, t["low"]) + F.binary_cross_entropy_with_logits(high, t["high"]) + F.binary_cross_entropy_with_logits(fused, t["fused"])
    loss.backward()
    json.dump({"loss": loss.item()}, open(os.path.join(d, "train_loss.json"), "w"))
    for name, p in model.named_parameters():
        save(d, f"grad_{name}.f32", p.grad.float())


if __name__ == "__main__":
    main()
