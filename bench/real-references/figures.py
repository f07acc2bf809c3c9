#!/usr/bin/env python3
"""Figures of the two real-scan references, for looking at them.

Usage: figures.py OUT_DIR [--maize-ref REF --maize-air AIR]

Writes four PNGs into OUT_DIR:
  bean-points-slices.png  four z slices of the bean scan (crops around the tap root) with the
                          labelled points within 4 slices of each (green +: root, orange x: not
                          root) and the tap root's reference circle (cyan) and core disk (0.6 r,
                          dashed yellow) where that slice is listed;
  bean-side.png           a y-plane and an x-plane through the tap root, with the tap root's
                          reference centre +- r (cyan) and the points within 6 voxels of the plane;
  maize-slices.png        three z slices of the maize scan with the threshold reference outlined
                          in red and the 'air' region tinted blue;
  maize-side.png          an x-plane of the maize scan, the same overlay.
The maize reference is built with maize_reference.py unless --maize-ref/--maize-air give saved
copies (.npy or NIfTI).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import load_bean, load_maize  # noqa: E402

GREEN = (60, 255, 60)
ORANGE = (255, 150, 40)
CYAN = (0, 230, 255)
YELLOW = (255, 240, 0)


def grey_rgb(a, lo, hi):
    g = np.clip((a.astype(np.float32) - lo) * 255.0 / (hi - lo), 0, 255).astype(np.uint8)
    return np.stack([g, g, g], -1)


def to_image(rgb, zoom):
    im = Image.fromarray(rgb)
    return im.resize((im.width * zoom, im.height * zoom), Image.NEAREST) if zoom != 1 else im


def mark(d, x, y, label, zoom, x0=0, y0=0):
    cx, cy = (x - x0 + 0.5) * zoom, (y - y0 + 0.5) * zoom
    if label == 'root':
        d.line([(cx - 5, cy), (cx + 5, cy)], fill=GREEN, width=2)
        d.line([(cx, cy - 5), (cx, cy + 5)], fill=GREEN, width=2)
    else:
        d.line([(cx - 4, cy - 4), (cx + 4, cy + 4)], fill=ORANGE, width=2)
        d.line([(cx - 4, cy + 4), (cx + 4, cy - 4)], fill=ORANGE, width=2)


def circle(d, cx, cy, r, zoom, x0, y0, colour, dashed=False):
    px, py = (cx - x0 + 0.5) * zoom, (cy - y0 + 0.5) * zoom
    R = r * zoom
    if not dashed:
        d.ellipse([px - R, py - R, px + R, py + R], outline=colour, width=2)
        return
    for k in range(0, 360, 20):
        d.arc([px - R, py - R, px + R, py + R], k, k + 10, fill=colour, width=2)


def montage(ims, cols, gap=4, bg=(20, 20, 40)):
    W = max(i.width for i in ims)
    H = max(i.height for i in ims)
    rows = (len(ims) + cols - 1) // cols
    M = Image.new('RGB', (cols * W + (cols - 1) * gap, rows * H + (rows - 1) * gap), bg)
    for k, im in enumerate(ims):
        M.paste(im, ((k % cols) * (W + gap), (k // cols) * (H + gap)))
    return M


def save_small(im, path):
    im.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(path, os.path.getsize(path), 'bytes')


def bean_figures(out):
    ref = json.load(open(os.path.join(HERE, 'bean-points.json')))
    v = load_bean()
    pts = ref['points']
    tap = {t['z']: t for t in ref['tapRoot']}
    half, zoom = 110, 2
    ims = []
    for z in (60, 160, 200, 350):
        t = tap[z]
        cy, cx = int(round(t['y'])), int(round(t['x']))
        y0, x0 = max(0, min(500 - 2 * half, cy - half)), max(0, min(500 - 2 * half, cx - half))
        im = to_image(grey_rgb(v[z, y0:y0 + 2 * half, x0:x0 + 2 * half], 0, 255), zoom)
        d = ImageDraw.Draw(im)
        circle(d, t['x'], t['y'], t['r'], zoom, x0, y0, CYAN)
        circle(d, t['x'], t['y'], 0.6 * t['r'], zoom, x0, y0, YELLOW, dashed=True)
        n = 0
        for p in pts:
            pz, py, px = p['zyx']
            if abs(pz - z) <= 4 and y0 <= py < y0 + 2 * half and x0 <= px < x0 + 2 * half:
                mark(d, px, py, p['label'], zoom, x0, y0)
                n += 1
        d.rectangle([0, 0, 330, 16], fill=(0, 0, 0))
        d.text((4, 3), f'bean z={z} (y {y0}-{y0 + 2 * half}, x {x0}-{x0 + 2 * half}); {n} points within 4 slices', fill=YELLOW)
        ims.append(im)
    save_small(montage(ims, 2), os.path.join(out, 'bean-points-slices.png'))

    # side views through the tap root: a y-plane (rows z, columns x) and an x-plane (rows z, columns y)
    side = []
    for axis, at in (('y', 225), ('x', 235)):
        plane = v[:, at, :] if axis == 'y' else v[:, :, at]
        a0, a1 = 90, 410  # columns shown
        img = grey_rgb(plane[:, a0:a1], 0, 255)
        img[412:] = np.clip(img[412:].astype(np.int32) * 3, 0, 255).astype(np.uint8)  # below the soil: stretched
        im = to_image(img, 1)
        d = ImageDraw.Draw(im)
        for t in ref['tapRoot']:
            c = t['x'] if axis == 'y' else t['y']
            other = t['y'] if axis == 'y' else t['x']
            h = t['r'] ** 2 - (at - other) ** 2
            if h <= 0:
                continue
            w = np.sqrt(h)
            for e in (c - w, c + w):
                d.ellipse([e - a0 - 1.5, t['z'] - 1.5, e - a0 + 1.5, t['z'] + 1.5], fill=CYAN)
        n = 0
        for p in pts:
            pz, py, px = p['zyx']
            off = py if axis == 'y' else px
            col = px if axis == 'y' else py
            if abs(off - at) <= 6 and a0 <= col < a1:
                mark(d, col, pz, p['label'], 1, a0, 0)
                n += 1
        d.rectangle([0, 0, 319, 14], fill=(0, 0, 0))
        d.text((3, 2), f'bean {axis}={at} (rows z 0-499); {n} points within 6', fill=YELLOW)
        side.append(to_image(np.asarray(im), 1))
    save_small(montage(side, 2), os.path.join(out, 'bean-side.png'))


def maize_overlay(grey, ref, air, zoom):
    rgb = grey_rgb(grey, 6, 34)
    tint = rgb.copy()
    tint[air] = (0.75 * rgb[air] + 0.25 * np.array([40, 80, 255])).astype(np.uint8)
    edge = ref & ~ndi.binary_erosion(ref)
    tint[edge] = (255, 40, 40)
    return to_image(tint, zoom)


def maize_figures(out, ref_path, air_path):
    m = load_maize()
    if ref_path:
        sys.path.insert(0, os.path.dirname(HERE))
        import importlib.util
        spec = importlib.util.spec_from_file_location('score', os.path.join(os.path.dirname(HERE), 'real-scans-score.py'))
        score = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(score)
        ref = score.read_mask(ref_path) != 0
        air = score.read_mask(air_path) != 0
    else:
        import maize_reference as mr
        ref, g, airlev, _ = mr.build(verbose=False)
        air = mr.air_region(ref, g, airlev)
    ims = []
    y0, y1, x0, x1 = 90, 300, 70, 280
    for z in (40, 150, 240):
        im = maize_overlay(m[z, y0:y1, x0:x1], ref[z, y0:y1, x0:x1], air[z, y0:y1, x0:x1], 2)
        d = ImageDraw.Draw(im)
        d.rectangle([0, 0, 300, 14], fill=(0, 0, 0))
        d.text((3, 2), f'maize z={z} (y {y0}-{y1}, x {x0}-{x1}): red = reference edge, blue = air', fill=YELLOW)
        ims.append(im)
    save_small(montage(ims, 3), os.path.join(out, 'maize-slices.png'))
    x = 187
    im = maize_overlay(m[:330, 60:320, x], ref[:330, 60:320, x], air[:330, 60:320, x], 2)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 330, 14], fill=(0, 0, 0))
    d.text((3, 2), f'maize x={x} (rows z 0-329, columns y 60-319)', fill=YELLOW)
    save_small(im, os.path.join(out, 'maize-side.png'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--maize-ref')
    ap.add_argument('--maize-air')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bean_figures(a.out)
    maize_figures(a.out, a.maize_ref, a.maize_air)


if __name__ == '__main__':
    main()
