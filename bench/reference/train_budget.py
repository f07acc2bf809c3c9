"""PyTorch training of a rhizoct dual model on examples drawn by rhizoct's own sampler, for
bench/training-budget.ts: how Dice grows with training steps beyond what lavapipe affords here.
The same loss (0.5·BCE low + BCE high + BCE fused + 0.5·soft Dice on the fused head, eps 1),
Adam, cosine learning-rate decay, augmentations (flips, quarter turns in y-x, intensity gain and
bias ±0.1) and batch-norm calibration (cumulative statistics over 16 batches of un-augmented
examples) as `rhizoct train`. Reference only: the product never runs this.

train_budget.py BANK CARD_JSON OUT_DIR --steps 600,2000 [--lr 0.002] [--lr-final 0.0001]
    [--batch 2] [--threads 2] [--seed 7] [--skeleton W] [--jitter 0.1]
    [--intensity GAIN,BIAS,GAMMA] (wide intensity augmentation instead of --jitter: gain drawn
    log-uniformly in [1/GAIN, GAIN], bias uniformly in ±BIAS, gamma log-uniformly in [1/GAMMA, GAMMA]
    applied to the positive part of the normalised image before gain and bias)
    [--thin-only R] (diagnostic: learn only roots thinner than R voxels, thick ones left out)
    [--ignore-thin R] (diagnostic: roots thinner than R voxels left out of the loss)
    [--init MODEL] (start from a saved model's weights instead of a fresh initialisation; where
    CARD_JSON's architecture is wider, the saved model is widened first, its function unchanged)
    [--stop N] (stop after step N of the schedule, which still runs to the last of --steps)
    [--permute-axes] (also draw one of the 6 orders of the z, y, x axes per example, so a root's
    direction in the patch is any of the cube's 48 symmetries, not only flips and y-x turns)
    [--permute-share P] (diagnostic, with --permute-axes: only a share P of the examples get a drawn
    order, the rest keep theirs)
BANK.json/BANK.f32: the examples (high, low, tLow, tHigh and, for --skeleton, centreline
weights per example, f32 cubes). BANK may name several banks of the same sizes, comma-separated:
their examples are pooled (e.g. a bank of preset scans beside a bank of the random family).
Writes OUT_DIR/step-N/{model.safetensors,card.json} at each step count and OUT_DIR/log.json.
"""
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rhizoct_models as rm  # noqa: E402


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def write_safetensors(path, state):
    header, blobs, at = {}, [], 0
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


