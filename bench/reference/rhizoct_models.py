"""PyTorch peers of rhizoct's architectures (src/nn/models), with the same parameter names, so
they load rhizoct's safetensors and must produce the same outputs. Reference only: the product
never runs this.

    import rhizoct_models as rm
    model, card = rm.load("models/default")        # folder, or x.safetensors + x.card.json
    low, high, fused = model(high_patch, low_patch)  # logits of the three heads
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    """Minimal reader of the safetensors format (F32 only), so no extra package is needed."""
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        s, t = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(b[8 + n + s : 8 + n + t]), dtype=torch.float32).reshape(e["shape"]).clone()
    return out


class Residual(nn.Module):
    def __init__(self, main, skip):
        super().__init__()
        self.main = main
        self.skip = skip

    def forward(self, x):
        return self.main(x) + (self.skip(x) if self.skip is not None else x)


def conv(cin, cout, k, bias=True):
    return nn.Conv3d(cin, cout, k, padding=k // 2, bias=bias)


def bottleneck(cin, cout):
    mid = max(1, cout // 2)
    main = nn.Sequential(
        nn.BatchNorm3d(cin), nn.ReLU(), conv(cin, mid, 1),
        nn.BatchNorm3d(mid), nn.ReLU(), conv(mid, mid, 3),
        nn.BatchNorm3d(mid), nn.ReLU(), conv(mid, cout, 1),
    )
    return Residual(main, None if cin == cout else conv(cin, cout, 1))


class Upsample(nn.Module):
    def __init__(self, factor, mode):
        super().__init__()
        self.factor, self.mode = factor, mode

    def forward(self, x):
        kw = {"align_corners": False} if self.mode == "trilinear" else {}
        return F.interpolate(x, scale_factor=self.factor, mode=self.mode, **kw)


class Hourglass(nn.Module):
    def __init__(self, depth, f):
        super().__init__()
        self.up = bottleneck(f, f)
        inner = Hourglass(depth - 1, f) if depth > 1 else bottleneck(f, f)
        self.low = nn.Sequential(nn.MaxPool3d(2), bottleneck(f, f), inner, bottleneck(f, f), Upsample(2, "nearest"))

    def forward(self, x):
        return self.up(x) + self.low(x)


def centre_crop(x, size):
    d, h, w = x.shape[2:]
    a, b, c = (d - size) // 2, (h - size) // 2, (w - size) // 2
    return x[:, :, a : a + size, b : b + size, c : c + size]


class Mlmr(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch, f = cfg["lowChannels"], cfg["features"]
        self.down = 2 ** (len(ch) - 1)
        layers, cin = [], 1
        for i, c in enumerate(ch):
            layers.append(bottleneck(cin, c))
            if i < len(ch) - 1:
                layers.append(nn.MaxPool3d(2))
            cin = c
        layers.append(Hourglass(cfg["hourglassDepth"], f))
        self.low = nn.Sequential(*layers)
        self.low_head = conv(f, 1, 1)
        self.high = nn.Sequential(bottleneck(1, ch[0]), bottleneck(ch[0], f), Hourglass(cfg["hourglassDepth"], f), bottleneck(f, f))
        self.high_head = conv(f, 1, 1)
        self.fuse = nn.Sequential(conv(2 * f, f, 1), nn.BatchNorm3d(f), nn.ReLU(), conv(f, 1, 1))

    def forward(self, x, low_input=None):
        centre = self.cfg["patch"] // self.down
        lf = self.low(x)
        low = F.interpolate(self.low_head(lf), scale_factor=self.down, mode="trilinear", align_corners=False)
        hf = self.high(centre_crop(x, centre))
        high = self.high_head(hf)
        cells = F.interpolate(centre_crop(lf, centre // self.down), scale_factor=self.down, mode="nearest")
        fused = self.fuse(torch.cat([hf, cells], 1))
        return low, high, fused


def conv_bn_relu(cin, cout):
    return [conv(cin, cout, 3, bias=False), nn.BatchNorm3d(cout), nn.ReLU()]


def double_conv(cin, cout):
    return nn.Sequential(*conv_bn_relu(cin, cout), *conv_bn_relu(cout, cout))


class UNet(nn.Module):
    def __init__(self, cin, widths):
        super().__init__()
        self.widths = widths
        for i, w in enumerate(widths):
            setattr(self, f"enc{i}", double_conv(cin if i == 0 else widths[i - 1], w))
        for i, w in enumerate(widths[:-1]):
            setattr(self, f"dec{i}", double_conv(w + widths[i + 1], w))

    def forward(self, x):
        n = len(self.widths)
        skips = []
        h = self.enc0(x)
        for i in range(1, n):
            skips.append(h)
            h = getattr(self, f"enc{i}")(F.max_pool3d(h, 2))
        for i in range(n - 2, -1, -1):
            up = F.interpolate(h, scale_factor=2, mode="nearest")
            h = getattr(self, f"dec{i}")(torch.cat([skips[i], up], 1))
        return h


class Dual(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        w, lw = cfg["widths"], cfg["lowWidths"]
        self.high = UNet(1, w)
        self.low = UNet(1, lw)
        self.high_head = conv(w[0], 1, 1)
        self.low_head = conv(lw[0], 1, 1)
        self.fuse = nn.Sequential(conv(w[0] + lw[0], w[0], 1, bias=False), nn.BatchNorm3d(w[0]), nn.ReLU(), conv(w[0], 1, 1))

    def forward(self, x, xl):
        hf = self.high(x)
        lf = self.low(xl)
        c = x.shape[-1] // self.cfg["lowScale"]  # the patch may be larger than the trained one (inference tiles)
        up = F.interpolate(centre_crop(lf, c), scale_factor=self.cfg["lowScale"], mode="trilinear", align_corners=False)
        fused = self.fuse(torch.cat([hf, up], 1))
        return self.low_head(lf), self.high_head(hf), fused


def _segments(name, cfg):
    """The channel blocks a conv's input concatenates, in the order of torch.cat in forward."""
    w, lw = cfg["widths"], cfg["lowWidths"]
    for prefix, ws in (("high", w), ("low", lw)):
        for i in range(len(ws) - 1):
            if name == f"{prefix}.dec{i}.0":
                return [ws[i], ws[i + 1]]
    if name == "fuse.0":
        return [w[0], lw[0]]
    return None


