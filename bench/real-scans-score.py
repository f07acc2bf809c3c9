#!/usr/bin/env python3
"""Score a root segmentation of one of the two real CT scans against its reference.

Usage:
  bench/real-scans-score.py PRED_MASK --scan bean|maize [--crop z0,y0,x0,dz,dy,dx] [--scale s]
                            [--ref MAIZE_REF --air MAIZE_AIR] [--json]

PRED_MASK is what `rhizoct segment IN OUT.zarr` wrote (the OUT.zarr folder: its labels/roots/0 is
read; or the array folder itself, e.g. OUT.zarr/labels/roots/0), a NIfTI mask (.nii/.nii.gz,
read as rhizoct reads NIfTI: x fastest, so the array is transposed to z, y, x) or a .npy array
in z, y, x order. Non-zero = root.

--crop z0,y0,x0,dz,dy,dx  the prediction covers this box of the full-resolution scan (default:
                          the whole scan). Points and reference voxels outside it are ignored.
                          A prediction of the whole scan is cut to the crop.
--scale s                 one prediction voxel spans s x s x s scan voxels (a segmentation of
                          pyramid level 2 has s = 4); the prediction is expanded by repetition
                          to the crop's full-resolution shape (its last partial block, if any,
                          copies the last prediction voxel).

Bean (references in bench/real-references/bean-points.json, hand-checked points and the tap root's
centre/radius every 10th slice): recall of the 'root' points by kind (tap root core, tap root
wall, laterals, and the tap root below the soil), the rate at which 'not-root' points are called
root (all, and by kind), the fraction of the tap root's core (a disk of 0.6 x its radius in each
listed slice, in the soil) called root, the same without its dark central canal, and the share of
all voxels called root.

Maize (the classical threshold reference of bench/real-references/maize_reference.py, built on
the fly, ~2 min, unless --ref/--air give saved copies as .npy or NIfTI): recall (fraction of
reference voxels called root), precision, Dice, the same with a voxel of tolerance (recall of the
reference's interior, i.e. eroded by one voxel; precision against the reference dilated by one
voxel), the fraction of the 'air' region called root and the share of predicted voxels that lie
in air.

Prints a table, or with --json one JSON object.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFS = os.path.join(HERE, 'real-references')
SHAPES = {'bean': (500, 500, 500), 'maize': (471, 375, 375)}


def read_mask(path):
    p = path.rstrip('/')
    if p.endswith('.npy'):
        return np.load(p)
    if p.endswith('.nii') or p.endswith('.nii.gz'):
        import nibabel as nib
        return np.asarray(nib.load(p).dataobj).transpose(2, 1, 0)
    if os.path.isdir(p):
        import zarr
        for sub in ('labels/roots/0', ''):
            q = os.path.join(p, sub) if sub else p
            if os.path.exists(os.path.join(q, '.zarray')):
                return zarr.open(q, mode='r')[:]
            if os.path.exists(os.path.join(q, 'zarr.json')):
                raise SystemExit(f'{q}: Zarr v3 array; write the segmentation as Zarr v2 or NIfTI')
        raise SystemExit(f'{p}: no labels/roots/0 (Zarr v2) array in this folder')
    raise SystemExit(f'{path}: not a .zarr folder, .nii/.nii.gz or .npy')


def fits(shape, scale, box):
    """Whether a prediction of `shape` at 1/scale covers a full-resolution `box`: ceil(box/scale)
    voxels along each axis, or one fewer where box is not a multiple of scale (a pyramid that
    rounds down)."""
    return len(shape) == 3 and all(p == -(-s // scale) or (s % scale and p == s // scale) for p, s in zip(shape, box))


def expand(pred, scale, box):
    """Prediction (at 1/scale) expanded to the full-resolution `box` by repetition; an edge the
    prediction does not cover (see fits) is not root."""
    pred = np.asarray(pred) != 0
    need = [-(-s // scale) for s in box]
    pred = np.pad(pred, [(0, n - p) for p, n in zip(pred.shape, need)])
    if scale != 1:
        for ax in range(3):
            pred = np.repeat(pred, scale, axis=ax)
    return pred[:box[0], :box[1], :box[2]]


def fit_prediction(raw, scale, crop, full):
    """The prediction over the crop at full resolution: a prediction of the crop as it is, one of
    the whole scan cut to the crop."""
    z0, y0, x0, dz, dy, dx = crop
    shape = np.shape(raw)
    if fits(shape, scale, (dz, dy, dx)):
        return expand(raw, scale, (dz, dy, dx))
    if fits(shape, scale, full):
        return expand(raw, scale, full)[z0:z0 + dz, y0:y0 + dy, x0:x0 + dx]
    raise SystemExit(f'prediction has shape {tuple(shape)}: at scale {scale} neither the crop {(dz, dy, dx)} '
                     f'nor the whole scan {tuple(full)}')


def rate(k, n):
    return None if n == 0 else k / n


def score_bean(pred, crop):
    ref = json.load(open(os.path.join(REFS, 'bean-points.json')))
    z0, y0, x0, dz, dy, dx = crop
    out = OrderedDict()
    inside = []
    for p in ref['points']:
        z, y, x = p['zyx']
        if z0 <= z < z0 + dz and y0 <= y < y0 + dy and x0 <= x < x0 + dx:
            inside.append((p, bool(pred[z - z0, y - y0, x - x0])))
    groups = OrderedDict()

    def add(name, hit):
        k, n = groups.get(name, (0, 0))
        groups[name] = (k + int(hit), n + 1)

    for p, hit in inside:
        if p['label'] == 'root':
            w = p['what']
            add('root: all', hit)
            if w in ('tap root core', 'tap root wall'):
                add('root: tap root (core + wall)', hit)
            add(f'root: {w}', hit)
            if w == 'lateral' and p.get('root'):
                add(f'root: lateral {p["root"]}', hit)
    for p, hit in inside:
        if p['label'] == 'not-root':
            add('not-root: all', hit)
            add(f'not-root: {p["what"]}', hit)
    out['points'] = OrderedDict((k, {'called_root': v[0], 'n': v[1], 'rate': rate(*v)}) for k, v in groups.items())
    out['points_in_crop'] = len(inside)
    out['points_total'] = len(ref['points'])
    # tap root core disks
    cores = {'in soil': [0, 0], 'in soil, canal excluded': [0, 0], 'below soil': [0, 0]}
    slices = {'in soil': 0, 'below soil': 0}
    for t in ref['tapRoot']:
        z = t['z']
        if not z0 <= z < z0 + dz:
            continue
        rc = 0.6 * t['r']
        ys = np.arange(max(y0, int(np.floor(t['y'] - rc))), min(y0 + dy, int(np.ceil(t['y'] + rc)) + 1))
        xs = np.arange(max(x0, int(np.floor(t['x'] - rc))), min(x0 + dx, int(np.ceil(t['x'] + rc)) + 1))
        if len(ys) == 0 or len(xs) == 0:
            continue
        Y, X = np.meshgrid(ys, xs, indexing='ij')
        d = np.hypot(Y - t['y'], X - t['x'])
        disk = d <= rc
        if not disk.any():
            continue
        called = pred[z - z0][Y - y0, X - x0]
        key = 'in soil' if t['inSoil'] else 'below soil'
        slices[key] += 1
        cores[key][0] += int((called & disk).sum())
        cores[key][1] += int(disk.sum())
        if t['inSoil']:
            ring = disk & (d > t.get('canal_r', 0) + 1.5)
            cores['in soil, canal excluded'][0] += int((called & ring).sum())
            cores['in soil, canal excluded'][1] += int(ring.sum())
    out['tap_core'] = OrderedDict((k, {'called_root': v[0], 'voxels': v[1], 'fraction': rate(*v)}) for k, v in cores.items())
    out['tap_core_slices'] = slices
    out['share_called_root'] = float(pred.mean())
    return out


def load_maize_refs(ref_path, air_path):
    if ref_path and air_path:
        return read_mask(ref_path) != 0, read_mask(air_path) != 0
    sys.path.insert(0, REFS)
    import maize_reference as mr
    ref, g, air, _ = mr.build(verbose=False)
    return ref, mr.air_region(ref, g, air)


def score_maize(pred, crop, ref_path, air_path):
    ref, air = load_maize_refs(ref_path, air_path)
    z0, y0, x0, dz, dy, dx = crop
    ref = ref[z0:z0 + dz, y0:y0 + dy, x0:x0 + dx]
    air = air[z0:z0 + dz, y0:y0 + dy, x0:x0 + dx]
    tp = int((pred & ref).sum())
    P = int(pred.sum())
    R = int(ref.sum())
    A = int(air.sum())
    PA = int((pred & air).sum())
    out = OrderedDict()
    out['reference_voxels'] = R
    out['predicted_voxels'] = P
    out['recall'] = rate(tp, R)
    out['precision'] = rate(tp, P)
    out['dice'] = None if P + R == 0 else 2 * tp / (P + R)
    # boundary-tolerant: the threshold's boundary is uncertain by about a voxel (README.md)
    from scipy import ndimage as ndi
    ball = ndi.generate_binary_structure(3, 1)
    core = ndi.binary_erosion(ref, ball, border_value=1)
    near = ndi.binary_dilation(ref, ball)
    out['recall_interior'] = rate(int((pred & core).sum()), int(core.sum()))
    out['precision_within_1'] = rate(int((pred & near).sum()), P)
    out['air_voxels'] = A
    out['air_called_root'] = rate(PA, A)
    out['predicted_in_air'] = rate(PA, P)
    out['share_called_root'] = float(pred.mean())
    return out


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.4f}'
    return str(v)


def print_table(res):
    print(f"{res['scan']}  crop z,y,x {res['crop'][:3]} size {res['crop'][3:]}  scale {res['scale']}  ({res['pred']})")
    if res['scan'] == 'bean':
        s = res['scores']
        print(f"{'points':44s} {'called root':>11s} {'n':>5s} {'rate':>8s}")
        for k, v in s['points'].items():
            print(f"{k:44s} {v['called_root']:11d} {v['n']:5d} {fmt(v['rate']):>8s}")
        print(f"({s['points_in_crop']} of {s['points_total']} points in the crop)")
        print(f"{'tap root core (disk 0.6 r)':44s} {'called':>11s} {'voxels':>7s} {'fraction':>8s}")
        for k, v in s['tap_core'].items():
            print(f"{'  ' + k:44s} {v['called_root']:11d} {v['voxels']:7d} {fmt(v['fraction']):>8s}")
        print(f"{'share of all voxels called root':44s} {s['share_called_root']:.4f}")
    else:
        for k, v in res['scores'].items():
            print(f'{k:28s} {fmt(v)}')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('pred')
    ap.add_argument('--scan', required=True, choices=['bean', 'maize'])
    ap.add_argument('--crop', help='z0,y0,x0,dz,dy,dx of the full-resolution scan that the prediction covers')
    ap.add_argument('--scale', type=int, default=1)
    ap.add_argument('--ref', help='maize: saved reference (.npy / NIfTI) from maize_reference.py')
    ap.add_argument('--air', help='maize: saved air region (.npy / NIfTI) from maize_reference.py --air')
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    shape = SHAPES[a.scan]
    if a.crop:
        crop = [int(t) for t in a.crop.split(',')]
        if len(crop) != 6:
            raise SystemExit('--crop wants z0,y0,x0,dz,dy,dx')
    else:
        crop = [0, 0, 0, *shape]
    z0, y0, x0, dz, dy, dx = crop
    if min(z0, y0, x0) < 0 or z0 + dz > shape[0] or y0 + dy > shape[1] or x0 + dx > shape[2] or min(dz, dy, dx) <= 0:
        raise SystemExit(f'--crop {crop} is not inside the {a.scan} scan {shape}')
    if (a.ref is None) != (a.air is None):
        raise SystemExit('--ref and --air go together')
    pred = fit_prediction(read_mask(a.pred), a.scale, crop, shape)
    if a.scan == 'bean':
        scores = score_bean(pred, crop)
    else:
        scores = score_maize(pred, crop, a.ref, a.air)
    res = OrderedDict(scan=a.scan, pred=a.pred, crop=crop, scale=a.scale, scores=scores)
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print_table(res)


if __name__ == '__main__':
    main()