class Bank:
    def __init__(self, bases):
        metas = [json.load(open(b + ".json")) for b in bases.split(",")]
        s = metas[0]["sizes"]
        if any(m["sizes"] != s for m in metas):
            sys.exit(f"{bases}: the banks hold examples of different sizes")
        self.sizes = [s["high"], s["low"], s["tLow"], s["tHigh"]] + ([s["wSkeleton"]] if "wSkeleton" in s else [])
        per = sum(n**3 for n in self.sizes)
        # Mapped, not read: a bank of 5000 examples is 5 GB, and banks together may exceed memory.
        # Copy-on-write, so a diagnostic that rewrites targets never touches the files.
        self.parts = [np.memmap(b + ".f32", dtype="<f4", mode="c", shape=(m["count"], per)) for b, m in zip(bases.split(","), metas)]
        self.starts = np.cumsum([0] + [m["count"] for m in metas])
        self.count = int(self.starts[-1])
        self.meta = metas[0]
        self.weights = None  # per-example loss weights of the full-resolution target, when a diagnostic sets them

    def row(self, i):
        """Example i's cubes, flat (a view: writing to it changes the bank)."""
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.parts[k][i - self.starts[k]]

    def thin_only(self, radius):
        """Diagnostic: the full-resolution target keeps only roots thinner than `radius` voxels
        (what an opening by a ball of that radius removes), and a weight cube (appended per example)
        leaves out the thick roots and a voxel around them, so the loss asks for thin roots alone."""
        self._split_by_radius(radius, keep="thin")

    def ignore_thin(self, radius):
        """Diagnostic: roots thinner than `radius` voxels, and a voxel around them, are left out of
        the loss (weight 0) while thicker roots and the soil count as before: whether labels a scan
        barely shows (sub-voxel laterals) are what keeps a model from fitting the rest."""
        self._split_by_radius(radius, keep="thick")

    def _split_by_radius(self, radius, keep):
        from scipy import ndimage as ndi

        n = self.sizes[3]
        at = sum(k**3 for k in self.sizes[:3])
        r = int(math.ceil(radius))
        zz, yy, xx = np.mgrid[-r : r + 1, -r : r + 1, -r : r + 1]
        ball = zz * zz + yy * yy + xx * xx <= radius * radius
        weights = np.empty((self.count, n**3), dtype="<f4")
        for i in range(self.count):
            t = self.row(i)[at : at + n**3].reshape(n, n, n) > 0.5
            thick = ndi.binary_opening(t, ball)
            if keep == "thin":
                ignore = ndi.binary_dilation(thick, iterations=1)
                self.row(i)[at : at + n**3] = (t & ~ignore).reshape(-1)
            else:
                ignore = ndi.binary_dilation(t & ~thick, iterations=1) & ~thick
            weights[i] = (~ignore).reshape(-1)
        self.weights = weights

    def batch(self, idx, rng, augment, jitter=0.1, intensity=None, permute=False):
        outs = [[] for _ in range(len(self.sizes) + (self.weights is not None))]
        for i in idx:
            row, at, cubes = self.row(i), 0, []
            for n in self.sizes:
                cubes.append(torch.from_numpy(row[at : at + n**3].reshape(n, n, n).copy()))
                at += n**3
            if self.weights is not None:
                n = self.sizes[3]
                cubes.append(torch.from_numpy(self.weights[i].reshape(n, n, n).copy()))
            if augment:
                flips = [d for d in range(3) if rng.random() < 0.5]
                turns = int(rng.integers(4))
                if intensity is None:
                    gain, bias, gamma = 1 + (rng.random() * 2 - 1) * jitter, (rng.random() * 2 - 1) * jitter, 1.0
                else:
                    g, b, y = intensity
                    gain = math.exp((rng.random() * 2 - 1) * math.log(g))
                    bias = (rng.random() * 2 - 1) * b
                    gamma = math.exp((rng.random() * 2 - 1) * math.log(y))
                cubes = [torch.rot90(torch.flip(c, flips) if flips else c, turns, (1, 2)) for c in cubes]
                if permute and (permute >= 1 or rng.random() < permute):
                    order = [int(a) for a in rng.permutation(3)]
                    cubes = [c.permute(*order) for c in cubes]
                for k in (0, 1):
                    if gamma != 1.0:
                        cubes[k] = torch.where(cubes[k] > 0, cubes[k].clamp(min=0) ** gamma, cubes[k])
                    cubes[k] = cubes[k] * gain + bias
            for o, c in zip(outs, cubes):
                o.append(c.contiguous()[None])
        return [torch.stack(o) for o in outs]


def loss_fn(model, x, xl, t_low, t_high, w_skel=None, skeleton=0.0, w_keep=None):
    low, high, fused = model(x, xl)
    p = torch.sigmoid(fused)
    if w_keep is None:
        bce = lambda z: F.binary_cross_entropy_with_logits(z, t_high)
    else:
        # --thin-only: the high and fused heads' BCE and soft Dice over the voxels the weight keeps.
        p = p * w_keep
        bce = lambda z: (F.binary_cross_entropy_with_logits(z, t_high, reduction="none") * w_keep).sum() / w_keep.sum()
    inter, total = (p * t_high).sum(), p.sum() + t_high.sum()
    dice = 1 - (2 * inter + 1) / (total + 1)
    loss = 0.5 * F.binary_cross_entropy_with_logits(low, t_low) + bce(high) + bce(fused) + 0.5 * dice
    if skeleton > 0:
        # rhizoct train --skeleton: the fused head's BCE averaged over the centreline voxels only.
        per = F.binary_cross_entropy_with_logits(fused, t_high, reduction="none")
        loss = loss + skeleton * (per * w_skel).sum() / w_skel.sum().clamp(min=1e-6)
    return loss