def _embed_index(old_segments, new_segments):
    """Where each old channel of a concatenation lands in the wider concatenation."""
    idx, n = [], 0
    for a, b in zip(old_segments, new_segments):
        idx.extend(range(n, n + a))
        n += b
    return torch.tensor(idx)


def widen(old, cfg):
    """A wider dual model (cfg's widths ≥ old's, same depth) computing exactly old's function: old
    channels keep their weights and read nothing from the new ones (those weights are zero), new
    channels start from the usual random initialisation and feed nothing until training moves their
    zeroed outgoing weights (Net2Net-style widening, after Chen et al., ICLR 2016)."""
    new = build(cfg)
    old_cfg = old.cfg
    assert cfg["arch"] == old_cfg["arch"] == "dual"
    assert len(cfg["widths"]) == len(old_cfg["widths"]) and len(cfg["lowWidths"]) == len(old_cfg["lowWidths"])
    olds = dict(old.named_modules())
    with torch.no_grad():
        for name, m in new.named_modules():
            o = olds.get(name)
            if isinstance(m, nn.Conv3d):
                rows = torch.arange(o.out_channels)
                segs = _segments(name, old_cfg)
                cols = _embed_index(segs, _segments(name, cfg)) if segs else torch.arange(o.in_channels)
                m.weight[rows] = 0.0
                m.weight[rows[:, None], cols[None, :]] = o.weight
                if m.bias is not None:
                    m.bias[rows] = o.bias
            elif isinstance(m, nn.BatchNorm3d):
                c = o.num_features
                for t in ("weight", "bias", "running_mean", "running_var"):
                    getattr(m, t)[:c] = getattr(o, t)
    x, xl = torch.randn(1, 1, *(cfg["patch"],) * 3), torch.randn(1, 1, *(cfg["lowPatch"],) * 3)
    old.eval(), new.eval()
    with torch.no_grad():
        for a, b in zip(old(x, xl), new(x, xl)):
            assert (a - b).abs().max().item() < 1e-4, "widening changed the model's output"
    return new


def build(cfg):
    return {"mlmr": Mlmr, "dual": Dual}[cfg["arch"]](cfg)


def model_paths(path):
    if os.path.isdir(path):
        return os.path.join(path, "model.safetensors"), os.path.join(path, "card.json")
    base = path[: -len(".safetensors")] if path.endswith(".safetensors") else path
    return base + ".safetensors", base + ".card.json"


def load(path):
    weights, card_path = model_paths(path)
    with open(card_path) as f:
        card = json.load(f)
    model = build(card["config"])
    state = read_safetensors(weights)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    assert not missing and not unexpected, (missing, unexpected)
    return model, card
