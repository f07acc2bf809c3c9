"""Figure for the README: slices of a scan with a rhizoct segmentation overlaid (orange), side by
side with the plain slices. Documentation only; reads with zarr-python.

segmentation_overlay.py SCAN.zarr LEVEL SEG.zarr OUT.png [TRUTH.zarr]
"""
import sys

import numpy as np
import zarr
from PIL import Image, ImageDraw


def main():
    scan, level, seg, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    truth = sys.argv[5] if len(sys.argv) > 5 else None
    img = np.asarray(zarr.open_group(scan, mode="r")[level][:]).astype(np.float32)
    mask = np.asarray(zarr.open_group(seg, mode="r")["labels/roots/0"][:]) > 0
    tmask = np.asarray(zarr.open_group(truth, mode="r")["labels/roots/0"][:]) > 0 if truth else None
    lo, hi = np.percentile(img, [0.5, 99.5])
    grey = np.clip((img - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    D, H, W = img.shape
    cuts = [("xy", lambda a: a[D // 2]), ("xz", lambda a: a[:, H // 2]), ("yz", lambda a: a[:, :, W // 2])]
    rows = []
    for name, f in cuts:
        g = f(grey)
        rgb = np.stack([g, g, g], -1)
        over = rgb.copy()
        m = f(mask)
        over[m] = (0.45 * over[m] + 0.55 * np.array([255, 120, 0])).astype(np.uint8)
        panels = [rgb, over]
        if tmask is not None:
            t = rgb.copy()
            tm = f(tmask)
            t[tm] = (0.45 * t[tm] + 0.55 * np.array([220, 30, 30])).astype(np.uint8)
            panels.append(t)
        row = np.concatenate([np.pad(p, ((4, 4), (4, 4), (0, 0)), constant_values=30) for p in panels], 1)
        rows.append(row)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=30) for r in rows]
    im = Image.fromarray(np.concatenate(rows, 0))
    scale = max(1, 720 // im.width)
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    ImageDraw.Draw(im).text((8, 8), "scan | rhizoct segment" + (" | truth" if truth else ""), fill=(255, 255, 0))
    im.save(out)


if __name__ == "__main__":
    main()
