#!/usr/bin/env python3
"""Render every labelled point of bean-points.json for review.

Usage: bean_check.py POINTS_JSON OUT_DIR [--what TEXT] [--per-sheet 30]

Writes OUT_DIR/points-NN.png: each point is a row of three crops (its z, y and x planes, 49x49
voxels around it, 2x zoom) with a red cross at the point and its index/label/kind written on
it. Grey values below the soil (z > 410, where the scan is nearly black) are stretched 3x.
Reads the scan from ../shared/data/bean-bucket-xct relative to the repository (or $RHIZOCT_DATA).
"""
import argparse, json, os, sys
import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_bean  # noqa: E402


def crop(plane, r, c, half):
    p = np.pad(plane, half, mode='constant')
    return p[r:r + 2 * half + 1, c:c + 2 * half + 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('points')
    ap.add_argument('out')
    ap.add_argument('--what', default=None, help='only points whose "what" contains this text')
    ap.add_argument('--per-sheet', type=int, default=30)
    a = ap.parse_args()
    ref = json.load(open(a.points))
    v = load_bean()
    pts = [(i, p) for i, p in enumerate(ref['points']) if a.what is None or a.what in p['what']]
    os.makedirs(a.out, exist_ok=True)
    half, zoom = 24, 2
    T = (2 * half + 1) * zoom
    cols = 3
    for s in range(0, len(pts), a.per_sheet):
        group = pts[s:s + a.per_sheet]
        rows = (len(group) + cols - 1) // cols
        sheet = Image.new('RGB', (cols * (3 * T + 10), rows * (T + 4)), (0, 0, 60))
        for k, (i, p) in enumerate(group):
            z, y, x = p['zyx']
            planes = [crop(v[z], y, x, half), crop(v[:, y, :], z, x, half), crop(v[:, :, x], z, y, half)]
            for j, pl in enumerate(planes):
                g = pl.astype(np.float32)
                if z > 410:
                    g = np.clip(g * 3, 0, 255)
                im = Image.fromarray(g.astype(np.uint8)).convert('RGB').resize((T, T), Image.NEAREST)
                d = ImageDraw.Draw(im)
                c = (half + 0.5) * zoom
                for (x0, y0, x1, y1) in [(c - 9, c, c - 3, c), (c + 3, c, c + 9, c), (c, c - 9, c, c - 3), (c, c + 3, c, c + 9)]:
                    d.line([(x0, y0), (x1, y1)], fill=(255, 0, 0))
                if j == 0:
                    col = (120, 255, 120) if p['label'] == 'root' else (255, 160, 80)
                    d.text((2, 1), f"#{i} {p['what'][:22]}", fill=col)
                    d.text((2, T - 11), f"{z},{y},{x}", fill=(255, 255, 0))
                else:
                    d.text((2, 1), 'y-plane' if j == 1 else 'x-plane', fill=(0, 255, 255))
                sheet.paste(im, ((k % cols) * (3 * T + 10) + j * (T + 2), (k // cols) * (T + 4)))
        out = os.path.join(a.out, f'points-{s // a.per_sheet:02d}.png')
        sheet.save(out)
        print(out)


if __name__ == '__main__':
    main()