def calibrate(model, bank, rng, batch, n=16):
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    with torch.no_grad():
        for _ in range(n):
            x, xl = bank.batch(rng.integers(bank.count, size=batch), rng, False)[:2]
            model(x, xl)
    for m, s in zip(bns, saved):
        m.momentum = s


def main():
    bank_path, card_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    steps = sorted(int(s) for s in arg("--steps", "600").split(","))
    lr0, lr1 = float(arg("--lr", "0.002")), float(arg("--lr-final", "0.0001"))
    batch, seed = int(arg("--batch", "2")), int(arg("--seed", "7"))
    skeleton = float(arg("--skeleton", "0"))
    jitter = float(arg("--jitter", "0.1"))
    intensity_text = arg("--intensity", "")
    intensity = [float(v) for v in intensity_text.split(",")] if intensity_text else None
    if intensity is not None and (len(intensity) != 3 or intensity[0] < 1 or intensity[2] < 1 or intensity[1] < 0):
        sys.exit("--intensity takes GAIN,BIAS,GAMMA with GAIN >= 1, BIAS >= 0, GAMMA >= 1")
    thin = float(arg("--thin-only", "0"))
    ignore_thin = float(arg("--ignore-thin", "0"))
    permute = float(arg("--permute-share", "1")) if "--permute-axes" in sys.argv else 0.0
    torch.set_num_threads(int(arg("--threads", "2")))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    card = json.load(open(card_path))
    bank = Bank(bank_path)
    if thin > 0 and ignore_thin > 0:
        sys.exit("--thin-only and --ignore-thin exclude each other")
    if thin > 0:
        bank.thin_only(thin)
    if ignore_thin > 0:
        bank.ignore_thin(ignore_thin)
    init = arg("--init", "")
    if init:
        model, init_card = rm.load(init)
        if init_card["config"] != card["config"]:
            model = rm.widen(model, card["config"])
    else:
        model = rm.build(card["config"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr0)
    log = {"bank": bank_path, "centres": bank.meta.get("centres", "volume"), "examples": bank.count, "skeleton": skeleton, "jitter": jitter, "intensity": intensity, "thinOnly": thin, "permute": permute, "ignoreThin": ignore_thin, "lr": lr0, "lrFinal": lr1, "batch": batch, "checkpoints": [], "loss": []}
    total, t0, loss_sum = steps[-1], time.perf_counter(), 0.0
    stop = int(arg("--stop", str(total)))
    log["init"], log["stop"] = init or None, stop
    for step in range(1, stop + 1):
        for g in opt.param_groups:
            g["lr"] = lr1 + (lr0 - lr1) * 0.5 * (1 + math.cos(math.pi * (step - 1) / total))
        x, xl, t_low, t_high, *rest = bank.batch(rng.integers(bank.count, size=batch), rng, True, jitter, intensity, permute)
        opt.zero_grad()
        loss = loss_fn(model, x, xl, t_low, t_high, rest[0] if skeleton > 0 else None, skeleton, rest[-1] if thin > 0 or ignore_thin > 0 else None)
        loss.backward()
        opt.step()
        loss_sum += loss.item()
        if step % 100 == 0:
            log["loss"].append({"step": step, "loss": loss_sum / 100})
            print(f"step {step}/{total} loss {loss_sum / 100:.3f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            loss_sum = 0.0
        if step in steps:
            calibrate(model, bank, np.random.default_rng(seed + step), batch)
            d = os.path.join(out, f"step-{step}")
            os.makedirs(d, exist_ok=True)
            write_safetensors(os.path.join(d, "model.safetensors"), model.state_dict())
            c = dict(card)
            c["training"] = {"note": "trained in PyTorch by bench/reference/train_budget.py (diagnostic, not shipped)", "steps": step, "batch": batch, "lr": lr0, "lrFinal": lr1, "total": total, "seed": seed}
            json.dump(c, open(os.path.join(d, "card.json"), "w"), indent=1)
            log["checkpoints"].append({"steps": step, "seconds": time.perf_counter() - t0, "dir": d})
            json.dump(log, open(os.path.join(out, "log.json"), "w"), indent=1)


main()
