#!/usr/bin/python3
"""Writes a PNG of the three central orthogonal slices of OUT_DIR/scan.nii.gz, each shown plain
and again with the outline of OUT_DIR/roots.nii.gz in red beside it.

Rows: axial (x-y plane at the middle depth), then x-z and y-z (depth downwards).
Usage: /usr/bin/python3 show.py OUT_DIR PNG [--scale 3] [--index X,Y,Z | --at-root]
numpy + nibabel + scipy only; the PNG is written with zlib.
"""

import argparse
import os
import struct
import zlib

import numpy as np
import nibabel as nib
from scipy import ndimage as ndi


def write_png(path, rgb):
    h, w, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = tag + data
        return struct.pack('>I', len(data)) + c + struct.pack('>I', zlib.crc32(c) & 0xFFFFFFFF)

    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
    png += chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def panel(grey, mask, lo, hi, scale):
    g = np.clip((grey.astype(np.float64) - lo) / max(hi - lo, 1e-9), 0, 1)
    g8 = np.round(g * 255).astype(np.uint8)
    g8 = np.kron(g8, np.ones((scale, scale), np.uint8))
    m = np.kron(mask.astype(np.uint8), np.ones((scale, scale), np.uint8)).astype(bool)
    outline = m & ~ndi.binary_erosion(m, border_value=0)
    plain = np.stack([g8] * 3, -1)
    over = plain.copy()
    over[outline] = [255, 0, 0]
    sep = np.full((plain.shape[0], 4, 3), 40, np.uint8)
    return np.concatenate([plain, sep, over], 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out_dir')
    ap.add_argument('png')
    ap.add_argument('--scale', type=int, default=3)
    ap.add_argument('--index', default=None, help='X,Y,Z slice indices (default: centre)')
    ap.add_argument('--at-root', action='store_true', help='slice through the centre of the thickest root')
    a = ap.parse_args()
    s_img = nib.load(os.path.join(a.out_dir, 'scan.nii.gz'))
    m_img = nib.load(os.path.join(a.out_dir, 'roots.nii.gz'))
    assert s_img.shape == m_img.shape and np.allclose(s_img.affine, m_img.affine), 'scan and mask differ in geometry'
    s = np.asarray(s_img.dataobj)
    m = np.asarray(m_img.dataobj) > 0
    nx, ny, nz = s.shape
    if a.index is not None:
        cx, cy, cz = [int(v) for v in a.index.split(',')]
    elif a.at_root and m.any():
        cx, cy, cz = np.unravel_index(int(np.argmax(ndi.distance_transform_edt(m))), m.shape)
    else:
        cx, cy, cz = nx // 2, ny // 2, nz // 2
    nz_vals = s[s > 0] if np.any(s > 0) else s.ravel()
    lo, hi = np.percentile(nz_vals, [0.5, 99.5])
    rows = [
        panel(s[:, :, cz].T, m[:, :, cz].T, lo, hi, a.scale),  # rows y, cols x
        panel(s[:, cy, :].T, m[:, cy, :].T, lo, hi, a.scale),  # rows z (depth down), cols x
        panel(s[cx, :, :].T, m[cx, :, :].T, lo, hi, a.scale),  # rows z, cols y
    ]
    w = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        pad = np.full((r.shape[0], w - r.shape[1], 3), 40, np.uint8)
        out += [np.concatenate([r, pad], 1), np.full((4, w, 3), 40, np.uint8)]
    write_png(a.png, np.concatenate(out[:-1], 0))


if __name__ == '__main__':
    main()
