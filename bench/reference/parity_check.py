"""Runs a rhizoct model in PyTorch for the parity test (test/nn/models-parity.test.ts).

parity_check.py DIR: DIR holds model.safetensors + card.json, and raw little-endian f32 files
high.f32, low.f32 (the inputs), t_low.f32, t_high.f32, t_fused.f32 (targets), plus shapes.json.
Writes eval_{low,high,fused}.f32 (eval-mode logits), train_loss.json and grad_<name>.f32 for each
parameter after one training-mode forward/backward of 0.5·BCE(low) + BCE(high) + BCE(fused) in
float64, and grad32_<name>.f32 from the same step in float32.

With DIR/kinks.json (+ kinks.u8), the float64 training step takes rhizoct's branch at every kink:
kinks.json lists, in call order, {"kind": "relu" | "pool", "size": bytes} for each ReLU (one byte
per value, 1 where rhizoct's output was > 0) and each 2× max-pool (one byte per output, the argmax's
position (kd·2 + kh)·2 + kw in its window) of rhizoct's training forward. A float32 forward puts a
value within rounding of a ReLU's kink (or two values of a pooling window within rounding of each
other) on either side, and the gradient of everything upstream then differs by that voxel's whole
contribution: no oracle for a float32 gradient without fixing the branch. Each taken branch must
be within KINK_TOL of the float64 one (a tie), else the check fails.
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


KINK_TOL = 1e-4  # of the largest |value| of the kink's input tensor


class Kinks:
    """Replaces F.relu and F.max_pool3d (which nn.ReLU, nn.MaxPool3d and the models call) by the
    same functions on rhizoct's recorded branches, in call order."""

    def __init__(self, d):
        import numpy as np

        entries = json.load(open(os.path.join(d, "kinks.json")))
        data = np.fromfile(os.path.join(d, "kinks.u8"), dtype=np.uint8)
        self.items, at = [], 0
        for e in entries:
            self.items.append((e["kind"], torch.from_numpy(data[at : at + e["size"]].astype(np.int64))))
            at += e["size"]
        assert at == data.size, (at, data.size)
        self.next, self.taken = 0, 0

    def take(self, kind, n):
        assert self.next < len(self.items), f"more {kind} calls than the {len(self.items)} recorded kinks"
        k, v = self.items[self.next]
        assert k == kind and v.numel() == n, f"kink {self.next}: recorded {k} of {v.numel()}, called {kind} of {n}"
        self.next += 1
        return v

    def relu(self, x, inplace=False):
        m = self.take("relu", x.numel()).reshape(x.shape).to(x.dtype)
        off = (m > 0) != (x > 0)
        worst = x.abs()[off].max().item() if off.any() else 0.0
        assert worst <= KINK_TOL * x.abs().max().item(), f"relu {self.next - 1}: rhizoct's sign differs at |x| = {worst}"
        self.taken += int(off.sum())
        return x * m

    def max_pool3d(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
        assert kernel_size in (2, (2, 2, 2)) and stride in (None, 2, (2, 2, 2)) and padding in (0, (0, 0, 0)) and dilation in (1, (1, 1, 1)), "only 2× pooling is recorded"
        assert not ceil_mode and not return_indices
        n, c, d, h, w = x.shape
        win = x[:, :, : d // 2 * 2, : h // 2 * 2, : w // 2 * 2].reshape(n, c, d // 2, 2, h // 2, 2, w // 2, 2)
        win = win.permute(0, 1, 2, 4, 6, 3, 5, 7).reshape(n, c, d // 2, h // 2, w // 2, 8)
        idx = self.take("pool", win[..., 0].numel()).reshape(win.shape[:-1] + (1,))
        y = win.gather(-1, idx).squeeze(-1)
        top = win.max(-1).values
        worst = (top - y).max().item()
        assert worst <= KINK_TOL * x.abs().max().item(), f"max-pool {self.next - 1}: rhizoct's argmax is {worst} below the maximum"
        self.taken += int((y != top).sum())
        return y

    def __enter__(self):
        self.saved = F.relu, F.max_pool3d
        F.relu, F.max_pool3d = self.relu, self.max_pool3d
        return self

    def __exit__(self, *exc):
        F.relu, F.max_pool3d = self.saved
        if exc[0] is None:
            assert self.next == len(self.items), f"{len(self.items)} kinks recorded, {self.next} called"


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
    if os.path.exists(os.path.join(d, "kinks.json")):
        with Kinks(d) as k:
            low, high, fused = model(x.double(), xl.double())
        print(f"parity_check: {len(k.items)} kinks, {k.taken} values on rhizoct's side of a tie")
    else:
        low, high, fused = model(x.double(), xl.double())
    t = {k: load(d, f"t_{k}.f32", shapes[f"t_{k}"]).double() for k in ("low", "high", "fused")}
    loss = 0.5 * F.binary_cross_entropy_with_logits(low, t["low"]) + F.binary_cross_entropy_with_logits(high, t["high"]) + F.binary_cross_entropy_with_logits(fused, t["fused"])
    loss.backward()
    json.dump({"loss": loss.item()}, open(os.path.join(d, "train_loss.json"), "w"))
    for name, p in model.named_parameters():
        save(d, f"grad_{name}.f32", p.grad.float())

    # The same step in float32 (grad32_<name>.f32): how far a float32 implementation of this exact
    # step lands from the oracle, which is how ill-conditioned each gradient is on this data.
    model = model.float()
    model.zero_grad()
    if os.path.exists(os.path.join(d, "kinks.json")):
        with Kinks(d):
            low, high, fused = model(x, xl)
    else:
        low, high, fused = model(x, xl)
    t = {k: v.float() for k, v in t.items()}
    loss = 0.5 * F.binary_cross_entropy_with_logits(low, t["low"]) + F.binary_cross_entropy_with_logits(high, t["high"]) + F.binary_cross_entropy_with_logits(fused, t["fused"])
    loss.backward()
    for name, p in model.named_parameters():
        save(d, f"grad32_{name}.f32", p.grad)


if __name__ == "__main__":
    main()
