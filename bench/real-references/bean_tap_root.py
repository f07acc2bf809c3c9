#!/usr/bin/env python3
"""Re-derive the tap-root table ("tapRoot") of bean-points.json from the scan.

Usage: bean_tap_root.py [--json] [--check]

How the table was made (deterministic; the same code as here):
 1. track the tap root slice by slice, from z = 250 (centre 205, 229, read off the slices) up to
    z = 0 and down to where it is lost in the soil (z 411): in each slice (mean of 3 slices,
    Gaussian sigma 1) 'root-like' pixels are those with a 7x7 local mean in 60..115 and local
    standard deviation < 8 (the root is smooth mid-grey; sand is bright and textured, pores
    dark), opened twice and hole-filled; among the components within 20 px of the previous
    centre, the pixel farthest from their edge (distance transform), within 25 px of the
    previous centre, is the new centre;
 2. in every 10th slice (and 470, 480, 490, 499 below the soil, where the root hangs in air and
    is found as the bright component through (215, 210)) cast 32 rays from that centre and
    take where the smoothed grey (sigma 1.2) first leaves the root's own grey (median of the
    annulus 0.4-0.8 of the inscribed radius) by more than 22 for 3 samples in a row: the wall;
 3. fit a circle to those wall points (least squares, dropping rays that leak into a lateral or
    a grey patch: > 1.25 x the median, and then points > 20 % off the fitted radius); centre and
    median radius from the fitted centre are the table's y, x, r;
 4. canal_r: radius (of the equal-area disk) of the largest dark (grey < median - 30) blob within
    0.4 x the inscribed radius of the centre: the root's central canal, seen from z ~ 260 down.
Every row was then checked by drawing the circle and the 0.6 r core on the slice.
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import load_bean  # noqa: E402

SEED = (250, 205, 229)
BELOW = (470, 480, 490, 499)


def candidates(v, z):
    s = v[max(z - 1, 0):z + 2].astype(np.float32).mean(0)
    s = ndi.gaussian_filter(s, 1.0)
    m = ndi.uniform_filter(s, 7)
    sd = np.sqrt(np.maximum(ndi.uniform_filter(s * s, 7) - m * m, 0))
    c = (sd < 8) & (m > 60) & (m < 115)
    c = ndi.binary_opening(c, iterations=2)
    return ndi.binary_fill_holes(c)


def track(v):
    H, W = v.shape[1:]
    yy, xx = np.mgrid[:H, :W]
    out = {}
    for rng in (range(SEED[0], v.shape[0]), range(SEED[0] - 1, -1, -1)):
        prev = SEED[1:]
        for z in rng:
            c = candidates(v, z)
            lab, _ = ndi.label(c)
            d2 = (yy - prev[0]) ** 2 + (xx - prev[1]) ** 2
            ls = np.unique(lab[(d2 < 20 ** 2) & (lab > 0)])
            if len(ls) == 0:
                break
            e = ndi.distance_transform_edt(np.isin(lab, ls))
            w = np.where(d2 < 25 ** 2, e, 0)
            iy, ix = np.unravel_index(np.argmax(w), w.shape)
            out[z] = (int(iy), int(ix), float(e[iy, ix]))
            prev = (iy, ix)
    return out


def in_air(v, z):
    s = ndi.gaussian_filter(v[z].astype(np.float32), 1.2)
    comp = ndi.binary_fill_holes(s > 20)
    lab, _ = ndi.label(comp)
    comp = lab == lab[215, 210]
    e = ndi.distance_transform_edt(comp)
    cy, cx = [int(round(t)) for t in ndi.center_of_mass(comp)]
    return cy, cx, float(e.max())


def fit(v, z, cy, cx, re):
    s = ndi.gaussian_filter(v[z].astype(np.float32), 1.2)
    H, W = s.shape
    yy, xx = np.mgrid[:H, :W]
    d = np.hypot(yy - cy, xx - cx)
    med = float(np.median(s[(d > 0.4 * re) & (d < 0.8 * re)]))
    ang = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    edges = []
    for a in ang:
        rr = np.arange(int(0.4 * re), 80, 0.5)
        py, px = cy + rr * np.sin(a), cx + rr * np.cos(a)
        ok = (py >= 0) & (py < H - 1) & (px >= 0) & (px < W - 1)
        out = np.abs(ndi.map_coordinates(s, [py[ok], px[ok]], order=1) - med) > 22
        hit = [i for i in range(len(out) - 2) if out[i] and out[i + 1] and out[i + 2]]
        edges.append(rr[ok][hit[0]] if hit else np.nan)
    e = np.array(edges)
    ok = ~np.isnan(e)
    ok &= e < 1.25 * np.nanmedian(e)
    py, px = cy + e * np.sin(ang), cx + e * np.cos(ang)
    for _ in range(3):
        A = np.c_[2 * px[ok], 2 * py[ok], np.ones(ok.sum())]
        fx, fy, c = np.linalg.lstsq(A, px[ok] ** 2 + py[ok] ** 2, rcond=None)[0]
        r = np.sqrt(c + fx * fx + fy * fy)
        dd = np.hypot(px - fx, py - fy)
        ok2 = ok & (np.abs(dd - np.median(dd[ok])) < 0.2 * r)
        if ok2.sum() == ok.sum():
            break
        ok = ok2
    dd = np.hypot(px - fx, py - fy)
    canal = (s < med - 30) & (d < 0.4 * re)
    lab, n = ndi.label(canal)
    canal_r = 0.0
    if n:
        big = ndi.sum(canal, lab, range(1, n + 1)).max()
        canal_r = float(np.sqrt(big / np.pi)) if big >= 4 else 0.0
    return dict(z=z, y=round(float(fy), 1), x=round(float(fx), 1), r=round(float(np.median(dd[ok])), 1),
                canal_r=round(canal_r, 1), inSoil=z <= 400)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', action='store_true')
    ap.add_argument('--check', action='store_true', help='compare with bean-points.json')
    a = ap.parse_args()
    v = load_bean()
    tr = track(v)
    rows = []
    for z in list(range(0, 401, 10)) + list(BELOW):
        cy, cx, re = tr[z] if z in tr and z <= 400 else in_air(v, z)
        rows.append(fit(v, z, cy, cx, re))
    if a.json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(r)
    if a.check:
        ref = {t['z']: t for t in json.load(open(os.path.join(HERE, 'bean-points.json')))['tapRoot']}
        worst = max(max(abs(r[k] - ref[r['z']][k]) for k in ('y', 'x', 'r', 'canal_r')) for r in rows)
        print(f'largest difference from bean-points.json: {worst:.2f} voxels')
        sys.exit(0 if worst < 0.51 else 1)


if __name__ == '__main__':
    main()
